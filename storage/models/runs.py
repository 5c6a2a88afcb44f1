"""Runs (one command, label or button each) and their events (seed 000 §5 envelope)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow, new_event_id


class Run(Base):
    """One accepted command (or label / check-run button) and its outcome.

    ``state`` follows the seeds: ``queued → running → passed | failed |
    blocked | cancelled``.
    """

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    repository: Mapped[str] = mapped_column(String(255))  # owner/name
    issue_number: Mapped[int] = mapped_column(Integer)
    is_pull_request: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str] = mapped_column(String(32))  # help|status|cancel|generate|execute|sources|confirm
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requester: Mapped[str] = mapped_column(String(255))
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    phase: Mapped[str] = mapped_column(String(64), default="queued")
    ref: Mapped[str | None] = mapped_column(String(255))
    head_sha: Mapped[str | None] = mapped_column(String(64))
    tracking_comment_id: Mapped[int | None] = mapped_column(BigInteger)
    check_run_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    #: Governance (issue 14): estimated US dollars of the run's Codex turns (``bot.domain.cost``);
    #: the policy pack in force and the SHA-256 of the effective policy (``bot.domain.policy``).
    cost_usd: Mapped[float | None] = mapped_column(Float)
    policy_key: Mapped[str | None] = mapped_column(String(64))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    policy_effective_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_runs_repository_issue", "repository", "issue_number"),
        # One run per delivery and verb, however often the delivery is dispatched.
        Index("ux_runs_delivery_action", "delivery_id", "action", unique=True),
    )


class RunEvent(Base):
    """The seed's event envelope (seed 000 §5), persisted per real transition."""

    __tablename__ = "run_events"

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_event_id)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    phase: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # queued|running|passed|failed|blocked|complete
    message: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
