"""POST /webhook over real HTTP: rejections, recording, duplicates, dispatch."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import aiohttp
import pytest
from gidgethub import routing

from bot.errors import ConfigError
from bot.ingress.server import create_app
from storage.models import Delivery, DeliveryOutcome
from tests.support.webhooks import (
    WEBHOOK_SECRET,
    OfflineAuth,
    delivery_headers,
    load_payload,
    sign,
)

COMMENT = "issue_comment.created.4.json"  # has installation 1, repository Codertocat/Hello-World


class Handled:
    """A real gidgethub router whose handlers note what they were given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, dict]] = []
        self.router = routing.Router()
        self.router.add(self.note, "issue_comment", action="created")
        self.router.add(self.fail, "issues", action="labeled")

    async def note(self, event, gh, *args, **deps) -> None:
        self.calls.append((event.delivery_id, gh, deps))

    async def fail(self, event, gh, *args, **deps) -> None:
        raise RuntimeError("label handler exploded")


@pytest.fixture
def handled() -> Handled:
    return Handled()


@pytest.fixture
async def running(start_app, webhook_settings, handled):
    return await start_app(webhook_settings, router=handled.router, auth=OfflineAuth())


async def delivery_row(running, delivery_id: str) -> Delivery | None:
    async with running.services.database.session() as session:
        return await session.get(Delivery, delivery_id)


async def outcome(running, delivery_id: str) -> DeliveryOutcome | None:
    async with running.services.database.session() as session:
        return await session.get(DeliveryOutcome, delivery_id)


async def delivery_count(running) -> int:
    async with running.services.database.session() as session:
        return len((await session.scalars(Delivery.__table__.select())).all())


# --- rejections -------------------------------------------------------------


async def test_missing_signature_is_refused(running):
    answer = await running.post(load_payload(COMMENT), "issue_comment", headers={"X-Hub-Signature-256": None})
    assert answer.status == 401
    assert answer.body["error"] == "missing X-Hub-Signature-256 header"
    assert await delivery_count(running) == 0


async def test_sha1_signature_alone_is_refused(running):
    body = json.dumps(load_payload(COMMENT)).encode()
    sha1 = "sha1=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha1).hexdigest()
    answer = await running.post(
        body, "issue_comment", headers={"X-Hub-Signature-256": None, "X-Hub-Signature": sha1}
    )
    assert answer.status == 401
    assert "X-Hub-Signature-256 is required" in answer.body["error"]
    assert await delivery_count(running) == 0


async def test_wrong_signature_is_refused(running):
    answer = await running.post(load_payload(COMMENT), "issue_comment", secret="not the secret")
    assert answer.status == 401
    assert answer.body["error"].startswith("signature check failed")
    assert await delivery_count(running) == 0


async def test_body_changed_after_signing_is_refused(running):
    body = json.dumps(load_payload(COMMENT)).encode()
    answer = await running.post(body + b" ", "issue_comment", headers={"X-Hub-Signature-256": sign(body)})
    assert answer.status == 401


@pytest.mark.parametrize("header", ["X-GitHub-Delivery", "X-GitHub-Event"])
async def test_missing_delivery_headers_are_refused(running, header):
    answer = await running.post(load_payload(COMMENT), "issue_comment", headers={header: None})
    assert answer.status == 400
    assert answer.body["error"] == f"missing {header} header"


async def test_invalid_json_with_valid_signature_is_refused(running):
    answer = await running.post(b'{"action": "created",', "issue_comment")
    assert answer.status == 400
    assert answer.body["error"].startswith("body is not valid JSON")
    assert await delivery_count(running) == 0


async def test_body_that_is_not_utf8_is_refused(running):
    answer = await running.post('{"action": "créé"}'.encode("latin-1"), "issue_comment")
    assert answer.status == 400
    assert answer.body["error"].startswith("body is not valid JSON")
    assert await delivery_count(running) == 0


async def test_json_that_is_not_an_object_is_refused(running):
    answer = await running.post(b"[1, 2]", "issue_comment")
    assert answer.status == 400
    assert answer.body["error"] == "body is not a JSON object"


async def test_non_json_content_type_is_refused(running):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await running.post(b"payload=%7B%7D", "issue_comment", headers=form)
    assert answer.status == 415


async def test_body_over_25_mb_is_refused(running):
    payload = load_payload(COMMENT)
    payload["comment"]["body"] = "x" * (25 * 1024 * 1024)
    answer = await running.post(payload, "issue_comment")
    assert answer.status == 413
    assert "exceeds the 26214400-byte cap" in answer.body["error"]
    assert await delivery_count(running) == 0


async def test_chunked_body_over_25_mb_is_refused(running):
    """Without Content-Length the cap applies while reading (aiohttp's client_max_size)."""
    payload = load_payload(COMMENT)
    payload["comment"]["body"] = "x" * (25 * 1024 * 1024)
    body = json.dumps(payload).encode()

    async def chunks():
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    headers = delivery_headers(body, "issue_comment")
    async with aiohttp.ClientSession() as session:
        async with session.post(running.webhook_url, data=chunks(), headers=headers) as response:
            assert response.status == 413


