"""Ingress benchmark: signed deliveries over loopback, real app against a bare handler.

    python -m bench.ingress [--deliveries 20000] [--concurrency 16] [--warmup 1000]

Starts, in this process, the real application (``bot.ingress.server.create_app`` with
the real ``handlers.router``, a SQLite file database in a temporary folder,
an auth stand-in that makes no GitHub call and JSON logs as ``serve`` has
them, written to the null device) and a bare aiohttp app whose
``POST /webhook`` reads the body and answers 202. A separate process
(multiprocessing, spawn) then POSTs the same signed real ``issue_comment``
payload (a comment without a command: handled, no GitHub call) under a fresh
``X-GitHub-Delivery`` id each time, ``--concurrency`` requests in flight,
first to the bare app, then to the real one. Printed: deliveries/s, p50 and
p99 answer latency of each, the CPU time per delivery of this serving
process and of the load process (is the load generator the limit?), the
throughput ratio real/bare, and the rows of the ``deliveries`` table, by
outcome, once dispatch has drained (none may be lost).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import func, select

from bot import logs
from bot.ingress.replay import signature
from bot.ingress.server import SERVICES, create_app
from config.settings import Settings
from storage.models import Delivery, DeliveryOutcome

PAYLOAD = Path(__file__).parent.parent / "tests" / "payloads" / "issue_comment.created.4.json"
SECRET = "bench-secret"


class NoGitHub:
    """Auth stand-in: the benchmark's comment needs no GitHub call, so no client is ever used."""

    def installation_client(self, installation_id: int) -> None:
        return None

    def app_client(self) -> None:
        return None


@dataclass
class Result:
    answered: int
    failures: int
    seconds: float
    latencies_ms: list[float]
    load_cpu_s: float  # CPU time of the load process during the phase
    server_cpu_s: float = 0.0  # CPU time of the serving process (all threads), warm-up included

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    def percentile(self, p: float) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]


def load(url: str, body: bytes, deliveries: int, concurrency: int, warmup: int, sink) -> None:
    """The load process: ``warmup`` unmeasured deliveries, then ``deliveries`` measured ones."""
    sink.send(asyncio.run(_load(url, body, deliveries, concurrency, warmup)))
    sink.close()


async def _load(url: str, body: bytes, deliveries: int, concurrency: int, warmup: int) -> Result:
    """``concurrency`` keep-alive connections, each sending its next delivery once answered.

    The requests are written as bytes on asyncio streams rather than through
    aiohttp's client, which costs about as much CPU per request as the bare
    server itself: on two cores the load process must stay cheap for the bare
    figure to measure the server.
    """
    target = urlsplit(url)
    head = (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-GitHub-Event: issue_comment\r\n"
        f"X-Hub-Signature-256: {signature(body, SECRET)}\r\nX-GitHub-Delivery: "
    ).encode()
    connections = [await asyncio.open_connection(target.hostname, target.port) for _ in range(concurrency)]

    async def phase(count: int) -> Result:
        latencies: list[float] = []
        failures = 0
        remaining = iter(range(count))

        async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal failures
            for _ in remaining:
                started = time.perf_counter()
                writer.writelines((head, str(uuid.uuid4()).encode(), b"\r\n\r\n", body))
                await writer.drain()
                status = await _read_answer(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += status != 202

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(reader, writer) for reader, writer in connections))
        seconds = time.perf_counter() - started
        return Result(len(latencies), failures, seconds, latencies, time.process_time() - cpu)

    try:
        await phase(warmup)
        return await phase(deliveries)
    finally:
        for _, writer in connections:
            writer.close()


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a ``Content-Length`` (aiohttp sends one); its status code."""
    status_line, *fields = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = dict(field.split(":", 1) for field in fields if field)
    length = next(int(value) for name, value in headers.items() if name.lower() == "content-length")
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/webhook"


def bare_app() -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    return app


async def drive(
    url: str, body: bytes, args: argparse.Namespace, settle: Callable[[], Awaitable[None]] | None = None
) -> Result:
    """Run the load process against ``url`` while this loop keeps serving; the
    result's ``server_cpu_s`` also covers ``await settle()`` (work left after the answers)."""
    context = multiprocessing.get_context("spawn")
    source, sink = context.Pipe(duplex=False)
    process = context.Process(
        target=load, args=(url, body, args.deliveries, args.concurrency, args.warmup, sink)
    )
    cpu = time.process_time()
    process.start()
    sink.close()
    try:
        result = await asyncio.get_running_loop().run_in_executor(None, source.recv)
    except EOFError:
        raise SystemExit(f"the load process died (exit {process.exitcode}); see its traceback above") from None
    finally:
        process.join()
    if settle is not None:
        await settle()
    result.server_cpu_s = time.process_time() - cpu
    return result


async def run(args: argparse.Namespace) -> int:
    body = json.dumps(json.loads(PAYLOAD.read_text(encoding="utf-8"))).encode()
    with tempfile.TemporaryDirectory(prefix="scenarioforge-bench-") as folder, open(os.devnull, "w") as null:
        logs.configure(stream=null)
        settings = Settings(
            _env_file=None,
            app_id=1,
            private_key_path=Path(folder) / "unused.pem",
            webhook_secret=SECRET,
            database_url=f"sqlite+aiosqlite:///{folder}/bench.db",
            workdir=Path(folder) / "work",
        )
        real_runner, real_url = await serve(create_app(settings, auth=NoGitHub()))
        bare_runner, bare_url = await serve(bare_app())
        try:
            services = real_runner.app[SERVICES]
            bare = await drive(bare_url, body, args)
            real = await drive(real_url, body, args, settle=services.dispatcher.idle)
            async with services.database.session() as session:
                by_outcome = (
                    select(DeliveryOutcome.status, func.count())
                    .select_from(Delivery)
                    .outerjoin(DeliveryOutcome)
                    .group_by(DeliveryOutcome.status)
                )
                counts = {status or "pending": n for status, n in (await session.execute(by_outcome)).all()}
        finally:
            await bare_runner.cleanup()
            await real_runner.cleanup()
    sent = args.warmup + args.deliveries
    rows = sum(counts.values())
    print(f"{args.deliveries} measured deliveries (+{args.warmup} warm-up), concurrency {args.concurrency}, "
          f"payload {len(body)} bytes")
    for name, result in (("bare 202 handler", bare), ("POST /webhook", real)):
        print(f"{name:>17}: {result.rate:8.0f} deliveries/s  p50 {result.percentile(50):6.2f} ms  "
              f"p99 {result.percentile(99):6.2f} ms  non-202: {result.failures}")
        print(f"{'':>17}  CPU per delivery: server {result.server_cpu_s / sent * 1000:.2f} ms, "
              f"load generator {result.load_cpu_s / result.answered * 1000:.2f} ms "
              f"({result.load_cpu_s / result.seconds:.0%} of a core)")
    print(f"            ratio: {real.rate / bare.rate:.2f} (real/bare deliveries/s)")
    print(f"    database rows: {rows} of {sent} sent, by outcome {counts}; lost: {sent - rows}")
    return 0 if rows == sent and real.failures == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20000, help="measured per app (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=1000, help="unmeasured ones first (default: %(default)s)")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
