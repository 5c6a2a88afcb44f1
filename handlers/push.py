"""A push to the default branch re-reads the scenario pack's sources (issue 13, "Documents change").

Webhook ``push`` (https://docs.github.com/webhooks/webhook-events-and-payloads#push). When the
repository has a published scenario pack and ``generate.on_source_change`` is not ``off``, a
``review`` run (``bot.scenarios.review``) rescans the pushed commit and flags the scenarios
whose sources changed or turned stale. Its tracking comment is the pack PR's ONE source-review
comment: the first review run posts it, every later one takes it over
(``storage.runs.create_run(tracking_comment_id=…)``) and edits it.
"""
from __future__ import annotations

from typing import Any

from gidgethub import routing
from gidgethub.abc import GitHubAPI
from gidgethub.sansio import Event
from sqlalchemy import select

from bot.github.config_files import load_effective
from handlers import payloads
from handlers.intake import start_run
from storage import packs
from storage.db import Database
from storage.models import Run

router = routing.Router()

REVIEW_VERB = "review"


async def review_comment(db: Database, repository: str, pr_number: int) -> int | None:
    """The tracking comment of the latest ``review`` run on pack PR ``pr_number``, if any."""
    async with db.session() as session:
        return await session.scalar(select(Run.tracking_comment_id).where(
            Run.repository == repository, Run.action == REVIEW_VERB, Run.issue_number == pr_number,
            Run.tracking_comment_id.is_not(None)).order_by(Run.id.desc()).limit(1))


@router.register("push")
async def on_push(event: Event, gh: GitHubAPI, *args: Any, db: Database, delivery_id: str, **kwargs: Any) -> None:
    """Queue the ``review`` run of a push to the default branch of a repository with a pack PR."""
    payloads.check(event, payloads.Push)
    data = event.data
    repository, default = data["repository"]["full_name"], data["repository"]["default_branch"]
    if data["ref"] != f"refs/heads/{default}" or data.get("deleted"):
        return
    async with db.session() as session:
        latest = await packs.latest_revision(session, repository)
    if latest is None or latest.pr_number is None:
        return
    mode = (await load_effective(gh, repository)).config.generate.on_source_change
    if mode == "off":
        return
    changed = sorted({path for commit in data["commits"]
                      for path in (*commit["added"], *commit["modified"], *commit["removed"])})
    await start_run(
        gh, db, delivery_id=delivery_id, verb=REVIEW_VERB, installation_id=data["installation"]["id"],
        repository=repository, issue_number=latest.pr_number, is_pull_request=True,
        requester=data["sender"]["login"], head_sha=data["after"],
        args={"trigger": "push", "changed": changed, "on_source_change": mode, "branch": default},
        tracking_comment_id=await review_comment(db, repository, latest.pr_number),
    )
