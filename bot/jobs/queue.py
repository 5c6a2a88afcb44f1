"""The run queue: enqueue a run's workflow, cancel it, list what is still open.

One DBOS queue, ``QUEUE``, partitioned by lane (``owner/name#number``) with a
partition concurrency of 1, so at most one run per issue or pull request does
work at a time whichever process runs it (the queue itself is registered by
``bot.jobs.runtime``). A run's workflow id is its run id (``"17"``), so a
redelivered webhook never starts a second workflow; a run resumed after the
trust gate blocked it gets ``"<run id>.<resuming run id>"``, deterministic too.

Every function here needs a launched DBOS (``bot.jobs.runtime.Runtime.start``),
in a worker or in a web replica alike.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID, WorkflowStatus

from bot.jobs.workflow import run_workflow
from storage.models import Run

QUEUE = "runs"
#: DBOS workflow states that still have work ahead of them.
OPEN = ["ENQUEUED", "PENDING"]
#: DBOS workflow state → the job state ``bot.metrics`` exports.
JOB_STATE = {"ENQUEUED": "queued", "PENDING": "running", "SUCCESS": "done", "ERROR": "failed",
             "CANCELLED": "cancelled", "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed"}
#: How many of the newest jobs the queue latency is measured over.
LATENCY_WINDOW = 200


def lane_of(run: Run) -> str:
    """The lane of a run: ``"owner/name#number"``."""
    return f"{run.repository}#{run.issue_number}"


def workflow_id(run_id: int, resumed_by: int | None = None) -> str:
    """``"<run id>"``, or ``"<run id>.<resumed_by>"`` for a run queued again by run ``resumed_by``."""
    return str(run_id) if resumed_by is None else f"{run_id}.{resumed_by}"


async def enqueue(run: Run, *, resumed_by: int | None = None) -> str:
    """Enqueue ``run``'s workflow on its lane once (an existing workflow id is kept); returns the id."""
    wid = workflow_id(run.id, resumed_by)
    with SetWorkflowID(wid), SetEnqueueOptions(queue_partition_key=lane_of(run)):
        await DBOS.enqueue_workflow_async(QUEUE, run_workflow, run.id)
    return wid


async def workflows_of(run_id: int, *, status: Sequence[str] | None = None) -> list[WorkflowStatus]:
    """The workflows of run ``run_id`` (its own and its resumptions), oldest first."""
    filters = {"status": list(status)} if status else {}
    own = await DBOS.list_workflows_async(workflow_ids=[str(run_id)], load_input=False, load_output=False, **filters)
    resumed = await DBOS.list_workflows_async(workflow_id_prefix=f"{run_id}.", load_input=False,
                                              load_output=False, **filters)
    return sorted([*own, *resumed], key=lambda status_: status_.created_at or 0)


async def cancel(run_ids: Iterable[int]) -> list[str]:
    """Cancel the open workflows of these runs (from any process); returns their ids.

    A running one stops within a second: its step is preemptible (``bot.jobs.steps``).
    """
    cancelled = []
    for run_id in run_ids:
        for status in await workflows_of(run_id, status=OPEN):
            await DBOS.cancel_workflow_async(status.workflow_id)
            cancelled.append(status.workflow_id)
    return cancelled


async def open_workflows() -> list[WorkflowStatus]:
    """Every enqueued or running workflow of the run queue."""
    return await DBOS.list_workflows_async(status=OPEN, queue_name=QUEUE, load_input=False, load_output=False)


async def job_stats() -> tuple[dict[str, int], list[float]]:
    """``({job state: jobs}, [queue latency in seconds of the newest started jobs])`` of the run
    queue; latency is DBOS's ``dequeued_at - created_at``."""
    counts: dict[str, int] = {}
    for dbos_state, state in JOB_STATE.items():
        found = await DBOS.list_workflows_async(status=dbos_state, queue_name=QUEUE, load_input=False,
                                                load_output=False)
        counts[state] = counts.get(state, 0) + len(found)
    newest = await DBOS.list_workflows_async(queue_name=QUEUE, limit=LATENCY_WINDOW, sort_desc=True,
                                             load_input=False, load_output=False)
    latencies = [(w.dequeued_at - w.created_at) / 1000 for w in newest if w.dequeued_at and w.created_at]
    return counts, latencies
