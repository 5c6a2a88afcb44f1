"""Scenarios flagged ``needs review`` after their sources changed (issue 13, ``storage.reviews``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ScenarioReview(Base):
    """A scenario of a stored pack revision flagged ``needs review``: a source it cites changed
    (``reasons``: one sentence per source) at ``commit_sha``, found by run ``run_id``."""

    __tablename__ = "scenario_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(255))
    revision: Mapped[int] = mapped_column(Integer)
    scenario_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="needs review")
    source_ids: Mapped[list[Any]] = mapped_column(default=list)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    commit_sha: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("repository", "revision", "scenario_id", name="uq_scenario_reviews"),)
