"""The durable job queue against a real SQLite file (storage/jobs.py)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from storage import jobs
from storage.models import Job, Run

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


async def test_release_requeues_without_counting(database):
    job = await queue(database)
    claimed = await jobs.claim(database, "w1", 60, T0)
    assert await jobs.release(database, claimed, "w1", T0)
    again = await jobs.claim(database, "w2", 60, T0)
    assert (again.id, again.attempts) == (job.id, 1)
