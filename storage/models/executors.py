"""Worker processes' heartbeats (a silent one's runs are taken over, bot.jobs.takeover)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class Executor(Base):
    """A worker process's last sign of life: ``heartbeat_at`` (UTC), renewed by
    ``bot.jobs.takeover``; an old one means the process (or its machine) is dead."""

    __tablename__ = "executors"

    executor_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
