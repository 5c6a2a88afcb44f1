"""Workers in a separate process, for the restart test (tests/test_job_restart.py).

Run as ``python -m tests.support.worker_process DATABASE_URL WORKDIR CLONE_URL_TEMPLATE``:
it starts ``bot.jobs.workers.Workers`` with one worker, a 60 s lease and an action
that prints ``started <run id>`` and then blocks for ever, so the test can
SIGKILL the process while the job holds its lease.

``StubAuth`` stands in for ``bot.github.client.AppAuth``: clients are the shared
transport fake (``tests.support.fakes.FakeGitHubAPI``), tokens a constant.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.jobs.workers import Workers
from storage.db import Database
from tests.support.fakes import FakeGitHubAPI, make_settings

TOKEN = "ghs_" + "StubInstallationToken0123456789ab"
LEASE_S = 60.0


class StubAuth:
    """``AppAuth``'s job-facing half: one fake client per installation, a fixed token."""

    def __init__(self) -> None:
        self.clients: dict[int, FakeGitHubAPI] = {}

    def installation_client(self, installation_id: int) -> FakeGitHubAPI:
        return self.clients.setdefault(installation_id, FakeGitHubAPI())

    async def installation_token(self, installation_id: int) -> str:
        return TOKEN


async def block_forever(ctx) -> None:
    """Tell the parent the job runs in its worktree, then never finish."""
    print(f"started {ctx.run.id} {ctx.workspace.path}", flush=True)
    await asyncio.Event().wait()


async def main(database_url: str, workdir: str, template: str) -> None:
    db = Database(database_url)
    settings = make_settings(workdir=Path(workdir), clone_url_template=template)
    workers = Workers(db, settings, StubAuth(), actions={"generate": block_forever}, count=1, lease_s=LEASE_S)
    workers.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
