"""Prometheus metrics of the process, served as text on ``GET /metrics``.

The metric objects live in one module-level registry (not prometheus_client's
global one), so several apps created in one test process share them without
"Duplicated timeseries" errors; tests compare values before and after.
Jobs by state and queue latency are not stored: they are read from DBOS's
workflows at each scrape (``bot.jobs.queue.job_stats``), so any process, a web
replica included, exports the whole deployment's figures.

Importers: ``bot.ingress.webhook``/``bot.ingress.dispatch`` (DELIVERIES), ``bot.github.client``
(GITHUB_CALLS), ``bot.jobs.workflow`` (JOB_DURATION).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storage import spend
from storage.db import Database

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

#: Job (workflow) states, always exported (0 when none): DBOS's ENQUEUED, PENDING,
#: SUCCESS, ERROR, CANCELLED in our words.
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
#: Quantiles of the queue latency (enqueue → start) exported.
QUANTILES = (0.5, 0.99)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class JobStats(Collector):
    """``scenarioforge_jobs{state}`` (jobs by state) and ``scenarioforge_queue_latency_seconds{quantile}``
    (seconds from enqueue to start over the recent jobs), from figures taken at scrape time."""

    def __init__(self, counts: Mapping[str, int], latencies_s: Sequence[float]) -> None:
        self._counts = {state: 0 for state in JOB_STATES} | dict(counts)
        self._latencies = list(latencies_s)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("scenarioforge_jobs", "Jobs by state.", labels=["state"])
        for state, count in sorted(self._counts.items()):
            family.add_metric([state], count)
        yield family
        latency = GaugeMetricFamily("scenarioforge_queue_latency_seconds",
                                    "Seconds from enqueue to start of recent jobs.", labels=["quantile"])
        for q in QUANTILES:
            latency.add_metric([str(q)], quantile(self._latencies, q))
        yield latency


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


async def month_spend(database: Database) -> dict[str, float]:
    """``{repository: US dollars}`` of this UTC month's runs (``storage.spend``)."""
    start, _ = spend.month_bounds(datetime.now(UTC))
    async with database.session() as session:
        return await spend.spend_by_repository(session, start)


def exposition(counts: Mapping[str, int], latencies_s: Sequence[float], spend_usd: Mapping[str, float]) -> bytes:
    """Every metric in the Prometheus text format (``CONTENT_TYPE_LATEST``), with the figures
    given (``counts``: state → jobs; ``latencies_s``: recent queue latencies; ``spend_usd``:
    repository → this month's US dollars, ``month_spend``)."""
    counted = CollectorRegistry()
    counted.register(JobStats(counts, latencies_s))
    counted.register(MonthSpend(spend_usd))
    return generate_latest(REGISTRY) + generate_latest(counted)
