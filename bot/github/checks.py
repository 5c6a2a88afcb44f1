"""Check runs: start one in progress on a commit, update it, complete it (the checks API edge).

Endpoints "Create a check run" and "Update a check run"
(https://docs.github.com/rest/checks/runs). Limits applied here, as GitHub
documents them: ``output.summary`` and ``output.text`` hold at most 65535
characters; at most 50 annotations go in one request, and further ones are
sent by more updates, which GitHub appends to the run; at most three
``actions`` (buttons). A ``conclusion`` completes the run.

:func:`start_for_run` is what actions use: the check run of a job's run on
its checked-out commit, linked to the run's tracking comment (``details_url``)
and remembered in ``Run.check_run_id``.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import gidgethub
from gidgethub.abc import GitHubAPI

from bot.errors import ScenarioForgeError

CHECK_RUNS = "/repos/{owner}/{repo}/check-runs"
CHECK_RUN = "/repos/{owner}/{repo}/check-runs/{check_run_id}"
COMMENT = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
TEXT_LIMIT = 65_535
ANNOTATIONS_PER_REQUEST = 50
MAX_ACTIONS = 3

log = logging.getLogger(__name__)


def cap(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying that it was cut."""
    if len(text) <= limit:
        return text
    note = f"\n\n… cut ({len(text)} characters in all)"
    return text[: limit - len(note)] + note


