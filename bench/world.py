"""The world the generate and execute benchmarks measure, all on 127.0.0.1.

As in the end-to-end tests (``tests.support.world``): the local GitHub API
server, a local bare git remote of the real ``issue_comment`` payload's
repository, the real app with its worker, the real ``codex`` binary and a
scripted model. Run from the repository root (``tests.support`` is imported
from beside ``bench/``).
"""
from __future__ import annotations

import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

from bot.actions import ACTIONS  # noqa: E402
from bot.github.client import AppAuth  # noqa: E402
from bot.ingress.server import create_app  # noqa: E402
from bot.jobs.runtime import Runtime  # noqa: E402
from config.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from tests.support.github_server import GitHubServer  # noqa: E402
from tests.support.model_server import ScriptedModel  # noqa: E402
from tests.support.webhooks import WEBHOOK_SECRET, RunningApp, load_payload  # noqa: E402
from tests.support.world import (  # noqa: E402
    COMMENT_PAYLOAD,
    WRITER,
    QUEUE_POLL_S,
    World,
    WorldRemote,
)

APP_ID = 4242


def app_keys(root: Path) -> tuple[str, str, Path]:
    """A fresh RSA key pair for the App; the private key written to ``root/app.pem``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    path = root / "app.pem"
    path.write_text(private_pem, encoding="utf-8")
    return private_pem, public_pem, path


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on an ephemeral loopback port; returns the runner and its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@asynccontextmanager
async def bench_world(
    prefix: str, script: Callable[[dict[str, Any]], list[dict[str, Any]]], build: Callable[[Any], None],
) -> AsyncIterator[World]:
    """A running world in a temporary folder: ``script`` answers the model's steps,
    ``build`` makes the remote repository's first commit (``WorldRemote.build``)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        private_pem, public_pem, key_path = app_keys(root)
        github = GitHubServer(app_id=APP_ID, public_pem=public_pem, private_pem=private_pem)
        await github.start()
        model_runner, model_url = await serve(ScriptedModel(script=script).app())
        database = Database(f"sqlite+aiosqlite:///{root / 'scenarioforge.db'}")
        await database.upgrade()
        repo = load_payload(COMMENT_PAYLOAD)["repository"]
        github.add_repo(repo["full_name"], installation_id=1, default_branch=repo["default_branch"],
                        repo_id=repo["id"])
        github.set_permission(repo["full_name"], WRITER, "write")
        remote = WorldRemote(root / "git", repo["full_name"], repo["default_branch"], github)
        remote.build(build)
        (root / "codex-home").mkdir()
        settings = Settings(
            _env_file=None, app_id=APP_ID, private_key_path=key_path, webhook_secret=WEBHOOK_SECRET,
            database_url=database.url, github_api_url=github.url, clone_url_template=remote.template,
            workdir=root / "workdir", workers=1, queue_poll_s=QUEUE_POLL_S, codex_model="scripted", codex_base_url=f"{model_url}/v1",
            codex_home=root / "codex-home", turn_timeout_s=60,
            codex_config="model_providers.scenarioforge.request_max_retries = 0",
        )
        try:
            async with aiohttp.ClientSession() as session:
                auth = AppAuth(session, settings)
                runtime = Runtime(database, settings, auth, actions=ACTIONS)
                app_runner, url = await serve(create_app(settings, database=database, auth=auth, workers=runtime))
                try:
                    yield World(github, remote, RunningApp(app_runner, url), settings, database, runtime)
                finally:
                    await app_runner.cleanup()
        finally:
            await model_runner.cleanup()
            await github.close()
            await database.dispose()
