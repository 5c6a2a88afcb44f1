"""Issue 13, "CI failure → fix run", end to end over HTTP with the real codex binary.

A ``workflow_run`` ``completed`` delivery (the real example, adapted) tells the running app
that job ``test`` failed; the local GitHub server lists the run's jobs and serves their logs
(through the 302 of "Download job logs"). The bot posts ``ScenarioForge / CI`` with **Fix CI
failure**; the click starts a ``ci-fix`` run that reproduces the failing command in a fresh
worktree, lets the scripted model fix the real bug, reruns the command and opens a draft fix
PR carrying the failing output before and the passing output after.
"""
from __future__ import annotations

from typing import Any

import pytest

from bot.execution.ci_action import BRANCH_PREFIX
from bot.github.ci_check import CHECK_NAME, FIX_CI_ACTION
from tests.execution.test_execute_e2e import world_repo, world_settings  # noqa: F401  (fixtures)
from tests.loop.ci_world import CI_COMMAND, RUN_ID, ci_model, fail_ci
from tests.support.target_repo import BUGGY_FILE
from tests.support.webhooks import load_payload
from tests.support.world import READER, WRITER

AUTO = {".github/scenarioforge.yml": "ci:\n  on_failure: auto\n"}


def ci_checks(world, head_sha: str) -> list[dict[str, Any]]:
    return [c for c in world.github.check_runs.values() if c["name"] == CHECK_NAME and c["head_sha"] == head_sha]


def fix_pulls(world) -> list[dict[str, Any]]:
    return [p for p in world.github.pulls.values() if p["head"]["ref"].startswith(BRANCH_PREFIX)]


async def click(world, check: dict[str, Any], user: str = WRITER):
    payload = load_payload("check_run.requested_action.1.json")
    payload["check_run"] = {**payload["check_run"], **{k: v for k, v in check.items() if not k.startswith("_")}}
    payload["repository"] = {k: v for k, v in world.github.repos[world.repository].items() if not k.startswith("_")}
    payload["installation"] = {"id": world.installation_id}
    payload["sender"] = world.github.user(user)
    payload["requested_action"] = {"identifier": FIX_CI_ACTION["identifier"]}
    await world.post(payload, "check_run")
    await world.settle()


async def test_a_failed_workflow_run_gets_a_button_whose_click_opens_a_fix_pr_with_before_and_after(
        world, model_server):
    pull = world.open_pull(2, {"CONTRIBUTING.md": "Be kind.\n"})
    sha = pull["head"]["sha"]
    model_server.script = ci_model()

    answer = await world.post(fail_ci(world, sha, head_branch="pr-2", pull=pull), "workflow_run")
    await world.settle()
    assert answer.status == 202 and await world.runs() == []  # button mode: nothing runs by itself
    [button] = ci_checks(world, sha)
    assert (button["status"], button["conclusion"], button["actions"]) == ("completed", "action_required",
                                                                           [FIX_CI_ACTION])
    assert "job [`test`]" in button["output"]["summary"] and "failed step `Run tests`" in button["output"]["summary"]
    assert "`lint`" not in button["output"]["summary"]  # only the failed jobs are named

    await click(world, button, user=READER)  # a reader's click is refused on the pull request
    assert await world.runs() == [] and "you have `read`" in world.comments(2)[-1]

    await click(world, button)
    [run] = await world.runs()
    events = [(e.phase, e.status, e.message[:300]) for e in await world.events(run.id)]
    assert run.state == "passed", (run.state, run.error, events)
    assert (run.action, run.state, run.head_sha, run.issue_number) == ("ci-fix", "passed", sha, 2)
    [fix] = fix_pulls(world)
    assert (fix["base"]["ref"], fix["head"]["ref"], fix["draft"]) == ("pr-2", f"{BRANCH_PREFIX}1", True)
    body = fix["body"]
    assert "**Before** — CI job `test`, step `Run tests`, exit 1" in body and "assert 49.5 == 45.0" in body
    assert f"```\n{CI_COMMAND}\n```" in body and "<summary>Reproduced offline — exit 1 (evidence `ev-" in body
    assert "**After the fix — exit 0 (evidence `ev-" in body and "2 passed" in body
    assert f"`{BUGGY_FILE}`" in body
    remote_fix = world.remote.work.git("--git-dir", str(world.remote.bare), "show", f"{BRANCH_PREFIX}1:{BUGGY_FILE}")
    assert "/ 100," in remote_fix  # the bug is fixed on the pushed branch
    done = [c for c in ci_checks(world, sha) if c["id"] != button["id"]]
    assert [(c["conclusion"], c["output"]["title"]) for c in done] == [
        ("success", "CI failure fixed: `Run tests` fails before, passes after")]
    tracking = await world.tracking(run.id)
    assert "assert 49.5 == 45.0" in tracking and "2 passed" in tracking and f"#{fix['number']}" in tracking
    assert "tokens over 1 Codex turn(s)" in tracking  # the fix; the bot ran the command before and after itself
    assert len(model_server.requests) == 2  # the fix command, then the report


