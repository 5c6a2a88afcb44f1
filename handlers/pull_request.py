"""Keep the review board's fix PR states current.

Webhooks ``pull_request`` (any action: opened, edited, closed, reopened,
converted_to_draft, ready_for_review, synchronize…) and ``pull_request_review``
``submitted``/``dismissed``
(https://docs.github.com/webhooks/webhook-events-and-payloads#pull_request).
Every pull request of a repository the App is installed on is recorded, so a
fix PR's state is known whatever order runs and webhooks arrive in.
"""
from __future__ import annotations

from typing import Any

from gidgethub import routing
from gidgethub.abc import GitHubAPI
from gidgethub.sansio import Event

from storage import pulls
from storage.db import Database

router = routing.Router()


@router.register("pull_request")
async def on_pull_request(event: Event, gh: GitHubAPI, *args: Any, db: Database, **kwargs: Any) -> None:
    """Record the pull request's state, draft and merged flags."""
    async with db.session() as session:
        await pulls.record(session, event.data["repository"]["full_name"], event.data["pull_request"])


@router.register("pull_request_review", action="submitted")
@router.register("pull_request_review", action="dismissed")
async def on_review(event: Event, gh: GitHubAPI, *args: Any, db: Database, **kwargs: Any) -> None:
    """Record the latest review's state with the pull request."""
    async with db.session() as session:
        await pulls.record_review(session, event.data["repository"]["full_name"], event.data["pull_request"],
                                  event.data["review"]["state"])
