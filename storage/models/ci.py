"""A failed CI run and its fix run (issue 13, ``storage.ci_failures``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class CIFailure(Base):
    """One failed CI run on a head SHA: a workflow run (``kind`` ``workflow_run``, ``ci_id`` its id)
    or a check suite of another CI app (``check_suite``, ``ci_id`` the suite id).

    ``pull_number``: the pull request whose head it is (``None`` on the default branch);
    ``issue_number``: where the fix run's tracking comment goes (that pull request, or the issue
    the bot opened for a failure on the default branch); ``fork``:
    that head lives in another repository; ``jobs``: the failed jobs as
    ``{"id", "name", "html_url", "steps": [failed step names]}``; ``check_run_id``: the
    ``ScenarioForge / CI`` check run with the button; ``delivery_id`` / ``run_id``: the delivery
    that started the fix run and that run (set once: a redelivery starts nothing more).
    """

    __tablename__ = "ci_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(255))
    installation_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    ci_id: Mapped[int] = mapped_column(BigInteger)
    head_sha: Mapped[str] = mapped_column(String(64))
    head_branch: Mapped[str | None] = mapped_column(String(255))
    head_repository: Mapped[str | None] = mapped_column(String(255))
    workflow: Mapped[str] = mapped_column(Text, default="")
    html_url: Mapped[str] = mapped_column(Text, default="")
    pull_number: Mapped[int | None] = mapped_column(Integer)
    issue_number: Mapped[int | None] = mapped_column(Integer)
    base_ref: Mapped[str | None] = mapped_column(String(255))
    fork: Mapped[bool] = mapped_column(Boolean, default=False)
    jobs: Mapped[list[Any]] = mapped_column(default=list)
    check_run_id: Mapped[int | None] = mapped_column(BigInteger)
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("repository", "head_sha", "kind", "ci_id", name="uq_ci_failures_run"),)
