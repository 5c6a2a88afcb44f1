"""Source manifests: the trust gate's auditable record (seed 000 §7, SF-2003) and confirmations."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow


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
    #: Why a person must confirm this source again, and since when (a documentation PR rewrote it: issue 13);
    #: a confirmation of the manifest older than ``reconfirm_since`` does not cover it.
    reconfirm_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reconfirm_since: Mapped[datetime | None] = mapped_column(nullable=True)

    manifest: Mapped[Manifest] = relationship(back_populates="sources")


class ManifestConfirmation(Base):
    """A person accepted the stale/suspect sources of a manifest with exactly this hash."""

    __tablename__ = "manifest_confirmations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifests.id", ondelete="CASCADE"), index=True)
    manifest_hash: Mapped[str] = mapped_column(String(64), index=True)
    confirmed_by: Mapped[str] = mapped_column(String(255))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
