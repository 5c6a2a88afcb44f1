"""The execute loop's checkpoints (``storage.models.ExecuteCheckpoint``): one row per run, the latest.

Written after each finished turn of ``bot.execution.loop`` and read back by the
same run after a crash or by a ``--resume`` run (``bot.execution.resume``). The
state is plain JSON here; its shape belongs to ``bot.execution.checkpoint``.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ExecuteCheckpoint


async def save(session: AsyncSession, run_id: int, *, state: dict[str, Any], patch: bytes, next_phase: str,
               turns: int, revision: int | None) -> None:
    """Store (or replace) ``run_id``'s checkpoint."""
    row = await session.get(ExecuteCheckpoint, run_id)
    if row is None:
        row = ExecuteCheckpoint(run_id=run_id)
        session.add(row)
    row.state, row.patch, row.next_phase, row.turns, row.revision = state, patch, next_phase, turns, revision
    await session.flush()


async def load(session: AsyncSession, run_id: int) -> ExecuteCheckpoint | None:
    """``run_id``'s latest checkpoint, or ``None`` (no turn of it finished)."""
    return await session.get(ExecuteCheckpoint, run_id)
