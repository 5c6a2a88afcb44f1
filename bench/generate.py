"""Benchmark the bot's own time of ``/scenarioforge generate`` (issue 4, "Benchmark").

    python bench/generate.py [--runs 2]

Run from the repository root. The whole world runs on 127.0.0.1 as in the
end-to-end tests (``tests.support.world``): a signed ``issue_comment``
delivery to the real app, its worker, git against a local bare remote, the
real ``codex`` binary, and a scripted model that answers every step at once
with a valid pack (no tool call). Each run comments on a fresh commit, so the
sources are scanned every time; the first run clones the mirror, later ones
fetch into it (warm). The last run is reported, split by phase, from the
database's timestamps (delivery, run, events) and the revision's own
timings. Target: ≤ 1.5 s outside Codex's own process start and turn time.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

from bot.github import AppAuth  # noqa: E402
from bot.server import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from storage import packs  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Delivery, Run  # noqa: E402
from tests.support.github_server import GitHubServer  # noqa: E402
from tests.support.model_server import ScriptedModel, assistant_message, sample_pack, user_texts  # noqa: E402
from tests.support.webhooks import WEBHOOK_SECRET, RunningApp, load_payload  # noqa: E402
from tests.support.world import COMMENT_PAYLOAD, WRITER, ObservedWorkers, World, WorldRemote, small_app  # noqa: E402

APP_ID = 4242
TARGET_S = 1.5
#: Phases measured inside the action (``PackRevision.timings``), in order, with their labels.
ACTION_PHASES = (
    ("config", "repository config (default branch)"), ("scan", "scan + manifest"),
    ("sources", "selected sources, facts, latest revision"), ("check_run", "check run started"),
    ("prompt", "prompt"), ("codex_start", "Codex process start"), ("turns", "Codex turn"),
    ("validation", "validation"), ("store", "revision stored"), ("publish", "publish (commit, push, PR)"),
)
CODEX_PHASES = ("codex_start", "turns")


def instant_pack(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer every model step at once with a valid pack citing the first source the prompt allows."""
    allowed = re.findall(r"Allowed source ids: ([^,\n]+)", "\n".join(user_texts(request)))
    return [assistant_message(json.dumps(sample_pack(allowed[0].strip())))]


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
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def phases(world: World, run: Run) -> dict[str, float]:
    """Seconds per phase of ``run``, from the database: intake, workspace, the action's own timings, finish."""
    async with world.database.session() as session:
        delivery = await session.get(Delivery, run.delivery_id)
        revision = await session.scalar(select(packs.PackRevision).where(packs.PackRevision.run_id == run.id))
    events = await world.events(run.id)

    def at(phase: str, status: str) -> Any:
        return next(event.timestamp for event in events if (event.phase, event.status) == (phase, status))

    figures = {"intake": (run.started_at - delivery.received_at).total_seconds(),
               "workspace": (at("workspace", "complete") - run.started_at).total_seconds()}
    figures.update({name: revision.timings.get(name, 0.0) for name, _ in ACTION_PHASES})
    figures["finish"] = (run.finished_at - at("publish", "complete")).total_seconds()
    figures["total"] = (run.finished_at - delivery.received_at).total_seconds()
    return figures


async def one_run(world: World, number: int) -> dict[str, float]:
    """Comment ``/scenarioforge generate`` on a fresh commit and wait for the published pack."""
    world.remote.commit({"README.md": f"# Items\n\nRun `app/main.py` with Flask (change {number}).\n"})
    await world.comment("/scenarioforge generate")
    await world.settle()
    run = (await world.runs())[-1]
    if run.state != "passed":
        raise SystemExit(f"run {run.id} ended {run.state}: {run.error}")
    return await phases(world, run)


def report(figures: dict[str, float], runs: int) -> None:
    labels = {"intake": "intake (delivery recorded → job claimed)", "workspace": "workspace (fetch + worktree)",
              **dict(ACTION_PHASES), "finish": "finish (check run, tracking comment)"}
    print(f"generate benchmark: run {runs} of {runs} (warm mirror), scripted model answering at once")
    for name, label in labels.items():
        mark = "  [Codex]" if name in CODEX_PHASES else ""
        print(f"  {label:<44} {figures[name]:7.3f} s{mark}")
    measured = sum(figures[name] for name in labels)
    codex = sum(figures[name] for name in CODEX_PHASES)
    own = figures["total"] - codex
    print(f"  {'other (events, comment edits, gate)':<44} {figures['total'] - measured:7.3f} s")
    print(f"  {'total (delivery → run passed)':<44} {figures['total']:7.3f} s")
    print(f"  {'Codex process start + turn':<44} {codex:7.3f} s")
    print(f"  {'bot own time (total − Codex)':<44} {own:7.3f} s  "
          f"(target ≤ {TARGET_S} s: {'met' if own <= TARGET_S else 'NOT met'})")


async def main(runs: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        root = Path(tmp)
        private_pem, public_pem, key_path = app_keys(root)
        github = GitHubServer(app_id=APP_ID, public_pem=public_pem, private_pem=private_pem)
        await github.start()
        model = ScriptedModel(script=instant_pack)
        model_runner, model_url = await serve(model.app())
        database = Database(f"sqlite+aiosqlite:///{root / 'scenarioforge.db'}")
        await database.upgrade()
        repo = load_payload(COMMENT_PAYLOAD)["repository"]
        github.add_repo(repo["full_name"], installation_id=1, default_branch=repo["default_branch"],
                        repo_id=repo["id"])
        github.set_permission(repo["full_name"], WRITER, "write")
        remote = WorldRemote(root / "git", repo["full_name"], repo["default_branch"], github)
        remote.build(small_app)
        (root / "codex-home").mkdir()
        settings = Settings(
            _env_file=None, app_id=APP_ID, private_key_path=key_path, webhook_secret=WEBHOOK_SECRET,
            database_url=database.url, github_api_url=github.url, clone_url_template=remote.template,
            workdir=root / "workdir", workers=1, codex_model="scripted", codex_base_url=f"{model_url}/v1",
            codex_home=root / "codex-home", turn_timeout_s=60,
            codex_config="model_providers.scenarioforge.request_max_retries = 0",
        )
        async with aiohttp.ClientSession() as session:
            auth = AppAuth(session, settings)
            workers = ObservedWorkers(database, settings, auth, poll_s=0.5)
            app_runner, url = await serve(create_app(settings, database=database, auth=auth, workers=workers))
            world = World(github, remote, RunningApp(app_runner, url), settings, database, workers)
            try:
                for number in range(1, runs + 1):
                    figures = await one_run(world, number)
            finally:
                await app_runner.cleanup()
        await model_runner.cleanup()
        await github.close()
        await database.dispose()
    report(figures, runs)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs in a row; the last one is reported (default 2)")
    sys.exit(asyncio.run(main(max(1, parser.parse_args().runs))))
