"""Issue 13, "the bot verifies" and "a fix proves it matters", end to end over HTTP.

The world and the scripted model of ``tests.execution.test_execute_e2e``: the
bot's own runs of each ``rerun_command`` (``bot.execution.verify``) settle a
pass the agent piped away, make a scenario passing 2 of 3 runs ``flaky``;
every fix PR carries the base (fix reverted) and fix runs
(``bot.execution.proof``); a scenario test that passes without the fix is
reported as not detecting the defect; a fix turn editing an existing test is
reverted and recorded.
"""
from __future__ import annotations

import json
import os
from typing import Any

from bot.execution.action import BRANCH_PREFIX
from bot.execution.prompts import INTROS
from tests.execution.test_execute_e2e import (  # noqa: F401  (fixtures)
    cart_model,
    check_of,
    git_show,
    outcome_of,
    report,
    result,
    store_pack,
    the_run,
    turn_kind,
    world_repo,
    world_settings,
)
from tests.support.model_server import exec_call, this_turn, user_texts
from tests.support.target_repo import BUGGY_FILE, DISCOUNT_TEST, FIX_COMMAND, PYTEST, TOTAL_TEST

#: Where a test may leave the bodies it rendered, for a person to read (unset: nowhere).
SAMPLES = os.environ.get("SCENARIOFORGE_SAMPLES")


def keep(name: str, text: str) -> None:
    if SAMPLES:
        with open(os.path.join(SAMPLES, name), "w", encoding="utf-8") as handle:
            handle.write(text)


async def test_a_pass_hidden_by_a_pipe_is_settled_by_the_bots_own_run(world, model_server):
    await store_pack(world)
    piped = f"{TOTAL_TEST} 2>&1 | tail -20"  # what real models do: the pipe's status is tail's
    model_server.script = lambda request: [exec_call(piped)] if not this_turn(request) else report(
        result("SC-002", "passed", TOTAL_TEST, "55.0"))
    await world.comment("/scenarioforge execute --scenarios SC-002")
    await world.settle()

    run = await the_run(world)
    check = check_of(world, run)
    assert (run.state, check["conclusion"]) == ("passed", "success")
    summary = check["output"]["summary"]
    assert "| SC-002 | ✅ passed |" in summary
    assert (f"- **SC-002**: `{TOTAL_TEST}` → exit 0 (1/1 passed) → **passed**; the agent's commands: blocked "
            "(reported passed without proof: ") in summary
    [sc2] = (await outcome_of(world, run)).results
    assert sc2.verification.contradiction is None and sc2.blocked_reason is None


FLAKY = "scenarioforge/total.sh"
#: Fails on its third run (the agent's run is the first): the bot's three runs pass, fail, pass.
FLAKY_SCRIPT = f"""n=$(cat scenarioforge/count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > scenarioforge/count
[ "$n" -ne 3 ] && {TOTAL_TEST}"""


async def test_repeat_3_with_2_of_3_passing_is_flaky_and_not_fixed(world, model_server):
    await store_pack(world)
    write = f"mkdir -p scenarioforge && printf '%s\\n' '{FLAKY_SCRIPT}' > {FLAKY} && sh {FLAKY}"
    model_server.script = lambda request: [exec_call(write)] if not this_turn(request) else report(
        result("SC-002", "passed", write, "55.0") | {"rerun_command": f"sh {FLAKY}"})
    await world.comment("/scenarioforge execute --mode fix --repeat 3 --scenarios SC-002")
    await world.settle()

    run = await the_run(world)
    outcome = await outcome_of(world, run)
    [sc2] = outcome.results
    assert (sc2.status, sc2.classification.cause, sc2.verification.passes, len(sc2.verification.runs)) == (
        "flaky", "flaky", 2, 3)
    assert [r.exit_code == 0 for r in sc2.verification.runs] == [True, False, True]
    assert (outcome.attempts, outcome.stop_reason) == ([], "nothing_to_fix")  # no fix attempt
    assert not any(turn_kind(request) == "fix" for request in model_server.requests)
    check = check_of(world, run)
    assert (run.state, check["conclusion"], check["actions"]) == ("blocked", "neutral", [])
    summary = check["output"]["summary"]
    assert "| SC-002 | 🎲 flaky — flaky | passed 2 of 3 runs |" in summary
    assert "0 passed, 0 failed, 0 blocked, 1 flaky" in summary


