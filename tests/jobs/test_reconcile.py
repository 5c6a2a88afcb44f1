"""The missed-delivery reconciler (issue 11): GitHub's delivery log → redelivery of what we never recorded."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from dbos import DBOS

from bot.github.deliveries import missed
from bot.jobs.schedules import PENDING_S, RECONCILE, cron
from config.settings import Settings
from tests.support.webhooks import WEBHOOK_SECRET

ATTEMPTS = "POST /app/hook/deliveries/{delivery_id}/attempts"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def attempt(id_: int, guid: str, *, status_code: int, age_s: float) -> dict:
    delivered = (NOW - timedelta(seconds=age_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": id_, "guid": guid, "status_code": status_code, "delivered_at": delivered, "event": "issues"}


def test_only_deliveries_we_never_recorded_are_asked_again_once_each_for_their_newest_attempt():
    items = [
        attempt(5, "lost", status_code=502, age_s=600),
        attempt(4, "lost", status_code=0, age_s=900),
        attempt(3, "held", status_code=502, age_s=600),  # GitHub saw a failure, but we recorded it
        attempt(2, "in-flight", status_code=0, age_s=PENDING_S / 2),  # its redelivery may be on its way
        attempt(1, "forgotten", status_code=200, age_s=1200),  # GitHub saw OK, our database lost it
    ]
    chosen = missed(items, {"held"}, now=NOW, pending_s=PENDING_S)
    assert [(m.guid, m.delivery_id, m.attempts) for m in chosen] == [("forgotten", 1, 0), ("lost", 5, 2)]


def test_the_interval_is_a_cron_schedule_and_a_bad_one_is_named():
    assert cron(300) == "0 */5 * * * *" and cron(20) == "*/20 * * * * *"
    with pytest.raises(ValueError, match="must divide a minute"):
        Settings(_env_file=None, reconcile_every_s=7 * 60)


async def result(handle):
    """The result of a triggered tick (an enqueued workflow)."""
    return await (await DBOS.retrieve_workflow_async(handle.workflow_id)).get_result()


@pytest.fixture
def world_settings():
    return {"reconcile_every_s": 3600}  # the test triggers the tick itself


async def test_a_delivery_github_reports_failed_is_redelivered_once_and_handled(world):
    hooks = world.github.hooks
    hooks.webhook_url, hooks.secret = world.running.webhook_url, WEBHOOK_SECRET
    handled = await world.comment("/scenarioforge help")  # reached us: never asked again
    hooks.record(handled.delivery_id, "issue_comment", {}, status_code=202, age_s=600)
    lost = world.comment_payload("/scenarioforge help", issue_number=3)
    hooks.record("a1b2c3d4-0000-4000-8000-000000000001", "issue_comment", lost, status_code=0, age_s=600)
    await world.settle()
    assert len(world.comments(3)) == 0

    handle = await asyncio.to_thread(DBOS.trigger_schedule, RECONCILE)
    assert await result(handle) == ["a1b2c3d4-0000-4000-8000-000000000001"]
    await world.settle()
    (redelivery,) = world.github.calls(ATTEMPTS)
    assert redelivery.path.endswith(f"/{hooks.attempts[1].id}/attempts")
    assert hooks.attempts[-1].status_code == 202 and hooks.attempts[-1].redelivery
    assert len(world.comments(3)) == 1 and "generate" in world.comments(3)[0]  # the help text answered

    handle = await asyncio.to_thread(DBOS.trigger_schedule, RECONCILE)
    assert await result(handle) == []  # recorded now: nothing to ask
    assert len(world.github.calls(ATTEMPTS)) == 1
