"""Benchmark runs on PostgreSQL with 1, 2 and 4 worker processes (issue 11, "Benchmark").

    python bench/scale.py [--delay 2.0] [--runs-per-worker 4] [--workers 1 2 4]

Run from the repository root; PostgreSQL's ``initdb``/``pg_ctl`` must be
installed (``scripts/test`` installs Debian's ``postgresql``). Everything is
the deployment of ``tests.support.cluster``: one PostgreSQL server, one
``scenarioforge serve`` web replica (``WORKERS=0``), N ``scenarioforge worker``
processes (one run at a time each), the local GitHub server, the real
``codex`` binary and a scripted model that answers each request after
``--delay`` seconds (the work waits on the model, not on the CPU).

For each N, on a fresh database:

- **queue latency when a worker is free**: ``N`` runs one after the other,
  each enqueued while every worker is idle; latency = DBOS's ``created_at``
  (enqueue) → ``started_at_epoch_ms`` (a worker dequeued it), p50/p99;
- **throughput**: ``runs-per-worker × N`` ``generate`` commands on as many
  issues at once; runs per minute from the first delivery to the last run's
  end; RSS per worker (the ``scenarioforge worker`` process alone, peak of
  samples every 0.5 s);
- **lost and duplicated**: every run ``passed``, one tracking comment each,
  one DBOS workflow each, distinct pack revisions.

Then **a kill**: 2 workers, 2 runs whose first pack needs one refinement;
every worker is SIGKILLed while both runs are inside their refinement turn,
two brand-new worker processes finish them; model requests per run (3
without a kill: the spec read, the pack, the refined pack; 4 when only the
unfinished turn is asked again).

Targets: 2 workers ≥ 1.8 × the runs per minute of 1; queue latency p99 < 1 s
when a worker is free; 0 lost, 0 duplicated.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

from bench.world import APP_ID, app_keys, serve  # noqa: E402
from tests.scenarios.test_generate_e2e import scripted, spec_id, tool_outputs, vague  # noqa: E402
from tests.support.cluster import Cluster, deploy  # noqa: E402
from tests.support.github_server import GitHubServer  # noqa: E402
from tests.support.model_server import (  # noqa: E402
    ScriptedModel, assistant_message, exec_call, sample_pack, user_texts)
from tests.support.postgres import PostgresServer  # noqa: E402

CODEX_CONFIG = ("model_providers.scenarioforge.request_max_retries = 0\n"
                "model_providers.scenarioforge.stream_max_retries = 0")
TARGET_SPEEDUP, TARGET_LATENCY_S = 1.8, 1.0


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def latencies(postgres: PostgresServer, database_url: str) -> list[float]:
    """Enqueue → dequeue seconds of every run workflow (DBOS's system database ``<name>_dbos``)."""
    name = database_url.rsplit("/", 1)[1] + "_dbos"
    rows = postgres.sql("SELECT created_at, started_at_epoch_ms FROM dbos.workflow_status "
                        "WHERE queue_name = 'runs' AND started_at_epoch_ms IS NOT NULL", database=name)
    return [(int(started) - int(created)) / 1000 for created, started in
            (line.split("|") for line in rows.splitlines() if line)]


async def comment_all(cluster: Cluster, issues: range) -> None:
    answers = await asyncio.gather(*(cluster.world.comment("/scenarioforge generate", issue_number=n)
                                     for n in issues))
    assert {a.status for a in answers} == {202}, [a.status for a in answers]


async def check_runs(cluster: Cluster, postgres: PostgresServer, url: str, count: int) -> tuple[int, int]:
    """``(lost, duplicated)`` among the first ``count`` runs."""
    runs = await cluster.settle(count, timeout=900)
    lost = sum(run.state != "passed" for run in runs) + max(0, count - len(runs))
    for run in runs:
        if run.state != "passed":
            print(f"run {run.id} {run.state}: {run.error or run.phase}", file=sys.stderr)
    github = cluster.world.github
    comments = [sum(f"run {run.id}" in c["body"] and c["user"]["login"] == github.bot_login
                    for c in github.comments(cluster.world.repository, run.issue_number)) for run in runs]
    name = url.rsplit("/", 1)[1] + "_dbos"
    workflows = int(postgres.sql("SELECT count(*) FROM dbos.workflow_status WHERE queue_name = 'runs'",
                                 database=name).strip())
    revisions = int(postgres.sql("SELECT count(DISTINCT revision) FROM pack_revisions", database=url.rsplit("/", 1)[1])
                    .strip())
    duplicated = sum(max(0, c - 1) for c in comments) + max(0, workflows - len(runs)) + (len(runs) - revisions)
    return lost, duplicated


async def measure(postgres: PostgresServer, root: Path, keys, model: ScriptedModel, workers: int,
                  runs_per_worker: int) -> dict:
    """One configuration of ``workers`` processes; see the module docstring."""
    github = GitHubServer(app_id=APP_ID, public_pem=keys[1], private_pem=keys[0])
    await github.start()
    url = postgres.new_database()
    cluster = deploy(root / f"w{workers}", url, github, model.base_url, CODEX_CONFIG, APP_ID, keys[2])
    model.script = scripted(sample_pack)
    burst = runs_per_worker * workers
    for number in range(1, workers + burst + 1):  # every issue first: the pack PR takes the next number
        github.add_issue(cluster.world.repository, number)
    try:
        await cluster.serve()
        processes = await asyncio.gather(*(cluster.worker(str(i)) for i in range(workers)))
        for n in range(1, workers + 1):  # one at a time: a worker is free for each
            await comment_all(cluster, range(n, n + 1))
            await cluster.settle(n, timeout=300)
        free = latencies(postgres, url)
        peak: dict[int, float] = {}

        async def sample() -> None:
            while True:
                for process in processes:
                    peak[process.pid] = max(peak.get(process.pid, 0.0), rss_mib(process.pid))
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        await comment_all(cluster, range(workers + 1, workers + 1 + burst))
        await cluster.settle(workers + burst, timeout=900)
        elapsed = time.monotonic() - started
        sampler.cancel()
        lost, duplicated = await check_runs(cluster, postgres, url, workers + burst)
        return {"workers": workers, "runs": burst, "runs_per_min": burst / elapsed * 60,
                "latency_free_p50": percentile(free, 0.5), "latency_free_p99": percentile(free, 0.99),
                "latency_all_p99": percentile(latencies(postgres, url), 0.99),
                "rss_mib": max(peak.values()) if peak else 0.0, "lost": lost, "duplicated": duplicated}
    finally:
        await cluster.stop()
        await cluster.database.dispose()
        await github.close()


async def kill(postgres: PostgresServer, root: Path, keys, model: ScriptedModel) -> dict:
    """Two runs, every worker killed mid-turn, brand-new workers finish; model requests per run."""
    github = GitHubServer(app_id=APP_ID, public_pem=keys[1], private_pem=keys[0])
    await github.start()
    url = postgres.new_database()
    cluster = deploy(root / "kill", url, github, model.base_url, CODEX_CONFIG, APP_ID, keys[2])
    hung = []
    both_hang = asyncio.Event()

    def script(request):
        if not any("source ids exist:" in text for text in user_texts(request)):  # turn 1: a pack to refine
            if not tool_outputs(request):
                return [exec_call("cat docs/spec.md")]
            return [assistant_message(json.dumps(vague(sample_pack(spec_id(request)))))]
        if len(hung) < 2:  # each run's refinement turn hangs in a command: its worker dies meanwhile
            hung.append(request)
            if len(hung) == 2:
                both_hang.set()
            return [exec_call("sleep 600")]
        return [assistant_message(json.dumps(sample_pack(spec_id(request))))]

    model.script, model.requests[:] = script, []
    try:
        await cluster.serve()
        await asyncio.gather(cluster.worker("a"), cluster.worker("b"))
        await comment_all(cluster, range(1, 3))
        await asyncio.wait_for(both_hang.wait(), 300)
        await cluster.kill_workers()
        killed_at = len(model.requests)
        await asyncio.gather(cluster.worker("a"), cluster.worker("b"))  # same executor ids, new processes
        lost, duplicated = await check_runs(cluster, postgres, url, 2)
        return {"requests_per_run": len(model.requests) / 2, "requests_before_kill": killed_at,
                "lost": lost, "duplicated": duplicated}
    finally:
        await cluster.stop()
        await cluster.database.dispose()
        await github.close()


async def main(delay_s: float, runs_per_worker: int, configs: list[int]) -> int:
    with tempfile.TemporaryDirectory(prefix="sf-scale-") as tmp:
        root = Path(tmp)
        keys = app_keys(root)
        postgres = PostgresServer(Path(tempfile.mkdtemp(prefix="sf-scale-pg-")))  # the postgres user's own folder
        postgres.start()
        model = ScriptedModel(delay_s=delay_s)
        model_runner, model_url = await serve(model.app())
        model.base_url = f"{model_url}/v1"
        try:
            results = [await measure(postgres, root, keys, model, n, runs_per_worker) for n in configs]
            killed = await kill(postgres, root, keys, model)
        finally:
            await model_runner.cleanup()
            postgres.stop()
            shutil.rmtree(postgres.folder, ignore_errors=True)
    print(f"model delay {delay_s:.1f} s per request; {runs_per_worker} runs per worker at once")
    print(f"{'workers':>7} {'runs':>5} {'runs/min':>9} {'free p50 s':>10} {'free p99 s':>10} "
          f"{'busy p99 s':>10} {'RSS MiB':>8} {'lost':>5} {'dup':>4}")
    for r in results:
        print(f"{r['workers']:>7} {r['runs']:>5} {r['runs_per_min']:>9.2f} {r['latency_free_p50']:>10.3f} "
              f"{r['latency_free_p99']:>10.3f} {r['latency_all_p99']:>10.3f} {r['rss_mib']:>8.1f} "
              f"{r['lost']:>5} {r['duplicated']:>4}")
    base = next((r for r in results if r["workers"] == 1), None)
    for r in results:
        if base and r["workers"] > 1:
            print(f"speed-up {r['workers']} workers / 1: {r['runs_per_min'] / base['runs_per_min']:.2f}"
                  + (f" (target ≥ {TARGET_SPEEDUP})" if r["workers"] == 2 else ""))
    print(f"after a kill: {killed['requests_per_run']:.1f} model requests per run (3 without a kill: spec read, "
          f"pack, refined pack; 4 = only the unfinished turn asked again; "
          f"{killed['requests_before_kill']} made before the kill), lost {killed['lost']}, "
          f"duplicated {killed['duplicated']}")
    worst = max(r["latency_free_p99"] for r in results)
    print(f"queue latency p99 with a free worker: {worst:.3f} s (target < {TARGET_LATENCY_S} s)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=2.0, help="seconds before each model answer")
    parser.add_argument("--runs-per-worker", type=int, default=4, help="runs per worker in the burst")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker processes to try")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.delay, args.runs_per_worker, args.workers)))
