"""What the board reads: runs, their events, results, evidence, fix attempts, PRs, packs, manifests.

Only persisted tables (``storage.models``) are read, never the job queue, so
every page and report can be rebuilt from the database alone. Functions take
the caller's ``AsyncSession``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.results import ExecutionOutcome
from storage import executions, packs, pulls
from storage.models import (
    ExecutionResult,
    Manifest,
    PackRevision,
    PullRequestLink,
    PullRequestState,
    Run,
    RunEvent,
    utcnow,
)

#: Run states after which no event follows (``storage.runs``); ``blocked`` waits for a person.
FINAL_STATES = frozenset({"passed", "failed", "cancelled", "blocked"})


@dataclass
class RunView:
    """One run and everything persisted about it."""

    run: Run
    events: Sequence[Row]  # EVENT_COLUMNS, oldest first: all of them, or the latest ``tail``
    event_count: int
    outcome: ExecutionOutcome | None
    pull: PullRequestLink | None
    pull_state: PullRequestState | None
    pack: PackRevision | None
    manifest: Manifest | None


def event_order():
    """The order events were recorded in: timestamp, then event id (ties)."""
    return (RunEvent.timestamp, RunEvent.event_id)


#: The event columns the board shows (plain rows: ~5x faster to load than ORM objects).
EVENT_COLUMNS = (RunEvent.event_id, RunEvent.timestamp, RunEvent.phase, RunEvent.status, RunEvent.message,
                 RunEvent.payload)


async def events_after(session: AsyncSession, run_id: int, after: Row | RunEvent | None,
                       limit: int = 1000) -> Sequence[Row]:
    """Up to ``limit`` events of ``run_id`` recorded after ``after`` (all when ``None``), in order,
    as rows of ``EVENT_COLUMNS``."""
    query = select(*EVENT_COLUMNS).where(RunEvent.run_id == run_id)
    if after is not None:
        query = query.where(tuple_(*event_order()) > tuple_(after.timestamp, after.event_id))
    return (await session.execute(query.order_by(*event_order()).limit(limit))).all()


async def pack_of(session: AsyncSession, run: Run, result: ExecutionResult | None) -> PackRevision | None:
    """The pack revision a run generated, or the one an execute run ran."""
    if result is not None and result.pack_revision is not None:
        return await packs.get_revision(session, run.repository, result.pack_revision)
    return await session.scalar(select(PackRevision).where(PackRevision.run_id == run.id))


async def latest_events(session: AsyncSession, run_id: int, tail: int) -> Sequence[Row]:
    """The latest ``tail`` events of ``run_id``, oldest first (rows of ``EVENT_COLUMNS``)."""
    newest = (RunEvent.timestamp.desc(), RunEvent.event_id.desc())
    rows = (await session.execute(select(*EVENT_COLUMNS).where(RunEvent.run_id == run_id)
                                  .order_by(*newest).limit(tail))).all()
    return rows[::-1]


async def load_run(session: AsyncSession, run_id: int, *, tail: int | None = None) -> RunView | None:
    """Everything persisted about run ``run_id`` (only the latest ``tail`` events when given),
    or ``None`` when there is no such run."""
    run = await session.get(Run, run_id)
    if run is None:
        return None
    result = await session.get(ExecutionResult, run_id)
    pack = await pack_of(session, run, result)
    manifest = await session.get(Manifest, pack.manifest_id) if pack and pack.manifest_id else None
    pull = await executions.pull_request_of(session, run_id)
    pull_state = (await pulls.states(session, pull.repository, [pull.number])).get(pull.number) if pull else None
    if tail is None:
        events = await events_after(session, run_id, None, limit=10_000_000)
        count = len(events)
    else:
        events = await latest_events(session, run_id, tail)
        count = await session.scalar(select(func.count()).select_from(RunEvent).where(RunEvent.run_id == run_id))
    return RunView(
        run=run, events=events, event_count=count,
        outcome=await executions.load_outcome(session, run_id), pull=pull, pull_state=pull_state,
        pack=pack, manifest=manifest,
    )


async def runs_of(session: AsyncSession, repositories: Iterable[str], *, limit: int = 200) -> Sequence[Run]:
    """The newest ``limit`` runs of ``repositories`` (``owner/name``), newest first."""
    return (await session.scalars(
        select(Run).where(Run.repository.in_(sorted(set(repositories))))
        .order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)
    )).all()


async def results_of(session: AsyncSession, run_ids: Iterable[int]) -> dict[int, ExecutionResult]:
    """The execution results of ``run_ids``, by run id (runs without one left out)."""
    wanted = sorted(set(run_ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(ExecutionResult).where(ExecutionResult.run_id.in_(wanted)))
    return {row.run_id: row for row in rows}


async def pull_links(session: AsyncSession, repository: str) -> Sequence[PullRequestLink]:
    """The fix PRs of ``repository``'s runs, newest first."""
    return (await session.scalars(
        select(PullRequestLink).where(PullRequestLink.repository == repository)
        .order_by(PullRequestLink.created_at.desc())
    )).all()


def duration_s(run: Run) -> float | None:
    """Seconds from start to finish (to now for a running run), ``None`` before it started."""
    if run.started_at is None:
        return None
    end = run.finished_at or utcnow()
    return max(0.0, (_aware(end) - _aware(run.started_at)).total_seconds())


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
