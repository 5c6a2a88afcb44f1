"""Scenarios flagged ``needs review`` (``storage.models.ScenarioReview``) after their sources changed.

One row per (repository, pack revision, scenario): a later push that changes the
same scenario's sources again replaces its reasons. A new pack revision starts
with no flags, so only the latest revision's rows count (:func:`needing_review`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PackRevision
from storage.models import ScenarioReview


async def flag(session: AsyncSession, repository: str, revision: int, flags: Mapping[str, tuple[list[str], list[str]]],
               *, commit_sha: str, run_id: int | None) -> None:
    """Mark each scenario of ``flags`` (id → (source ids, reasons)) of ``revision`` ``needs review``."""
    existing = {row.scenario_id: row for row in (await session.scalars(select(ScenarioReview).where(
        ScenarioReview.repository == repository, ScenarioReview.revision == revision))).all()}
    for scenario_id, (source_ids, reasons) in flags.items():
        row = existing.get(scenario_id) or ScenarioReview(repository=repository, revision=revision,
                                                          scenario_id=scenario_id)
        row.state, row.source_ids, row.reasons = "needs review", list(source_ids), list(reasons)
        row.commit_sha, row.run_id = commit_sha, run_id
        session.add(row)
    await session.flush()


async def needing_review(session: AsyncSession, repository: str) -> Sequence[ScenarioReview]:
    """The flagged scenarios of ``repository``'s latest pack revision, by scenario id."""
    latest = await session.scalar(select(PackRevision.revision).where(PackRevision.repository == repository)
                                  .order_by(PackRevision.revision.desc()).limit(1))
    if latest is None:
        return []
    return (await session.scalars(select(ScenarioReview).where(
        ScenarioReview.repository == repository, ScenarioReview.revision == latest,
        ScenarioReview.state == "needs review").order_by(ScenarioReview.scenario_id))).all()
