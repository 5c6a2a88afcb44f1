"""The tracking comment of a run: posted once, found again by its marker, edited in place.

``Tracker.update`` edits at most once per ``min_interval`` seconds; a
non-final body that arrives inside the interval is kept and goes out when
the interval has passed (a timer), with the next update, or on ``flush``,
whichever comes first. A final body always goes out at once, and nothing
older is sent after it. The
comment id is saved on the run; when it is missing (a previous attempt
posted the comment and crashed before saving), the issue's comments are
searched for the marker before posting a new one.

Endpoints: "Create an issue comment", "Update an issue comment", "List
issue comments" (https://docs.github.com/rest/issues/comments) and "Remove
a label from an issue" (https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import gidgethub
from gidgethub.abc import GitHubAPI
from sqlalchemy import update

from bot.github import messages
from storage.db import Database
from storage.models import Run

COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
COMMENT = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
LABEL = "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"


def _issue_vars(run: Run) -> dict[str, str]:
    owner, repo = run.repository.split("/", 1)
    return {"owner": owner, "repo": repo, "issue_number": str(run.issue_number)}


class Tracker:
    """Keeps one run's tracking comment current. ``clock`` returns seconds (monotonic);
    ``sleep`` waits that many seconds (the timer that sends a kept-back body)."""

    def __init__(
        self, gh: GitHubAPI, db: Database, run: Run, *,
        clock: Callable[[], float] = time.monotonic, min_interval: float = 3.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.gh, self.db, self.run = gh, db, run
        self.clock, self.min_interval, self._sleep = clock, min_interval, sleep
        self._sent: str | None = None
        self._sent_at: float | None = None
        self._pending: str | None = None
        self._final = False
        self._timer: asyncio.Task[None] | None = None
        self._editing = asyncio.Lock()

    async def update(self, body: str, *, final: bool = False) -> None:
        """Show ``body`` (rendered by ``bot.github.messages.tracking``), throttled unless ``final``."""
        if self.run.tracking_comment_id is None:
            await self._post(body)
            return
        if final:
            self._final = True
            self._stop_timer()
            await self._edit(body)
            return
        if self._final:
            return  # the final body is out; nothing older replaces it
        elapsed = None if self._sent_at is None else self.clock() - self._sent_at
        if elapsed is None or elapsed >= self.min_interval:
            await self._edit(body)
            return
        self._pending = body
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_after(self.min_interval - elapsed))

    async def flush(self) -> None:
        """Send a body kept back by the throttle, now."""
        if self._pending is not None:
            await self._edit(self._pending)

    async def _flush_after(self, delay: float) -> None:
        await self._sleep(delay)
        if not self._final:
            await self.flush()

    def _stop_timer(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()

    async def _post(self, body: str) -> None:
        comment_id = await self._find()
        if comment_id is None:
            comment = await self.gh.post(COMMENTS, url_vars=_issue_vars(self.run), data={"body": body})
            comment_id = comment["id"]
            self._mark_sent(body)
        async with self.db.session() as session:
            await session.execute(
                update(Run).where(Run.id == self.run.id).values(tracking_comment_id=comment_id)
                .execution_options(synchronize_session=False)
            )
        self.run.tracking_comment_id = comment_id
        if self._sent != body:
            await self._edit(body)

    async def _find(self) -> int | None:
        """The id of a bot comment on the issue that carries this run's marker."""
        comment = await find_comment(self.gh, self.run.repository, self.run.issue_number, messages.marker(self.run.id))
        return None if comment is None else comment["id"]

    async def _edit(self, body: str) -> None:
        self._pending = None
        async with self._editing:  # one PATCH at a time, so edits arrive in order
            if body == self._sent:
                return
            owner, repo = self.run.repository.split("/", 1)
            await self.gh.patch(
                COMMENT, url_vars={"owner": owner, "repo": repo, "comment_id": str(self.run.tracking_comment_id)},
                data={"body": body},
            )
            self._mark_sent(body)

    def _mark_sent(self, body: str) -> None:
        self._sent, self._sent_at = body, self.clock()


async def remove_trigger_label(gh: GitHubAPI, run: Run) -> None:
    """Remove the label that triggered ``run`` (``run.args["label"]``), if it did.

    Called by the worker when it picks the job up. A 404 means the label is
    already gone, which is the wanted outcome.
    """
    if run.args.get("trigger") != "label":
        return
    try:
        await gh.delete(LABEL, url_vars={**_issue_vars(run), "name": run.args["label"]})
    except gidgethub.BadRequest as exc:
        if exc.status_code != 404:
            raise


async def find_comment(gh: GitHubAPI, repository: str, issue_number: int, marker: str) -> dict[str, Any] | None:
    """The bot's comment on issue or pull request ``issue_number`` carrying ``marker`` (an HTML comment in
    its body), or ``None``. Only comments of a Bot account count: a person quoting the marker does not
    make their comment the bot's. Raises ``gidgethub.GitHubException`` as GitHub answers."""
    owner, repo = repository.split("/", 1)
    async for comment in gh.getiter(COMMENTS, url_vars={"owner": owner, "repo": repo,
                                                        "issue_number": str(issue_number)}):
        if marker in (comment.get("body") or "") and comment["user"]["type"] == "Bot":
            return comment
    return None


async def upsert_comment(gh: GitHubAPI, repository: str, issue_number: int, marker: str, body: str, *,
                         create: bool = True) -> tuple[dict[str, Any] | None, bool]:
    """The bot's ONE comment carrying ``marker`` (:func:`find_comment`) edited to ``body``, or posted when
    there is none (unless ``create`` is False: then ``(None, False)``). Returns ``(comment, created)``.

    Raises ``gidgethub.GitHubException`` as GitHub answers.
    """
    owner, repo = repository.split("/", 1)
    names = {"owner": owner, "repo": repo}
    existing = await find_comment(gh, repository, issue_number, marker)
    if existing is not None:
        updated = await gh.patch(COMMENT, url_vars={**names, "comment_id": str(existing["id"])}, data={"body": body})
        return updated, False
    if not create:
        return None, False
    created = await gh.post(COMMENTS, url_vars={**names, "issue_number": str(issue_number)}, data={"body": body})
    return created, True
