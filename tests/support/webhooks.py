"""Webhook deliveries over real HTTP: payloads, signatures and a running app.

Payloads are the real examples in ``tests/payloads`` (see its README); tests
change a comment body or label in memory, sign the bytes with
``WEBHOOK_SECRET`` and POST them to the real application started on
``127.0.0.1`` on an ephemeral port:

    async def test_help(start_app, webhook_settings):
        running = await start_app(webhook_settings)
        payload = load_payload("issue_comment.created.4.json")
        payload["comment"]["body"] = "/scenarioforge help"
        answer = await running.post(payload, "issue_comment")
        assert answer.status == 202
        await running.services.dispatcher.idle()
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.ingress.server import SERVICES, Services, create_app
from config.settings import Settings

PAYLOADS = Path(__file__).parent.parent / "payloads"
WEBHOOK_SECRET = "it's a secret to everybody"


def load_payload(name: str) -> dict[str, Any]:
    """A fresh copy of ``tests/payloads/<name>`` (e.g. ``"issue_comment.created.4.json"``)."""
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(
    body: bytes, event: str, *, delivery_id: str | None = None, secret: str = WEBHOOK_SECRET
) -> dict[str, str]:
    """The headers of a signed delivery (a fresh ``X-GitHub-Delivery`` unless given)."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, secret),
        "User-Agent": "GitHub-Hookshot/test",
    }


@dataclass(frozen=True)
class Answer:
    """What the app answered to one delivery."""

    status: int
    body: dict[str, Any]
    delivery_id: str


async def post_delivery(
    url: str,
    payload: dict[str, Any] | bytes,
    event: str,
    *,
    delivery_id: str | None = None,
    secret: str = WEBHOOK_SECRET,
    headers: dict[str, str | None] | None = None,
) -> Answer:
    """POST a signed delivery to ``url`` (the full ``…/webhook`` address).

    ``payload`` is JSON-encoded unless already bytes; ``headers`` overrides or,
    with a None value, removes any of the signed delivery's headers.
    """
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = delivery_headers(body, event, delivery_id=delivery_id, secret=secret)
    for name, value in (headers or {}).items():
        sent.pop(name, None)
        if value is not None:
            sent[name] = value
    async with aiohttp.ClientSession() as session, session.post(
        url, data=io.BytesIO(body), headers=sent
    ) as response:
        text = await response.text()
        answer = json.loads(text) if response.content_type == "application/json" else {"text": text}
        return Answer(response.status, answer, sent.get("X-GitHub-Delivery", ""))


@dataclass
class RunningApp:
    """The real application serving on ``url`` (``http://127.0.0.1:<port>``)."""

    runner: web.AppRunner
    url: str

    @property
    def app(self) -> web.Application:
        return self.runner.app

    async def stop(self) -> None:
        """Stop serving and run the app's cleanup (services stop, workers and dispatch drain)."""
        if self.runner.server is not None:
            await self.runner.cleanup()

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhook"

    async def post(self, payload: dict[str, Any] | bytes, event: str, **options: Any) -> Answer:
        """``post_delivery`` to this app's ``/webhook``."""
        return await post_delivery(self.webhook_url, payload, event, **options)


class OfflineAuth:
    """Stands in for ``bot.github.client.AppAuth`` where no GitHub is reachable: its clients
    are plain records of which identity was asked for; handlers must not call them."""

    def installation_client(self, installation_id: int) -> tuple[str, int]:
        return ("installation", installation_id)

    def app_client(self) -> tuple[str, None]:
        return ("app", None)


@pytest.fixture
def webhook_settings(tmp_path, app_keys) -> Settings:
    """Settings of a configured App: test key, ``WEBHOOK_SECRET``, SQLite file under ``tmp_path``,
    ``workers=0`` (a web replica: runs stay queued)."""
    return Settings(
        _env_file=None,
        app_id=app_keys.app_id,
        private_key_path=app_keys.private_key_path,
        webhook_secret=WEBHOOK_SECRET,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'scenarioforge.db'}",
        workdir=tmp_path / "work",
        workers=0,
        queue_poll_s=0.05,  # DBOS's threads wake this often: a quick stop at teardown
    )


@pytest.fixture
async def start_app():
    """``await start_app(settings, **create_app_options) -> RunningApp``; stopped at teardown.

    A ``database=`` passed in must come from a fixture set up before this one
    (listed earlier in the test's arguments), so that it outlives the app.
    """
    started: list[RunningApp] = []

    async def start(settings: Settings, **options: Any) -> RunningApp:
        runner = web.AppRunner(create_app(settings, **options), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        started.append(RunningApp(runner, f"http://{host}:{port}"))
        return started[-1]

    yield start
    for running in reversed(started):
        await running.stop()
