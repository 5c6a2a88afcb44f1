"""Scheduled work: the missed-delivery reconciler, a DBOS schedule.

``RECONCILE`` runs ``reconcile_workflow`` every ``settings.reconcile_every_s``
seconds (DBOS schedule, cron with seconds). DBOS gives each tick a
deterministic workflow id (``sched-<name>-<time>``), so a tick runs once in the
whole deployment however many workers apply the schedule. A tick:

1. step ``list``: the App's delivery attempts of the last 3 days
   (``bot.github.deliveries.recent``) and the ones we never recorded
   (``bot.github.deliveries.missed``), at most ``MAX_REDELIVERIES`` failed
   attempts each (a delivery GitHub cannot bring to us that often is left);
2. one step ``redeliver`` per missed delivery (``POST
   /app/hook/deliveries/{id}/attempts``): after a crash the tick resumes after
   the last request made, so none is asked twice in one tick, and the next
   tick waits ``PENDING_S`` after a delivery's newest attempt.

The redelivered webhook arrives at ``POST /webhook`` like any other and is
recorded and handled there (its ``X-GitHub-Delivery`` is the original one, so a
delivery that did reach us is never handled twice).
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import gidgethub
from dbos import DBOS

from bot.github import deliveries
from bot.jobs.steps import step
from bot.jobs.workflow import bound
from storage.deliveries import recorded

log = logging.getLogger(__name__)

RECONCILE = "reconcile-deliveries"
#: A delivery whose newest attempt is younger than this may still be on its way.
PENDING_S = 240.0
#: Failed attempts after which the reconciler stops asking for a delivery.
MAX_REDELIVERIES = 5


def cron(every_s: int) -> str:
    """A 6-field cron (seconds first) for "every ``every_s`` seconds", ``every_s`` dividing
    a minute or an hour as ``Settings.reconcile_every_s`` ensures: 300 → ``0 */5 * * * *``;
    20 → ``*/20 * * * * *``."""
    return f"*/{every_s} * * * * *" if every_s < 60 else f"0 */{every_s // 60} * * * *"


def schedules(every_s: int) -> list[dict[str, Any]]:
    """The schedules ``Runtime.start`` applies (``DBOS.apply_schedules_async``)."""
    return [{"schedule_name": RECONCILE, "workflow_fn": reconcile_workflow, "schedule": cron(every_s),
             "context": None}]


async def _missed(now_iso: str) -> list[dict]:
    services = bound()
    now = datetime.fromisoformat(now_iso)
    items = await deliveries.recent(services.auth.app_client(), since=now - deliveries.WINDOW)
    have = await recorded(services.db, sorted({item["guid"] for item in items}))
    chosen = deliveries.missed(items, have, now=now, pending_s=PENDING_S)
    return [{"guid": m.guid, "delivery_id": m.delivery_id, "event": m.event}
            for m in chosen if m.attempts <= MAX_REDELIVERIES]


async def _redeliver(delivery_id: int) -> bool:
    try:
        await deliveries.redeliver(bound().auth.app_client(), delivery_id)
    except gidgethub.BadRequest as exc:  # 4xx: too old or gone; the next ones still go
        log.warning("redelivery of %s refused: %s", delivery_id, exc)
        return False
    return True


@DBOS.workflow(name="scenarioforge.reconcile")
async def reconcile_workflow(scheduled_at: datetime, context: Any) -> list[str]:
    """One reconciler tick (see the module docstring); returns the ``guid``s asked again."""
    when = scheduled_at if scheduled_at.tzinfo else scheduled_at.replace(tzinfo=UTC)
    asked = []
    for item in await step("list", _missed, when.isoformat()):
        if await step("redeliver", _redeliver, item["delivery_id"]):
            asked.append(item["guid"])
    if asked:
        log.warning("asked GitHub to redeliver %s missed delivery(ies): %s", len(asked), asked)
    return asked
