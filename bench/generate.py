"""Benchmark the bot's own time of ``/scenarioforge generate`` (issue 4, "Benchmark").

    python bench/generate.py [--runs 2]

Run from the repository root. The whole world runs on 127.0.0.1 as in the
end-to-end tests (``tests.support.world``): a signed ``issue_comment``
delivery to the real app, its worker, git against a local bare remote, the
real ``codex`` binary, and a scripted model that answers every step at once
with a valid pack (no tool call). Each run comments on a fresh commit, so the
sources are scanned every time; the first run clones the mirror, later ones
fetch into it (warm). The last run is reported, split by phase, from the
database's timestamps (delivery, run, events) and the revision's own
timings. Target: ≤ 1.5 s outside Codex's own process start and turn time.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

from bench.world import bench_world  # noqa: E402
from storage import packs  # noqa: E402
from storage.models import Delivery, Run  # noqa: E402
from tests.support.model_server import assistant_message, sample_pack, user_texts  # noqa: E402
from tests.support.world import World, small_app  # noqa: E402

TARGET_S = 1.5
#: Phases measured inside the action (``PackRevision.timings``), in order, with their labels.
ACTION_PHASES = (
    ("config", "repository config (default branch)"), ("scan", "scan + manifest"),
    ("sources", "selected sources, facts, latest revision"), ("check_run", "check run started"),
    ("prompt", "prompt"), ("codex_start", "Codex process start"), ("turns", "Codex turn"),
    ("validation", "validation"), ("store", "revision stored"), ("publish", "publish (commit, push, PR)"),
)
CODEX_PHASES = ("codex_start", "turns")


def instant_pack(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer every model step at once with a valid pack citing the first source the prompt allows."""
    allowed = re.findall(r"Allowed source ids: ([^,\n]+)", "\n".join(user_texts(request)))
    return [assistant_message(json.dumps(sample_pack(allowed[0].strip())))]


async def phases(world: World, run: Run) -> dict[str, float]:
    """Seconds per phase of ``run``, from the database: intake, workspace, the action's own timings, finish."""
    async with world.database.session() as session:
        delivery = await session.get(Delivery, run.delivery_id)
        revision = await session.scalar(select(packs.PackRevision).where(packs.PackRevision.run_id == run.id))
    events = await world.events(run.id)

    def at(phase: str, status: str) -> Any:
        return next(event.timestamp for event in events if (event.phase, event.status) == (phase, status))

    figures = {"intake": (run.started_at - delivery.received_at).total_seconds(),
               "workspace": (at("workspace", "complete") - run.started_at).total_seconds()}
    figures.update({name: revision.timings.get(name, 0.0) for name, _ in ACTION_PHASES})
    figures["finish"] = (run.finished_at - at("publish", "complete")).total_seconds()
    figures["total"] = (run.finished_at - delivery.received_at).total_seconds()
    return figures


async def one_run(world: World, number: int) -> dict[str, float]:
    """Comment ``/scenarioforge generate`` on a fresh commit and wait for the published pack."""
    world.remote.commit({"README.md": f"# Items\n\nRun `app/main.py` with Flask (change {number}).\n"})
    await world.comment("/scenarioforge generate")
    await world.settle()
    run = (await world.runs())[-1]
    if run.state != "passed":
        raise SystemExit(f"run {run.id} ended {run.state}: {run.error}")
    return await phases(world, run)


def report(figures: dict[str, float], runs: int) -> None:
    labels = {"intake": "intake (delivery recorded → job claimed)", "workspace": "workspace (fetch + worktree)",
              **dict(ACTION_PHASES), "finish": "finish (check run, tracking comment)"}
    print(f"generate benchmark: run {runs} of {runs} (warm mirror), scripted model answering at once")
    for name, label in labels.items():
        mark = "  [Codex]" if name in CODEX_PHASES else ""
        print(f"  {label:<44} {figures[name]:7.3f} s{mark}")
    measured = sum(figures[name] for name in labels)
    codex = sum(figures[name] for name in CODEX_PHASES)
    own = figures["total"] - codex
    print(f"  {'other (events, comment edits, gate)':<44} {figures['total'] - measured:7.3f} s")
    print(f"  {'total (delivery → run passed)':<44} {figures['total']:7.3f} s")
    print(f"  {'Codex process start + turn':<44} {codex:7.3f} s")
    print(f"  {'bot own time (total − Codex)':<44} {own:7.3f} s  "
          f"(target ≤ {TARGET_S} s: {'met' if own <= TARGET_S else 'NOT met'})")


async def main(runs: int) -> int:
    async with bench_world("bench-generate-", instant_pack, small_app) as world:
        for number in range(1, runs + 1):
            figures = await one_run(world, number)
    report(figures, runs)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs in a row; the last one is reported (default 2)")
    sys.exit(asyncio.run(main(max(1, parser.parse_args().runs))))
