"""The review board's test world: the bot app with sign-in enabled, persisted runs, signed-in clients.

Fixtures: ``board_app`` (the real app on 127.0.0.1 with the board, its
database, GitHub = ``github_server`` with its OAuth side) and ``seed`` (writes
an execute run with results, evidence, a fix attempt, a PR, its pack revision
and manifest, through the stores the bot itself uses). ``sign_in`` signs an
aiohttp client in through the whole OAuth flow.
"""
from __future__ import annotations

import asyncio
import hashlib
import sys
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.domain.pack import (
    FeatureArea,
    PackDocument,
    Revision,
    Scenario,
    ScenarioPack,
    UserOutcome,
)
from bot.domain.results import (
    CheckpointResult,
    Classification,
    Evidence,
    ExecutionOutcome,
    FixAttempt,
    ScenarioOutcome,
    TurnUsage,
)
from config.settings import Settings
from storage import executions, packs, runs
from storage.db import Database
from storage.models import Manifest, ManifestSource, Run
from tests.support.github_oauth import CLIENT_SECRET
from tests.support.webhooks import RunningApp

REPO = "octo-org/shop"
SCRIPT = "<script>document.title='pwned'</script>"


@dataclass
class BoardApp:
    url: str
    database: Database
    settings: Settings
    running: RunningApp


@pytest.fixture
async def board_app(database, github_server, start_app, webhook_settings) -> BoardApp:
    """The bot with the board and the App's real client; ``github_server`` knows ``REPO`` (installation 1)."""
    github_server.add_repo(REPO, installation_id=1)
    settings = webhook_settings.model_copy(update={
        "database_url": database.url, "github_api_url": github_server.url,
        "client_id": github_server.oauth.client_id, "client_secret": SecretStr(CLIENT_SECRET),
    })
    running = await start_app(settings, database=database)
    return BoardApp(running.url, database, settings, running)


