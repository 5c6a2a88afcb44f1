"""Failure classes: stale-spec before environment before scenario-defect before code-defect; flaky from reruns."""
from __future__ import annotations

from bot.domain.results import CheckpointResult, Evidence, ScenarioOutcome, SourceMisread
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


SPEC_TEXT = "# Cart\n\n- The total of a cart is the sum of its lines:\n  2 x 25.00 and 1 x 5.00 is 55.00.\n"


def misread(quote="2 x 25.00 and 1 x 5.00 is 55.00", source_id="docs/spec.md"):
    outcome = failed(["ev-1"], observed="55.0")
    outcome.misread = SourceMisread(source_id=source_id, quote=quote, source_says="the total is 55.00")
    return outcome


def test_a_misread_claim_whose_quote_is_in_the_source_is_a_scenario_defect():
    # the quote spans a line break of the document and differs in case: whitespace and case aside
    result = classify(misread("total of a cart is the SUM of its lines: 2 x 25.00"), [command("ev-1", "assert")],
                      source_ids=["docs/spec.md"], stale_source_ids=set(), source_texts={"docs/spec.md": SPEC_TEXT})
    assert (result.cause, result.source_ids, result.evidence_ids) == ("scenario-defect", ["docs/spec.md"], ["ev-1"])
    assert result.action == "revise the scenario (the pack, not the code)"
    assert "the source expects: 'the total is 55.00'" in result.reason


def test_a_misread_claim_is_not_believed_without_its_quote_in_a_source_of_the_scenario():
    cases = {
        "its quote is not in `docs/spec.md`": misread("2 x 25.00 and 1 x 5.00 is 60.00"),
        "it names `README.md`, which is not a source of the scenario": misread(source_id="README.md"),
        "its quote is too short to show anything": misread("55.00"),
    }
    for why, outcome in cases.items():
        result = classify(outcome, [command("ev-1", "assert")], source_ids=["docs/spec.md"], stale_source_ids=set(),
                          source_texts={"docs/spec.md": SPEC_TEXT, "README.md": SPEC_TEXT})
        assert result.cause == "code-defect", why
        assert result.reason.endswith(f"The agent said the scenario misread its source; not believed: {why}."), why


def test_stale_spec_and_environment_come_before_a_misread_claim():
    texts = {"docs/spec.md": SPEC_TEXT}
    stale = classify(misread(), [], source_ids=["docs/spec.md"], stale_source_ids={"docs/spec.md"}, source_texts=texts)
    broken = classify(misread(), [command("ev-1", "ModuleNotFoundError: No module named 'shop'")],
                      source_ids=["docs/spec.md"], stale_source_ids=set(), source_texts=texts)
    assert (stale.cause, broken.cause) == ("stale-spec", "environment")
