"""The steps shared by every trigger (comment, label): react, reply, start a run.

``start_run`` is idempotent per delivery: the run row, its one tracking
comment and its workflow are each made once even when the same delivery is
dispatched again after a crash (see ``storage.runs`` for the order).
"""
from __future__ import annotations

import logging
from typing import Any

from gidgethub.abc import GitHubAPI

from bot import logs
from bot.github import messages
from bot.github.tracking import Tracker
from bot.jobs import queue
from storage import runs
from storage.db import Database
from storage.models import Run

log = logging.getLogger(__name__)


async def react(gh: GitHubAPI, comment: dict[str, Any]) -> None:
    """Put 👀 on a comment ("Create reaction for an issue comment",
    https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment)."""
    await gh.post(comment["url"] + "/reactions", data={"content": "eyes"})


async def reply(gh: GitHubAPI, issue: dict[str, Any], body: str) -> None:
    """Comment on the issue or pull request through the payload's ``comments_url``."""
    await gh.post(issue["comments_url"], data={"body": body})


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