def reporting_rerun(script, command: str):
    """``script`` whose rerun and check turns report ``command`` as SC-001's rerun command."""
    def wrapped(request: dict[str, Any]) -> list[dict[str, Any]]:
        steps = script(request)
        if turn_kind(request) == "fix" or INTROS["run"] in user_texts(request)[-1] or steps[0]["type"] != "message":
            return steps
        scenarios = json.loads(steps[0]["content"][0]["text"])["scenarios"]
        return report(*(item | {"rerun_command": command} if item["scenario_id"] == "SC-001" else item
                        for item in scenarios))
    return wrapped


async def test_a_fix_pr_records_fails_before_passes_after(world, model_server):
    await store_pack(world)
    model_server.script = cart_model()
    await world.comment("/scenarioforge execute --mode full")
    await world.settle()

    run = await the_run(world)
    outcome = await outcome_of(world, run)
    [proof] = outcome.proofs
    assert (proof.scenario_id, proof.command, proof.base_sha, proof.base.exit_code, proof.fix.exit_code) == (
        "SC-001", DISCOUNT_TEST, world.remote.sha(), 1, 0)
    index = {item.id: item for item in outcome.evidence}
    base, fix = index[proof.base.evidence_id], index[proof.fix.evidence_id]
    assert (base.by, "assert 49.5 == 45.0" in base.output, fix.by, "1 passed" in fix.output) == (
        "bot", True, "bot", True)
    (pull,) = world.github.pulls.values()
    body = pull["body"]
    assert "## Fails before, passes after" in body and f"base commit `{world.remote.sha()[:12]}`" in body
    assert (f"| SC-001 | `{DISCOUNT_TEST}` | exit 1 (`{base.id}`) | exit 0 (`{fix.id}`) "
            "| fails before, passes after |") in body
    check = check_of(world, run)
    assert "## Fails before, passes after" in check["output"]["summary"]
    keep("fix-pr-body.md", body)
    keep("check-run.md", f"# {check['output']['title']}\n\n{check['output']['summary']}")
    # the fix commit holds the fix only (the worktree is back at the fix after the base run)
    branch = f"{BRANCH_PREFIX}{run.id}"
    assert git_show(world, "--format=", "--name-only", branch).split() == [BUGGY_FILE]


async def test_a_scenario_test_passing_without_the_fix_does_not_detect_the_defect(world, model_server):
    await store_pack(world)
    # the fix turn also writes a new scenario test for SC-001 (allowed: it edits none that exists) that
    # holds with the bug too: 49.5 < 50
    weak = ("mkdir -p scenarioforge && printf '%s\\n' 'from shop.cart import total' 'def test_sc001():' "
            "'    assert total([(25.0, 2)], discount_percent=10) < 50' > scenarioforge/test_sc001.py")
    model_server.script = reporting_rerun(cart_model(f"{FIX_COMMAND} && {weak}"),
                                          f"{PYTEST} scenarioforge/test_sc001.py")
    await world.comment("/scenarioforge execute --mode pr")
    await world.settle()

    run = await the_run(world)
    [proof] = (await outcome_of(world, run)).proofs
    assert (proof.detects, proof.passes) == (False, True)
    (pull,) = world.github.pulls.values()  # the fix is still proposed, and the PR says what its test misses
    assert proof.command == f"{PYTEST} scenarioforge/test_sc001.py" and "scenarioforge/test_sc001.py" in pull["body"]
    assert "| **does not detect the defect** |" in pull["body"]
    assert ("SC-001: the scenario test passes with and without the fix, so it does not detect the defect"
            in pull["body"])


async def test_a_fix_turn_editing_an_existing_test_is_reverted_and_recorded(world, model_server):
    await store_pack(world)
    weaken = "sed -i 's/== 45.0/!= 0/' tests/test_cart.py"
    model_server.script = cart_model(f"{FIX_COMMAND} && {weaken}")
    await world.comment("/scenarioforge execute --mode pr")
    await world.settle()

    run = await the_run(world)
    [attempt] = (await outcome_of(world, run)).attempts
    assert attempt.reverted_paths == ["tests/test_cart.py"] and "tests/test_cart.py" not in attempt.diff
    assert ("the fix turn changed .github/workflows/, existing tests or scenario tests (allowed with "
            "`--allow-test-changes`); reverted tests/test_cart.py") in await world.tracking(run.id)
    (pull,) = world.github.pulls.values()
    assert "(reverted tests/test_cart.py)" in pull["body"]
    branch = f"{BRANCH_PREFIX}{run.id}"
    assert git_show(world, "--format=", "--name-only", branch).split() == [BUGGY_FILE]
    assert "== 45.0" in git_show(world, f"{branch}:tests/test_cart.py")
