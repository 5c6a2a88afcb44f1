"""Tables of ScenarioForge (SQLAlchemy 2 declarative, nothing SQLite-only).

Time columns are timezone-aware UTC. JSON columns hold plain dicts/lists.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def new_event_id() -> str:
    """A fresh event id (the seed's ``eventId``)."""
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Installation(Base):
    """A GitHub App installation, kept current by installation webhooks."""

    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account_login: Mapped[str] = mapped_column(String(255))
    account_type: Mapped[str] = mapped_column(String(32))
    repository_selection: Mapped[str | None] = mapped_column(String(32))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InstallationRepository(Base):
    """A repository an installation can reach."""

    __tablename__ = "installation_repositories"

    installation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("installations.id", ondelete="CASCADE"), primary_key=True
    )
    repository_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    full_name: Mapped[str] = mapped_column(String(255))


class Delivery(Base):
    """One webhook delivery, recorded before the HTTP answer and never changed after.

    How it ended is a ``DeliveryOutcome`` row; a delivery without one is
    pending (recorded, not handled yet).
    """

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # X-GitHub-Delivery
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    repository: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[str] = mapped_column(Text)


class DeliveryOutcome(Base):
    """How a delivery ended, in a narrow table of its own: writing an outcome
    inserts a few bytes instead of rewriting the delivery's payload row.

    ``status``: ``processed`` | ``ignored`` (no handler for the event) |
    ``failed`` (a handler raised; ``error`` is its text).
    """

    __tablename__ = "delivery_outcomes"

    # No ON DELETE CASCADE: a migration that rebuilds ``deliveries`` (SQLite batch mode
    # drops the old table) fails here instead of erasing every outcome, which would
    # make every delivery pending and dispatched again.
    delivery_id: Mapped[str] = mapped_column(String(64), ForeignKey("deliveries.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)


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


class Job(Base):
    """Durable work for a run: leased by one worker at a time.

    ``state``: ``queued → running → done | failed | cancelled``. A ``running``
    job whose ``lease_expires_at`` has passed belongs to a dead worker and is
    taken up again. ``lane`` (``owner/name#number``) allows at most one
    running job per repository issue or pull request.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    lane: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_jobs_state_run_after", "state", "run_after"), Index("ix_jobs_lane", "lane"))


# -- execute (issue 5): results, evidence, fix attempts, PR links (seed 000 §9.3) --------------
# (imported here to keep this file append-only for parallel work)
from sqlalchemy import Float, UniqueConstraint  # noqa: E402


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


# -- source manifests (issue 3): the trust gate's auditable record (seed 000 §7, SF-2003) --------
# (imported here to keep this file append-only for parallel work)
from sqlalchemy import Float  # noqa: E402
from sqlalchemy.orm import relationship  # noqa: E402


class Manifest(Base):
    """The sources scanned at one commit of a repository and which of them are selected.

    ``manifest_hash``: SHA-256 of the sorted (path, blob SHA, status, selected)
    tuples (``bot.domain.sources.manifest_hash``). A selection edit creates a
    new manifest whose ``parent_id`` is the edited one.
    """

    __tablename__ = "manifests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(255))  # owner/name
    commit_sha: Mapped[str] = mapped_column(String(64))
    manifest_hash: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("manifests.id", ondelete="SET NULL"))
    notes: Mapped[list[Any]] = mapped_column(default=list)  # repository-level reasons (shallow clone, config error)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sources: Mapped[list["ManifestSource"]] = relationship(
        back_populates="manifest", lazy="selectin", order_by="ManifestSource.path", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_manifests_repository_created", "repository", "created_at"),)


class ManifestSource(Base):
    """One source of a manifest (scenarios cite it by ``path``). ``reasons``: list of Reason dicts."""

    __tablename__ = "manifest_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifests.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    blob_sha: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # trusted|suspect|stale|excluded
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    selected: Mapped[bool] = mapped_column(Boolean)

    manifest: Mapped[Manifest] = relationship(back_populates="sources")


class ManifestConfirmation(Base):
    """A person accepted the stale/suspect sources of a manifest with exactly this hash."""

    __tablename__ = "manifest_confirmations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifests.id", ondelete="CASCADE"), index=True)
    manifest_hash: Mapped[str] = mapped_column(String(64), index=True)
    confirmed_by: Mapped[str] = mapped_column(String(255))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- scenario pack revisions (issue 4): the generate action's audit record (seed 000 §9.3) -------
# (imported here to keep this file append-only for parallel work)
from sqlalchemy import UniqueConstraint  # noqa: E402


class PackRevision(Base):
    """One stored revision of a repository's scenario pack (numbered 1, 2, … per repository).

    ``document`` is the whole ``bot.domain.pack.PackDocument`` as JSON (what
    ``scenario-pack.json`` holds); the other columns repeat its audit fields
    for queries. ``head_sha`` is the commit the pack was generated from,
    ``branch`` the ref it was resolved from; ``commit_sha`` and ``pr_number``
    are set once the bot published the revision. ``token_usage`` holds one
    entry per turn; ``timings`` maps a phase to seconds.
    """

    __tablename__ = "pack_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(255))  # owner/name
    revision: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))  # initial|update
    issue_number: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    manifest_id: Mapped[int | None] = mapped_column(ForeignKey("manifests.id", ondelete="SET NULL"))
    manifest_hash: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str] = mapped_column(String(128))
    turn_ids: Mapped[list[Any]] = mapped_column(default=list)
    branch: Mapped[str | None] = mapped_column(String(255))
    head_sha: Mapped[str | None] = mapped_column(String(64))
    prompt_version: Mapped[str] = mapped_column(String(64))
    token_usage: Mapped[list[Any]] = mapped_column(default=list)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    document: Mapped[dict[str, Any]] = mapped_column()
    change_summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    pr_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("repository", "revision", name="uq_pack_revisions_repository_revision"),)


# -- review board (issue 12): fix PR state kept current from pull_request webhooks -------------
# (appended to keep this file append-only for parallel work)


class PullRequestState(Base):
    """The latest known state of a pull request, from ``pull_request`` and
    ``pull_request_review`` webhooks (https://docs.github.com/webhooks/webhook-events-and-payloads#pull_request).

    ``state``: ``open | closed``; ``merged`` and ``draft`` as GitHub reports them;
    ``review_state``: the latest review's ``approved | changes_requested | commented``, or ``None``.
    """

    __tablename__ = "pull_request_states"

    repository: Mapped[str] = mapped_column(String(255), primary_key=True)  # owner/name
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16))
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    merged: Mapped[bool] = mapped_column(Boolean, default=False)
    review_state: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text, default="")
    head_sha: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
