"""The execute loop through the real ``codex`` binary and the scripted model, on the target repository."""
from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest

from bot.codex.engine import Engine
from bot.domain.results import FixReport, fix_schema, report_schema
from bot.errors import Cancelled, CodexError, ScenarioForgeError
from bot.execution.checkpoint import Checkpoint
from bot.execution.local import execute_command
from bot.execution.loop import Limits, execute_pack
from bot.execution.render import budget_stop, comment_section
from tests.support.model_server import (
    assistant_message,
    exec_call,
    output_schema,
    this_turn,
    user_texts,
)
from tests.support.schemas import is_strict
from tests.support.target_repo import (
    BUGGY_FILE,
    DISCOUNT_TEST,
    FIX_COMMAND,
    PYTEST,
    SPEC,
    TOTAL_TEST,
)


def turn_kind(request: dict[str, Any]) -> str:
    text = user_texts(request)[-1]
    if "failed on real output" in text:
        return "fix"
    return "rerun" if text.startswith("Rerun") else "run"


def result(sid: str, status: str, commands: list[str], observed: str) -> dict[str, Any]:
    return {
        "scenario_id": sid, "status": status, "commands": commands, "rerun_command": commands[0] if commands else "",
        "checkpoints": [{"checkpoint": "The total shown is right", "expected": "45.00" if sid == "SC-001" else "55.00",
                         "observed": observed, "passed": status == "passed"}],
        "files_written": [], "notes": "",
    }


def answer(*results: dict[str, Any]) -> list[dict[str, Any]]:
    return [assistant_message(json.dumps({"scenarios": list(results)}))]


def fix_answer() -> list[dict[str, Any]]:
    return [assistant_message(FixReport(summary="divide the percentage by 100", changed_files=[BUGGY_FILE],
                                        residual_risk="").model_dump_json())]


def honest_script(fix_cmd: str | None = FIX_COMMAND):
    """Run: the whole suite (fails) and SC-002's test; fix: ``fix_cmd``; rerun: SC-001's test."""
    def script(request):
        kind, done = turn_kind(request), this_turn(request)
        if kind == "run":
            if len(done) == 0:
                return [exec_call(PYTEST)]
            if len(done) == 1:
                return [exec_call(TOTAL_TEST)]
            return answer(result("SC-001", "failed", [PYTEST], "49.5 at tests/test_cart.py:9"),
                          result("SC-002", "passed", [TOTAL_TEST], "55.0"))
        if kind == "fix":
            return [exec_call(fix_cmd)] if fix_cmd and not done else fix_answer()
        if not done:
            return [exec_call(DISCOUNT_TEST)]
        passed = "1 passed" in done[-1]
        return answer(result("SC-001", "passed" if passed else "failed", [DISCOUNT_TEST],
                             "45.0" if passed else "49.5 at tests/test_cart.py:9"))
    return script


def reporting_script(fix_cmd: str):
    """Run and check turns: SC-001's and SC-002's tests, each reported as its output says; fix: ``fix_cmd``;
    rerun: SC-001's test."""
    def script(request):
        kind, done = turn_kind(request), this_turn(request)
        if kind == "fix":
            return fix_answer() if done else [exec_call(fix_cmd)]
        tests = [DISCOUNT_TEST, TOTAL_TEST] if kind == "run" else [DISCOUNT_TEST]
        if len(done) < len(tests):
            return [exec_call(tests[len(done)])]
        return answer(*(result(sid, "passed" if "1 passed" in output else "failed", [command], output[-300:])
                        for sid, command, output in zip(("SC-001", "SC-002"), tests, done)))
    return script


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


