"""A job whose process is SIGKILLed while it holds the lease completes after restart."""
from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta
from pathlib import Path

from bot.jobs.workers import Workers
from storage import jobs, runs
from storage.models import Job, Run, utcnow
from tests.support.fakes import make_settings
from tests.support.worker_process import LEASE_S, StubAuth

ROOT = Path(__file__).resolve().parents[2]


async def test_killed_worker_job_is_taken_up_after_lease_expiry(database, git_remote, tmp_path):
    workdir = tmp_path / "work"
    async with database.session() as session:
        run = Run(installation_id=42, repository="octo/app", issue_number=3, action="generate",
                  requester="alice", tracking_comment_id=1001)
        session.add(run)
        job = await jobs.enqueue(session, run)

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.worker_process", database.url, str(workdir), git_remote.template,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.decode().startswith(f"started {run.id} "), line
        dead_worktree = Path(line.decode().split(" ", 2)[2].strip())
        assert dead_worktree.is_dir()
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL

    async with database.session() as session:
        held = await session.get(Job, job.id)
        assert (held.state, held.attempts) == ("running", 1)
        assert held.lease_owner.split(":")[1] == str(process.pid)

    finished = []

    async def finish(ctx) -> None:
        finished.append((ctx.workspace.sha, (ctx.workspace.path / "docs.md").read_text()))

    settings = make_settings(workdir=workdir, clone_url_template=git_remote.template)
    now = utcnow()
    clock = {"now": now}
    workers = Workers(database, settings, StubAuth(), actions={"generate": finish}, count=1,
                      lease_s=5, clock=lambda: clock["now"])

    assert await workers.run_once() is None  # the dead process's lease is still live

    clock["now"] = now + timedelta(seconds=LEASE_S + 1)
    taken = await workers.run_once()
    assert taken is not None and taken.id == job.id

    assert finished == [(git_remote.shas["main"], "plan\n")]
    async with database.session() as session:
        done = await session.get(Job, job.id)
        final = await session.get(Run, run.id)
        phases = [(event.phase, event.status) for event in await runs.events_of(session, run.id)]
    assert (done.state, done.attempts) == ("done", 2)
    assert (final.state, final.head_sha, final.ref) == ("passed", git_remote.shas["main"], "main")
    assert ("workspace", "complete") in phases and phases[-1] == ("complete", "passed")
    # both the dead attempt's worktree and the second one are gone
    assert not dead_worktree.exists()
    assert list((workdir / "worktrees" / "octo" / "app").iterdir()) == []
