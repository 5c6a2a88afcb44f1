"""Issue 14, "Budgets and cost", end to end: cost per turn, the 80 % warning, refusal past a ceiling."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.models import Run
from storage.spend import month_bounds
from tests.execution.test_execute_e2e import cart_model, store_pack, world_repo  # noqa: F401
from tests.execution.test_execute_e2e import world_settings as execute_world_settings

ORG_REPO = "Codertocat/.github"


@pytest.fixture
def world_settings(codex_settings) -> dict[str, Any]:
    """The scripted model at $10 / $1 / $100 per million input / cached / output tokens."""
    return {**execute_world_settings.__wrapped__(codex_settings),
            "model_prices": {"scripted": {"input": 10, "cached_input": 1, "output": 100}}}


async def spent_before(world, cost_usd: float, *, repository: str | None = None, months_ago: int = 0) -> None:
    """A finished run of this month (or ``months_ago``) that cost ``cost_usd``."""
    created = datetime.now(UTC) - timedelta(days=31 * months_ago)
    async with world.database.session() as session:
        session.add(Run(installation_id=world.installation_id, repository=repository or world.repository,
                        issue_number=99, action="execute", args={}, requester="someone", state="passed",
                        phase="complete", created_at=created, cost_usd=cost_usd))


def budget_file(world, text: str) -> None:
    world.remote.commit({".github/scenarioforge.yml": text})


async def test_each_turn_and_the_run_show_an_estimated_cost(world, model_server):
    await store_pack(world)
    model_server.script = cart_model()
    budget_file(world, "budget:\n  monthly_usd: 100\n")
    await spent_before(world, 50.0, months_ago=2)  # another month: not counted

    await world.comment("/scenarioforge execute")
    await world.settle()

    [_, run] = await world.runs()
    tracking = await world.tracking(run.id)
    turn_lines = [line for line in tracking.splitlines() if line.startswith("- run ")]
    assert turn_lines and all(" · est. $0.0" in line for line in turn_lines)
    assert run.cost_usd is not None and 0 < run.cost_usd < 0.1
    assert f"est. ${run.cost_usd:,.4f}" in tracking
    assert "$0.00 spent this month of the $100.00 monthly ceiling of Codertocat/Hello-World (0%)" in tracking


async def test_at_80_percent_the_tracking_comment_warns_and_the_run_goes_on(world, model_server):
    await store_pack(world)
    model_server.script = cart_model()
    budget_file(world, "budget:\n  monthly_usd: 10\n")
    await spent_before(world, 8.5)

    await world.comment("/scenarioforge execute")
    await world.settle()

    run = (await world.runs())[-1]
    assert run.state == "failed" and run.error is None  # the scenarios ran (one fails on the real bug)
    assert "⚠️ $8.50 spent this month of the $10.00 monthly ceiling of Codertocat/Hello-World (85%)" in \
        await world.tracking(run.id)


async def test_past_the_installation_ceiling_a_run_is_refused_before_any_turn(world, model_server):
    await store_pack(world)
    model_server.script = cart_model()
    world.github.add_repo(ORG_REPO, installation_id=world.installation_id)
    world.github.set_file(ORG_REPO, ".github/scenarioforge.yml", "budget:\n  installation_monthly_usd: 20\n")
    await spent_before(world, 12.0, repository="Codertocat/other-repo")  # same installation, other repository
    await spent_before(world, 9.0)

    await world.comment("/scenarioforge execute")
    await world.settle()

    run = (await world.runs())[-1]
    _, reset = month_bounds(datetime.now(UTC))
    assert (run.state, run.error["type"], model_server.requests) == ("failed", "BudgetExceeded", [])
    message = run.error["message"]
    assert message == (f"refused: $21.00 spent this month of the $20.00 monthly ceiling of installation "
                       f"{world.installation_id}; the ceiling resets on {reset:%Y-%m-%d} (UTC). Raise "
                       "`budget.installation_monthly_usd` to run now.")
    assert message in await world.tracking(run.id)
    assert run.check_run_id is None  # refused before the check run and the model


async def test_past_the_repository_ceiling_a_generate_run_is_refused_with_the_figures(world, model_server):
    budget_file(world, "budget:\n  monthly_usd: 5\n")
    await spent_before(world, 5.5)
    await spent_before(world, 100.0, repository="Codertocat/other-repo")  # another repository's spend

    await world.comment("/scenarioforge generate")
    await world.settle()

    run = (await world.runs())[-1]
    _, reset = month_bounds(datetime.now(UTC))
    assert (run.state, run.error["type"], model_server.requests) == ("failed", "BudgetExceeded", [])
    assert run.error["message"] == (f"refused: $5.50 spent this month of the $5.00 monthly ceiling of "
                                    f"Codertocat/Hello-World; the ceiling resets on {reset:%Y-%m-%d} (UTC). "
                                    "Raise `budget.monthly_usd` to run now.")
    assert run.error["message"] in await world.tracking(run.id)


async def test_status_shows_the_month_to_date_spend(world):
    budget_file(world, "budget:\n  monthly_usd: 40\n")
    await spent_before(world, 3.25)
    await world.comment("/scenarioforge status")
    await world.settle()
    month = f"{datetime.now(UTC):%Y-%m}"
    assert world.comments()[-1].endswith(
        f"Month-to-date spend ({month}) of Codertocat/Hello-World: $3.25 of $40.00 (8%).")
