"""Benchmark the bot's own time and GitHub API calls of ``/scenarioforge execute`` (issue 5, "Benchmark").

    python -m bench.execute

Run from the repository root. The whole world runs on 127.0.0.1 as in the
end-to-end tests (``tests.support.world``, ``tests/test_execute_e2e.py``): the
target repository with its one real bug on a local bare remote, a stored pack
revision, signed ``issue_comment`` deliveries to the real app, its worker, the
real ``codex`` binary and the scripted model of the end-to-end tests, which
answers every step at once (the repository's tests it makes the agent run
count as Codex time). A first ``--mode run`` warms the mirror; then one
``--mode run`` and one ``--mode full`` (one fix attempt, draft PR) are
measured from the database's timestamps (delivery, run, events, the stored
outcome's ``duration_s`` / ``codex_s``) and the GitHub server's request log.

Targets: ≤ 2 s of bot time per attempt outside Codex (its process start and
turns), ≤ 20 GitHub API calls for a run-only execute.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

from bench.world import bench_world  # noqa: E402
from storage.models import Delivery, ExecutionResult  # noqa: E402
from tests.support.target_repo import build_target_repo  # noqa: E402
from tests.support.world import World  # noqa: E402
from tests.execution.test_execute_e2e import cart_model, store_pack  # noqa: E402

TARGET_PER_ATTEMPT_S = 2.0
TARGET_CALLS = 20
PHASES = (
    ("intake", "intake (delivery recorded → job claimed)"), ("workspace", "workspace (fetch + worktree)"),
    ("setup", "config, pack revision, check run started"), ("codex_start", "Codex process start"),
    ("turns", "Codex turns (incl. the commands they ran)"), ("loop", "loop: evidence, git snapshots/diffs, events"),
    ("publish", "publish (commit, push, PR, reviewer)"), ("finish", "finish (store, check run, comment)"),
)
CODEX_PHASES = ("codex_start", "turns")


async def phases(world: World, run_id: int) -> dict[str, float]:
    """Seconds per phase of run ``run_id`` (see ``PHASES``) and ``total``, from the database."""
    run = next(run for run in await world.runs() if run.id == run_id)
    async with world.database.session() as session:
        delivery = await session.get(Delivery, run.delivery_id)
        result = await session.get(ExecutionResult, run.id)
    events = await world.events(run.id)

    def first(phase: str, status: str) -> Any:
        return next(e.timestamp for e in events if (e.phase, e.status) == (phase, status))

    def last(phase: str, status: str) -> Any:
        return [e.timestamp for e in events if (e.phase, e.status) == (phase, status)][-1]

    def seconds(start: Any, end: Any) -> float:
        return (end - start).total_seconds()

    codex_start = seconds(last("scenario", "queued"), first("scenario", "running"))
    published = any(e.phase == "publish" for e in events)
    figures = {
        "intake": seconds(delivery.received_at, run.started_at),
        "workspace": seconds(run.started_at, first("workspace", "complete")),
        "setup": seconds(first("workspace", "complete"), first("scenario", "queued")),
        "codex_start": codex_start, "turns": result.codex_s,
        "loop": result.duration_s - result.codex_s - codex_start,
        "publish": seconds(first("publish", "running"), first("publish", "complete")) if published else 0.0,
        "total": seconds(delivery.received_at, run.finished_at),
    }
    figures["finish"] = seconds(last("execute", result.status), run.finished_at) - figures["publish"]
    figures["attempts"] = float(len([e for e in events if (e.phase, e.status) == ("fix", "running")]))
    return figures


async def one_run(world: World, mode: str) -> tuple[dict[str, float], Counter[str]]:
    """Comment ``/scenarioforge execute --mode MODE``; the run's phases and its GitHub calls by route."""
    seen = len(world.github.requests)
    await world.comment(f"/scenarioforge execute --mode {mode}")
    await world.settle()
    run = (await world.runs())[-1]
    expected = "passed" if mode == "full" else "failed"
    if run.state != expected:
        raise SystemExit(f"run {run.id} ({mode}) ended {run.state}, not {expected}: {run.error}")
    calls = Counter(request.route or request.path for request in world.github.requests[seen:])
    return await phases(world, run.id), calls


def report(mode: str, figures: dict[str, float], calls: Counter[str]) -> None:
    """Print one run's figures against the targets."""
    attempts = 1 + int(figures["attempts"])
    print(f"\nexecute --mode {mode}: {attempts} loop(s) (first run + {attempts - 1} fix attempt(s)), warm mirror")
    for name, label in PHASES:
        print(f"  {label:<46} {figures[name]:7.3f} s{'  [Codex]' if name in CODEX_PHASES else ''}")
    codex = sum(figures[name] for name in CODEX_PHASES)
    own = figures["total"] - codex
    print(f"  {'other (events, comment edits)':<46} "
          f"{figures['total'] - sum(figures[name] for name, _ in PHASES):7.3f} s")
    print(f"  {'total (delivery → run finished)':<46} {figures['total']:7.3f} s")
    print(f"  {'bot own time (total − Codex)':<46} {own:7.3f} s = {own / attempts:.3f} s per attempt "
          f"(target ≤ {TARGET_PER_ATTEMPT_S} s: {'met' if own / attempts <= TARGET_PER_ATTEMPT_S else 'NOT met'})")
    total_calls = sum(calls.values())
    verdict = "met" if total_calls <= TARGET_CALLS else "NOT met"
    target = f" (target ≤ {TARGET_CALLS}: {verdict})" if mode == "run" else ""
    print(f"  GitHub API calls: {total_calls}{target}")
    for route, count in sorted(calls.items(), key=lambda item: (-item[1], item[0])):
        print(f"    {count:3d}  {route}")


async def main() -> int:
    def pull_target(work) -> None:
        target = build_target_repo(work.path.parent / "target-source")
        work.git("pull", "-q", str(target.path), "HEAD")

    async with bench_world("bench-execute-", cart_model(), pull_target) as world:
        await store_pack(world)
        await one_run(world, "run")  # cold mirror, first token
        measured = [(mode, *await one_run(world, mode)) for mode in ("run", "full")]
    print("execute benchmark: scripted model answering at once, real codex binary, local GitHub and git remote")
    for mode, figures, calls in measured:
        report(mode, figures, calls)
    return 0


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    sys.exit(asyncio.run(main()))