async def test_auto_starts_once_on_the_default_branch_and_a_redelivery_starts_nothing_more(world, model_server):
    world.remote.commit(AUTO, message="CI fixes on their own")
    sha = world.remote.sha()
    model_server.script = ci_model()
    payload = fail_ci(world, sha, head_branch="master")

    await world.post(payload, "workflow_run", delivery_id="ci-delivery-1")
    await world.settle()
    await world.post(payload, "workflow_run", delivery_id="ci-delivery-1")  # the same delivery again
    await world.post(payload, "workflow_run", delivery_id="ci-delivery-2")  # a redelivery with a new id
    await world.settle()

    [run] = await world.runs()
    assert (run.action, run.state, run.requester, run.is_pull_request) == ("ci-fix", "passed", WRITER, False)
    issue = world.github.issues[(world.repository, run.issue_number)]
    assert issue["title"] == f"CI failed on master at {sha[:12]}: CI"  # the thread of a default-branch fix
    [fix] = fix_pulls(world)
    assert fix["base"]["ref"] == "master" and "**After the fix — exit 0 (evidence `ev-" in fix["body"]
    assert [c["conclusion"] for c in ci_checks(world, sha)] == ["success"]  # no button in auto mode


async def test_auto_never_runs_for_a_fork_and_offers_the_button(world, model_server):
    world.remote.commit(AUTO, message="CI fixes on their own")
    world.github.add_repo("forker/Hello-World", installation_id=99, default_branch="master")
    sha = world.remote.commit({"CONTRIBUTING.md": "Be kind.\n"}, branch="fork-feature", push_to=["refs/pull/7/head"])
    world.github.add_pull(world.repository, 7, head="develop", head_sha=sha, head_repo="forker/Hello-World",
                          author="forker", base="master")

    await world.post(fail_ci(world, sha, head_branch="develop", head_repo="forker/Hello-World"), "workflow_run")
    await world.settle()

    assert await world.runs() == [] and model_server.requests == []
    [button] = ci_checks(world, sha)
    assert button["actions"] == [FIX_CI_ACTION] and "from a fork" in button["output"]["summary"]


@pytest.mark.parametrize(("command", "why"), [
    ("pip install -r requirements.txt", "needs the network"),
])
async def test_a_step_that_cannot_run_offline_stops_blocked_with_the_log_excerpt(world, model_server, command,
                                                                                  why):
    world.remote.commit(AUTO, message="CI fixes on their own")
    sha = world.remote.sha()
    await world.post(fail_ci(world, sha, head_branch="master", command=command), "workflow_run")
    await world.settle()

    [run] = await world.runs()
    assert run.state == "blocked" and model_server.requests == []  # no Codex turn was spent
    [check] = ci_checks(world, sha)
    assert (check["conclusion"], check["output"]["title"]) == ("neutral", "CI failure not reproduced: blocked")
    assert why in check["output"]["summary"] and "assert 49.5 == 45.0" in check["output"]["summary"]
    assert why in await world.tracking(run.id)


async def test_ci_success_is_recorded_on_a_pending_execute_run_of_that_head(world):
    sha = world.remote.sha()
    async with world.database.session() as session:
        from storage import runs

        pending, _ = await runs.create_run(session, delivery_id="d-1", verb="execute", installation_id=1,
                                           repository=world.repository, issue_number=1, is_pull_request=False,
                                           requester=WRITER, args={}, head_sha=sha)
    await world.post(fail_ci(world, sha, head_branch="master", run_id=RUN_ID + 1, conclusion="success"),
                     "workflow_run")
    await world.settle()

    [event] = [e for e in await world.events(pending.id) if e.phase == "ci"]
    assert (event.status, event.payload["head_sha"]) == ("passed", sha) and "CI passed" in event.message


def suite_payload(world, sha: str, *, slug: str, suite_id: int = 118578147) -> dict[str, Any]:
    """The real ``check_suite.completed`` example, failed on ``sha`` of PR #2, by the app ``slug``."""
    payload = load_payload("check_suite.completed.1.json")
    payload["repository"] = {k: v for k, v in world.github.repos[world.repository].items() if not k.startswith("_")}
    payload["installation"] = {"id": world.installation_id}
    payload["sender"] = world.github.user(WRITER)
    suite = payload["check_suite"]
    suite.update(id=suite_id, head_sha=sha, head_branch="pr-2", conclusion="failure")
    suite["app"] = {**suite["app"], "id": 777, "slug": slug}
    suite["pull_requests"][0].update(number=2, base={**suite["pull_requests"][0]["base"], "ref": "master"})
    return payload


async def test_another_ci_apps_failed_check_suite_gets_the_button_and_github_actions_suites_are_left_to_workflow_run(
        world):
    pull = world.open_pull(2, {"CONTRIBUTING.md": "Be kind.\n"})
    sha = pull["head"]["sha"]
    world.github.add_suite_runs(world.repository, 118578147, [
        {"id": 61, "name": "ci/circleci: test", "conclusion": "failure", "html_url": "https://circleci.example/61",
         "output": {"title": "Tests failed", "summary": "1 failed, 1 passed", "text": None}},
        {"id": 62, "name": "ci/circleci: lint", "conclusion": "success", "html_url": "", "output": {}}])

    await world.post(suite_payload(world, sha, slug="github-actions", suite_id=1), "check_suite")
    await world.settle()
    assert ci_checks(world, sha) == []  # its workflow_run delivery carries the same failure

    await world.post(suite_payload(world, sha, slug="circleci-checks"), "check_suite")
    await world.settle()
    [button] = ci_checks(world, sha)
    assert "job [`ci/circleci: test`](https://circleci.example/61)" in button["output"]["summary"]
    assert "lint" not in button["output"]["summary"] and button["actions"] == [FIX_CI_ACTION]
    # the suite's page is built on the configured web root (github.com, or a GHES host), never a fixed host
    assert button["details_url"] == f"{world.settings.web_url}/{world.repository}/commit/{sha}/checks"
