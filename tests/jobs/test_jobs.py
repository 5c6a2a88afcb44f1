"""The durable job queue (storage/jobs.py) on a real SQLite file, and the workers (bot/jobs/workers.py)."""
from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from sqlalchemy import select

from bot import logs
from bot.errors import GitError
from bot.jobs.workers import Workers, is_transient
from storage import jobs, runs
from storage.models import Job, Run
from tests.support.fakes import make_settings
from tests.support.worker_process import StubAuth

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


async def queue(database, issue_number: int = 1, repository: str = "octo/app") -> Job:
    async with database.session() as session:
        run = Run(
            installation_id=42, repository=repository, issue_number=issue_number,
            action="generate", requester="alice",
        )
        session.add(run)
        job = await jobs.enqueue(session, run)
    async with database.session() as session:  # enqueue stamps run_after with the real clock
        (await session.get(Job, job.id)).run_after = T0
    return job


async def reload(database, job_id: int) -> Job:
    async with database.session() as session:
        return await session.get(Job, job_id)


async def test_enqueue_claim_complete(database):
    job = await queue(database)
    assert (job.lane, job.installation_id, job.state) == ("octo/app#1", 42, "queued")

    claimed = await jobs.claim(database, "w1", 60, T0)
    assert claimed.id == job.id
    assert (claimed.state, claimed.lease_owner, claimed.attempts) == ("running", "w1", 1)
    assert await jobs.claim(database, "w2", 60, T0) is None

    assert await jobs.complete(database, job.id, "w1", T0)
    assert (await reload(database, job.id)).state == "done"
    assert await jobs.claim(database, "w2", 60, T0 + timedelta(hours=1)) is None


async def test_not_claimable_before_run_after(database):
    job = await queue(database)
    assert await jobs.claim(database, "w1", 60, T0 - timedelta(seconds=1)) is None
    assert (await jobs.claim(database, "w1", 60, T0)).id == job.id


async def test_one_running_job_per_lane(database):
    first = await queue(database, issue_number=1)
    second = await queue(database, issue_number=1)
    other = await queue(database, issue_number=2)

    assert (await jobs.claim(database, "w1", 60, T0)).id == first.id
    assert (await jobs.claim(database, "w2", 60, T0)).id == other.id
    assert await jobs.claim(database, "w3", 60, T0) is None

    await jobs.complete(database, first.id, "w1", T0)
    assert (await jobs.claim(database, "w3", 60, T0)).id == second.id


async def test_racing_claimers_one_wins(database):
    job = await queue(database)
    results = await asyncio.gather(*(jobs.claim(database, f"w{i}", 60, T0) for i in range(4)))
    winners = [claimed for claimed in results if claimed is not None]
    assert [claimed.id for claimed in winners] == [job.id]
    assert (await reload(database, job.id)).lease_owner == winners[0].lease_owner


async def test_expired_lease_is_claimed_again(database):
    job = await queue(database)
    await jobs.claim(database, "dead", 60, T0)
    assert await jobs.claim(database, "w2", 60, T0 + timedelta(seconds=59)) is None

    again = await jobs.claim(database, "w2", 60, T0 + timedelta(seconds=60))
    assert (again.id, again.lease_owner, again.attempts) == (job.id, "w2", 2)
    # the dead worker, should it come back, can no longer write
    assert await jobs.heartbeat(database, job.id, "dead", 60, T0 + timedelta(seconds=61)) == "lost"
    assert not await jobs.complete(database, job.id, "dead", T0)


async def test_heartbeat_extends_the_lease(database):
    job = await queue(database)
    await jobs.claim(database, "w1", 60, T0)
    assert await jobs.heartbeat(database, job.id, "w1", 60, T0 + timedelta(seconds=50)) == "held"
    assert await jobs.claim(database, "w2", 60, T0 + timedelta(seconds=100)) is None
    assert await jobs.claim(database, "w2", 60, T0 + timedelta(seconds=110)) is not None