@dataclass(frozen=True)
class Output:
    """A check run's ``output``: ``title``, Markdown ``summary`` and ``text``, ``annotations``
    (dicts with ``path``, ``start_line``, ``end_line``, ``annotation_level``, ``message``…)."""

    title: str
    summary: str
    text: str | None = None
    annotations: Sequence[dict[str, Any]] = field(default_factory=tuple)

    def batches(self) -> list[dict[str, Any]]:
        """The ``output`` objects to send: the first with up to 50 annotations, then one per further 50."""
        base: dict[str, Any] = {"title": self.title[:255] or "ScenarioForge", "summary": cap(self.summary)}
        if self.text:
            base["text"] = cap(self.text)
        annotations = list(self.annotations)
        chunks = [annotations[i: i + ANNOTATIONS_PER_REQUEST]
                  for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)] or [[]]
        return [{**base, **({"annotations": chunk} if chunk else {})} for chunk in chunks]


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class CheckRun:
    """One check run of ``repository`` (``owner/name``); ``html_url`` is its page on GitHub."""

    gh: GitHubAPI
    repository: str
    id: int
    html_url: str

    def _vars(self) -> dict[str, str]:
        owner, repo = self.repository.split("/", 1)
        return {"owner": owner, "repo": repo, "check_run_id": str(self.id)}

    async def update(self, *, output: Output | None = None, actions: Sequence[dict[str, str]] | None = None,
                     **fields: Any) -> dict[str, Any]:
        """PATCH the run with ``fields`` (``status``, ``conclusion``, ``details_url``…), ``output``
        and ``actions``; annotations beyond 50 go in further PATCHes. Returns the last answer."""
        data: dict[str, Any] = dict(fields)
        if actions is not None:
            data["actions"] = list(actions)[:MAX_ACTIONS]
        batches = output.batches() if output is not None else [None]
        answer: dict[str, Any] = {}
        for number, batch in enumerate(batches):
            body = data if number == 0 else {}
            if batch is not None:
                body = {**body, "output": batch}
            answer = await self.gh.patch(CHECK_RUN, url_vars=self._vars(), data=body)
        return answer

    async def complete(self, conclusion: str, output: Output,
                       actions: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
        """Complete the run with ``conclusion`` (``success | failure | neutral | cancelled | …``)."""
        return await self.update(output=output, actions=actions, status="completed", conclusion=conclusion,
                                 completed_at=_timestamp())


async def start(
    gh: GitHubAPI, repository: str, *, name: str, head_sha: str, details_url: str | None = None,
    external_id: str | None = None, output: Output | None = None,
) -> CheckRun:
    """Create check run ``name`` on ``head_sha``, ``in_progress`` from now on."""
    owner, repo = repository.split("/", 1)
    data: dict[str, Any] = {"name": name, "head_sha": head_sha, "status": "in_progress", "started_at": _timestamp()}
    if details_url:
        data["details_url"] = details_url
    if external_id:
        data["external_id"] = external_id
    if output is not None:
        data["output"] = output.batches()[0]
    answer = await gh.post(CHECK_RUNS, url_vars={"owner": owner, "repo": repo}, data=data)
    return CheckRun(gh, repository, answer["id"], answer.get("html_url") or "")


#: What an abandoned check run says when the run goes on in another one.
ABANDONED = ("The worker running this check stopped before it finished (the process was killed or restarted); "
             "the run continues in [a new check run]({url}).")


async def resume(
    gh: GitHubAPI, repository: str, check_run_id: int, *, name: str, head_sha: str, details_url: str | None = None,
    external_id: str | None = None, output: Output | None = None,
) -> CheckRun:
    """The check run of a run started again after its worker died: check run ``check_run_id`` itself,
    set ``in_progress`` again, when it is ``name`` on ``head_sha`` and not completed (a conclusion is
    final); otherwise a new one (:func:`start`), and the abandoned one, if not completed, is
    concluded ``cancelled`` with :data:`ABANDONED`.
    A check run GitHub no longer has (404) is replaced silently.

    ("Update a check run", https://docs.github.com/rest/checks/runs#update-a-check-run.)
    """
    old = CheckRun(gh, repository, check_run_id, "")
    try:
        current = await gh.getitem(CHECK_RUN, url_vars=old._vars())
    except gidgethub.BadRequest as exc:
        if exc.status_code != 404:
            raise
        current = None
    if current is not None and current["status"] != "completed" and (current["name"], current["head_sha"]) == (
            name, head_sha):
        old.html_url = current.get("html_url") or ""
        fields: dict[str, Any] = {"status": "in_progress", "started_at": _timestamp()}
        await old.update(output=output, **fields, **({"details_url": details_url} if details_url else {}))
        return old
    new = await start(gh, repository, name=name, head_sha=head_sha, details_url=details_url,
                      external_id=external_id, output=output)
    if current is not None and current["status"] != "completed":
        await old.complete("cancelled", Output("Abandoned", ABANDONED.format(url=new.html_url)))
    return new


def failure_output(title: str, exc: BaseException) -> Output:
    """The output of a check run whose action raised: ``"{title}: {error type}"`` and
    the raw error message, unchanged (seed 000 §6), with its context listed."""
    if isinstance(exc, ScenarioForgeError):
        kind, message, context = exc.error_type, exc.message, exc.context
    else:
        kind, message, context = type(exc).__name__, str(exc), {}
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", message)), default=0))
    summary = f"{fence}\n{message}\n{fence}"
    if context:
        summary += "\n\n" + "\n".join(f"- {key}: `{value}`" for key, value in context.items())
    return Output(f"{title}: {kind}", summary)


@asynccontextmanager
async def concluded_on_error(check: CheckRun, title: str, *,
                             resumes: Callable[[], bool] = lambda: False) -> AsyncIterator[None]:
    """Complete ``check`` when the body raises, then re-raise: ``cancelled`` on
    cancellation, else ``failure`` with :func:`failure_output`. A GitHub error
    while completing is logged, never raised over the action's own error.

    A cancellation while ``resumes()`` is true (the worker process is stopping and the run's
    workflow resumes in the next one) leaves ``check`` in progress: the resumed run takes it
    up again (:func:`resume`) instead of showing a cancelled check run beside a new one."""
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError) and resumes():
            raise
        if isinstance(exc, asyncio.CancelledError):
            conclusion, output = "cancelled", Output("Cancelled", "The run was cancelled.")
        elif isinstance(exc, Exception):
            conclusion, output = "failure", failure_output(title, exc)
        else:
            raise
        try:
            await check.complete(conclusion, output)
        except Exception:  # noqa: BLE001 - logged; the action's own error is what the run records
            log.exception("could not complete check run %s", check.id)
        raise
