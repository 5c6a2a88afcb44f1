"""Month-to-date spend: the estimated cost (``Run.cost_usd``) of runs created since a moment.

Months are calendar months in UTC (``month_bounds``); a run counts in the
month it was created, whatever its state.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Run


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """``(first instant of now's UTC month, first instant of the next)``, timezone-aware UTC
    (a naive ``now`` is taken as UTC)."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, following


async def month_spend(session: AsyncSession, since: datetime, *, repository: str | None = None,
                      installation_id: int | None = None) -> float:
    """US dollars of the runs created since ``since`` of ``repository`` and/or ``installation_id``."""
    query = select(func.coalesce(func.sum(Run.cost_usd), 0.0)).where(Run.created_at >= since)
    if repository is not None:
        query = query.where(Run.repository == repository)
    if installation_id is not None:
        query = query.where(Run.installation_id == installation_id)
    return float(await session.scalar(query) or 0.0)


async def spend_by_repository(session: AsyncSession, since: datetime) -> dict[str, float]:
    """``{owner/name: US dollars}`` of runs created since ``since`` that have a cost."""
    rows = await session.execute(select(Run.repository, func.sum(Run.cost_usd)).where(
        Run.created_at >= since, Run.cost_usd.is_not(None)).group_by(Run.repository))
    return {repository: float(total) for repository, total in rows.all()}