async def test_backoff_grows_and_is_capped(database):
    job = await queue(database)
    delays = []
    now = T0
    for _ in range(4):
        claimed = await jobs.claim(database, "w1", 60, now)
        run_after = await jobs.retry_later(database, claimed, "w1", "boom", now, base_s=10, cap_s=30)
        delays.append((run_after - now).total_seconds())
        assert await jobs.claim(database, "w1", 60, run_after - timedelta(seconds=1)) is None
        now = run_after
    assert delays == [10, 20, 30, 30]
    stored = await reload(database, job.id)
    assert (stored.state, stored.attempts, stored.last_error) == ("queued", 4, "boom")


async def test_max_attempts_then_failed(database):
    job = await queue(database)
    now = T0
    for _ in range(job.max_attempts):
        claimed = await jobs.claim(database, "w1", 60, now)
        assert claimed is not None
        run_after = await jobs.retry_later(database, claimed, "w1", "still down", now)
        now = run_after or now
    stored = await reload(database, job.id)
    assert (stored.state, stored.attempts, stored.last_error) == ("failed", 5, "still down")
    assert run_after is None
    assert await jobs.claim(database, "w1", 60, now + timedelta(days=1)) is None


async def test_cancel_queued_and_running(database):
    queued = await queue(database, issue_number=1)
    running = await queue(database, issue_number=2)
    await jobs.claim(database, "w1", 60, T0)  # takes issue 1
    first = await reload(database, queued.id)
    assert first.state == "running"

    async with database.session() as session:
        assert await jobs.cancel_for_run(session, first.run_id) == 1
        assert await jobs.cancel_for_run(session, running.run_id) == 1
    assert await jobs.heartbeat(database, first.id, "w1", 60, T0) == "cancelled"
    assert (await reload(database, running.id)).state == "cancelled"
    assert await jobs.claim(database, "w2", 60, T0 + timedelta(hours=1)) is None


@pytest.mark.parametrize("stops", ["worker ends the lease", "lease expires"])
async def test_a_cancelled_job_keeps_its_lane_busy_until_its_worker_has_stopped(database, stops):
    first = await queue(database, issue_number=1)
    second = await queue(database, issue_number=1)
    assert (await jobs.claim(database, "w1", 60, T0)).id == first.id
    async with database.session() as session:
        await jobs.cancel_for_run(session, first.run_id)

    assert await jobs.claim(database, "w2", 60, T0 + timedelta(seconds=59)) is None  # w1 is stopping the action
    if stops == "worker ends the lease":
        assert not await jobs.end_cancelled(database, first.id, "w2", T0)  # only its own worker may
        assert await jobs.end_cancelled(database, first.id, "w1", T0)
    later = T0 + timedelta(seconds=0 if stops == "worker ends the lease" else 60)
    assert (await jobs.claim(database, "w2", 60, later)).id == second.id
    assert (await reload(database, first.id)).state == "cancelled"


async def test_release_requeues_without_counting(database):
    job = await queue(database)
    claimed = await jobs.claim(database, "w1", 60, T0)
    assert await jobs.release(database, claimed, "w1", T0)
    again = await jobs.claim(database, "w2", 60, T0)
    assert (again.id, again.attempts) == (job.id, 1)


# ---------------------------------------------------------------- workers (bot/jobs/workers.py)



COMMENT = "https://api.github.com/repos/octo/app/issues/comments/1001"


