"""The DBOS runtime on SQLite and PostgreSQL: system database, executor id, version gating, queue limits."""
from __future__ import annotations

import asyncio

import pytest
from dbos import DBOS, SetEnqueueOptions, SetWorkflowID

from bot.jobs.queue import QUEUE
from bot.jobs.runtime import Runtime, executor_id, system_database_url
from tests.support.fakes import make_settings

SPANS: list[tuple[str, str, float, float]] = []


@DBOS.workflow(name="tests.echo")
async def echo(label: str) -> str:
    return label


@DBOS.workflow(name="tests.span")
async def span(label: str, lane: str) -> str:
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.sleep(0.2)
    SPANS.append((lane, label, start, loop.time()))
    return label


def runtime(database, tmp_path, *, version: str, workers: int) -> Runtime:
    settings = make_settings(database_url=database.url, workdir=tmp_path / "work", workers=workers,
                             queue_poll_s=0.05, executor_id=f"test-{version}-{workers}")
    return Runtime(database, settings, auth=None, actions={}, version=version)


async def enqueue(func, label: str, lane: str, *args) -> None:
    with SetWorkflowID(label), SetEnqueueOptions(queue_partition_key=lane):
        await DBOS.enqueue_workflow_async(QUEUE, func, label, *args)


async def result(workflow_id: str):
    return await (await DBOS.retrieve_workflow_async(workflow_id)).get_result()


def test_the_system_database_sits_next_to_ours():
    assert system_database_url("sqlite+aiosqlite:////srv/sf/scenarioforge.db") == (
        "sqlite:////srv/sf/scenarioforge.dbos.sqlite")
    assert system_database_url("postgresql+psycopg://bot:pw@db:5432/sf") == "postgresql://bot:pw@db:5432/sf_dbos"
    with pytest.raises(ValueError, match="SQLite file"):
        system_database_url("sqlite+aiosqlite:///:memory:")


def test_the_executor_id_is_stable_per_host_and_slot():
    assert executor_id(make_settings(executor_id="worker-7")) == "worker-7"
    one, again = executor_id(make_settings(worker_slot=1)), executor_id(make_settings(worker_slot=1))
    assert one == again and one.endswith("-1") and one != executor_id(make_settings(worker_slot=2))
    # a web replica on a worker's host never takes its id (DBOS would resume the worker's runs in it)
    assert executor_id(make_settings(worker_slot=1, workers=0)) not in (one, executor_id(make_settings(worker_slot=0)))


async def test_a_queued_run_waits_for_a_worker_of_its_own_version(database_on_both, tmp_path):
    web = runtime(database_on_both, tmp_path, version="v1", workers=0)
    await web.start()
    await enqueue(echo, "old", "o/r#1")
    await web.stop()

    new = runtime(database_on_both, tmp_path, version="v2", workers=1)
    await new.start()
    try:
        await enqueue(echo, "new", "o/r#2")
        assert await result("new") == "new"  # the v2 worker polled the queue after "old" was there…
        status = await DBOS.get_workflow_status_async("old")
        assert (status.status, status.app_version) == ("ENQUEUED", "v1")  # …and left it to a v1 worker
    finally:
        await new.stop()

    old = runtime(database_on_both, tmp_path, version="v1", workers=1)
    await old.start()
    try:
        assert await result("old") == "old"
    finally:
        await old.stop()


async def test_one_run_per_lane_at_a_time_and_lanes_side_by_side(database_on_both, tmp_path):
    SPANS.clear()
    worker = runtime(database_on_both, tmp_path, version="v1", workers=4)
    await worker.start()
    try:
        for n in range(3):
            for lane in ("o/r#1", "o/r#2"):
                await enqueue(span, f"{lane}-{n}", lane, lane)
        for n in range(3):
            for lane in ("o/r#1", "o/r#2"):
                await result(f"{lane}-{n}")
    finally:
        await worker.stop()
    for lane in ("o/r#1", "o/r#2"):
        mine = sorted((start, end) for other, _, start, end in SPANS if other == lane)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(mine, mine[1:])), mine
    one, two = ([s for s in SPANS if s[0] == lane][0] for lane in ("o/r#1", "o/r#2"))
    assert one[2] < two[3] and two[2] < one[3]  # the two lanes' first runs overlapped
