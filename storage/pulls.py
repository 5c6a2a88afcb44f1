"""Pull request states for the review board, kept current from webhooks.

``record`` writes what a ``pull_request`` webhook's ``pull_request`` object
says (https://docs.github.com/webhooks/webhook-events-and-payloads#pull_request);
``record_review`` the latest review's state from ``pull_request_review``.
All functions work in the caller's session/transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PullRequestState


async def _row(session: AsyncSession, repository: str, number: int) -> PullRequestState:
    row = await session.get(PullRequestState, (repository, number))
    if row is None:
        row = PullRequestState(repository=repository, number=number, state="open", draft=False, merged=False,
                               title="")
        session.add(row)
    return row


async def record(session: AsyncSession, repository: str, pull: dict[str, Any]) -> PullRequestState:
    """Store ``pull`` (a webhook's ``pull_request`` object: ``number``, ``state``, ``draft``,
    ``merged``, ``title``, ``head.sha``) as the state of ``repository``'s pull request."""
    row = await _row(session, repository, pull["number"])
    row.state, row.title = pull["state"], pull.get("title") or ""
    row.draft, row.merged = bool(pull.get("draft")), bool(pull.get("merged"))
    row.head_sha = (pull.get("head") or {}).get("sha")
    await session.flush()
    return row


async def record_review(session: AsyncSession, repository: str, pull: dict[str, Any],
                        review_state: str) -> PullRequestState:
    """Store the pull request and its latest review's state (``approved | changes_requested |
    commented | dismissed``, lower-cased as GitHub sends it)."""
    row = await record(session, repository, pull)
    row.review_state = review_state.lower()
    await session.flush()
    return row


async def states(session: AsyncSession, repository: str, numbers: Iterable[int]) -> dict[int, PullRequestState]:
    """The known states of ``repository``'s pull requests ``numbers``, by number (unknown ones left out)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    rows = await session.scalars(select(PullRequestState).where(
        PullRequestState.repository == repository, PullRequestState.number.in_(wanted)))
    return {row.number: row for row in rows}