class Clock:
    """Worker time, set by the test; starts a minute ahead of the real clock that stamps enqueued jobs."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc) + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(database, git_remote, tmp_path):
    auth, clock = StubAuth(), Clock()
    settings = make_settings(workdir=tmp_path / "work", clone_url_template=git_remote.template)

    def workers(actions=None, **kwargs) -> Workers:
        return Workers(database, settings, auth, actions=actions, count=1, clock=clock, **kwargs)

    return auth, clock, workers


async def queue_run(database, *, action="generate", issue_number=3, **fields) -> Run:
    async with database.session() as session:
        run = Run(installation_id=42, repository="octo/app", issue_number=issue_number, action=action,
                  requester="alice", tracking_comment_id=1001, **fields)
        session.add(run)
        await jobs.enqueue(session, run)
    return run


async def state_of(database, run: Run) -> tuple[Run, Job]:
    async with database.session() as session:
        stored = await session.get(Run, run.id)
        job = (await session.scalars(select(Job).where(Job.run_id == run.id))).one()
    return stored, job




async def block_run(ctx):
    """An action that leaves its run blocked, as the trust gate does."""
    await ctx.set_state("blocked", "needs-confirmation", "waiting for a look at docs/adr.md")
    await ctx.report(final=True)


async def test_an_action_that_blocks_its_run_ends_the_job(database, world):
    auth, _clock, workers = world
    run = await queue_run(database, action="sources")
    assert await workers(actions={"sources": block_run}).run_once() is not None

    stored, job = await state_of(database, run)
    assert (stored.state, stored.phase, job.state) == ("blocked", "needs-confirmation", "done")
    edits = auth.installation_client(42).requests("PATCH")
    assert edits and edits[-1].url == COMMENT
    assert "waiting for a look at docs/adr.md" in edits[-1].data["body"]
    assert list((workers().workspaces.root / "worktrees" / "octo" / "app").iterdir()) == []


async def test_pull_request_checked_out_at_head_sha(database, world, git_remote):
    auth, _clock, workers = world
    auth.installation_client(42).answer(
        "GET", "/repos/octo/app/pulls/7", {"head": {"sha": git_remote.shas["pull/7"], "ref": "fork-work"}}
    )
    run = await queue_run(database, issue_number=7, is_pull_request=True)
    seen = []

    async def look(ctx) -> None:
        seen.append((ctx.workspace.sha, (ctx.workspace.path / "fork.txt").exists(), ctx.workspace.ref))

    await workers({"generate": look}).run_once()
    assert seen == [(git_remote.shas["pull/7"], True, "fork-work")]
    stored, _job = await state_of(database, run)
    assert (stored.state, stored.head_sha) == ("passed", git_remote.shas["pull/7"])


async def test_branch_flag_checks_out_the_branch(database, world, git_remote):
    _auth, _clock, workers = world
    await queue_run(database, ref="feature")
    seen = []

    async def look(ctx) -> None:
        seen.append(ctx.workspace.sha)

    await workers({"generate": look}).run_once()
    assert seen == [git_remote.shas["feature"]]


async def test_cancel_reaches_the_running_action_and_the_lane_waits_for_it_to_stop(database, world):
    _auth, clock, workers = world
    started, stopping, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def wait(ctx) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopping.set()
            await stop.wait()  # winding down
            raise

    pool = workers({"generate": wait}, lease_s=3600)  # no heartbeat for 20 minutes unless woken
    run = await queue_run(database)
    running = asyncio.create_task(pool.run_once())
    await asyncio.wait_for(started.wait(), 30)
    async with database.session() as session:
        await runs.cancel_run(session, await session.get(Run, run.id), by="alice")
    pool.wake()
    await asyncio.wait_for(stopping.wait(), 30)
    following = await queue_run(database)  # the next command on the same issue
    assert await jobs.claim(database, "w2", 60, clock()) is None
    stop.set()
    await asyncio.wait_for(running, 30)

    stored, job = await state_of(database, run)
    assert (stored.state, job.state, job.lease_expires_at) == ("cancelled", "cancelled", None)
    assert list((pool.workspaces.root / "worktrees" / "octo" / "app").iterdir()) == []
    assert (await jobs.claim(database, "w2", 60, clock())).run_id == following.id


async def test_transient_failure_is_retried_with_backoff(database, world):
    _auth, clock, workers = world
    attempts = []

    async def flaky(ctx) -> None:
        attempts.append(ctx.job.attempts)
        if len(attempts) == 1:
            raise aiohttp.ClientConnectionError("Cannot connect to host api.github.com:443")

    pool = workers({"generate": flaky})
    run = await queue_run(database)
    await pool.run_once()
    stored, job = await state_of(database, run)
    assert (stored.state, stored.phase, job.state) == ("queued", "retry", "queued")
    assert "Cannot connect to host" in job.last_error

    assert await pool.run_once() is None  # backing off
    clock.now += timedelta(seconds=jobs.BACKOFF_BASE_S)
    await pool.run_once()
    stored, job = await state_of(database, run)
    assert attempts == [1, 2]
    assert (stored.state, job.state) == ("passed", "done")


async def test_other_failure_fails_run_with_raw_error(database, world):
    auth, _clock, workers = world

    async def broken(ctx) -> None:
        raise GitError("fatal: bad object deadbeef\n", command="git show deadbeef")

    run = await queue_run(database)
    await workers({"generate": broken}).run_once()
    stored, job = await state_of(database, run)
    assert (stored.state, job.state) == ("failed", "failed")
    assert stored.error["type"] == "GitError" and stored.error["message"] == "fatal: bad object deadbeef\n"
    assert stored.error["context"] | {"repository": "octo/app", "run_id": run.id, "action": "generate"} \
        == stored.error["context"]
    assert "fatal: bad object deadbeef" in auth.installation_client(42).requests("PATCH")[-1].data["body"]


async def test_stop_releases_the_running_job(database, world):
    _auth, _clock, workers = world
    started = asyncio.Event()

    async def wait(ctx) -> None:
        started.set()
        await asyncio.Event().wait()

    pool = workers({"generate": wait}, poll_s=0.01)
    run = await queue_run(database)
    pool.start()
    await asyncio.wait_for(started.wait(), 30)
    await pool.stop()

    stored, job = await state_of(database, run)
    assert (job.state, job.attempts, job.lease_owner) == ("queued", 0, None)
    assert stored.state == "queued"
    assert list((pool.workspaces.root / "worktrees" / "octo" / "app").iterdir()) == []


async def test_wake_starts_a_job_without_waiting_for_the_poll(database, world):
    _auth, _clock, workers = world
    done = asyncio.Event()

    async def finish(ctx) -> None:
        done.set()

    pool = workers({"generate": finish}, poll_s=3600)
    pool.start()
    try:
        await queue_run(database)
        pool.wake()
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await pool.stop()


async def nothing(ctx) -> None:
    """An action with nothing to do."""


async def test_a_jobs_json_log_lines_carry_its_run_and_delivery_ids(database, world, caplog):
    _auth, _clock, workers = world
    stream = io.StringIO()
    handler = logs.json_handler(stream)
    caplog.set_level(logging.INFO, logger="bot.jobs.workers")
    logging.getLogger("bot.jobs.workers").addHandler(handler)
    try:
        run = await queue_run(database, delivery_id="d-42")
        await workers({"generate": nothing}).run_once()
    finally:
        logging.getLogger("bot.jobs.workers").removeHandler(handler)

    _stored, job = await state_of(database, run)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [f"job {job.id} claimed (attempt 1/5)", f"job {job.id} ended: done"]
    assert [(line["run_id"], line["delivery_id"]) for line in lines] == [(run.id, "d-42")] * 2


def test_transient_classification():
    assert is_transient(aiohttp.ClientConnectionError())
    assert is_transient(GitError("fatal: unable to access 'https://github.com/o/r/': Could not resolve host: github.com"))
    assert not is_transient(GitError("fatal: couldn't find remote ref nope"))
    assert not is_transient(ValueError("bad"))


async def test_job_whose_workers_keep_dying_fails(database, world):
    _auth, _clock, workers = world
    run = await queue_run(database)
    async with database.session() as session:
        job = (await session.scalars(select(Job).where(Job.run_id == run.id))).one()
        job.attempts = job.max_attempts  # as if claimed that often by workers that died

    async def never(ctx) -> None:
        raise AssertionError("must not run again")

    await workers({"generate": never}).run_once()
    stored, job = await state_of(database, run)
    assert (stored.state, job.state) == ("failed", "failed")
    assert "stopped 5 times" in stored.error["message"]
