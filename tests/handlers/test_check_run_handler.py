"""Check run buttons and "Re-run" start ``execute`` again (handlers/check_run.py), over HTTP.

Signed ``check_run`` deliveries (the real ``requested_action`` / ``rerequested``
examples in tests/payloads, pointed at a check run of the local GitHub server)
go to the running app of ``tests.support.world``. The ``execute`` action is a
stand-in that completes a ``ScenarioForge / execute`` check run with the two
buttons, so these tests cost no Codex turn (tests/test_execute_e2e.py runs
the real one).
"""
from __future__ import annotations

from typing import Any

import pytest

from bot.actions import ACTIONS
from bot.execution.action import CHECK_NAME
from bot.execution.render import FIX_ACTION, PR_ACTION
from bot.github import checks, messages
from bot.jobs.context import JobContext
from storage.models import Run
from tests.support.webhooks import load_payload
from tests.support.world import READER, WRITER


@pytest.fixture
def world_actions():
    async def stand_in(ctx: JobContext) -> None:
        check = await ctx.start_check_run(CHECK_NAME)
        await check.complete("failure", checks.Output("Scenarios failed", "SC-001 failed"),
                             actions=[FIX_ACTION, PR_ACTION])
        await ctx.set_state("failed", "complete", "SC-001 failed")

    return {**ACTIONS, "execute": stand_in}


def check_run_payload(world, run: Run, action: str, *, user: str = WRITER, **changes: Any) -> dict[str, Any]:
    """The real ``check_run`` example of ``action`` about ``run``'s check run as GitHub holds it."""
    payload = load_payload(f"check_run.{action}.1.json")
    payload["check_run"] = {**payload["check_run"], **{k: v for k, v in world.github.check_runs[run.check_run_id]
                                                       .items() if not k.startswith("_")}, **changes}
    payload["repository"] = {k: v for k, v in world.github.repos[world.repository].items() if not k.startswith("_")}
    payload["installation"] = {"id": world.installation_id}
    payload["sender"] = world.github.user(user)
    return payload


async def click(world, run: Run, identifier: str, **options: Any):
    payload = check_run_payload(world, run, "requested_action", **options)
    payload["requested_action"] = {"identifier": identifier}
    answer = await world.post(payload, "check_run")
    await world.settle()
    return answer


async def first_run(world, command: str = "/scenarioforge execute --scenarios SC-001 --revision 1") -> Run:
    await world.comment(command)
    await world.settle()
    (run,) = await world.runs()
    assert (run.state, run.check_run_id is not None) == ("failed", True)
    return run


@pytest.mark.parametrize(("identifier", "mode"), [("fix", "fix"), ("pr", "pr")])
async def test_a_button_starts_execute_in_its_mode_with_the_same_arguments(world, identifier, mode):
    original = await first_run(world)
    answer = await click(world, original, identifier)

    assert answer.status == 202
    _, again = await world.runs()
    assert (again.action, again.requester, again.issue_number, again.is_pull_request) == ("execute", WRITER, 1, False)
    assert again.args == {"mode": mode, "scenarios": ["SC-001"], "revision": 1, "repeat": None,
                          "allow_test_changes": False, "trigger": "check_run",
                          "check_run_id": original.check_run_id, "origin_run": original.id}
    assert again.state == "failed" and again.check_run_id not in (None, original.check_run_id)
    assert messages.marker(again.id) in await world.tracking(again.id)  # its own tracking comment, same issue
    assert len([c for c in world.comments() if messages.marker(again.id) in c]) == 1


async def test_rerun_repeats_the_original_arguments_and_a_redelivery_starts_nothing_more(world):
    original = await first_run(world, "/scenarioforge execute --mode fix")
    payload = check_run_payload(world, original, "rerequested")
    answer = await world.post(payload, "check_run")
    await world.post(payload, "check_run", delivery_id=answer.delivery_id)
    await world.settle()

    runs = await world.runs()
    assert len(runs) == 2
    assert runs[1].args == {"mode": "fix", "scenarios": [], "revision": None, "repeat": None,
                            "allow_test_changes": False, "trigger": "check_run",
                            "check_run_id": original.check_run_id, "origin_run": original.id}


async def test_a_reader_clicking_is_refused_on_the_original_issue(world):
    original = await first_run(world)
    before = world.comments()
    await click(world, original, "fix", user=READER)

    assert len(await world.runs()) == 1
    assert world.comments()[len(before):] == [
        f"@{READER}, ScenarioForge commands need `write` permission on this repository; you have `read`. "
        "Nothing was run."]


@pytest.mark.parametrize("changes", [
    {"app": {"id": 1}},  # another App's check run
    {"name": "CI / tests"},
    {"status": "in_progress", "conclusion": None},
    {"external_id": "999"},  # no such run
])
async def test_other_check_runs_are_ignored(world, changes):
    original = await first_run(world)
    before = world.comments()
    await click(world, original, "fix", **changes)
    assert len(await world.runs()) == 1 and world.comments() == before


async def test_an_unknown_button_is_ignored(world):
    original = await first_run(world)
    await click(world, original, "lgtm|26764")
    assert len(await world.runs()) == 1
