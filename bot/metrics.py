"""Prometheus metrics of the process, served as text on ``GET /metrics``.

The metric objects live in one module-level registry (not prometheus_client's
global one), so several apps created in one test process share them without
"Duplicated timeseries" errors; tests compare values before and after.
``JOBS`` is not stored: it is counted from the ``jobs`` table at each scrape.

Importers: ``bot.ingress.webhook``/``bot.ingress.dispatch`` (DELIVERIES), ``bot.github.client``
(GITHUB_CALLS), ``bot.jobs.workers`` (JOB_DURATION).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage import spend
from storage.db import Database
from storage.models import Job

REGISTRY = CollectorRegistry()

#: Webhook deliveries. ``event`` is ``X-GitHub-Event`` (``unknown`` for requests
#: refused before their signature was checked, so strangers cannot add labels);
#: ``outcome``: ``rejected``, ``duplicate``, ``ping``, ``ignored``, ``accepted``
#: at the answer, then ``processed`` or ``failed`` after dispatch.
DELIVERIES = Counter(
    "scenarioforge_deliveries",
    "Webhook deliveries by event and outcome.",
    ["event", "outcome"],
    registry=REGISTRY,
)

#: Wall time of one job, from claim to end, in seconds.
JOB_DURATION = Histogram(
    "scenarioforge_job_duration_seconds",
    "Duration of jobs by action and outcome, in seconds.",
    ["action", "outcome"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, float("inf")),
    registry=REGISTRY,
)

#: GitHub REST calls by HTTP status code (``error`` when no answer came back).
GITHUB_CALLS = Counter(
    "scenarioforge_github_calls", "GitHub API calls by HTTP status.", ["status"], registry=REGISTRY
)

#: Job states of ``storage.models.Job``, always exported (0 when none).
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")


class JobStates(Collector):
    """``scenarioforge_jobs{state}``: jobs by state, from counts taken at scrape time."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self._counts = {state: 0 for state in JOB_STATES} | dict(counts)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("scenarioforge_jobs", "Jobs by state.", labels=["state"])
        for state, count in sorted(self._counts.items()):
            family.add_metric([state], count)
        yield family


async def job_counts(database: Database) -> dict[str, int]:
    """``{state: number of jobs}`` read from the ``jobs`` table."""
    async with database.session() as session:
        rows = await session.execute(select(Job.state, func.count()).group_by(Job.state))
        return {state: count for state, count in rows.all()}


class MonthSpend(Collector):
    """``scenarioforge_month_spend_usd{repository}``: estimated US dollars of this UTC month's runs
    (``storage.spend``), per repository, taken at scrape time."""

    def __init__(self, spend_usd: Mapping[str, float]) -> None:
        self._spend = dict(spend_usd)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("scenarioforge_month_spend_usd",
                                   "Estimated cost of this month's runs in US dollars, by repository.",
                                   labels=["repository"])
        for repository, usd in sorted(self._spend.items()):
            family.add_metric([repository], usd)
        yield family


async def exposition(database: Database) -> bytes:
    """Every metric in the Prometheus text format (``CONTENT_TYPE_LATEST``), jobs and spend counted now."""
    start, _ = spend.month_bounds(datetime.now(UTC))
    async with database.session() as session:
        spent = await spend.spend_by_repository(session, start)
    counted = CollectorRegistry()
    counted.register(JobStates(await job_counts(database)))
    counted.register(MonthSpend(spent))
    return generate_latest(REGISTRY) + generate_latest(counted)
