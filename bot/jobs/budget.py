"""Monthly cost ceilings (issue 14, "Budgets and cost"): refuse a run past a ceiling, warn at 80 %.

``enforce_budget`` runs before an action starts any Codex turn. The ceilings
are ``budget.monthly_usd`` (this repository) and
``budget.installation_monthly_usd`` (every repository of the installation)
of the effective config; the spend is the sum of ``Run.cost_usd`` this UTC
month (``storage.spend``). ``record_cost`` stores a finished run's estimate.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

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
    """Refuse the run when a ceiling is reached; add a ``budget`` event (a warning at ``WARN_AT``).

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
    if lines:
        await ctx.event("budget", "complete", "; ".join(lines), {"month": f"{start:%Y-%m}"})


async def record_cost(ctx: JobContext, cost_usd: float | None) -> None:
    """Store the run's estimated cost (``Run.cost_usd``) without touching its state."""
    async with ctx.db.session() as session:
        await session.execute(update(Run).where(Run.id == ctx.run.id).values(cost_usd=cost_usd)
                              .execution_options(synchronize_session=False))
    ctx.run.cost_usd = cost_usd
