"""The execute loop's latest checkpoint per run (issues 11, 13; ``storage.checkpoints``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ExecuteCheckpoint(Base):
    """What run ``run_id``'s execute loop knew after its last finished turn: ``state`` (the loop's
    ``bot.execution.checkpoint.LoopState`` as JSON), ``patch`` (the worktree's change since the loop
    started, ``git diff --binary`` bytes), ``next_phase``, ``turns`` (finished turns so far) and the pack
    ``revision`` it executes."""

    __tablename__ = "execute_checkpoints"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int | None] = mapped_column(Integer)
    next_phase: Mapped[str] = mapped_column(String(16))
    turns: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    patch: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
