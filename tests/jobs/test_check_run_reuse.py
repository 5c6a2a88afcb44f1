"""A run taken up again after its worker was SIGKILLed never leaves a check run ``in_progress`` (issue 9).

The re-run job finds ``Run.check_run_id`` set by the dead attempt: it takes
that check run up again when it is still open on the same head SHA, and
otherwise concludes it ``cancelled`` with a line saying why before starting
another.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.github import checks
from bot.jobs.context import JobContext
from bot.workspace.worktrees import Workspace
from config.settings import Settings
from storage.models import Run

REPOSITORY, NAME = "octo-org/hello", "ScenarioForge / execute"
SHA, OTHER_SHA = "a" * 40, "b" * 40


@pytest.fixture
async def run(database):
    async with database.session() as session:
        row = Run(installation_id=7, repository=REPOSITORY, issue_number=3, action="execute", requester="ana")
        session.add(row)
    return row


def attempt(database, github_auth, run: Run, sha: str) -> JobContext:
    """A job attempt of ``run`` checked out at ``sha`` (the run row as the database has it)."""
    workspace = Workspace(repository=REPOSITORY, path=Path("/nowhere"), sha=sha, ref="main", mirror=Path("/nowhere"),
                          clone_url="")
    return JobContext(run=run, gh=github_auth.installation_client(7), db=database,
                      settings=Settings(_env_file=None), auth=github_auth, workspace=workspace)


async def stored(database, run: Run) -> Run:
    async with database.session() as session:
        return await session.get(Run, run.id)


@pytest.fixture(autouse=True)
def repo(github_server):
    github_server.add_repo(REPOSITORY, installation_id=7)


async def test_the_rerun_takes_up_the_open_check_run_of_the_dead_attempt(database, github_auth, github_server, run):
    first = await attempt(database, github_auth, run, SHA).start_check_run(NAME)
    again = await attempt(database, github_auth, await stored(database, run), SHA).start_check_run(NAME)
    assert again.id == first.id and again.html_url
    assert list(github_server.check_runs) == [first.id]
    assert github_server.check_runs[first.id]["status"] == "in_progress"


async def test_an_open_check_run_on_another_head_sha_is_concluded_cancelled(database, github_auth, github_server,
                                                                           run):
    first = await attempt(database, github_auth, run, SHA).start_check_run(NAME)
    again = await attempt(database, github_auth, await stored(database, run), OTHER_SHA).start_check_run(NAME)
    assert again.id != first.id and (await stored(database, run)).check_run_id == again.id
    old = github_server.check_runs[first.id]
    assert (old["status"], old["conclusion"]) == ("completed", "cancelled")
    assert "worker running this check stopped" in old["output"]["summary"] and again.html_url in old["output"]["summary"]
    assert github_server.check_runs[again.id]["status"] == "in_progress"


async def test_a_completed_check_run_is_left_as_it_is(database, github_auth, github_server, run):
    first = await attempt(database, github_auth, run, SHA).start_check_run(NAME)
    await first.complete("success", checks.Output("Done", "ok"))
    again = await attempt(database, github_auth, await stored(database, run), SHA).start_check_run(NAME)
    assert again.id != first.id
    assert github_server.check_runs[first.id]["conclusion"] == "success"
