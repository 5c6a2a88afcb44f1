"""Missed webhook deliveries: which ones to ask GitHub to send again.

GitHub does not redeliver a failed webhook by itself. It keeps a log of the
App's delivery attempts for 3 days (``GET /app/hook/deliveries``, newest
first, cursor-paginated; ``guid`` is the ``X-GitHub-Delivery`` header shared
by all attempts of one event) and redelivers one on request (``POST
/app/hook/deliveries/{delivery_id}/attempts``)
(https://docs.github.com/rest/apps/webhooks,
https://docs.github.com/webhooks/using-webhooks/handling-failed-webhook-deliveries).

``missed`` decides: a ``guid`` is asked again when we never recorded it
(``storage.deliveries``) — whether GitHub saw it fail or, after our database
lost it, succeed — and no attempt of it is younger than ``pending_s`` (a
redelivery may be on its way). A delivery we recorded is never asked again:
we hold its payload and dispatch it ourselves. One request per ``guid``, for
its newest attempt.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gidgethub.abc import GitHubAPI

DELIVERIES = "/app/hook/deliveries{?per_page}"
ATTEMPTS = "/app/hook/deliveries/{delivery_id}/attempts"
#: GitHub keeps deliveries for 3 days; older ones cannot be redelivered.
WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class Missed:
    """A delivery to ask for again: its ``guid``, the attempt id to redeliver, how many attempts failed."""

    guid: str
    delivery_id: int
    attempts: int
    event: str


def parse_time(value: str) -> datetime:
    """GitHub's ``delivered_at`` (``2021-05-12T20:33:44Z``) as an aware datetime.

    Raises:
        ValueError: not an ISO 8601 time.
    """
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def recent(gh: GitHubAPI, *, since: datetime) -> list[dict]:
    """The App's delivery attempts (``hook-delivery-item`` dicts) delivered at or after
    ``since``, newest first; stops paging at the first older one.

    Raises:
        gidgethub.HTTPException: GitHub refused (the App JWT is required).
    """
    items: list[dict] = []
    async for item in gh.getiter(DELIVERIES, url_vars={"per_page": "100"}):
        if parse_time(item["delivered_at"]) < since:
            break
        items.append(item)
    return items


def missed(items: Iterable[dict], recorded: set[str], *, now: datetime, pending_s: float) -> list[Missed]:
    """The deliveries to ask again (see the module docstring), oldest first.

    ``items``: attempts as ``recent`` returns them; ``recorded``: the ``guid``s
    we hold; ``now``: an aware datetime.
    """
    newest: dict[str, dict] = {}
    failed: dict[str, int] = {}
    for item in items:
        guid = item["guid"]
        if guid in recorded:
            continue
        if guid not in newest or item["id"] > newest[guid]["id"]:
            newest[guid] = item
        failed[guid] = failed.get(guid, 0) + (not 200 <= (item.get("status_code") or 0) < 400)
    fresh = now - timedelta(seconds=pending_s)
    chosen = [item for item in newest.values() if parse_time(item["delivered_at"]) <= fresh]
    chosen.sort(key=lambda item: item["id"])
    return [Missed(item["guid"], item["id"], failed[item["guid"]], item.get("event") or "") for item in chosen]


async def redeliver(gh: GitHubAPI, delivery_id: int) -> None:
    """Ask GitHub to send attempt ``delivery_id`` again (202 Accepted).

    Raises:
        gidgethub.HTTPException: GitHub refused (e.g. 422 for a delivery older than 3 days).
    """
    await gh.post(ATTEMPTS, url_vars={"delivery_id": str(delivery_id)}, data={})
