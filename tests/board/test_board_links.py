"""With a board URL set, the tracking comment links the run page and its report, and the
check run's *Details* open the run page (the real app and worker of ``tests.support.world``)."""
from __future__ import annotations

import pytest

from bot.actions import ACTIONS
from bot.github import checks
from bot.jobs.context import JobContext

BOARD = "https://forge.example"


@pytest.fixture
def world_settings():
    return {"board_url": BOARD}


@pytest.fixture
def world_actions():
    async def stand_in(ctx: JobContext) -> None:
        check = await ctx.start_check_run("ScenarioForge / execute")
        await check.complete("success", checks.Output("Scenarios passed", "all passed"))
        await ctx.set_state("passed", "complete", "all passed")
        await ctx.report(final=True)

    return {**ACTIONS, "execute": stand_in}


async def test_tracking_comment_and_check_run_link_the_board(world):
    await world.comment("/scenarioforge execute")
    await world.settle()
    (run,) = await world.runs()
    page = f"{BOARD}/board/runs/{run.id}"
    tracking = await world.tracking(run.id)
    assert f"[Run page]({page})" in tracking and f"({page}/report.md)" in tracking
    assert world.github.check_runs[run.check_run_id]["details_url"] == page