async def sign_in(url: str, *, next_path: str = "/board") -> aiohttp.ClientSession:
    """A client session signed in through ``/login`` (as the server's ``oauth.browser_login``)."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1
    async with http.get(f"{url}/login", params={"next": next_path}) as answer:
        assert answer.status == 200, await answer.text()
    return http


def _pack(repository: str, manifest: Manifest) -> PackDocument:
    scenario = Scenario(
        id="SC-002", title="Checkout with an expired card", persona="a returning customer",
        objective=f"pay with an expired card {SCRIPT}", preconditions=["a cart"], test_data=["card 4000"],
        steps=["open the cart", f"pay **now** {SCRIPT}"], checkpoints=["the payment is refused"],
        edge_variants=[], pass_criteria="passes only if the order is not created", source_ids=["docs/checkout.md"])
    first = scenario.model_copy(update={"id": "SC-001", "title": "Browse the catalogue", "steps": ["open /"],
                                        "source_ids": ["docs/catalogue.md"]})
    pack = ScenarioPack(title="Shop", summary="The shop", feature_areas=[
        FeatureArea(name="Buying", outcomes=[UserOutcome(outcome="buy", scenarios=[first, scenario])])])
    revision = Revision(revision=1, mode="initial", prompt_version="p1", model="gpt-5.1-codex", thread_id="th-1",
                        turn_ids=["t-1"], manifest_id=str(manifest.id), manifest_hash=manifest.manifest_hash,
                        repository=repository, head_sha="a" * 40)
    return PackDocument(revision=revision, pack=pack)


def _outcome(output: str) -> ExecutionOutcome:
    evidence = Evidence(id="ev-0001", kind="command", scenario_ids=["SC-002"], command="pytest tests/test_pay.py",
                        exit_code=1, duration_ms=840, output=output, output_cut="last 2000 of 9000 characters kept")
    failed = ScenarioOutcome(
        scenario_id="SC-002", status="failed", reported_status="failed", commands=[evidence.command or ""],
        checkpoints=[CheckpointResult(checkpoint="the payment is refused", expected="HTTP 402",
                                      observed=f"HTTP 200 {SCRIPT}", passed=False)],
        rerun_command="pytest tests/test_pay.py", evidence_ids=["ev-0001"], notes=f"Saw {SCRIPT} in the page",
        classification=Classification(cause="code-defect", reason="the card expiry is not checked",
                                      action="fix the code", evidence_ids=["ev-0001"]))
    passed = ScenarioOutcome(scenario_id="SC-001", status="passed", reported_status="passed",
                             checkpoints=[CheckpointResult(checkpoint="the catalogue lists items", expected="3 items",
                                                           observed="3 items", passed=True)])
    diff = "diff --git a/shop/pay.py b/shop/pay.py\n--- a/shop/pay.py\n+++ b/shop/pay.py\n@@ -1 +1,2 @@\n-old\n+new\n"
    attempt = FixAttempt(number=1, scenario_ids=["SC-002"], summary="Check the **expiry** date", diff=diff,
                         rerun_outcome="failed", results=[failed])
    return ExecutionOutcome(mode="fix", status="failed", scenario_ids=["SC-001", "SC-002"], initial=[passed, failed],
                            results=[passed, failed], attempts=[attempt], evidence=[evidence], diff=diff,
                            stop_reason="max_fix_attempts", tokens=12_345, duration_s=95.0, codex_s=80.0,
                            turns=[TurnUsage(turn_id="t-1", kind="run", input_tokens=10_000, output_tokens=2_345,
                                             total_tokens=12_345, cost_usd=0.03595)])


async def _manifest(database: Database, repository: str) -> Manifest:
    async with database.session() as session:
        manifest = Manifest(repository=repository, commit_sha="a" * 40, manifest_hash=hashlib.sha256(b"m").hexdigest(),
                            sources=[ManifestSource(path=path, blob_sha=hashlib.sha1(path.encode()).hexdigest(),
                                                    size=100, type="markdown", status=status, score=1.0, selected=True)
                                     for path, status in (("docs/catalogue.md", "trusted"), ("docs/checkout.md", "stale"))])
        session.add(manifest)
    return manifest


async def seed_run(database: Database, repository: str = REPO, *, output: str = f"FAILED {SCRIPT}",
                   state: str = "failed", with_results: bool = True) -> int:
    """Persist an execute run of ``repository`` (its comment line holds a ``<script>``); returns its id."""
    manifest = await _manifest(database, repository)
    async with database.session() as session:
        run, _ = await runs.create_run(
            session, delivery_id=f"d-{uuid.uuid4().hex}", verb="execute", installation_id=1, repository=repository,
            issue_number=7, is_pull_request=False, requester="octocat",
            args={"mode": "fix", "line": f"/scenarioforge execute --mode fix {SCRIPT}"}, head_sha="a" * 40)
        await runs.queue(session, run.id)
        await packs.save_revision(session, _pack(repository, manifest), repository=repository)
        if state != "queued":
            await runs.set_state(session, run, "running", "executing", "running 2 scenarios")
        if with_results:
            await executions.save_outcome(session, run.id, _outcome(output), pack_revision=1,
                                          manifest_hash=manifest.manifest_hash)
            await executions.link_pull_request(session, run.id, repository=repository, number=12,
                                               url=f"https://github.com/{repository}/pull/12", branch="scenarioforge/fix-1",
                                               scenario_ids=["SC-002"])
        if state in ("failed", "passed"):
            await runs.set_state(session, run, state, "done", "1 of 2 scenarios failed")
        return run.id


async def add_event(database: Database, run_id: int, phase: str, status: str, message: str,
                    payload: dict[str, Any] | None = None) -> str:
    """Record an event as a worker would; returns its id."""
    async with database.session() as session:
        run = await session.get(Run, run_id)
        event = await runs.add_event(session, run, phase, status, message, payload)
        return event.event_id


async def finish(database: Database, run_id: int, state: str = "passed") -> None:
    async with database.session() as session:
        await runs.set_state(session, await session.get(Run, run_id), state, "done", "finished")


RECORDER = """
import asyncio, sys
from storage.db import Database
from storage import runs
from storage.models import Run

async def main(url, run_id, phase, status, message):
    database = Database(url)
    async with database.session() as session:
        event = await runs.add_event(session, await session.get(Run, int(run_id)), phase, status, message)
        print(event.event_id)
    await database.dispose()

asyncio.run(main(*sys.argv[1:]))
"""


async def record_elsewhere(database: Database, run_id: int, phase: str, status: str, message: str) -> str:
    """Record an event from another process (as a worker on another machine would); returns its id."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RECORDER, database.url, str(run_id), phase, status, message,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


class _Table(HTMLParser):
    """The text of each body row's cells of the ``<table id=…>``, as a browser shows it (entities decoded)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.rows, self.cell = table_id, 0, [], None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.table_id):
            self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self.rows.append([])
        elif self.depth == 1 and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The cells' text of the body rows of ``<table id="table_id">`` in ``page`` (header rows left out)."""
    parser = _Table(table_id)
    parser.feed(page)
    return [row for row in parser.rows if row]
