"""Execute results: scenario outcomes, evidence, fix attempts, PR links (seed 000 §9.3)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ExecutionResult(Base):
    """One execute loop of a run: what ran, against which pack revision, and how it ended.

    ``status``: ``passed | failed | blocked``; ``stop_reason`` why the fix loop
    ended (``None`` in run mode); ``diff`` is the worktree's final ``git diff``.
    """

    __tablename__ = "execution_results"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    pack_revision: Mapped[int | None] = mapped_column(Integer)
    manifest_hash: Mapped[str | None] = mapped_column(String(128))
    scenario_ids: Mapped[list[Any]] = mapped_column(default=list)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    thread_id: Mapped[str | None] = mapped_column(String(128))
    turn_ids: Mapped[list[Any]] = mapped_column(default=list)
    prompt_version: Mapped[str] = mapped_column(String(64), default="")
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    codex_s: Mapped[float] = mapped_column(Float, default=0.0)
    diff: Mapped[str] = mapped_column(Text, default="")
    #: Token usage per Codex turn (``bot.domain.results.TurnUsage`` as JSON), in order.
    turns: Mapped[list[Any]] = mapped_column(default=list)
    #: The rerun of every selected scenario before a PR (``ScenarioOutcome`` as JSON).
    check: Mapped[list[Any]] = mapped_column(default=list)
    #: The fixed scenarios run on the base and fix commits (``bot.domain.verification.FixProof`` as JSON).
    proofs: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScenarioResult(Base):
    """A scenario's recorded result after one turn: ``attempt`` 0 = first run, n = rerun after fix n."""

    __tablename__ = "scenario_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    scenario_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # passed|failed|blocked
    reported_status: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # bot.domain.results.ScenarioOutcome as JSON

    __table_args__ = (UniqueConstraint("run_id", "attempt", "scenario_id", name="uq_scenario_results_attempt"),)


class Evidence(Base):
    """One evidence artifact (command output or diff), referenced by its content id ``ev-…``."""

    __tablename__ = "evidence"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # command|diff
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    turn_id: Mapped[str | None] = mapped_column(String(128))
    scenario_ids: Mapped[list[Any]] = mapped_column(default=list)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # bot.domain.results.Evidence as JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FixAttempt(Base):
    """One fix turn of a run (numbered from 1), its diff and the rerun outcome."""

    __tablename__ = "fix_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    scenario_ids: Mapped[list[Any]] = mapped_column(default=list)
    turn_id: Mapped[str | None] = mapped_column(String(128))
    diff: Mapped[str] = mapped_column(Text, default="")
    rerun_outcome: Mapped[str] = mapped_column(String(16))
    evidence_ids: Mapped[list[Any]] = mapped_column(default=list)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # summary, residual risk, reverted paths

    __table_args__ = (UniqueConstraint("run_id", "number", name="uq_fix_attempts_number"),)


class PullRequestLink(Base):
    """The fix PR of a run and the scenario ids it fixes (one PR per run, updated on re-runs)."""

    __tablename__ = "pull_request_links"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    repository: Mapped[str] = mapped_column(String(255))
    number: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(512))
    branch: Mapped[str] = mapped_column(String(255))
    scenario_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