async def test_run_mode_records_the_real_failing_output(model_server, codex_settings, target_repo):
    model_server.script = honest_script()
    events = []
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                                 mode="run", on_event=events.append)

    assert outcome.status == "failed" and outcome.stop_reason is None and not outcome.attempts
    sc1, sc2 = outcome.results
    assert (sc1.scenario_id, sc1.status, sc1.classification.cause) == ("SC-001", "failed", "code-defect")
    assert (sc2.status, sc2.classification) == ("passed", None)
    proof, own = [item for item in outcome.evidence if item.id in sc1.evidence_ids]
    assert proof.exit_code == 1 and "assert 49.5 == 45.0" in proof.output and proof.scenario_ids == ["SC-001"]
    # the bot ran the scenario's rerun_command itself: the evidence of record, beside the agent's command
    assert (proof.by, own.by, own.command, own.exit_code, own.scenario_ids) == ("agent", "bot", PYTEST, 1, ["SC-001"])
    assert "assert 49.5 == 45.0" in own.output and sc1.verification.contradiction is None
    assert "FAILED tests/test_cart.py::test_discount" in proof.output and proof.duration_ms is not None
    assert outcome.diff == "" and git(target_repo.path, "status", "--porcelain") == ""
    states = [(e.payload.get("scenario_id"), e.payload.get("state")) for e in events if e.phase == "scenario"]
    assert states == [("SC-001", "pending"), ("SC-002", "pending"), ("SC-001", "running"), ("SC-002", "running"),
                      ("SC-001", "failed"), ("SC-002", "passed")]
    assert outcome.tokens == 360 and len(outcome.turn_ids) == 1
    [turn] = outcome.turns  # three model steps of 100 in / 20 out
    assert (turn.turn_id, turn.kind, turn.attempt, turn.input_tokens, turn.output_tokens, turn.total_tokens) == (
        outcome.turn_ids[0], "run", 0, 300, 60, 360)
    assert 0 < outcome.codex_s <= outcome.duration_s


async def test_fix_mode_fixes_the_bug_and_the_rerun_passes(model_server, codex_settings, target_repo):
    # the fix also tries to change CI: that part is reverted and recorded
    touch_ci = "mkdir -p .github/workflows && echo x > .github/workflows/ci.yml"
    model_server.script = honest_script(f"{FIX_COMMAND} && {touch_ci}")
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack, mode="fix")

    assert outcome.status == "passed" and outcome.stop_reason == "passed"
    [attempt] = outcome.attempts
    assert attempt.rerun_outcome == "passed" and attempt.scenario_ids == ["SC-001"]
    assert attempt.reverted_paths == [".github/workflows/ci.yml"]
    assert "-    return round(subtotal - subtotal * discount_percent / 1000, 2)" in attempt.diff
    assert "+    return round(subtotal - subtotal * discount_percent / 100, 2)" in attempt.diff
    assert ".github" not in outcome.diff and not (target_repo.path / ".github").exists()
    before, after = outcome.initial[0], outcome.results[0]
    index = {item.id: item for item in outcome.evidence}
    assert [(index[e].by, index[e].exit_code) for e in before.evidence_ids] == [("agent", 1), ("bot", 1)]
    assert [(index[e].by, index[e].exit_code) for e in after.evidence_ids] == [("agent", 0), ("bot", 0)]
    assert "1 passed" in index[after.evidence_ids[0]].output and "1 passed" in index[after.evidence_ids[1]].output
    assert git(target_repo.path, "status", "--porcelain") == f" M {BUGGY_FILE}\n"  # left uncommitted
    assert len(outcome.turn_ids) == 3
    # the fix turn ran in the same thread and was told the real failing output, with the fix schema
    fix_request = next(r for r in model_server.requests if turn_kind(r) == "fix")
    assert "assert 49.5 == 45.0" in user_texts(fix_request)[-1] and "SC-001" in user_texts(fix_request)[-1]
    assert output_schema(fix_request) == fix_schema()
    assert any(PYTEST in json.dumps(item) for item in fix_request["input"])  # the run turn's history is there


def without_ignores(repo) -> None:
    """Commit an empty ``.gitignore``: running the tests now leaves ``__pycache__`` folders in the worktree."""
    (repo / ".gitignore").write_text("")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "no ignores")


