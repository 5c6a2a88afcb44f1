"""Monthly cost ceilings (issue 14, "Budgets and cost"): refuse a run past a ceiling, warn at 80 %.

``enforce_budget`` runs before an action starts any Codex turn. The ceilings
are ``budget.monthly_usd`` (this repository) and
``budget.installation_monthly_usd`` (every repository of the installation)
of the effective config; the spend is the sum of ``Run.cost_usd`` this UTC
month (``storage.spend``). ``price_turns`` / ``price_usage`` estimate a finished
run's turns (``bot.domain.cost``) and store the total on the run.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from bot.domain.cost import total_usd, turn_cost_usd, usage_cost_usd
from bot.domain.results import TurnUsage
from bot.errors import ScenarioForgeError
from bot.jobs.context import JobContext
from config.repo import BudgetConfig
from storage import spend
from storage.models import Run

#: The share of a ceiling at which the tracking comment warns.
WARN_AT = 0.8


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


async def enforce_budget(ctx: JobContext, budget: BudgetConfig, *, now: datetime | None = None) -> None:
    """Refuse the run when a ceiling is reached; add a ``budget`` event (a warning at ``WARN_AT``, and
    when a ceiling is set but ``Settings.codex_model`` has no price: its runs would never count).

    Raises:
        ScenarioForgeError: type ``BudgetExceeded``, naming the ceiling, the month's spend and
            the reset date (the first day of next month, UTC).
    """
    start, reset = spend.month_bounds(now or datetime.now(UTC))
    ceilings = [("repository", ctx.run.repository, budget.monthly_usd, {"repository": ctx.run.repository}),
                ("installation", f"installation {ctx.run.installation_id}", budget.installation_monthly_usd,
                 {"installation_id": ctx.run.installation_id})]
    lines = []
    for scope, name, ceiling, where in ceilings:
        if ceiling is None:
            continue
        async with ctx.db.session() as session:
            spent = await spend.month_spend(session, start, **where)
        figures = f"{_usd(spent)} spent this month of the {_usd(ceiling)} monthly ceiling of {name}"
        if spent >= ceiling:
            raise ScenarioForgeError(
                f"refused: {figures}; the ceiling resets on {reset:%Y-%m-%d} (UTC). Raise `budget."
                f"{'monthly_usd' if scope == 'repository' else 'installation_monthly_usd'}` to run now.",
                error_type="BudgetExceeded", repository=ctx.run.repository, ceiling_usd=ceiling,
                spent_usd=round(spent, 6), resets=f"{reset:%Y-%m-%d}")
        lines.append(("⚠️ " if spent >= WARN_AT * ceiling else "") + f"{figures} ({spent / ceiling:.0%})")
    model = ctx.settings.codex_model
    if lines and ctx.settings.price_of(model) is None:
        lines.append(f"⚠️ `{model}` has no price in `SCENARIOFORGE_MODEL_PRICES`, so its runs cost nothing "
                     "here and never reach a ceiling")
    if lines:
        await ctx.event("budget", "complete", "; ".join(lines), {"month": f"{start:%Y-%m}"})


def price_turns(ctx: JobContext, turns: Sequence[TurnUsage]) -> float | None:
    """Set each execute turn's ``cost_usd`` at the price of ``Settings.codex_model``; returns the total
    (for ``record_cost``)."""
    price = ctx.settings.price_of(ctx.settings.codex_model)
    for turn in turns:
        turn.cost_usd = turn_cost_usd(price, input_tokens=turn.input_tokens,
                                      cached_input_tokens=turn.cached_input_tokens, output_tokens=turn.output_tokens)
    return total_usd(turn.cost_usd for turn in turns)


async def price_usage(ctx: JobContext, usages: Sequence[dict[str, Any]]) -> None:
    """The same for a pack revision's ``token_usage`` entries (``cost_usd`` added to each)."""
    price = ctx.settings.price_of(ctx.settings.codex_model)
    for usage in usages:
        usage["cost_usd"] = usage_cost_usd(price, usage)
    await record_cost(ctx, total_usd(usage["cost_usd"] for usage in usages))


async def record_cost(ctx: JobContext, cost_usd: float | None) -> None:
    """Store the run's estimated cost (``Run.cost_usd``) without touching its state."""
    async with ctx.db.session() as session:
        await session.execute(update(Run).where(Run.id == ctx.run.id).values(cost_usd=cost_usd)
                              .execution_options(synchronize_session=False))
    ctx.run.cost_usd = cost_usd
