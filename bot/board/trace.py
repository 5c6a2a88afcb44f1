"""Traceability of one scenario: source documents (path at blob SHA, status) → scenario →
its results over time → fix attempts and fix PRs (seed 000 §9.3, "Auditability").

The scenario is taken from the newest pack revision of the repository that has it;
its sources from that revision's manifest; results from every run of the
repository that recorded one (``scenario_results``), newest first.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.pack import PackDocument
from bot.domain.results import ScenarioOutcome
from storage import pulls
from storage.models import FixAttempt, Manifest, PackRevision, PullRequestLink, Run, ScenarioResult


async def traceability(session: AsyncSession, repository: str, scenario_id: str) -> dict[str, Any] | None:
    """The template context of the scenario page, or ``None`` when no revision has the scenario."""
    revisions = (await session.scalars(select(PackRevision).where(PackRevision.repository == repository)
                                       .order_by(PackRevision.revision.desc()))).all()
    for row in revisions:
        found = [s for _, _, s in PackDocument.model_validate(row.document).pack.scenarios() if s.id == scenario_id]
        if found:
            scenario, revision = found[0], row
            break
    else:
        return None
    manifest = await session.get(Manifest, revision.manifest_id) if revision.manifest_id else None
    by_path = {source.path: source for source in manifest.sources} if manifest else {}
    sources = [{"path": path, "source": by_path.get(path)} for path in scenario.source_ids]
    rows = (await session.execute(
        select(ScenarioResult, Run).join(Run, Run.id == ScenarioResult.run_id)
        .where(Run.repository == repository, ScenarioResult.scenario_id == scenario_id)
        .order_by(Run.created_at.desc(), Run.id.desc(), ScenarioResult.attempt)
    )).all()
    results = [{"run": run, "attempt": row.attempt, "outcome": ScenarioOutcome.model_validate(row.data)}
               for row, run in rows]
    run_ids = sorted({run.id for _, run in rows})
    attempts = [attempt for attempt in (await session.scalars(
        select(FixAttempt).where(FixAttempt.run_id.in_(run_ids)).order_by(FixAttempt.run_id, FixAttempt.number)
    )).all() if scenario_id in attempt.scenario_ids]
    links = [link for link in (await session.scalars(
        select(PullRequestLink).where(PullRequestLink.repository == repository).order_by(PullRequestLink.number)
    )).all() if scenario_id in link.scenario_ids]
    states = await pulls.states(session, repository, [link.number for link in links])
    return {
        "scenario": scenario, "revision": revision, "manifest": manifest, "sources": sources, "results": results,
        "attempts": attempts, "links": [{"link": link, "state": states.get(link.number)} for link in links],
    }
