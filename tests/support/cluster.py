"""ScenarioForge as a deployment: processes over real HTTP on one PostgreSQL server.

``cluster`` (needs ``postgres_server``, ``github_server``, ``model_server``)
builds the world's repository on the local GitHub server and a bare remote
(like ``tests.support.world``), then lets a test start real processes of the
``scenarioforge`` command:

- ``await cluster.serve()``: ``scenarioforge serve`` with ``SCENARIOFORGE_WORKERS=0``
  (a web replica: it records deliveries and enqueues runs);
- ``await cluster.worker("a")``: ``scenarioforge worker`` with executor id
  ``worker-a``, its own workdir and ``CODEX_HOME``; ``cluster.kill_workers()``
  SIGKILLs every worker.

``cluster.world`` is a ``tests.support.world.World`` whose deliveries go to the
web replica, for its payload and GitHub-reading helpers. ``cluster.settle(n)``
waits until ``n`` runs exist and none is queued or running (our tables are the
source of truth; DBOS's system database is the processes' business).
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from storage.db import Database
from storage.models import Executor, Run, utcnow
from tests.support.webhooks import WEBHOOK_SECRET, RunningApp
from tests.support.world import World, small_app, world_remote

ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.1
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    """See the module docstring."""

    root: Path
    env: dict[str, str]
    database: Database
    world: World
    web: asyncio.subprocess.Process | None = None
    workers: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    async def _spawn(self, name: str, *argv: str, **env: str) -> asyncio.subprocess.Process:
        with open(self.root / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", *argv, cwd=self.root, env={**self.env, **env},
                stdout=log, stderr=log, start_new_session=True)

    async def serve(self) -> None:
        """Start the web replica and wait until ``/healthz`` answers."""
        port = free_port()
        self.web = await self._spawn("web", "serve", "--host", "127.0.0.1", "--port", str(port),
                                     SCENARIOFORGE_WORKERS="0", SCENARIOFORGE_EXECUTOR_ID="web-1")
        self.world.running = RunningApp(None, f"http://127.0.0.1:{port}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_S
        while True:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                assert loop.time() < deadline and self.web.returncode is None, self.log("web")
                await asyncio.sleep(POLL_S)

    async def worker(self, name: str, *, workers: int = 1) -> asyncio.subprocess.Process:
        """Start worker ``name`` (executor ``worker-<name>``) running ``workers`` runs at once and
        wait until it listens to the queue (its first heartbeat, ``storage.executors``)."""
        spawned = utcnow()
        home = self.root / f"codex-home-{name}"
        home.mkdir(exist_ok=True)
        process = await self._spawn(
            f"worker-{name}", "worker", SCENARIOFORGE_WORKERS=str(workers),
            SCENARIOFORGE_EXECUTOR_ID=f"worker-{name}", SCENARIOFORGE_WORKDIR=str(self.root / f"work-{name}"),
            SCENARIOFORGE_CODEX_HOME=str(home))
        self.workers[name] = process
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_S
        while True:
            async with self.database.session() as session:
                beat = await session.scalar(select(Executor.heartbeat_at).where(
                    Executor.executor_id == f"worker-{name}"))
            if beat is not None and beat >= spawned:
                return process
            assert loop.time() < deadline and process.returncode is None, self.log(f"worker-{name}")
            await asyncio.sleep(POLL_S)

    async def kill_workers(self) -> None:
        """SIGKILL every worker with its children (codex), as when its machine dies, and reap it."""
        for process in self.workers.values():
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    def log(self, name: str) -> str:
        """The output of process ``name`` (``web``, ``worker-a``…), for failure messages."""
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    async def runs(self) -> list[Run]:
        async with self.database.session() as session:
            return list((await session.scalars(select(Run).order_by(Run.id))).all())

    async def settle(self, count: int, timeout: float = 240.0) -> list[Run]:
        """Wait until ``count`` runs exist and none is queued or running; returns them, oldest first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self.runs()
            if len(found) >= count and all(run.state not in ("queued", "running") for run in found):
                return found
            assert loop.time() < deadline, (
                f"runs did not settle: {[(r.id, r.state, r.phase) for r in found]}\n"
                + "\n".join(self.log(name) for name in ("web", *(f"worker-{n}" for n in self.workers))))
            await asyncio.sleep(POLL_S)

    async def stop(self) -> None:
        for process in [self.web, *self.workers.values()]:
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def deploy(root: Path, database_url: str, github_server, model_base_url: str, codex_config: str,
           app_id: int, private_key_path: Path) -> Cluster:
    """A ``Cluster`` (no process started yet) on the empty database ``database_url``: the world's
    repository on ``github_server`` and a bare remote under ``root``, Codex pointed at ``model_base_url``."""
    remote = world_remote(github_server, root / "git", small_app)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCENARIOFORGE_")}
    env.update({
        "PYTHONPATH": str(ROOT), "SCENARIOFORGE_APP_ID": str(app_id),
        "SCENARIOFORGE_PRIVATE_KEY_PATH": str(private_key_path),
        "SCENARIOFORGE_WEBHOOK_SECRET": WEBHOOK_SECRET, "SCENARIOFORGE_DATABASE_URL": database_url,
        "SCENARIOFORGE_GITHUB_API_URL": github_server.url, "SCENARIOFORGE_CLONE_URL_TEMPLATE": remote.template,
        "SCENARIOFORGE_QUEUE_POLL_S": "0.1", "SCENARIOFORGE_CODEX_MODEL": "scripted",
        "SCENARIOFORGE_CODEX_BASE_URL": model_base_url,
        "SCENARIOFORGE_CODEX_CONFIG": codex_config, "SCENARIOFORGE_TURN_TIMEOUT_S": "120",
        "SCENARIOFORGE_WORKDIR": str(root / "work-web"),
    })
    settings = Settings(_env_file=None, database_url=database_url, app_id=app_id,
                        private_key_path=private_key_path, webhook_secret=WEBHOOK_SECRET)
    database = Database(settings.database_url)
    world = World(github_server, remote, RunningApp(None, ""), settings, database, None)
    return Cluster(root, env, database, world)


@pytest.fixture
async def cluster(postgres_server, github_server, model_server, codex_settings, app_keys, tmp_path):
    """The deployment (``Cluster``) on a fresh PostgreSQL database; processes stopped after the test."""
    cluster = deploy(tmp_path, postgres_server.new_database(), github_server, codex_settings.codex_base_url,
                     codex_settings.codex_config, app_keys.app_id, app_keys.private_key_path)
    try:
        yield cluster
    finally:
        await cluster.stop()
        await cluster.database.dispose()
