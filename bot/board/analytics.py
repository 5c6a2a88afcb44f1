"""``/board/analytics`` and ``/board/{owner}/{repo}/analytics``: seed 002's success analytics.

Over the execute runs the viewer may see: first-attempt pass rate (scenario
results of attempt 0 that passed), fix success rate (fix attempts whose rerun
passed), runs per day, time and tokens per run, the most frequent failure
causes (classification of failed results) and failing checkpoints. Charts are
SVG drawn by the template from the numbers here (no script).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.board.access import board_of, check_repository, viewer
from bot.board.queries import duration_s
from bot.domain.results import ScenarioOutcome
from storage.models import ExecutionResult, FixAttempt, Run, ScenarioResult

TOP = 8


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def figures(session: AsyncSession, repositories: Sequence[str]) -> dict[str, Any]:
    """The analytics of ``repositories`` (``owner/name``)."""
    runs = (await session.scalars(select(Run).where(Run.repository.in_(sorted(repositories)))
                                  .order_by(Run.created_at))).all()
    ids = [run.id for run in runs]
    results = (await session.scalars(select(ScenarioResult).where(ScenarioResult.run_id.in_(ids)))).all()
    attempts = (await session.scalars(select(FixAttempt).where(FixAttempt.run_id.in_(ids)))).all()
    executions = {row.run_id: row for row in (await session.scalars(
        select(ExecutionResult).where(ExecutionResult.run_id.in_(ids)))).all()}
    first = [result for result in results if result.attempt == 0]
    causes: Counter[str] = Counter()
    checkpoints: Counter[str] = Counter()
    for result in results:
        if result.status == "passed":
            continue
        outcome = ScenarioOutcome.model_validate(result.data)
        causes[outcome.classification.cause if outcome.classification else "unclassified"] += 1
        checkpoints.update(checkpoint.checkpoint for checkpoint in outcome.failing_checkpoints)
    per_day = Counter(run.created_at.strftime("%Y-%m-%d") for run in runs)
    executed = [run for run in runs if run.id in executions]
    durations = [d for d in (duration_s(run) for run in executed if run.finished_at) if d is not None]
    return {
        "runs": len(runs), "executed": len(executed),
        "first_attempt_pass_rate": _ratio(sum(r.status == "passed" for r in first), len(first)),
        "fix_success_rate": _ratio(sum(a.rerun_outcome == "passed" for a in attempts), len(attempts)),
        "per_day": sorted(per_day.items())[-30:],
        "mean_duration_s": sum(durations) / len(durations) if durations else None,
        "mean_tokens": sum(row.tokens for row in executions.values()) / len(executions) if executions else None,
        "per_run_seconds": [(f"run {run.id}", round(duration_s(run) or 0.0, 1)) for run in executed[-30:]],
        "per_run_tokens": [(f"run {run.id}", executions[run.id].tokens) for run in executed[-30:]],
        "causes": causes.most_common(TOP), "checkpoints": checkpoints.most_common(TOP),
    }


async def page(request: web.Request) -> web.Response:
    """The handler of both paths; a repository the viewer may not see answers 404."""
    who = await viewer(request)
    repositories = sorted(who.repositories)
    scope = None
    if "owner" in request.match_info:
        scope = f"{request.match_info['owner']}/{request.match_info['repo']}"
        check_repository(who, scope)
        repositories = [scope]
    async with board_of(request).database.session() as session:
        data = await figures(session, repositories)
    return aiohttp_jinja2.render_template("analytics.html", request, {"viewer": who, "scope": scope, **data})
