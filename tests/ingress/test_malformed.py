"""Malformed deliveries fail alone and say why (issue 9): signatures, envelope types, batches, outcomes."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from handlers.issue_comment import router as comment_router
from storage.deliveries import DeliveryLog, DeliveryRecord
from storage.models import Delivery, DeliveryOutcome
from tests.support.webhooks import WEBHOOK_SECRET, OfflineAuth, load_payload, sign

COMMENT = "issue_comment.created.4.json"


@pytest.fixture
async def running(start_app, webhook_settings):
    return await start_app(webhook_settings, router=comment_router, auth=OfflineAuth())


async def outcomes(database) -> dict[str, tuple[str, str | None]]:
    async with database.session() as session:
        rows = (await session.scalars(select(DeliveryOutcome))).all()
    return {row.delivery_id: (row.status, row.error) for row in rows}


async def delivery_ids(database) -> set[str]:
    async with database.session() as session:
        return set((await session.scalars(select(Delivery.id))).all())


async def test_a_non_ascii_signature_is_refused_with_401_not_500(running):
    body = json.dumps(load_payload(COMMENT)).encode()
    forged = sign(body)[:-1] + "é"
    answer = await running.post(body, "issue_comment", headers={"X-Hub-Signature-256": forged})
    assert answer.status == 401
    assert "sha256=" in answer.body["error"]


async def test_a_valid_sha1_hmac_in_the_sha256_header_is_refused(running):
    body = json.dumps(load_payload(COMMENT)).encode()
    sha1 = "sha1=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha1).hexdigest()
    answer = await running.post(body, "issue_comment", headers={"X-Hub-Signature-256": sha1})
    assert answer.status == 401
    assert await delivery_ids(running.services.database) == set()


@pytest.mark.parametrize(("path", "value", "field"), [
    (("installation", "id"), "1", "installation.id"),
    (("installation", "id"), 1.5, "installation.id"),
    (("installation", "id"), True, "installation.id"),
    (("installation",), [1], "installation"),
    (("repository", "full_name"), 42, "repository.full_name"),
    (("repository",), "octo/hello", "repository"),
    (("action",), {"x": 1}, "action"),
])
async def test_envelope_of_the_wrong_type_is_refused_naming_the_field(running, path, value, field):
    payload = load_payload(COMMENT)
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    answer = await running.post(payload, "issue_comment")
    assert answer.status == 400
    assert f"issue_comment delivery: field `{field}`" in answer.body["error"]
    assert await delivery_ids(running.services.database) == set()


async def test_one_bad_delivery_among_concurrent_ones_fails_alone(running):
    good = [load_payload(COMMENT) for _ in range(12)]
    for number, payload in enumerate(good):
        payload["comment"]["body"] = f"just a comment {number}"  # no command: processed, nothing to call
    bad = load_payload(COMMENT)
    bad["installation"]["id"] = "1"
    answers = await asyncio.gather(*(running.post(p, "issue_comment") for p in [*good[:6], bad, *good[6:]]))
    assert [a.status for a in answers] == [202] * 6 + [400] + [202] * 6
    await running.services.dispatcher.idle()
    recorded = await outcomes(running.services.database)
    accepted = {a.delivery_id for a in answers if a.status == 202}
    assert await delivery_ids(running.services.database) == accepted
    assert {recorded[i][0] for i in accepted} == {"processed"}


async def test_a_row_the_database_refuses_fails_only_its_own_waiter(database):
    deliveries = DeliveryLog(database)
    await deliveries.start()
    try:
        records = [DeliveryRecord(id=f"d-{n}", event="push", action=None, installation_id=1, repository="o/r",
                                  payload="{}") for n in range(5)]
        results = await asyncio.gather(
            *(deliveries.record(record) for record in records[:3]),
            deliveries.record_outcome("never-recorded", "processed"),  # foreign key refused
            *(deliveries.record(record) for record in records[3:]),
            return_exceptions=True,
        )
    finally:
        await deliveries.close()
    assert results[:3] == [True] * 3 and results[4:] == [True] * 2
    assert isinstance(results[3], Exception) and "FOREIGN KEY" in str(results[3])
    assert await delivery_ids(database) == {f"d-{n}" for n in range(5)}


@pytest.mark.parametrize(("field", "value"), [("installation_id", True), ("installation_id", 1.5),
                                              ("repository", ["o/r"]), ("action", 3)])
def test_a_record_of_the_wrong_type_is_refused_before_the_write(field, value):
    fields = dict(id="d", event="push", action=None, installation_id=1, repository="o/r", payload="{}")
    with pytest.raises(ValueError, match=f"field `{field}`"):
        DeliveryRecord(**{**fields, field: value})


async def test_a_pending_delivery_with_a_malformed_installation_ends_failed_once(webhook_settings, database,
                                                                                start_app):
    payload = load_payload(COMMENT)
    payload["installation"] = [1]  # stored by an older version, before the envelope check
    deliveries = DeliveryLog(database)
    await deliveries.start()
    await deliveries.record(DeliveryRecord(id="old", event="issue_comment", action="created", installation_id=None,
                                           repository=None, payload=json.dumps(payload)))
    await deliveries.close()
    for _ in range(2):  # two restarts: the second finds nothing left pending
        running = await start_app(webhook_settings, router=comment_router, auth=OfflineAuth(),
                                  database=database)
        await running.services.dispatcher.idle()
        assert await outcomes(database) == {"old": (
            "failed", "issue_comment delivery: field `installation` must be an object (got array)")}
        await running.stop()


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda p: p["comment"]["user"].pop("login"), "issue_comment.created delivery: field `comment.user.login` "
                                                  "is missing"),
    (lambda p: p["issue"].update(number="7"), "issue_comment.created delivery: field `issue.number` "
                                              "must be an integer (got string)"),
    (lambda p: p["comment"].update(body=["/scenarioforge help"]), "issue_comment.created delivery: field "
                                                                  "`comment.body` must be a string (got array)"),
])
async def test_handler_failures_on_malformed_payloads_name_the_field(running, mutate, message):
    payload = load_payload(COMMENT)
    payload["comment"]["body"] = "/scenarioforge help"
    mutate(payload)
    answer = await running.post(payload, "issue_comment")
    assert answer.status == 202
    await running.services.dispatcher.idle()
    status, error = (await outcomes(running.services.database))[answer.delivery_id]
    assert status == "failed"
    assert error.startswith(message)
    assert "KeyError" not in error


def test_every_modelled_event_rejects_a_float_id():
    from gidgethub.sansio import Event

    from bot.errors import PayloadError
    from handlers import payloads

    data = load_payload("check_run.requested_action.1.json")
    data["check_run"]["id"] = 1.5
    with pytest.raises(PayloadError, match=r"field `check_run.id` must be an integer \(got number\)"):
        payloads.check(Event(data, event="check_run", delivery_id="d"), payloads.CheckRunRequestedAction)