async def test_a_run_turn_that_edits_the_code_is_reverted_and_its_scenarios_blocked(model_server, codex_settings,
                                                                                     target_repo):
    without_ignores(target_repo.path)
    script = "mkdir -p scenarioforge && echo 'pytest -q' > scenarioforge/sc-001.sh"

    def cheat(request):  # "fixes" the bug during the run, writes a scenario script, then runs the tests
        done = this_turn(request)
        steps = [FIX_COMMAND, script, DISCOUNT_TEST, TOTAL_TEST]
        if len(done) < len(steps):
            return [exec_call(steps[len(done)])]
        return answer(result("SC-001", "passed", [DISCOUNT_TEST], "45.0"),
                      result("SC-002", "passed", [TOTAL_TEST], "55.0"))
    model_server.script = cheat
    events = []
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                                 mode="full", on_event=events.append)

    reason = ("the run turn edited application code: shop/cart.py "
              "(reverted; its results do not hold for the code under test)")
    assert [(r.status, r.reported_status, r.blocked_reason) for r in outcome.results] == [
        ("blocked", "passed", reason)] * 2
    assert (outcome.status, outcome.stop_reason, outcome.attempts) == ("blocked", "nothing_to_fix", [])
    assert "/ 1000" in (target_repo.path / BUGGY_FILE).read_text()  # the edit is gone…
    assert git(target_repo.path, "status", "--porcelain", "--ignored") == "?? scenarioforge/\n"  # …and the bytecode
    assert "+++ b/scenarioforge/sc-001.sh" in outcome.diff and BUGGY_FILE not in outcome.diff  # scripts are kept
    [guard] = [e for e in events if e.phase == "guard"]
    assert BUGGY_FILE in guard.payload["paths"] and "the run turn changed files outside scenarioforge/" in guard.message
    assert any("__pycache__" in path for path in guard.payload["paths"])
    # the proving commands really passed: only the guard blocks them
    assert {item.exit_code for item in outcome.evidence if item.kind == "command"} == {0}


async def test_a_rerun_turn_that_edits_the_tests_does_not_prove_the_fix(model_server, codex_settings, target_repo):
    weaken = "sed -i 's/== 45.0/== 49.5/' tests/test_cart.py"
    honest = honest_script()

    def script(request):  # the rerun weakens the test, runs it and claims the pass
        done = this_turn(request)
        if turn_kind(request) != "rerun":
            return honest(request)
        if len(done) < 2:
            return [exec_call((weaken, DISCOUNT_TEST)[len(done)])]
        return answer(result("SC-001", "passed", [DISCOUNT_TEST], "45.0"))
    model_server.script = script
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack, mode="pr")

    [attempt] = outcome.attempts
    assert attempt.reverted_paths == ["tests/test_cart.py"] and attempt.rerun_outcome == "blocked"
    [sc1] = attempt.results
    assert (sc1.status, sc1.reported_status) == ("blocked", "passed") and sc1.blocked_reason.startswith(
        "the rerun turn edited application code: tests/test_cart.py")
    assert (outcome.status, outcome.stop_reason) == ("blocked", "nothing_to_fix")
    assert git(target_repo.path, "status", "--porcelain") == f" M {BUGGY_FILE}\n"  # the fix stays, the test edit not
    assert "tests/test_cart.py" not in outcome.diff


async def test_before_a_pr_every_selected_scenario_is_checked_again(model_server, codex_settings, target_repo):
    model_server.script = reporting_script(FIX_COMMAND)
    events = []
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                                 mode="full", on_event=events.append)

    assert (outcome.status, outcome.stop_reason, len(outcome.attempts)) == ("passed", "passed", 1)
    assert [(r.scenario_id, r.status) for r in outcome.check] == [("SC-001", "passed"), ("SC-002", "passed")]
    assert outcome.results == outcome.check and len(outcome.turn_ids) == 4
    assert [(turn.kind, turn.attempt) for turn in outcome.turns] == [("run", 0), ("fix", 1), ("rerun", 1), ("rerun", 1)]
    assert [turn.turn_id for turn in outcome.turns] == outcome.turn_ids
    assert outcome.tokens == sum(turn.total_tokens for turn in outcome.turns) > 0
    check_request = model_server.requests[-1]
    assert user_texts(check_request)[-1].startswith("Run every one of these scenarios once more")
    assert '"id": "SC-002"' in user_texts(check_request)[-1]
    assert ("check", "complete") in [(e.phase, e.status) for e in events]


