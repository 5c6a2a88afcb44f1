"""Review board benchmark: a run with 200 scenarios and 5,000 events, and 100 live stream viewers.

    python -m bench.board [--scenarios 200] [--events 5000] [--viewers 100] [--live 100]

All on 127.0.0.1 in this process: the local GitHub server (its OAuth side
signs the benchmark's user in), the real app (``create_app``) with a SQLite
file database in a temporary folder. Measured over loopback with a signed-in
client: the run page (``/board/runs/{id}``, 20 loads: p50 and max), the
report export of each format (``report.{md,html,json}``, 5 downloads each:
p50 and max), both also as CPU time of this process (wall-clock time grows
when other processes share the cores; CPU time does not), and ``--viewers``
concurrent ``/events`` streams of a running run, read by a second process
(multiprocessing, spawn) so that the viewers' parsing does not slow the
server, while ``--live`` events are recorded one every 20 ms: latency from
the commit of each event to its arrival at every viewer, p50/p99.
Targets: page < 200 ms, export < 1 s, stream p99 < 250 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

from bench.world import app_keys, serve  # noqa: E402
from bot.board.app import COOKIE  # noqa: E402
from bot.domain.results import CheckpointResult, Evidence, ExecutionOutcome, ScenarioOutcome  # noqa: E402
from bot.ingress.server import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from storage import executions, runs  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Run, RunEvent, utcnow  # noqa: E402
from tests.support.board import sign_in  # noqa: E402
from tests.support.github_oauth import CLIENT_SECRET  # noqa: E402
from tests.support.github_server import GitHubServer  # noqa: E402
from tests.support.webhooks import OfflineAuth  # noqa: E402

REPO = "octo-org/bench"


def _outcome(scenarios: int) -> ExecutionOutcome:
    ids = [f"SC-{n:03d}" for n in range(1, scenarios + 1)]
    evidence = [Evidence(id=f"ev-{n:04d}", kind="command", scenario_ids=[sid], command=f"pytest -k {sid}",
                         exit_code=n % 3 and 1, duration_ms=100 + n, output="collected 1 item\n" * 40)
                for n, sid in enumerate(ids)]
    results = [ScenarioOutcome(
        scenario_id=sid, status="failed" if n % 3 else "passed", reported_status="failed" if n % 3 else "passed",
        checkpoints=[CheckpointResult(checkpoint=f"checkpoint {k} of {sid}", expected="200 OK",
                                      observed="500 Internal Server Error" if n % 3 else "200 OK", passed=not n % 3)
                     for k in range(3)],
        commands=[f"pytest -k {sid}"], rerun_command=f"pytest -k {sid}", evidence_ids=[f"ev-{n:04d}"],
        notes="See the *log* above.") for n, sid in enumerate(ids)]
    return ExecutionOutcome(mode="run", status="failed", scenario_ids=ids, initial=results, results=results,
                            evidence=evidence, tokens=1_000_000, duration_s=600.0, codex_s=500.0)


async def _seed(database: Database, scenarios: int, events: int, *, state: str) -> int:
    async with database.session() as session:
        run = Run(installation_id=1, repository=REPO, issue_number=1, action="execute", args={"mode": "run"},
                  requester="octocat", state=state, phase="executing", started_at=utcnow())
        session.add(run)
        await session.flush()
        start = utcnow() - timedelta(hours=1)
        session.add_all(RunEvent(run_id=run.id, action="execute", phase=f"scenario {n % scenarios}",
                                 status="running", message=f"step {n}", payload={"n": n},
                                 timestamp=start + timedelta(milliseconds=n)) for n in range(events))
        if state != "running":
            await executions.save_outcome(session, run.id, _outcome(scenarios), pack_revision=None)
        return run.id


async def _timed(http: aiohttp.ClientSession, url: str, times: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (this process: server and client) of ``times`` GETs of ``url``."""
    seconds, cpu = [], []
    for _ in range(times):
        began, began_cpu = time.perf_counter(), time.process_time()
        async with http.get(url) as answer:
            assert answer.status == 200, (url, answer.status)
            await answer.read()
        seconds.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return seconds, cpu


