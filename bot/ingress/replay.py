"""``scenarioforge replay PAYLOAD.json --event NAME [--url URL]``: re-send a webhook locally.

The payload file is POSTed unchanged, signed with the configured
``SCENARIOFORGE_WEBHOOK_SECRET`` the way GitHub signs deliveries
(``X-Hub-Signature-256``: HMAC-SHA256 of the body,
https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries)
under a fresh ``X-GitHub-Delivery`` id. The file and the URL are checked
before anything is sent: the file must hold a JSON object (every webhook
payload is one) and the URL must be http(s).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import uuid
from pathlib import Path

import aiohttp
from yarl import URL

from bot.errors import ConfigError
from bot.ingress.server import load_settings, webhook_secret


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


#: JSON's names for what ``json.loads`` returns, for messages.
JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
              bool: "a boolean", type(None): "null"}


def read_payload(path: Path) -> bytes:
    """The bytes of the payload file ``path``, unchanged.

    Raises:
        ValueError: one-line reason: the file cannot be read, is not UTF-8
            JSON, or its JSON is not an object.
    """
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.reason} at byte {exc.start})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: a webhook payload is a JSON object, this is {JSON_TYPES[type(payload)]}")
    return body


def check_url(url: str) -> None:
    """Accept an absolute ``http://`` or ``https://`` URL with a host.

    Raises:
        ValueError: one-line reason.
    """
    try:
        parsed = URL(url)
    except ValueError as exc:
        raise ValueError(f"{url}: not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{url}: not an http(s) URL such as http://127.0.0.1:3000/webhook")


def replay(payload_path: Path, event: str, url: str) -> int:
    """Send the delivery and print the answer; 0 on a 2xx answer, 1 otherwise, 2 for bad input.

    Bad input (the file, the URL, the settings) is reported on stderr in one
    line (``cannot replay: …``, or load_settings' ``invalid setting …`` lines)
    and nothing is sent.
    """
    try:
        body = read_payload(payload_path)
        check_url(url)
    except ValueError as exc:
        print(f"cannot replay: {exc}", file=sys.stderr)
        return 2
    settings = load_settings()
    if settings is None:
        return 2
    try:
        secret = webhook_secret(settings)
    except ConfigError as exc:
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
