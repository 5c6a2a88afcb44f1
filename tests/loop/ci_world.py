"""A failed CI run in the world of ``tests.support.world``: its workflow run, job logs and webhook.

:func:`fail_ci` records on the local GitHub server a workflow run whose job ``test`` failed in
step ``Run tests`` running :data:`CI_COMMAND` (the target repository's suite, where
``test_discount`` fails on the real bug of ``tests.support.target_repo``), with a log written
the way GitHub Actions writes it, and returns the real ``workflow_run.completed`` example
payload adapted to it. :func:`ci_model` is the scripted model of a fix run's one Codex turn: it
fixes the bug with ``FIX_COMMAND`` (the bot runs the command before and after itself).
"""
from __future__ import annotations

from typing import Any

from bot.domain.results import FixReport
from tests.support.model_server import assistant_message, exec_call, this_turn, user_texts
from tests.support.target_repo import BUGGY_FILE, FIX_COMMAND, PYTEST
from tests.support.webhooks import load_payload

CI_COMMAND = f"{PYTEST} tests"
RUN_ID = 30433642
STAMP = "2026-11-30T10:00:0{}.1234567Z "


def actions_log(command: str, output: str, exit_code: int = 1) -> str:
    """A job log as GitHub Actions writes it: timestamps, a checkout ``uses:`` group, the ``run:`` group."""
    lines = ["##[group]Run actions/checkout@v4", "with:", "  fetch-depth: 1", "##[endgroup]",
             f"##[group]Run {command.splitlines()[0]}", *command.splitlines(), "shell: /usr/bin/bash -e {0}",
             "##[endgroup]", *output.splitlines(), f"##[error]Process completed with exit code {exit_code}.",
             "Post job cleanup."]
    return "\n".join(STAMP.format(i % 10) + line for i, line in enumerate(lines)) + "\n"


PYTEST_FAILURE = """F.                                                                       [100%]
=================================== FAILURES ===================================
________________________________ test_discount _________________________________
    def test_discount():
>       assert total([(25.0, 2)], discount_percent=10) == 45.0
E       assert 49.5 == 45.0
tests/test_cart.py:9: AssertionError
1 failed, 1 passed in 0.02s"""


def fail_ci(world, head_sha: str, *, head_branch: str, pull: dict[str, Any] | None = None,
            head_repo: str | None = None, command: str = CI_COMMAND, run_id: int = RUN_ID,
            conclusion: str = "failure") -> dict[str, Any]:
    """Record the failed run on GitHub and return its ``workflow_run.completed`` payload."""
    log = actions_log(command, PYTEST_FAILURE)
    world.github.add_workflow_run(world.repository, run_id, head_sha, [
        ("lint", [("Set up job", "success"), ("Run ruff", "success")], actions_log("ruff check .", "All good", 0)),
        ("test", [("Set up job", "success"), ("Run tests", conclusion)], log),
    ])
    payload = load_payload("workflow_run.completed.3.json")
    repo = {k: v for k, v in world.github.repos[world.repository].items() if not k.startswith("_")}
    payload["repository"] = repo
    payload["installation"] = {"id": world.installation_id}
    payload["sender"] = world.github.user("writer-login")
    run = payload["workflow_run"]
    run.update(id=run_id, name="CI", head_sha=head_sha, head_branch=head_branch, conclusion=conclusion,
               status="completed", html_url=f"https://github.com/{world.repository}/actions/runs/{run_id}",
               repository=repo, head_repository={**repo, "full_name": head_repo or world.repository})
    run["pull_requests"] = [] if pull is None or head_repo else [{
        "url": pull["url"], "id": pull["id"], "number": pull["number"],
        "head": {"ref": pull["head"]["ref"], "sha": head_sha, "repo": {"id": repo["id"], "url": repo["url"],
                                                                       "name": repo["name"]}},
        "base": {"ref": pull["base"]["ref"], "sha": world.remote.sha(), "repo": {"id": repo["id"],
                                                                                "url": repo["url"],
                                                                                "name": repo["name"]}}}]
    return payload


def ci_model(fix: str = FIX_COMMAND):
    """The fix turn: run ``fix``, then answer with the fix report; any other request is an error."""
    def script(request: dict[str, Any]) -> list[dict[str, Any]]:
        assert "Fix the code so that the command passes" in user_texts(request)[-1], "only the fix is a turn"
        return [exec_call(fix)] if not this_turn(request) else [assistant_message(FixReport(
            summary="Divide the discount percentage by 100, not 1000.", changed_files=[BUGGY_FILE],
            residual_risk="").model_dump_json())]
    return script
