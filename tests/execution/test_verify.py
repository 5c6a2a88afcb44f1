"""Issue 13, the pure parts: the bot's runs settle a verdict, the fix turn's test guard, the rigor of a run,
and how proofs read."""
from __future__ import annotations

import pytest

from bot.domain.results import Evidence, ExecutionOutcome, ScenarioOutcome
from bot.domain.verification import BotRun, FixProof
from bot.execution.action import rigor_of
from bot.execution.classify import block_on_environment, classify
from bot.execution.guards import fix_rule
from bot.execution.render_proof import proof_section, verification_lines
from bot.execution.verify import settle
from config.repo import ExecuteConfig, load_repo_config


def runs(*codes: int) -> list[Evidence]:
    return [Evidence(id=f"ev-{n}", kind="command", by="bot", command="pytest -q", exit_code=code)
            for n, code in enumerate(codes)]


def outcome(status: str, reported: str, reason: str | None = None) -> ScenarioOutcome:
    return ScenarioOutcome(scenario_id="SC-1", status=status, reported_status=reported, rerun_command="pytest -q",
                           evidence_ids=["ev-agent"], blocked_reason=reason)


@pytest.mark.parametrize(("codes", "status", "contradiction"), [
    ((0,), "passed", None),
    ((1,), "failed", "the agent reported passed; the bot's run of `pytest -q` exited 1"),
    ((0, 1, 0), "flaky", "the agent reported passed; the bot's run of `pytest -q` exited 0, 1, 0"),
])
def test_the_bots_runs_are_the_verdict_and_a_disagreement_is_kept(codes, status, contradiction):
    result = outcome("passed", "passed")
    settle(result, runs(*codes))
    assert (result.status, result.verification.contradiction) == (status, contradiction)
    assert result.evidence_ids == ["ev-agent", *(f"ev-{n}" for n in range(len(codes)))]
    assert (result.classification.cause if result.classification else None) == ("flaky" if status == "flaky" else None)


def test_a_pass_the_agent_could_not_prove_is_settled_and_its_reason_kept():
    result = outcome("blocked", "passed", "reported passed without proof: only within `pytest -q | tail`")
    settle(result, runs(0))
    assert (result.status, result.blocked_reason, result.verification.contradiction) == ("passed", None, None)
    assert (result.verification.agent_status, result.verification.agent_reason) == (
        "blocked", "reported passed without proof: only within `pytest -q | tail`")
    text = verification_lines(ExecutionOutcome(mode="run", status="passed", scenario_ids=["SC-1"], initial=[],
                                               results=[result]))
    assert "- **SC-1**: `pytest -q` → exit 0 (1/1 passed) → **passed**; the agent's commands: blocked" in text


def test_a_fix_turn_may_add_tests_but_not_edit_those_that_exist():
    existing = {"tests/test_cart.py", "shop/cart.py", "scenarioforge/test_sc1.py", "src/cart.spec.ts"}
    allowed, why = fix_rule(existing, allow_test_changes=False)
    assert [path for path in (*sorted(existing), "tests/test_new.py", "scenarioforge/test_sc2.py",
                              ".github/workflows/ci.yml") if not allowed(path)] == [
        "scenarioforge/test_sc1.py", "src/cart.spec.ts", "tests/test_cart.py", ".github/workflows/ci.yml"]
    assert "allowed with `--allow-test-changes`" in why
    allowed, _ = fix_rule(existing, allow_test_changes=True)
    assert allowed("tests/test_cart.py") and not allowed(".github/workflows/ci.yml")


def test_repeat_comes_from_the_command_else_the_repository_config():
    config, error = load_repo_config("execute:\n  repeat: 3\n")
    assert error is None and rigor_of({}, config.execute).repeat == 3
    assert rigor_of({"repeat": 5, "allow_test_changes": True}, config.execute).__dict__ | {"timeout_s": 0} == {
        "repeat": 5, "allow_test_changes": True, "timeout_s": 0}
    assert rigor_of({}, ExecuteConfig()).repeat == 1
    _, error = load_repo_config("execute:\n  repeat: 0\n")
    assert "execute.repeat" in error


def test_a_proof_that_passes_either_way_is_named_in_the_pr_section():
    proofs = [FixProof(scenario_id=sid, command="pytest -q | tail", base_sha="a" * 40,
                       base=BotRun(evidence_id="ev-b", exit_code=base), fix=BotRun(evidence_id="ev-f", exit_code=0))
              for sid, base in (("SC-1", 1), ("SC-2", 0))]
    text = proof_section(ExecutionOutcome(mode="pr", status="passed", scenario_ids=[], initial=[], results=[],
                                          proofs=proofs))
    assert "base commit `aaaaaaaaaaaa`" in text
    assert "| SC-1 | `pytest -q \\| tail` | exit 1 (`ev-b`) | exit 0 (`ev-f`) | fails before, passes after |" in text
    assert "| SC-2 |" in text and "**does not detect the defect**" in text
    assert text.endswith("SC-2: the scenario test passes with and without the fix, so it does not detect the "
                         "defect; review the fix by other means.")


def test_an_environment_failure_is_blocked_naming_what_is_missing():
    result = ScenarioOutcome(scenario_id="SC-1", status="failed", reported_status="failed", evidence_ids=["ev-0"])
    missing = Evidence(id="ev-0", kind="command", command="playwright test", exit_code=127, output="not found")
    result.classification = classify(result, [missing], source_ids=[], stale_source_ids=())
    block_on_environment(result)
    assert (result.status, result.classification.cause) == ("blocked", "environment")
    assert result.blocked_reason == ("the environment is missing something: `playwright test` exited 127 "
                                     "(command not found)")
