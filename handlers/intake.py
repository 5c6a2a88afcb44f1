"""The steps shared by every trigger (comment, label): ignore bots, react, reply, start a run.

``start_run`` is idempotent per delivery: the run row, its one tracking
comment and its workflow are each made once even when the same delivery is
dispatched again after a crash (see ``storage.runs`` for the order).
"""
from __future__ import annotations

import logging
from typing import Any

from gidgethub.abc import GitHubAPI
from gidgethub.sansio import format_url

from bot import logs
from bot.github import messages
from bot.github.tracking import COMMENTS, Tracker
from bot.github.urls import api_url
from bot.jobs import queue
from config.settings import Settings
from storage import runs
from storage.db import Database
from storage.models import Run

log = logging.getLogger(__name__)

REACTIONS = "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"


def _names(repository: str) -> dict[str, str]:
    owner, repo = repository.split("/", 1)
    return {"owner": owner, "repo": repo}


def is_ignored_bot(user: dict[str, Any], settings: Settings) -> bool:
    """True for a bot account (``user.type == "Bot"``: another App, ``github-actions[bot]``, or this
    App's own ``<slug>[bot]``) whose login is not in ``ALLOWED_BOTS``: its commands and labels are
    ignored without a reply (a workflow that labels pull requests from forks must not start runs)."""
    return user["type"] == "Bot" and user["login"] not in settings.allowed_bots


async def react(gh: GitHubAPI, repository: str, comment: dict[str, Any]) -> None:
    """Put 👀 on a comment ("Create reaction for an issue comment",
    https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment)
    through the payload's ``comment.url`` when it is under the API base, else the rebuilt path
    (``bot.github.urls.api_url``)."""
    rebuilt = format_url(REACTIONS, {**_names(repository), "comment_id": str(comment["id"])},
                         base_url=gh.base_url)
    url = api_url(comment.get("url") and comment["url"] + "/reactions", gh.base_url, rebuilt)
    await gh.post(url, data={"content": "eyes"})


async def reply(gh: GitHubAPI, repository: str, issue: dict[str, Any], body: str) -> None:
    """Comment on the issue or pull request through the payload's ``comments_url`` when it is
    under the API base, else the rebuilt "Create an issue comment" path."""
    rebuilt = format_url(COMMENTS, {**_names(repository), "issue_number": str(issue["number"])},
                         base_url=gh.base_url)
    await gh.post(api_url(issue.get("comments_url"), gh.base_url, rebuilt), data={"body": body})


async def start_run(gh: GitHubAPI, db: Database, **fields: Any) -> Run:
    """Create the run of ``fields`` (``storage.runs.create_run`` keywords), post its
    tracking comment, then queue it and enqueue its workflow (``bot.jobs.queue``);
    each step only once per delivery (the workflow id is the run id, so enqueueing
    again after a crash between commit and enqueue is harmless). Log records from
    then on carry the run id (``bot.logs``).
    """
    async with db.session() as session:
        run, _created = await runs.create_run(session, **fields)
    with logs.bound(run_id=run.id):
        if run.tracking_comment_id is None:
            await Tracker(gh, db, run).update(messages.tracking(run, []))
        async with db.session() as session:
            queued = await runs.queue(session, run.id)
        if queued is not None:
            log.info("%s run queued", run.action)
        await queue.enqueue(run)
    return run