async def test_a_fix_that_breaks_a_passing_scenario_is_a_regression_without_pr(model_server, codex_settings,
                                                                              target_repo):
    breaks_total = "sed -i 's/return round(/return 0 if not discount_percent else round(/' shop/cart.py"
    model_server.script = reporting_script(f"{FIX_COMMAND} && {breaks_total}")
    events = []
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                                 mode="pr", on_event=events.append)

    [attempt] = outcome.attempts
    assert attempt.rerun_outcome == "passed"  # the targeted rerun alone sees nothing wrong…
    assert (outcome.status, outcome.stop_reason) == ("failed", "regression")  # …the check does
    sc1, sc2 = outcome.results
    assert (sc1.status, sc2.status, sc2.classification.cause) == ("passed", "failed", "code-defect")
    index = {item.id: item for item in outcome.evidence}
    proof, own = [index[eid] for eid in sc2.evidence_ids]
    assert own.by == "bot" and own.exit_code == 1 and "assert 0 == 55.0" in own.output
    assert proof.exit_code == 1 and "assert 0 == 55.0" in proof.output and proof.attempt == 1
    assert [r.status for r in outcome.initial] == ["failed", "passed"]  # the before is kept
    [regression] = [e for e in events if (e.phase, e.status) == ("check", "failed")]
    assert regression.payload["regressions"] == ["SC-002"]
    assert "check of all 2 scenario(s) after the fix: regression (SC-001 passed, SC-002 failed)" in (
        comment_section(outcome))


async def test_an_answer_outside_the_schema_fails_with_the_turn_ids(model_server, codex_settings, target_repo):
    model_server.script = lambda request: [assistant_message(json.dumps({"scenarios": [{"scenario_id": "SC-001"}]}))]
    with pytest.raises(CodexError) as caught:
        await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack)
    assert caught.value.error_type == "InvalidOutput" and "ExecutionReport" in caught.value.message
    assert caught.value.context["turn_id"] and caught.value.context["thread_id"]


async def test_unknown_scenario_ids_are_refused(codex_settings, target_repo):
    with pytest.raises(ScenarioForgeError) as caught:
        await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                           scenario_ids=["SC-404"])
    assert caught.value.error_type == "UnknownScenario" and "SC-404" in caught.value.message


async def test_a_fix_that_never_passes_stops_at_max_fix_attempts(model_server, codex_settings, target_repo):
    model_server.script = honest_script(fix_cmd=None)
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                                 mode="full", limits=Limits(max_fix_attempts=2))
    assert (outcome.status, outcome.stop_reason, len(outcome.attempts)) == ("failed", "max_fix_attempts", 2)
    assert all(attempt.rerun_outcome == "failed" and attempt.diff == "" for attempt in outcome.attempts)


@pytest.mark.parametrize(("limits", "stop", "words"), [
    (Limits(token_budget=300), "token_budget", "token budget"),  # the run turn alone uses 360
    (Limits(wall_clock_s=0.0), "wall_clock_budget", "wall-clock budget"),
])
async def test_a_budget_stops_before_a_fix_turn_and_says_how_to_resume(model_server, codex_settings, target_repo,
                                                                        limits, stop, words):
    model_server.script = honest_script()
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                                 mode="fix", limits=limits)
    assert (outcome.status, outcome.stop_reason, outcome.attempts) == ("failed", stop, [])
    said = budget_stop(outcome, 7)
    assert said.startswith(f"**Stopped by the {words}** after 0 fix attempt(s)")
    assert said.endswith("with a fresh budget: `/scenarioforge execute --resume 7`")