async def _viewer(http: aiohttp.ClientSession, url: str, persisted: int, received: list[tuple[str, float]],
                  on_caught_up: Callable[[], None]) -> None:
    """Follow the stream to its end; ``on_caught_up`` once the persisted events are in."""
    seen = 0
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=None)) as stream:
        async for raw in stream.content:
            line = raw.decode()
            if not line.startswith("data: "):
                continue
            data = json.loads(line[6:])
            seen += 1
            if seen == persisted:
                on_caught_up()
            if seen > persisted and "event_id" in data:  # not the final "end" frame
                received.append((data["event_id"], time.time()))


def _viewers(url: str, cookie: str, viewers: int, persisted: int, ready, results) -> None:
    """The viewers' process (spawned): ``viewers`` streams on one connection each; puts
    ``(event id, epoch seconds received)`` of every live event at every viewer."""
    async def main() -> list[tuple[str, float]]:
        received: list[tuple[str, float]] = []
        caught_up = [0]

        def on_caught_up() -> None:
            caught_up[0] += 1
            if caught_up[0] == viewers:
                ready.set()

        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, cookies={COOKIE: cookie}) as http:
            await asyncio.gather(*(_viewer(http, url, persisted, received, on_caught_up) for _ in range(viewers)))
        return received

    results.put(asyncio.run(main()))


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-board-"))
    private_pem, public_pem, key_path = app_keys(root)
    github = GitHubServer(app_id=4242, public_pem=public_pem, private_pem=private_pem)
    await github.start()
    github.add_repo(REPO, installation_id=1)
    github.oauth.grant("octocat", REPO)
    database = Database(f"sqlite+aiosqlite:///{root / 'board.db'}")
    await database.upgrade()
    settings = Settings(_env_file=None, app_id=4242, private_key_path=key_path, webhook_secret="bench",
                        database_url=database.url, github_api_url=github.url, workdir=root / "work",
                        client_id=github.oauth.client_id, client_secret=SecretStr(CLIENT_SECRET))
    runner, url = await serve(create_app(settings, database=database, auth=OfflineAuth()))
    try:
        done_id = await _seed(database, args.scenarios, args.events, state="failed")
        live_id = await _seed(database, args.scenarios, args.events, state="running")
        async with await sign_in(url) as http:
            page, cpu = await _timed(http, f"{url}/board/runs/{done_id}", 20)
            print(f"run page ({args.scenarios} scenarios, {args.events} events): p50 {_ms(page, .5):.0f} ms, "
                  f"max {1000 * max(page):.0f} ms, CPU p50 {_ms(cpu, .5):.0f} ms (target < 200 ms)")
            for fmt in ("md", "html", "json"):
                export, cpu = await _timed(http, f"{url}/board/runs/{done_id}/report.{fmt}", 5)
                print(f"report.{fmt}: p50 {_ms(export, .5):.0f} ms, max {1000 * max(export):.0f} ms, "
                      f"CPU p50 {_ms(cpu, .5):.0f} ms (target < 1 s)")
            cookie = next(c.value for c in http.cookie_jar if c.key == COOKIE)
        spawn = multiprocessing.get_context("spawn")
        ready, results = spawn.Event(), spawn.Queue()
        viewers = spawn.Process(target=_viewers, args=(f"{url}/board/runs/{live_id}/events", cookie, args.viewers,
                                                       args.events, ready, results))
        viewers.start()
        assert await asyncio.to_thread(ready.wait, 120), "the viewers did not catch up within 2 minutes"
        committed: dict[str, float] = {}  # event id → epoch seconds when its transaction committed
        for n in range(args.live):
            async with database.session() as session:
                run = await session.get(Run, live_id)
                event = await runs.add_event(session, run, "live", "running", f"live {n}", {"n": n})
            committed[event.event_id] = time.time()
            await asyncio.sleep(0.02)
        async with database.session() as session:
            await runs.set_state(session, await session.get(Run, live_id), "passed", "done", "done")
        received = await asyncio.to_thread(results.get, True, 120)
        viewers.join(10)
        latencies = [at - committed[event_id] for event_id, at in received if event_id in committed]
        print(f"stream: {args.viewers} viewers × {args.live} live events = {len(latencies)} deliveries, "
              f"latency p50 {_ms(latencies, .5):.0f} ms, p99 {_ms(latencies, .99):.0f} ms (target p99 < 250 ms)")
        print(f"mean {1000 * statistics.mean(latencies):.0f} ms")
    finally:
        await runner.cleanup()
        await database.dispose()
        await github.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--live", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
