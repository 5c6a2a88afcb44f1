"""Executor heartbeats: which worker processes are alive (``storage.models.Executor``)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Executor


async def beat(session: AsyncSession, executor_id: str, now: datetime) -> None:
    """Record that ``executor_id`` is alive at ``now`` (UTC)."""
    result = await session.execute(update(Executor).where(Executor.executor_id == executor_id)
                                   .values(heartbeat_at=now).execution_options(synchronize_session=False))
    if result.rowcount == 0:
        session.add(Executor(executor_id=executor_id, heartbeat_at=now))
        await session.flush()


async def silent_since(session: AsyncSession, before: datetime, *, besides: str) -> Sequence[str]:
    """Executors (other than ``besides``) whose last heartbeat is older than ``before``."""
    return (await session.scalars(select(Executor.executor_id).where(
        Executor.heartbeat_at < before, Executor.executor_id != besides).order_by(Executor.executor_id))).all()


async def forget(session: AsyncSession, executor_ids: Sequence[str]) -> None:
    """Drop the rows of executors whose runs were taken over."""
    await session.execute(delete(Executor).where(Executor.executor_id.in_(list(executor_ids))))
