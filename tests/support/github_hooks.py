"""The App's webhook deliveries on the local GitHub server: the log GitHub keeps and redelivery.

GitHub records every attempt to deliver a webhook to the App (``GET
/app/hook/deliveries``, newest first, cursor-paginated through the ``Link``
header) and redelivers one on request (``POST
/app/hook/deliveries/{delivery_id}/attempts``, 202), as a new attempt with the
same ``guid`` (the ``X-GitHub-Delivery`` header) and ``redelivery: true``
(https://docs.github.com/rest/apps/webhooks). A test ``record``s attempts with
their outcome; a redelivery POSTs the stored payload, signed, to
``webhook_url`` and records how that went.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from tests.support.github_server import GitHubServer


@dataclass
class Attempt:
    """One attempt GitHub made to deliver ``guid``."""

    id: int
    guid: str
    event: str
    action: str | None
    payload: dict[str, Any]
    status_code: int
    delivered_at: float
    redelivery: bool

    def item(self, installation_id: int | None) -> dict[str, Any]:
        """The "Simple webhook delivery" shape (``hook-delivery-item``)."""
        return {
            "id": self.id, "guid": self.guid, "redelivery": self.redelivery, "duration": 0.05,
            "delivered_at": datetime.fromtimestamp(self.delivered_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": "OK" if 200 <= self.status_code < 400 else ("failed to connect" if self.status_code == 0
                                                                  else "Invalid HTTP Response: %d" % self.status_code),
            "status_code": self.status_code, "event": self.event, "action": self.action,
            "installation_id": installation_id, "repository_id": None, "throttled_at": None,
        }


class HookDeliveries:
    """The delivery log and redelivery (state of the server's webhook side)."""

    def __init__(self, server: GitHubServer) -> None:
        self.server = server
        self.webhook_url = ""  # where redeliveries go (the bot's ``…/webhook``)
        self.secret = ""  # the App's webhook secret, to sign them
        self.attempts: list[Attempt] = []
        self._ids = itertools.count(90001)

    def record(self, guid: str, event: str, payload: dict[str, Any], *, status_code: int,
               age_s: float = 0.0) -> Attempt:
        """Log an attempt at delivering ``payload`` as ``guid``, ``age_s`` seconds ago, that got
        ``status_code`` (0: could not connect)."""
        attempt = Attempt(next(self._ids), guid, event, payload.get("action"), payload, status_code,
                          time.time() - age_s, any(a.guid == guid for a in self.attempts))
        self.attempts.append(attempt)
        return attempt

    def rest_endpoints(self) -> dict[str, Any]:
        return {"GET /app/hook/deliveries": self._list,
                "POST /app/hook/deliveries/{delivery_id}/attempts": self._redeliver}

    def _installation(self, attempt: Attempt) -> int | None:
        return (attempt.payload.get("installation") or {}).get("id")

    async def _list(self, request: web.Request) -> web.Response:
        newest_first = sorted(self.attempts, key=lambda a: a.id, reverse=True)
        status = request.query.get("status")
        if status:
            newest_first = [a for a in newest_first if (200 <= a.status_code < 400) == (status == "success")]
        per_page = min(int(request.query.get("per_page", 30)), 100)
        cursor = request.query.get("cursor")
        start = next((i for i, a in enumerate(newest_first) if str(a.id) == cursor), 0) if cursor else 0
        page = newest_first[start:start + per_page]
        headers = {}
        if start + per_page < len(newest_first):
            query = {**request.query, "per_page": str(per_page), "cursor": str(newest_first[start + per_page].id)}
            headers["link"] = f'<{request.url.with_query(query)}>; rel="next"'
        return web.json_response([a.item(self._installation(a)) for a in page], headers=headers)

    def _attempt(self, request: web.Request) -> Attempt | None:
        from tests.support.github_endpoints import PARAMS
        wanted = request[PARAMS]["delivery_id"]
        return next((a for a in self.attempts if a.id == wanted), None)

    async def _redeliver(self, request: web.Request) -> web.Response:
        attempt = self._attempt(request)
        if attempt is None:
            return web.json_response({"message": "Not Found"}, status=404)
        status = await self._post(attempt)
        self.record(attempt.guid, attempt.event, attempt.payload, status_code=status)
        return web.json_response({}, status=202)

    async def _post(self, attempt: Attempt) -> int:
        """POST ``attempt``'s payload to ``webhook_url`` as GitHub would; its status (0: no answer)."""
        body = json.dumps(attempt.payload).encode()
        headers = {"Content-Type": "application/json", "X-GitHub-Event": attempt.event,
                   "X-GitHub-Delivery": attempt.guid, "User-Agent": "GitHub-Hookshot/redelivery",
                   "X-Hub-Signature-256": "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()}
        try:
            async with aiohttp.ClientSession() as session, session.post(self.webhook_url, data=body,
                                                                        headers=headers) as answer:
                return answer.status
        except aiohttp.ClientError:
            return 0
