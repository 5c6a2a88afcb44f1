"""Month-to-date spend resets at the UTC month boundary (``storage.spend``), whatever the clock's zone."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from storage import spend
from storage.models import Run


def test_month_bounds_are_utc_calendar_months():
    paris_new_year = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))  # still 2026-12-31 in UTC
    assert spend.month_bounds(paris_new_year) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert spend.month_bounds(datetime(2027, 2, 28, 23, 59)) == (datetime(2027, 2, 1, tzinfo=UTC),
                                                                 datetime(2027, 3, 1, tzinfo=UTC))


async def test_a_run_of_the_last_second_of_a_month_is_not_counted_in_the_next(database):
    start, _ = spend.month_bounds(datetime(2026, 12, 15, tzinfo=UTC))
    async with database.session() as session:
        for created, cost in ((start - timedelta(seconds=1), 7.0), (start, 2.0),
                              (start + timedelta(hours=1), 0.5)):
            session.add(Run(installation_id=1, repository="o/r", issue_number=1, action="execute", args={},
                            requester="x", state="passed", phase="complete", created_at=created, cost_usd=cost))
    async with database.session() as session:
        assert await spend.month_spend(session, start, repository="o/r") == 2.5
        assert await spend.month_spend(session, start, installation_id=1) == 2.5