async def test_body_just_under_the_cap_is_accepted(running):
    payload = load_payload(COMMENT)
    size = len(json.dumps(payload).encode())
    payload["comment"]["body"] += "x" * (25 * 1024 * 1024 - size)
    assert len(json.dumps(payload).encode()) == 25 * 1024 * 1024
    answer = await running.post(payload, "issue_comment")
    assert answer.status == 202


# --- recorded deliveries ------------------------------------------------------


async def test_ping_answers_200_and_is_recorded(running, handled):
    answer = await running.post(load_payload("ping.event.1.json"), "ping")
    assert (answer.status, answer.body["status"]) == (200, "ping")
    assert (await delivery_row(running, answer.delivery_id)).event == "ping"
    assert (await outcome(running, answer.delivery_id)).status == "processed"
    assert handled.calls == []


async def test_event_without_handler_is_recorded_ignored(running, handled):
    answer = await running.post(load_payload("push.event.4.json"), "push")
    assert (answer.status, answer.body["status"]) == (202, "ignored")
    row = await delivery_row(running, answer.delivery_id)
    assert (row.event, row.installation_id) == ("push", 1)
    assert (await outcome(running, answer.delivery_id)).status == "ignored"
    await running.services.dispatcher.idle()
    assert handled.calls == []


async def test_delivery_is_recorded_before_the_answer(running):
    payload = load_payload(COMMENT)
    body = json.dumps(payload).encode()
    answer = await running.post(body, "issue_comment")
    assert (answer.status, answer.body) == (202, {"status": "accepted", "delivery": answer.delivery_id})
    row = await delivery_row(running, answer.delivery_id)  # read before waiting for dispatch
    assert row is not None
    assert (row.event, row.action, row.installation_id, row.repository) == (
        "issue_comment",
        "created",
        1,
        "Codertocat/Hello-World",
    )
    assert row.payload == body.decode()
    assert row.received_at is not None


async def test_accepted_delivery_is_dispatched_with_dependencies(running, handled, webhook_settings):
    answer = await running.post(load_payload(COMMENT), "issue_comment")
    await running.services.dispatcher.idle()
    [(delivery_id, gh, deps)] = handled.calls
    assert delivery_id == answer.delivery_id
    assert gh == ("installation", 1)
    assert deps["delivery_id"] == answer.delivery_id
    assert deps["db"] is running.services.database
    assert deps["settings"] is webhook_settings
    assert isinstance(deps["auth"], OfflineAuth)
    assert (await outcome(running, answer.delivery_id)).status == "processed"


async def test_failing_handler_marks_the_delivery_failed(running):
    answer = await running.post(load_payload("issues.labeled.1.json"), "issues")
    assert answer.status == 202
    await running.services.dispatcher.idle()
    row = await outcome(running, answer.delivery_id)
    assert (row.status, row.error) == ("failed", "RuntimeError: label handler exploded")


async def test_repeated_delivery_is_processed_once(running, handled):
    payload = load_payload(COMMENT)
    first = await running.post(payload, "issue_comment", delivery_id="d-repeat")
    await running.services.dispatcher.idle()
    again = await running.post(payload, "issue_comment", delivery_id="d-repeat")
    await running.services.dispatcher.idle()
    assert (first.status, again.status) == (202, 200)
    assert again.body["status"] == "duplicate"
    assert len(handled.calls) == 1


async def test_concurrent_copies_of_a_delivery_are_processed_once(running, handled):
    payload = load_payload(COMMENT)
    answers = await asyncio.gather(
        *(running.post(payload, "issue_comment", delivery_id="d-concurrent") for _ in range(8))
    )
    await running.services.dispatcher.idle()
    assert sorted(answer.status for answer in answers) == [200] * 7 + [202]
    assert [call[0] for call in handled.calls] == ["d-concurrent"]
    assert await delivery_count(running) == 1
    assert (await outcome(running, "d-concurrent")).status == "processed"


async def test_deliveries_without_an_outcome_are_dispatched_at_start(
    database, start_app, webhook_settings, handled
):
    payload = json.dumps(load_payload(COMMENT))
    async with database.session() as session:
        for delivery_id in ("d-left", "d-done"):
            session.add(
                Delivery(
                    id=delivery_id, event="issue_comment", action="created", installation_id=1, payload=payload
                )
            )
        await session.flush()
        session.add(DeliveryOutcome(delivery_id="d-done", status="processed"))
    running = await start_app(
        webhook_settings, database=database, router=handled.router, auth=OfflineAuth()
    )
    await running.services.dispatcher.idle()
    assert [call[0] for call in handled.calls] == ["d-left"]
    assert (await outcome(running, "d-left")).status == "processed"


# --- settings -------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, ""])
def test_configured_app_needs_a_webhook_secret(webhook_settings, secret):
    settings = webhook_settings.model_copy(update={"webhook_secret": secret})
    with pytest.raises(ConfigError, match="SCENARIOFORGE_WEBHOOK_SECRET is not set"):
        create_app(settings)
