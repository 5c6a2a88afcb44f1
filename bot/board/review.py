"""The review board of a repository (SF-6001) and the per-repository summaries of ``/board``.

Unresolved failures are the failed or blocked scenarios of the repository's
latest execute run with a stored result, with their cause class and failing
checkpoints; risks are the stale or suspect sources the latest pack revision
selected and the scenarios whose source documents changed (another blob SHA in
the latest manifest) since that pack was generated, and those a push flagged ``needs review``
(``storage.reviews``); recommendations are the
commands to run next; fix PRs show the state ``pull_request`` webhooks recorded;
PRs whose fix diffs touch the same files get a merge-order hint (older PR first).
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.board.queries import pull_links, results_of
from bot.domain.pack import PackDocument
from bot.domain.results import ExecutionOutcome, ScenarioOutcome, diff_paths
from storage import executions, manifests, packs, pulls, reviews
from storage.models import ExecutionResult, Manifest, Run



def pass_rate(results: Sequence[ScenarioOutcome]) -> float | None:
    """Share of passed scenarios (0..1), ``None`` when there is none."""
    return sum(result.status == "passed" for result in results) / len(results) if results else None


def diff_files(diff: str) -> set[str]:
    """The paths a unified ``git diff`` touches."""
    return set(diff_paths(diff))


async def latest_outcome(session: AsyncSession, runs: Sequence[Run],
                         results: dict[int, ExecutionResult]) -> tuple[Run | None, ExecutionOutcome | None]:
    """The newest of ``runs`` (newest first) with a stored execution result, and that result."""
    for run in runs:
        if run.id in results:
            return run, await executions.load_outcome(session, run.id)
    return None, None


async def _fix_prs(session: AsyncSession, repository: str) -> list[dict[str, Any]]:
    links = await pull_links(session, repository)
    states = await pulls.states(session, repository, [link.number for link in links])
    diffs = await results_of(session, [link.run_id for link in links])
    return [{"link": link, "state": states.get(link.number),
             "files": diff_files(diffs[link.run_id].diff) if link.run_id in diffs else set()} for link in links]


def _is_open(pr: dict[str, Any]) -> bool:
    return pr["state"] is None or pr["state"].state == "open"


async def summaries(session: AsyncSession, repositories: Sequence[str], runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Per repository: latest runs, latest execute pass rate, open failures, open fix PRs."""
    results = await results_of(session, [run.id for run in runs])
    rows = []
    for repository in repositories:
        own = [run for run in runs if run.repository == repository]
        _, outcome = await latest_outcome(session, own, results)
        failures = [r for r in outcome.results if r.status != "passed"] if outcome else []
        rows.append({
            "repository": repository, "runs": own[:5], "pass_rate": pass_rate(outcome.results) if outcome else None,
            "open_failures": len(failures),
            "open_prs": sum(_is_open(pr) for pr in await _fix_prs(session, repository)),
        })
    return rows


def _changed_sources(pack_manifest: Manifest | None, latest: Manifest | None) -> dict[str, tuple[str, str]]:
    if pack_manifest is None or latest is None:
        return {}
    now = {source.path: source.blob_sha for source in latest.sources}
    return {source.path: (source.blob_sha, now[source.path]) for source in pack_manifest.sources
            if source.path in now and now[source.path] != source.blob_sha}


async def review_board(session: AsyncSession, repository: str, runs: Sequence[Run],
                       results: dict[int, ExecutionResult]) -> dict[str, Any]:
    """The template context of ``/board/{owner}/{repo}``."""
    run, outcome = await latest_outcome(session, runs, results)
    failures = [result for result in outcome.results if result.status != "passed"] if outcome else []
    pack_row = await packs.latest_revision(session, repository)
    pack_manifest = await session.get(Manifest, pack_row.manifest_id) if pack_row and pack_row.manifest_id else None
    changed = _changed_sources(pack_manifest, await manifests.latest_manifest(session, repository))
    risky = [s for s in pack_manifest.sources if s.selected and s.status in ("stale", "suspect")] if pack_manifest else []
    stale_scenarios = []
    if pack_row is not None:
        for _, _, scenario in PackDocument.model_validate(pack_row.document).pack.scenarios():
            if touched := sorted(set(scenario.source_ids) & set(changed)):
                stale_scenarios.append({"id": scenario.id, "title": scenario.title, "sources": touched})
    recommendations = [
        {"why": f"{result.scenario_id} {result.status}"
                + (f" ({result.classification.cause})" if result.classification else ""),
         "command": f"/scenarioforge execute --mode fix --scenarios {result.scenario_id}",
         "rerun": result.rerun_command}
        for result in failures
    ]
    if stale_scenarios:
        recommendations.append({"why": "source documents changed since the pack was generated",
                                "command": "/scenarioforge generate --update", "rerun": ""})
    prs = await _fix_prs(session, repository)
    hints = [
        {"first": older["link"], "then": newer["link"], "files": sorted(older["files"] & newer["files"])}
        for newer, older in combinations(sorted(prs, key=lambda pr: -pr["link"].number), 2)
        if _is_open(newer) and _is_open(older) and older["files"] & newer["files"]
    ]
    return {
        "latest_run": run, "outcome": outcome, "failures": failures, "pack": pack_row, "risky_sources": risky,
        "changed_sources": changed, "stale_scenarios": stale_scenarios, "recommendations": recommendations,
        "prs": prs, "hints": hints, "needs_review": await reviews.needing_review(session, repository),
    }
