"""Failure classes: stale-spec before environment before code-defect; flaky from reruns."""
from __future__ import annotations

from bot.domain.results import CheckpointResult, Evidence, ScenarioOutcome
from bot.execution.classify import classify, flaky


def failed(evidence_ids, observed="total was 9"):
    return ScenarioOutcome(
        scenario_id="S-1", status="failed", reported_status="failed", evidence_ids=evidence_ids,
        checkpoints=[CheckpointResult(checkpoint="cart total", expected="10", observed=observed, passed=False),
                     CheckpointResult(checkpoint="cart opens", expected="ok", observed="ok", passed=True)],
    )


def command(id_, output, exit_code=1):
    return Evidence(id=id_, kind="command", command="pytest -q", exit_code=exit_code, output=output)


def test_stale_source_means_update_the_document():
    result = classify(failed(["ev-1"]), [command("ev-1", "AssertionError")], source_ids=["SRC-1", "SRC-2"],
                      stale_source_ids={"SRC-2"})
    assert (result.cause, result.action, result.source_ids) == ("stale-spec", "update the document", ["SRC-2"])
    assert "cart total: expected '10', observed 'total was 9'" in result.reason
    assert "cart opens" not in result.reason


def test_missing_module_command_or_network_is_environment():
    for output, exit_code in (("E   ModuleNotFoundError: No module named 'requests'", 1),
                              ("bash: pytest: command not found", 127),
                              ("curl: (6) Could not resolve host: example.com", 6)):
        result = classify(failed(["ev-1"]), [command("ev-1", output, exit_code)], source_ids=[],
                          stale_source_ids=set())
        assert (result.cause, result.evidence_ids) == ("environment", ["ev-1"]), output
    observed = classify(failed([], observed="No module named 'yaml'"), [], source_ids=[], stale_source_ids=set())
    assert observed.cause == "environment"


def test_other_failures_are_code_defects_and_only_own_evidence_counts():
    unrelated = command("ev-2", "No module named 'x'")
    result = classify(failed(["ev-1"]), [command("ev-1", "assert 9 == 10"), unrelated], source_ids=["SRC-1"],
                      stale_source_ids=set())
    assert (result.cause, result.action, result.evidence_ids) == ("code-defect", "fix the code", ["ev-1"])


def test_pass_after_rerun_without_change_is_flaky():
    after = ScenarioOutcome(scenario_id="S-1", status="passed", reported_status="passed", evidence_ids=["ev-9"])
    result = flaky(failed(["ev-1"]), after)
    assert (result.cause, result.evidence_ids) == ("flaky", ["ev-1", "ev-9"])
