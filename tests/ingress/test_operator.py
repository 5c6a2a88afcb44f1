"""``scenarioforge runs list|show|cancel|resume`` as an operator runs it: a separate process on the bot's database."""
from __future__ import annotations

import asyncio
import os
import sys

from bot.jobs import queue
from tests.ingress.test_ingress_e2e import held, world_actions  # noqa: F401 - an execute that runs until cancelled

GUARD_S = 60


async def scenarioforge(world, *argv: str) -> tuple[int, str, str]:
    """Run ``python -m bot.cli *argv`` with the world's settings; ``(exit code, stdout, stderr)``."""
    settings = world.settings
    env = {**os.environ, "SCENARIOFORGE_DATABASE_URL": settings.database_url,
           "SCENARIOFORGE_WORKDIR": str(settings.workdir), "SCENARIOFORGE_APP_ID": str(settings.app_id),
           "SCENARIOFORGE_PRIVATE_KEY_PATH": str(settings.private_key_path),
           "SCENARIOFORGE_GITHUB_API_URL": settings.github_api_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *argv, env=env, cwd=settings.workdir.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), GUARD_S)
    return process.returncode, out.decode(), err.decode()


async def test_an_operator_lists_shows_and_cancels_a_running_run(world, held):
    assert (await world.comment("/scenarioforge execute")).status == 202
    await asyncio.wait_for(held.started.wait(), GUARD_S)
    (run,) = await world.runs()

    code, out, _ = await scenarioforge(world, "runs", "list")
    assert code == 0
    header, line = out.strip().splitlines()
    assert line.split()[:6] == [str(run.id), f"{world.repository}#1", "execute", "running", "workspace", "PENDING"]

    code, out, _ = await scenarioforge(world, "runs", "show", str(run.id))
    assert code == 0 and f"run {run.id}: execute on {world.repository}#1 — running" in out
    finished = [line.split()[2] for line in out.splitlines() if line.strip().startswith("step")]
    assert finished[:2] == ["start", "workspace"]  # what a resumed run would not do again

    code, out, _ = await scenarioforge(world, "runs", "cancel", str(run.id))
    assert code == 0 and f"run {run.id} cancelled" in out
    await asyncio.wait_for(held.cancelled.wait(), GUARD_S)
    await world.settle()
    (run,) = await world.runs()
    assert run.state == "cancelled"
    assert "cancelled by @operator" in await world.tracking(run.id)
    assert [w.status for w in await queue.workflows_of(run.id)] == ["CANCELLED"]

    again, resumed, unknown = await asyncio.gather(
        scenarioforge(world, "runs", "cancel", str(run.id)), scenarioforge(world, "runs", "resume", str(run.id)),
        scenarioforge(world, "runs", "show", "999"))
    assert (again[0], again[2].strip()) == (1, f"run {run.id} is cancelled: only a queued or running run can be cancelled")
    assert (resumed[0], resumed[2].strip()) == (1, f"run {run.id} is cancelled: only a queued or running run can be resumed")
    assert unknown[0] == 2 and "no run 999" in unknown[2]
