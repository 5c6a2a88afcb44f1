"""Runs and their events: create once per delivery, queue, move through states, cancel.

Run states (DESIGN.md "Run states", after the seeds): ``queued → running →
passed | failed | blocked | cancelled``; a ``blocked`` run may be queued
again (the trust gate's ``confirm``), cancelled or failed. Events use the seed's envelope (seed
000 §5) and are written only on real transitions.

A run is created in phase ``accepted`` and is queued in a second step
(``queue``): the handler posts the tracking comment in between, then enqueues
the run's workflow (``bot.jobs.queue``), so a worker never sees a run whose
tracking comment does not exist yet, and a redispatched delivery finishes
whatever step is missing. These tables stay the source of truth for the UI;
DBOS's system database only holds the workflows' checkpoints.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Run, RunEvent, utcnow

ACTIVE_STATES = ("queued", "running")
TERMINAL_STATES = ("passed", "failed", "cancelled")
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"queued", "running", "failed", "cancelled"}),
    "running": frozenset({"running", "queued", "passed", "failed", "blocked", "cancelled"}),
    "blocked": frozenset({"queued", "running", "failed", "cancelled"}),
    "passed": frozenset(), "failed": frozenset(), "cancelled": frozenset(),
}
#: Envelope status recorded for entering a run state (seed 000 §5 statuses).
EVENT_STATUS = {
    "queued": "queued", "running": "running", "passed": "passed",
    "failed": "failed", "blocked": "blocked", "cancelled": "complete",
}


async def create_run(
    session: AsyncSession,
    *,
    delivery_id: str,
    verb: str,
    installation_id: int,
    repository: str,
    issue_number: int,
    is_pull_request: bool,
    requester: str,
    args: dict[str, Any],
    ref: str | None = None,
    head_sha: str | None = None,
) -> tuple[Run, bool]:
    """The run of ``(delivery_id, verb)``, created in phase ``accepted`` if new.

    Returns ``(run, created)``; ``created`` is False when a previous dispatch
    of the same delivery already made it.
    """
    existing = await session.scalar(select(Run).where(Run.delivery_id == delivery_id, Run.action == verb))
    if existing is not None:
        return existing, False
    run = Run(
        installation_id=installation_id, repository=repository, issue_number=issue_number,
        is_pull_request=is_pull_request, action=verb, args=args, requester=requester,
        delivery_id=delivery_id, state="queued", phase="accepted", ref=ref, head_sha=head_sha,
    )
    session.add(run)
    await session.flush()
    return run, True


async def queue(session: AsyncSession, run_id: int) -> Run | None:
    """Move an ``accepted`` run to phase ``queued``, once (the caller enqueues its workflow after commit).

    Returns the run when this call queued it, ``None`` when it was queued
    before (one conditional UPDATE decides, so a redispatch cannot enqueue twice).
    """
    result = await session.execute(
        update(Run).where(Run.id == run_id, Run.phase == "accepted").values(phase="queued")
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    run = await session.get(Run, run_id, populate_existing=True)
    await add_event(session, run, "queued", "queued", "waiting for a worker")
    return run


async def add_event(
    session: AsyncSession, run: Run, phase: str, status: str, message: str = "",
    payload: dict[str, Any] | None = None,
) -> RunEvent | None:
    """Append an event (seed envelope) unless it repeats the last one's phase,
    status and payload (seed 000 §5, "emit only real step transitions"): a new
    wording of the same step is not a transition, but two scenarios passing one
    after the other are two, told apart by their payloads.

    Returns the new event, or ``None`` when skipped (not a transition).
    """
    last = await _last_event(session, run)
    if last is not None and (last.phase, last.status, last.payload) == (phase, status, payload or {}):
        return None
    event = RunEvent(run_id=run.id, action=run.action, phase=phase, status=status, message=message,
                     payload=payload or {}, timestamp=utcnow())
    session.add(event)
    await session.flush()
    return event


async def _last_event(session: AsyncSession, run: Run) -> RunEvent | None:
    return await session.scalar(
        select(RunEvent).where(RunEvent.run_id == run.id).order_by(RunEvent.timestamp.desc()).limit(1)
    )


async def set_state(session: AsyncSession, run: Run, state: str, phase: str, message: str = "") -> None:
    """Move ``run`` to ``state`` in ``phase`` and record the event, unless the last
    event already is that phase with that status (an action that reported the
    step in detail, e.g. the gate's list of sources, keeps its message).

    Raises:
        ValueError: the transition is not allowed (see ``TRANSITIONS``).
    """
    if state not in TRANSITIONS[run.state]:
        raise ValueError(f"run {run.id}: {run.state} → {state} is not a valid transition")
    run.state, run.phase = state, phase
    if state == "running" and run.started_at is None:
        run.started_at = utcnow()
    if state in TERMINAL_STATES or state == "blocked":
        run.finished_at = utcnow()
    session.add(run)
    last = await _last_event(session, run)
    if last is None or (last.phase, last.status) != (phase, EVENT_STATUS[state]):
        await add_event(session, run, phase, EVENT_STATUS[state], message)


async def events_of(session: AsyncSession, run_id: int) -> Sequence[RunEvent]:
    """The events of a run, oldest first."""
    return (await session.scalars(
        select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.timestamp)
    )).all()


async def latest_runs(session: AsyncSession, repository: str, limit: int = 10) -> Sequence[Run]:
    """The ``limit`` newest runs of ``repository`` (``owner/name``), newest first."""
    return (await session.scalars(
        select(Run).where(Run.repository == repository).order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)
    )).all()


async def active_runs(session: AsyncSession, repository: str, issue_number: int) -> Sequence[Run]:
    """The queued and running runs of an issue or pull request, oldest first."""
    return (await session.scalars(
        select(Run)
        .where(Run.repository == repository, Run.issue_number == issue_number, Run.state.in_(ACTIVE_STATES))
        .order_by(Run.created_at, Run.id)
    )).all()


async def cancel_run(session: AsyncSession, run: Run, *, by: str) -> None:
    """Mark ``run`` cancelled by ``by``; the caller cancels its workflow after the commit
    (``bot.jobs.queue.cancel``)."""
    await set_state(session, run, "cancelled", "cancelled", f"cancelled by @{by}")


async def cancel_active_runs(session: AsyncSession, repository: str, issue_number: int, *, by: str) -> list[Run]:
    """Cancel every queued or running run of an issue or pull request (``cancel_run``);
    returns them, oldest first (empty when there was none)."""
    cancelled = list(await active_runs(session, repository, issue_number))
    for run in cancelled:
        await cancel_run(session, run, by=by)
    return cancelled