async def test_a_pass_claimed_without_running_anything_is_settled_by_the_bots_own_run(model_server, codex_settings,
                                                                                      target_repo):
    model_server.script = lambda request: answer(result("SC-001", "passed", [DISCOUNT_TEST], "45.0"),
                                                 result("SC-002", "passed", [], "55.0"))
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack, mode="run")
    assert outcome.status == "failed"
    sc1, sc2 = outcome.results
    # SC-001's rerun command really fails: the bot's run wins over the claim, and both are recorded
    assert (sc1.status, sc1.reported_status, sc1.verification.agent_status) == ("failed", "passed", "blocked")
    assert "never ran" in sc1.verification.agent_reason
    assert sc1.verification.contradiction == f"the agent reported passed; the bot's run of `{DISCOUNT_TEST}` exited 1"
    [own] = outcome.evidence
    assert (own.by, own.exit_code, own.id in sc1.evidence_ids) == ("bot", 1, True)
    # SC-002 gave no command at all: nothing to run, it stays blocked
    assert (sc2.status, sc2.verification) == ("blocked", None) and "cites no command" in sc2.blocked_reason


async def test_failure_from_a_stale_source_is_stale_spec_not_fixed_and_its_document_revised_apart(
        model_server, codex_settings, target_repo):
    run = honest_script()
    edit = "sed -i 's/is 45.00/is 49.50/' docs/spec.md"

    def script(request):
        if not user_texts(request)[-1].startswith("These scenarios failed because their source document is stale"):
            return run(request)
        return fix_answer() if this_turn(request) else [exec_call(edit)]
    model_server.script = script
    saved = []

    async def save(state, patch):
        saved.append((state, patch))
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                                 scenario_ids=["SC-001"], mode="fix", stale_source_ids={SPEC}, save=save)
    [sc1] = outcome.results
    assert (sc1.classification.cause, sc1.classification.action) == ("stale-spec", "update the document")
    assert outcome.stop_reason == "nothing_to_fix" and not outcome.attempts
    documentation = outcome.documentation
    assert (documentation.scenario_ids, documentation.documents, documentation.reverted_paths) == (
        ["SC-001"], [SPEC], [])
    assert "10 % off 2 x 25.00 is 49.50" in documentation.files[SPEC] and "+- A discount" in documentation.diff
    # the document's change is kept apart: the worktree (the code fix's) is as it was
    assert git(target_repo.path, "status", "--porcelain") == "" and outcome.diff == ""
    assert [turn.kind for turn in outcome.turns] == ["run", "docs"]
    # the docs turn is checkpointed like every turn: a restarted run does not ask it again
    assert [state.next_phase for state, _ in saved] == ["documents", "done"]
    asked = len(model_server.requests)
    state, patch = saved[-1]
    again = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                               resume=Checkpoint(run_id=1, state=state, patch=patch))
    assert len(model_server.requests) == asked and again.documentation == documentation


async def test_cancel_interrupts_the_turn(model_server, codex_settings, target_repo):
    cancel = asyncio.Event()

    def script(request):
        cancel.set()
        return [exec_call("sleep 30")]
    model_server.script = script
    with pytest.raises(Cancelled):
        await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack, cancel=cancel)


async def test_local_mode_prints_the_table_and_leaves_the_fix_uncommitted(model_server, codex_settings, target_repo,
                                                                          monkeypatch, capsys):
    for name, value in {"SCENARIOFORGE_CODEX_MODEL": codex_settings.codex_model,
                        "SCENARIOFORGE_CODEX_BASE_URL": codex_settings.codex_base_url,
                        "SCENARIOFORGE_CODEX_HOME": str(codex_settings.codex_home),
                        "SCENARIOFORGE_CODEX_CONFIG": codex_settings.codex_config}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(target_repo.pack_file.parent)  # no .env of ours is read
    model_server.script = honest_script()
    # the CLI runs its own event loop; the model server keeps answering on this one
    code = await asyncio.to_thread(execute_command, target_repo.path, target_repo.pack_file, "fix")
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].split() == ["SCENARIO", "STATUS", "CAUSE", "CHECKPOINT", "EVIDENCE", "RERUN"]
    assert "SC-001" in out and "PASSED: 2 passed, 0 failed, 0 blocked; 1 fix attempt(s)" in out
    assert git(target_repo.path, "status", "--porcelain") == f" M {BUGGY_FILE}\n"


def test_output_schemas_are_in_the_strict_subset():
    for schema in (report_schema(), fix_schema()):
        assert is_strict(schema)
