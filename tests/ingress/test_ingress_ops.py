"""Operations around ingress: /healthz, /metrics, JSON logs, replay, settings, serve."""
from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from alembic import command
from sqlalchemy import text

from bot import logs
from bot.ingress.replay import replay
from bot.ingress.server import serve
from bot.jobs import queue
from config.settings import Settings
from storage.db import Database, alembic_config
from storage.deliveries import CHECKPOINT_BYTES, DeliveryLog, DeliveryRecord
from storage.models import Run
from tests.support.webhooks import (
    PAYLOADS,
    WEBHOOK_SECRET,
    OfflineAuth,
    load_payload,
)

COMMENT = "issue_comment.created.4.json"


@pytest.fixture
async def running(start_app, webhook_settings):
    from gidgethub import routing

    return await start_app(webhook_settings, router=routing.Router(), auth=OfflineAuth())


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- /healthz and /metrics ---------------------------------------------------------


async def test_healthz_is_ok_while_the_database_answers(running):
    status, _, text = await get(f"{running.url}/healthz")
    assert (status, json.loads(text)) == (200, {"status": "ok"})


@pytest.fixture
async def doomed_database(tmp_path):
    """A database in its own folder, which the test may delete."""
    folder = tmp_path / "doomed"
    folder.mkdir()
    database = Database(f"sqlite+aiosqlite:///{folder / 'scenarioforge.db'}")
    yield database, folder
    await database.dispose()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_healthz_is_503_when_the_database_is_gone(doomed_database, start_app, webhook_settings):
    database, folder = doomed_database
    running = await start_app(webhook_settings, database=database, auth=OfflineAuth())
    await database.dispose()
    shutil.rmtree(folder)
    status, _, text = await get(f"{running.url}/healthz")
    await running.stop()
    gc.collect()  # aiosqlite warns about connections cut off from their database: here, not in a later test
    assert status == 503
    assert json.loads(text)["status"] == "database unreachable"


