"""Failed CI runs (``storage.models.CIFailure``): recorded once per head SHA and CI run,
their fix run started once.

A redelivered ``workflow_run`` (same or new delivery id), its ``check_suite`` twin or a
"Re-run failed jobs" of the same workflow run (same id, next ``run_attempt``) find the row of
the first delivery (:func:`record`); :func:`claim` lets exactly one delivery start the automatic
fix run, and that same delivery again when it is dispatched a second time after a crash.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CIFailure


async def record(session: AsyncSession, *, repository: str, head_sha: str, kind: str, ci_id: int,
                 **fields: Any) -> tuple[CIFailure, bool]:
    """The failure of ``(repository, head_sha, kind, ci_id)``, created with ``fields`` if new;
    returns ``(row, created)``."""
    key = dict(repository=repository, head_sha=head_sha, kind=kind, ci_id=ci_id)
    existing = await session.scalar(select(CIFailure).filter_by(**key))
    if existing is not None:
        return existing, False
    row = CIFailure(**key, **fields)
    session.add(row)
    await session.flush()
    return row, True


async def claim(session: AsyncSession, failure_id: int, delivery_id: str) -> bool:
    """True when ``delivery_id`` may start the failure's automatic fix run: no delivery started
    one yet, or this very delivery did (a redispatch finishes what it began)."""
    result = await session.execute(
        update(CIFailure).where(CIFailure.id == failure_id,
                                or_(CIFailure.delivery_id.is_(None), CIFailure.delivery_id == delivery_id))
        .values(delivery_id=delivery_id).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def set_columns(session: AsyncSession, failure_id: int, **columns: Any) -> None:
    """Store ``columns`` (``check_run_id``, ``run_id``, ``jobs``) on the failure."""
    await session.execute(update(CIFailure).where(CIFailure.id == failure_id).values(**columns)
                          .execution_options(synchronize_session=False))
