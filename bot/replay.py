"""``scenarioforge replay PAYLOAD.json --event NAME [--url URL]``: re-send a webhook locally.

The payload file is POSTed unchanged, signed with the configured
``SCENARIOFORGE_WEBHOOK_SECRET`` the way GitHub signs deliveries
(``X-Hub-Signature-256``: HMAC-SHA256 of the body,
https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries)
under a fresh ``X-GitHub-Delivery`` id.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import sys
import uuid
from pathlib import Path

import aiohttp

from bot.errors import ConfigError
from bot.server import load_settings, webhook_secret


def signature(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` header value for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


async def post(url: str, body: bytes, event: str, secret: str, *, timeout_s: float = 30.0) -> tuple[int, str]:
    """POST ``body`` as a signed ``event`` delivery; returns ``(HTTP status, response text)``.

    Raises:
        aiohttp.ClientError, TimeoutError: ``url`` could not be reached.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "scenarioforge-replay",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(body, secret),
    }
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        async with session.post(url, data=body, headers=headers) as response:
            return response.status, await response.text()


def replay(payload_path: Path, event: str, url: str) -> int:
    """Send the delivery and print the answer; 0 on a 2xx answer, 1 otherwise, 2 for bad input."""
    settings = load_settings()
    if settings is None:
        return 2
    try:
        secret = webhook_secret(settings)
        body = payload_path.read_bytes()
    except (ConfigError, OSError) as exc:
        print(f"cannot replay: {exc}", file=sys.stderr)
        return 2
    try:
        status, text = asyncio.run(post(url, body, event, secret))
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"cannot reach {url}: {exc or type(exc).__name__}", file=sys.stderr)
        return 1
    print(f"HTTP {status}")
    print(text)
    return 0 if 200 <= status < 300 else 1
