"""``enforce_budget`` on its own (``bot.jobs.budget``): the figures of a refusal and a model without a price."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import ScenarioForgeError
from bot.jobs.budget import enforce_budget
from bot.jobs.context import JobContext
from config.repo import BudgetConfig
from config.settings import Settings
from storage import runs
from storage.models import Run

NOW = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)


async def context(database, *, model: str, spent: float = 0.0) -> JobContext:
    async with database.session() as session:
        if spent:
            session.add(Run(installation_id=1, repository="o/r", issue_number=1, action="execute", args={},
                            requester="x", state="passed", phase="complete", created_at=NOW, cost_usd=spent))
        run = Run(installation_id=1, repository="o/r", issue_number=2, action="execute", args={}, requester="x",
                  state="running", phase="start", created_at=NOW)
        session.add(run)
    return JobContext(run=run, gh=None, db=database, settings=Settings(_env_file=None, codex_model=model), auth=None)


async def budget_events(ctx: JobContext) -> list[str]:
    async with ctx.db.session() as session:
        return [event.message for event in await runs.events_of(session, ctx.run.id) if event.phase == "budget"]


async def test_a_ceiling_with_a_model_that_has_no_price_warns_that_it_cannot_be_reached(database):
    ctx = await context(database, model="my-own-model")
    await enforce_budget(ctx, BudgetConfig(monthly_usd=10), now=NOW)
    [message] = await budget_events(ctx)
    assert "`my-own-model` has no price in `SCENARIOFORGE_MODEL_PRICES`" in message


async def test_a_priced_model_gets_no_such_warning_and_a_refusal_names_the_figures(database):
    ctx = await context(database, model="gpt-5.1-codex", spent=12.5)
    with pytest.raises(ScenarioForgeError) as refused:
        await enforce_budget(ctx, BudgetConfig(installation_monthly_usd=12.5), now=NOW)
    assert refused.value.message.startswith(
        "refused: $12.50 spent this month of the $12.50 monthly ceiling of installation 1; "
        "the ceiling resets on 2027-01-01 (UTC). Raise `budget.installation_monthly_usd`")
    await enforce_budget(ctx, BudgetConfig(monthly_usd=100), now=NOW)
    [message] = await budget_events(ctx)
    assert "no price" not in message and "(12%)" in message
