"""Taking over the runs of a dead worker process, exactly once.

DBOS resumes an executor's own pending workflows when a process with the same
executor id starts again; a machine that never comes back would leave its runs
(and their lanes) pending for ever. So every worker heartbeats
(``storage.executors``, every ``timeout_s / 4`` seconds) and, at each beat,
looks for executors silent for more than ``timeout_s``
(``SCENARIOFORGE_HEARTBEAT_TIMEOUT_S``, default 120 s) and puts their pending
workflows back on their queue, where one live worker claims each.

Exactly once: DBOS's recovery is one conditional ``UPDATE … SET
status='ENQUEUED' WHERE status='PENDING' AND executor_id IN (dead ids)`` per
workflow, and the queue's claim is atomic, so two workers recovering the same
dead executor at once re-enqueue and run each workflow once.

DBOS 3.4 has no public API for this: ``recover`` wraps the internal
``DBOS._recover_pending_workflows`` (only workflows of this process's
application version), and ``tests/jobs/test_takeover.py`` fails loudly when DBOS
changes it.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from dbos import DBOS

from storage import executors
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)


async def recover(executor_ids: list[str]) -> list[str]:
    """Re-enqueue the pending workflows of ``executor_ids``; returns their workflow ids."""
    handles = await asyncio.to_thread(DBOS._recover_pending_workflows, executor_ids)
    return [handle.workflow_id for handle in handles]


async def beat_and_take_over(db: Database, executor_id: str, timeout_s: float) -> list[str]:
    """One heartbeat of ``executor_id``, then take over the executors silent for ``timeout_s``;
    returns the workflow ids taken over."""
    now = utcnow()
    async with db.session() as session:
        await executors.beat(session, executor_id, now)
        dead = list(await executors.silent_since(session, now - timedelta(seconds=timeout_s), besides=executor_id))
    if not dead:
        return []
    taken = await recover(dead)
    async with db.session() as session:
        await executors.forget(session, dead)
    log.warning("took over %s workflow(s) of dead executor(s) %s: %s", len(taken), ", ".join(dead), taken)
    return taken


async def keep_alive(db: Database, executor_id: str, timeout_s: float) -> None:
    """Heartbeat and take over every ``timeout_s / 4`` seconds until cancelled (``Runtime``)."""
    while True:
        try:
            await beat_and_take_over(db, executor_id, timeout_s)
        except Exception:  # the database hiccuped: the next beat tries again
            log.exception("heartbeat of %s failed", executor_id)
        await asyncio.sleep(timeout_s / 4)
