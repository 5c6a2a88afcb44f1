"""Scenario pack revisions: the generate action's audit record (seed 000 §9.3)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


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