async def test_metrics_expose_deliveries_jobs_latency_durations_and_github_calls(running):
    async with running.services.database.session() as session:
        run = Run(installation_id=1, repository="o/r", issue_number=1, action="generate", requester="u")
        session.add(run)
    await queue.enqueue(run)  # a web replica (workers=0): it stays queued
    await running.post(load_payload("push.event.4.json"), "push")
    await running.post(b"{}", "push", secret="wrong")
    status, content_type, text = await get(f"{running.url}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    lines = text.splitlines()
    for labels in ('event="push",outcome="ignored"', 'event="unknown",outcome="rejected"'):
        assert any(line.startswith(f"scenarioforge_deliveries_total{{{labels}}} ") for line in lines)
    assert 'scenarioforge_jobs{state="queued"} 1.0' in lines
    assert 'scenarioforge_jobs{state="running"} 0.0' in lines
    assert 'scenarioforge_queue_latency_seconds{quantile="0.99"} 0.0' in lines  # none started yet
    assert "# TYPE scenarioforge_job_duration_seconds histogram" in lines
    assert "# TYPE scenarioforge_github_calls_total counter" in lines


async def test_metrics_export_this_months_spend_by_repository(running):
    async with running.services.database.session() as session:
        for repository, cost in (("o/a", 1.5), ("o/a", 0.25), ("o/b", 3.0), ("o/c", None)):
            session.add(Run(installation_id=1, repository=repository, issue_number=1, action="execute",
                            requester="u", cost_usd=cost))
        session.add(Run(installation_id=1, repository="o/b", issue_number=1, action="execute", requester="u",
                        cost_usd=9.0, created_at=datetime(2020, 1, 1, tzinfo=UTC)))  # another month
    lines = (await get(f"{running.url}/metrics"))[2].splitlines()
    spend = [line for line in lines if line.startswith("scenarioforge_month_spend_usd{")]
    assert spend == ['scenarioforge_month_spend_usd{repository="o/a"} 1.75',
                     'scenarioforge_month_spend_usd{repository="o/b"} 3.0']


# --- delivery storage --------------------------------------------------------------


async def test_the_delivery_writer_checkpoints_the_wal_every_checkpoint_bytes(database, tmp_path):
    """Deliveries reach the database file, not only the WAL, once CHECKPOINT_BYTES are written."""
    database_file = tmp_path / "scenarioforge.db"  # the ``database`` fixture's file
    deliveries = DeliveryLog(database)
    await deliveries.start()
    try:
        payload = "x" * (CHECKPOINT_BYTES // 4)
        for number in range(5):
            if number == 4:
                assert database_file.stat().st_size < CHECKPOINT_BYTES  # all still in the WAL
            record = DeliveryRecord(f"d-{number}", "push", None, None, None, payload, outcome="ignored")
            assert await deliveries.record(record)
        assert database_file.stat().st_size > CHECKPOINT_BYTES
    finally:
        await deliveries.close()


# --- migration 0005 ----------------------------------------------------------------


async def migrate(database: Database, revision: str, *, down: bool = False) -> None:
    def run(connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def test_migration_0005_moves_delivery_statuses_to_outcomes_and_back(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await migrate(database, "0004")
        rows = [("d-new", "received", None), ("d-done", "processed", None), ("d-bad", "failed", "Boom")]
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO deliveries (id, event, received_at, status, payload, error)"
                    " VALUES (:id, 'issues', '2024-05-01 10:00:00', :status, '{}', :error)"
                ),
                [{"id": id, "status": status, "error": error} for id, status, error in rows],
            )
        await migrate(database, "head")
        async with database.engine.connect() as connection:
            outcomes = (
                await connection.execute(text("SELECT delivery_id, status, error FROM delivery_outcomes"))
            ).all()
        assert sorted(outcomes) == sorted(rows[1:])
        deliveries = DeliveryLog(database)
        assert [delivery.id for delivery in await deliveries.pending()] == ["d-new"]
        await deliveries.close()
        await migrate(database, "0004", down=True)
        async with database.engine.connect() as connection:
            statuses = (await connection.execute(text("SELECT id, status, error FROM deliveries"))).all()
        assert sorted(statuses) == sorted(rows)
    finally:
        await database.dispose()


# --- logs ------------------------------------------------------------------------


async def test_log_lines_are_json_with_the_delivery_id(running, caplog):
    stream = io.StringIO()
    handler = logs.json_handler(stream)
    caplog.set_level(logging.INFO, logger="bot")
    logging.getLogger("bot").addHandler(handler)
    try:
        answer = await running.post(load_payload(COMMENT), "issue_comment")
    finally:
        logging.getLogger("bot").removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    ours = [record for record in records if record.get("delivery_id") == answer.delivery_id]
    assert ours, records
    assert {"time", "level", "logger", "message"} <= ours[0].keys()


def test_bound_ids_nest_and_come_back():
    stream = io.StringIO()
    logger = logging.getLogger("tests.logs")
    logger.addHandler(logs.json_handler(stream))
    logger.setLevel(logging.INFO)
    with logs.bound(delivery_id="d-1"):
        with logs.bound(run_id=7):
            logger.info("inner")
        logger.info("outer")
    logger.info("none")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["delivery_id"], first["run_id"]) == ("d-1", 7)
    assert second["delivery_id"] == "d-1" and "run_id" not in second
    assert "delivery_id" not in third


# --- replay ----------------------------------------------------------------------


@pytest.fixture
def replay_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("SCENARIOFORGE_WEBHOOK_SECRET", WEBHOOK_SECRET)


async def test_replay_signs_and_posts_a_payload(running, replay_env, capsys):
    code = await asyncio.to_thread(replay, PAYLOADS / "push.event.4.json", "push", running.webhook_url)
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("HTTP 202\n")
    assert json.loads(out.splitlines()[1])["status"] == "ignored"


async def test_replay_fails_on_a_refused_delivery(running, replay_env, monkeypatch, capsys):
    monkeypatch.setenv("SCENARIOFORGE_WEBHOOK_SECRET", "another secret")
    code = await asyncio.to_thread(replay, PAYLOADS / "push.event.4.json", "push", running.webhook_url)
    assert code == 1
    assert capsys.readouterr().out.startswith("HTTP 401\n")


def test_replay_reports_an_unreachable_server(replay_env, capsys):
    url = f"http://127.0.0.1:{free_port()}/webhook"
    assert replay(PAYLOADS / "ping.event.1.json", "ping", url) == 1
    assert f"cannot reach {url}" in capsys.readouterr().err


def test_replay_needs_the_secret(replay_env, monkeypatch, capsys):
    monkeypatch.delenv("SCENARIOFORGE_WEBHOOK_SECRET")
    assert replay(PAYLOADS / "ping.event.1.json", "ping", "http://127.0.0.1:9/webhook") == 2
    assert "SCENARIOFORGE_WEBHOOK_SECRET is not set" in capsys.readouterr().err


@pytest.fixture
async def receiver(aiohttp_server):
    """``(url, hits)``: a server that answers 202 to anything and records each request path."""
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=202)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = await aiohttp_server(app)
    return str(server.make_url("/webhook")), hits


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "No such file or directory"),
        (b'{"zen": "Keep it logically awesome.",}', "not valid JSON (Expecting property name enclosed in double "
                                                   "quotes at line 1 column "),
        (b"\xff\xfe{}", "not valid JSON ("),
        (b'[{"zen": "a list"}]', "a webhook payload is a JSON object, this is an array"),
        (b'"ping"', "a webhook payload is a JSON object, this is a string"),
    ],
    ids=["missing", "trailing-comma", "not-utf8", "array", "string"],
)
async def test_replay_checks_the_payload_file_before_sending(replay_env, receiver, tmp_path, capsys, content, reason):
    url, hits = receiver
    path = tmp_path / "payload.json"
    if content is not None:
        path.write_bytes(content)

    code = await asyncio.to_thread(replay, path, "ping", url)

    (line,) = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line.startswith(f"cannot replay: {path}: {reason}")
    assert hits == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/webhook", "127.0.0.1:3000/webhook", "http:///webhook", "webhook"])
