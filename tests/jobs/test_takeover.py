"""A dead executor's pending workflow is taken over by a live worker, exactly once, after its last step.

On SQLite and PostgreSQL. The dead process is a runtime stopped mid-workflow
(its workflow stays pending) whose heartbeat is then made older than the
timeout; the live worker's own heartbeat loop finds it (``bot.jobs.takeover``).
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from sqlalchemy import update

from bot.jobs import takeover, workflow
from bot.jobs.queue import QUEUE
from bot.jobs.runtime import Runtime
from storage.models import Executor, utcnow
from tests.support.fakes import make_settings

CALLS: list[tuple[str, str]] = []


async def first_step() -> str:
    CALLS.append(("first", DBOS.workflow_id))
    return "checkpointed"


@DBOS.workflow(name="tests.takeover")
async def two_steps() -> str:
    """Step one, then wait for ever on the first executor (it dies there), then finish."""
    workflow.bound().tasks.add(asyncio.current_task())  # Runtime.stop cancels it like a run's workflow
    first = await DBOS.run_step_async({"name": "first"}, first_step)
    if workflow.bound().settings.executor_id == "dead":
        await asyncio.Event().wait()
    return f"{first} then finished"


def runtime(database, tmp_path, name: str, timeout_s: float) -> Runtime:
    settings = make_settings(database_url=database.url, workdir=tmp_path / name, workers=1, queue_poll_s=0.05,
                             executor_id=name, heartbeat_timeout_s=timeout_s)
    return Runtime(database, settings, auth=None, actions={})


def test_the_internal_recovery_api_takeover_relies_on_is_still_there():
    """Fails loudly when DBOS renames or drops it (bot/jobs/takeover.py, README "Production")."""
    assert callable(DBOS._recover_pending_workflows)


async def test_a_dead_executors_workflow_is_taken_over_once_after_its_last_step(database_on_both, tmp_path):
    CALLS.clear()
    dead = runtime(database_on_both, tmp_path, "dead", timeout_s=3600)
    await dead.start()
    with SetWorkflowID("taken-1"), SetEnqueueOptions(queue_partition_key="o/r#1"):
        await DBOS.enqueue_workflow_async(QUEUE, two_steps)
    while not [s for s in await DBOS.list_workflow_steps_async("taken-1") if s["function_name"] == "first"]:
        await asyncio.sleep(0.02)  # until step one is checkpointed
    await dead.stop()  # the process is gone: its workflow stays pending, owned by "dead"
    async with database_on_both.session() as session:
        await session.execute(update(Executor).where(Executor.executor_id == "dead")
                              .values(heartbeat_at=utcnow() - timedelta(hours=1)))

    live = runtime(database_on_both, tmp_path, "live", timeout_s=2)
    await live.start()
    try:
        handle = await DBOS.retrieve_workflow_async("taken-1")
        assert await asyncio.wait_for(handle.get_result(), 60) == "checkpointed then finished"
        status = await DBOS.get_workflow_status_async("taken-1")
        assert (status.status, status.executor_id) == ("SUCCESS", "live")
        assert CALLS == [("first", "taken-1")]  # the finished step was not run again
        assert await takeover.recover(["dead"]) == []  # nothing left to take over: exactly once
    finally:
        await live.stop()
