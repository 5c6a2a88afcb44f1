"""The pull requests the review board follows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


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