def test_replay_needs_an_http_url(replay_env, capsys, url):
    assert replay(PAYLOADS / "ping.event.1.json", "ping", url) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"cannot replay: {url}: not an http(s) URL")


# --- serve -----------------------------------------------------------------------


def test_serve_names_each_invalid_setting(monkeypatch, tmp_path, app_keys, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCENARIOFORGE_WORKERS", "-1")
    assert serve("127.0.0.1", 0) == 2
    assert "invalid setting SCENARIOFORGE_WORKERS" in capsys.readouterr().err
    monkeypatch.delenv("SCENARIOFORGE_WORKERS")
    monkeypatch.setenv("SCENARIOFORGE_APP_ID", str(app_keys.app_id))
    monkeypatch.setenv("SCENARIOFORGE_PRIVATE_KEY_PATH", str(tmp_path / "missing.pem"))
    assert serve("127.0.0.1", 0) == 2
    err = capsys.readouterr().err
    assert "SCENARIOFORGE_WEBHOOK_SECRET is not set" in err
    assert "SCENARIOFORGE_PRIVATE_KEY_PATH cannot be read" in err


def test_serve_runs_until_sigterm(tmp_path, app_keys):
    port = free_port()
    env = {
        **os.environ,
        "SCENARIOFORGE_APP_ID": str(app_keys.app_id),
        "SCENARIOFORGE_PRIVATE_KEY_PATH": str(app_keys.private_key_path),
        "SCENARIOFORGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SCENARIOFORGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sf.db'}",
        "SCENARIOFORGE_WORKDIR": str(tmp_path / "work"),
    }
    with subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            for line in process.stderr:  # JSON log lines; the server logs once it listens
                if json.loads(line)["message"].startswith("serving webhooks on"):
                    break
            status, _, text = asyncio.run(get(f"http://127.0.0.1:{port}/healthz"))
            assert (status, json.loads(text)) == (200, {"status": "ok"})
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()


async def test_without_app_credentials_the_app_serves_setup_mode(start_app, tmp_path):
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'setup.db'}")
    running = await start_app(settings)
    assert running.services.dispatcher is None
    status, _, text = await get(f"{running.url}/healthz")
    assert (status, json.loads(text)) == (200, {"status": "ok"})
    answer = await running.post(load_payload("ping.event.1.json"), "ping")
    assert answer.status == 404  # no webhook route until the App is registered
    assert "/setup/callback" in {resource.canonical for resource in running.app.router.resources()}
