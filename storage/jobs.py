"""The durable job queue: enqueue, atomic claim with a lease, heartbeat, retry, cancel.

A job moves ``queued → running → done | failed | cancelled`` (``storage.models.Job``).
Every change of state is ONE conditional ``UPDATE … WHERE id = ? AND <expected
state>`` whose row count says whether this caller won, so several processes
can share the table without locks held across statements. Only portable SQL
is used (a correlated ``NOT EXISTS``), nothing SQLite-only.

Rules:

- A ``queued`` job is claimable when ``run_after <= now`` and no other job of
  its lane (``owner/name#number``) is busy: ``running``, or ``cancelled`` while
  its lease is still live (its worker is still stopping the action; it drops
  the lease with ``end_cancelled`` once stopped). At most one job per
  repository issue or pull request does work at a time.
- A ``running`` job whose lease has expired belongs to a dead worker and is
  claimable again (its lane is still its own).
- Each claim counts one attempt; a transient failure waits
  ``min(cap, base * 2 ** (attempts - 1))`` seconds (exponential backoff) and
  after ``max_attempts`` attempts the job is ``failed``.

Limit: on PostgreSQL under READ COMMITTED two claims of *different* jobs of
one lane could pass the ``NOT EXISTS`` check at once; a partial unique index
``(lane) WHERE state = 'running'`` would close that gap for running jobs when
Postgres lands (a cancelled job still stopping is only seen by the ``NOT EXISTS``).
On SQLite writers are serialised, so the check is exact.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.db import Database
from storage.models import Job, Run, utcnow

#: Job states that still have work ahead of them.
OPEN_STATES = ("queued", "running")
#: Exponential backoff defaults, in seconds.
BACKOFF_BASE_S = 10.0
BACKOFF_CAP_S = 900.0

Heartbeat = Literal["held", "cancelled", "lost"]


def lane_of(run: Run) -> str:
    """The lane of a run: ``"owner/name#number"``."""
    return f"{run.repository}#{run.issue_number}"


async def enqueue(session: AsyncSession, run: Run, *, max_attempts: int = 5) -> Job:
    """Add a queued job for ``run`` in the caller's transaction.

    The job keeps the installation id, never a token: the worker mints its
    own (python/miss-islington ``tasks.py``).
    """
    if run.id is None:
        await session.flush()
    job = Job(
        run_id=run.id,
        installation_id=run.installation_id,
        lane=lane_of(run),
        state="queued",
        attempts=0,
        max_attempts=max_attempts,
        run_after=utcnow(),
    )
    session.add(job)
    await session.flush()
    return job


def _claimable(now: datetime):
    """SQL condition: the job may be claimed at ``now`` (see module docstring)."""
    other = aliased(Job)
    busy = or_(other.state == "running", and_(other.state == "cancelled", other.lease_expires_at > now))
    lane_busy = exists().where(other.lane == Job.lane, busy, other.id != Job.id)
    return or_(
        and_(Job.state == "queued", Job.run_after <= now, ~lane_busy),
        and_(Job.state == "running", Job.lease_expires_at <= now),
    )


async def claim(db: Database, owner: str, lease_s: float, now: datetime) -> Job | None:
    """Lease the next claimable job to ``owner`` until ``now + lease_s``.

    Returns the claimed job (``state='running'``, ``attempts`` counted) or
    ``None`` when nothing is claimable. Safe across processes: a candidate is
    taken only if the conditional UPDATE changed exactly one row.
    """
    condition = _claimable(now)
    async with db.session() as session:
        candidates = (
            await session.scalars(select(Job.id).where(condition).order_by(Job.run_after, Job.id).limit(8))
        ).all()
    for job_id in candidates:
        async with db.session() as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, condition)
                .values(
                    state="running",
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_s),
                    attempts=Job.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                return await session.get(Job, job_id)
    return None


async def _owned_update(db: Database, job_id: int, owner: str, *, held: str = "running", **values) -> bool:
    """Apply ``values`` if ``owner`` still holds the job in state ``held``; True if it did."""
    async with db.session() as session:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_owner == owner, Job.state == held)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


async def heartbeat(db: Database, job_id: int, owner: str, lease_s: float, now: datetime) -> Heartbeat:
    """Extend ``owner``'s lease to ``now + lease_s``.

    Returns ``"held"`` when extended, ``"cancelled"`` when the job was
    cancelled meanwhile (the worker must stop the action), ``"lost"`` when
    another worker owns it or it ended (the worker must stop and write nothing).
    """
    expires = now + timedelta(seconds=lease_s)
    if await _owned_update(db, job_id, owner, lease_expires_at=expires, updated_at=now):
        return "held"
    async with db.session() as session:
        job = await session.get(Job, job_id)
    if job is not None and job.state == "cancelled" and job.lease_owner == owner:
        return "cancelled"
    return "lost"


async def complete(db: Database, job_id: int, owner: str, now: datetime) -> bool:
    """Mark the job ``done``; False if ``owner`` no longer held it."""
    return await _owned_update(db, job_id, owner, state="done", lease_expires_at=None, updated_at=now)


async def fail(db: Database, job_id: int, owner: str, error: str, now: datetime) -> bool:
    """Mark the job ``failed`` with ``error``; False if ``owner`` no longer held it."""
    return await _owned_update(
        db, job_id, owner, state="failed", last_error=error, lease_expires_at=None, updated_at=now
    )


def backoff_s(attempts: int, *, base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1 → base, doubling, capped)."""
    return min(cap_s, base_s * 2 ** max(attempts - 1, 0))


async def retry_later(
    db: Database,
    job: Job,
    owner: str,
    error: str,
    now: datetime,
    *,
    base_s: float = BACKOFF_BASE_S,
    cap_s: float = BACKOFF_CAP_S,
) -> datetime | None:
    """Requeue ``job`` after a transient failure, or fail it when out of attempts.

    Returns the new ``run_after`` (UTC), or ``None`` when the job is now
    ``failed`` (``attempts >= max_attempts``) or ``owner`` no longer held it.
    """
    if job.attempts >= job.max_attempts:
        await fail(db, job.id, owner, error, now)
        return None
    run_after = now + timedelta(seconds=backoff_s(job.attempts, base_s=base_s, cap_s=cap_s))
    requeued = await _owned_update(
        db,
        job.id,
        owner,
        state="queued",
        run_after=run_after,
        last_error=error,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=now,
    )
    return run_after if requeued else None


async def release(db: Database, job: Job, owner: str, now: datetime) -> bool:
    """Give a job back on a graceful stop: queued again at once, the attempt not counted."""
    return await _owned_update(
        db,
        job.id,
        owner,
        state="queued",
        run_after=now,
        attempts=Job.attempts - 1,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=now,
    )


async def cancel_for_run(session: AsyncSession, run_id: int) -> int:
    """Cancel the open jobs of ``run_id`` in the caller's transaction; returns how many.

    A running job keeps its ``lease_owner`` and lease: that worker's next
    heartbeat answers ``"cancelled"`` and it cancels the action (call
    ``Workers.wake()`` after commit to make that immediate); until it calls
    ``end_cancelled`` (or the lease expires) the lane stays busy.
    """
    result = await session.execute(
        update(Job)
        .where(Job.run_id == run_id, Job.state.in_(OPEN_STATES))
        .values(state="cancelled", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def end_cancelled(db: Database, job_id: int, owner: str, now: datetime) -> bool:
    """``owner`` has stopped the action of its cancelled job: drop the lease so the
    lane is free; False if the job is not a cancelled job leased to ``owner``."""
    return await _owned_update(db, job_id, owner, held="cancelled", lease_expires_at=None, updated_at=now)
