"""Checkpointed steps of a run's workflow, and which failures they retry.

``step(name, func, *args)`` runs ``func`` as a DBOS step of the current
workflow (``bot.jobs.workflow``): its return value is checkpointed in DBOS's
system database, so after a crash the workflow resumes after the last step
that finished and never runs it again. Outside a workflow (unit tests, the
local commands) it simply calls ``func``. Return values must be small and
picklable (ids, paths, counts); big results go to our own tables first.

``/scenarioforge cancel`` cancels the workflow (``bot.jobs.queue.cancel``);
the workflow's watcher (``bot.jobs.workflow``) then cancels the action's task
within a second, the step in it included (``CancelledError``, which stops the
Codex turn). Steps are not DBOS-preemptible on top of that: one cancellation,
so the action's cleanup (completing its check run ``cancelled``) is not cut short.

Transient failures (``is_transient``: the network, GitHub's 5xx or exhausted
rate limit, git's network errors) are retried by the step itself with
exponential backoff (``RETRY_INTERVAL_S`` doubling, ``MAX_ATTEMPTS`` in all);
anything else, or a transient failure out of attempts, propagates to the
workflow, which fails the run with the raw error record.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import gidgethub
from dbos import DBOS
from dbos._error import DBOSMaxStepRetriesExceeded

from bot.errors import GitError, ScenarioForgeError

T = TypeVar("T")

#: Substrings of git's stderr that mean the network, not the request, failed.
GIT_NETWORK_ERRORS = (
    "Could not resolve host", "Failed to connect", "Connection timed out", "Connection reset",
    "Operation timed out", "The requested URL returned error: 5", "RPC failed", "early EOF",
)
#: Step retries: attempts in all, first wait in seconds, growth factor of the wait.
MAX_ATTEMPTS = 5
RETRY_INTERVAL_S = 10.0
BACKOFF_RATE = 2.0


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: the network, GitHub's 5xx (``GitHubBroken``)
    or exhausted rate limit, and git's network errors."""
    if isinstance(exc, (aiohttp.ClientError, TimeoutError, gidgethub.GitHubBroken, gidgethub.RateLimitExceeded)):
        return True
    return isinstance(exc, GitError) and any(marker in exc.message for marker in GIT_NETWORK_ERRORS)


def root_error(exc: BaseException) -> BaseException:
    """The last underlying error of a step that ran out of retries, else ``exc``."""
    if isinstance(exc, DBOSMaxStepRetriesExceeded) and exc.errors:
        return exc.errors[-1]
    return exc


def in_workflow() -> bool:
    """True inside a DBOS workflow (where steps are checkpointed)."""
    return DBOS.workflow_id is not None


async def step(name: str, func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``await func(*args)`` as the checkpointed, retried step ``name``
    (see the module docstring); a plain call outside a workflow."""
    if not in_workflow():
        return await func(*args)
    options: Any = {
        "name": name, "retries_allowed": True, "max_attempts": MAX_ATTEMPTS,
        "interval_seconds": RETRY_INTERVAL_S,
        "backoff_rate": BACKOFF_RATE, "should_retry": is_transient,
    }
    return await DBOS.run_step_async(options, func, *args)


def error_record(exc: BaseException, run: Any) -> dict:
    """The raw error (type and message unchanged) with the run's context added
    (``run``: a ``storage.models.Run``)."""
    exc = root_error(exc)
    ours = {"repository": run.repository, "action": run.action, "run_id": run.id,
            "delivery_id": run.delivery_id, "workflow_id": DBOS.workflow_id if in_workflow() else None}
    if not isinstance(exc, ScenarioForgeError):
        exc = ScenarioForgeError(str(exc), error_type=type(exc).__name__)
    record = exc.as_record()
    record["context"] = {**{k: v for k, v in ours.items() if v is not None}, **record["context"]}
    return record
