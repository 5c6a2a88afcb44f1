"""Check run, comment, PR body and terminal renderings of an execute outcome (pure)."""
from __future__ import annotations

from bot.domain.results import (
    CheckpointResult,
    Classification,
    Evidence,
    ExecutionOutcome,
    FixAttempt,
    ScenarioOutcome,
    TurnUsage,
)
from bot.execution.render import (
    RERUN_TEMPLATE,
    annotations,
    check_run_actions,
    check_run_output,
    comment_section,
    conclusion,
    pr_body,
    summary_table,
    terminal_table,
)
from handlers.commands import parse

DIFF = ("diff --git a/shop/cart.py b/shop/cart.py\n--- a/shop/cart.py\n+++ b/shop/cart.py\n@@ -1 +1 @@\n"
        "-    return x / 1000\n+    return x / 100\n")

DISCOUNT = "pytest -q tests/test_cart.py::test_discount"


def outcome_of(sid, status, evidence_ids, observed="45.0", cause=None):
    return ScenarioOutcome(
        scenario_id=sid, status=status, reported_status=status, evidence_ids=evidence_ids,
        commands=[DISCOUNT], rerun_command=DISCOUNT,
        checkpoints=[CheckpointResult(checkpoint="total | shown", expected="45.00", observed=observed,
                                      passed=status == "passed")],
        classification=Classification(cause=cause, reason="r", action="fix the code") if cause else None,
    )


def fixed_outcome() -> ExecutionOutcome:
    before = outcome_of("SC-001", "failed", ["ev-before"], "49.5 at tests/test_cart.py:9 and /work/t/shop/cart.py:7 "
                        "and /usr/lib/x.py:3", cause="code-defect")
    after = outcome_of("SC-001", "passed", ["ev-after"])
    other = outcome_of("SC-002", "passed", ["ev-other"])
    return ExecutionOutcome(
        mode="full", status="passed", scenario_ids=["SC-001", "SC-002"], initial=[before, other],
        results=[after, other],
        attempts=[FixAttempt(
            number=1, scenario_ids=["SC-001"], summary="divide by 100", residual_risk="rounding of odd cents",
            diff=DIFF, reverted_paths=[".github/workflows/ci.yml"], rerun_outcome="passed", results=[after],
        )],
        evidence=[
            Evidence(id="ev-before", kind="command", command="pytest -q", exit_code=1,
                     output="E assert 49.5 == 45.0\n1 failed"),
            Evidence(id="ev-after", kind="command", command=DISCOUNT, exit_code=0, output="1 passed"),
        ],
        diff=DIFF, stop_reason="passed", thread_id="th-1", turn_ids=["tu-1", "tu-2", "tu-3"], tokens=1234,
        duration_s=12.5, codex_s=10.0, prompt_version="execute-v1",
    )


def with_turns(outcome: ExecutionOutcome) -> ExecutionOutcome:
    """``outcome`` with the token usage of its three turns."""
    return outcome.model_copy(update={"turns": [
        TurnUsage(turn_id="tu-1", kind="run", input_tokens=400, output_tokens=60, total_tokens=460),
        TurnUsage(turn_id="tu-2", kind="fix", attempt=1, input_tokens=500, output_tokens=90, total_tokens=590),
        TurnUsage(turn_id="tu-3", kind="rerun", attempt=1, input_tokens=150, output_tokens=34, total_tokens=184),
    ]})


def failed_outcome() -> ExecutionOutcome:
    outcome = fixed_outcome()
    return outcome.model_copy(update={"results": outcome.initial, "status": "failed", "attempts": []})


def test_conclusion_success_failure_neutral():
    outcome = fixed_outcome()
    assert conclusion(outcome) == "success"
    assert conclusion(failed_outcome()) == "failure"
    blocked = outcome_of("SC-001", "blocked", [])
    assert conclusion(outcome.model_copy(update={"results": [blocked]})) == "neutral"


def test_summary_table_has_status_checkpoint_evidence_and_rerun_command():
    outcome = failed_outcome()
    table = summary_table(outcome).splitlines()
    assert table[0] == "| Scenario | Status | Checkpoint | Evidence | Rerun |"
    assert table[2].startswith("| SC-001 | ❌ failed — code-defect | total \\| shown: expected 45.00, observed 49.5")
    assert "`ev-before`" in table[2] and table[2].endswith("| `/scenarioforge execute --mode run --scenarios SC-001` |")
    assert table[3].startswith("| SC-002 | ✅ passed | 1/1 checkpoints |")


def test_the_rerun_command_only_runs_whatever_the_repository_default_mode():
    command = RERUN_TEMPLATE.format(scenario_id="SC-001") + " --revision 3"  # as bot.execution.action extends it
    parsed = parse(command)
    assert (parsed.verb, parsed.mode, parsed.scenarios, parsed.revision) == ("execute", "run", ("SC-001",), 3)


def test_annotations_point_at_file_and_line_inside_the_repository():
    outcome = failed_outcome()
    found = annotations(outcome, root="/work/t")
    assert [(a["path"], a["start_line"], a["annotation_level"]) for a in found] == [
        ("tests/test_cart.py", 9, "failure"), ("shop/cart.py", 7, "failure")]
    assert found[0]["title"] == "SC-001: total | shown" and "expected 45.00" in found[0]["message"]
    output = check_run_output(outcome, root="/work/t")
    assert output["title"] == "Scenarios failed: 1 passed, 1 failed, 0 blocked"
    assert output["annotations"] == found and "| SC-001 |" in output["summary"]


def test_buttons_follow_the_outcome():
    assert [a["identifier"] for a in check_run_actions(failed_outcome())] == ["fix", "pr"]
    assert [a["identifier"] for a in check_run_actions(fixed_outcome().model_copy(update={"mode": "fix"}))] == ["pr"]
    assert check_run_actions(fixed_outcome()) == []  # full mode: the PR is already open
    for action in check_run_actions(failed_outcome()):
        assert len(action["label"]) <= 20 and len(action["description"]) <= 40 and len(action["identifier"]) <= 20


def test_pr_body_holds_ids_cause_changes_before_after_risk_and_audit():
    body = pr_body(fixed_outcome(), run_id=7, manifest_hash="abc123", pack_revision=2, run_url="https://x/run/7")
    for expected in ("[run 7](https://x/run/7)", "**SC-001**: failed → passed", "code-defect",
                     "divide by 100", "reverted .github/workflows/ci.yml", "- `shop/cart.py`", "+    return x / 100",
                     "**Before**", "E assert 49.5 == 45.0", "`pytest -q` → exit 1, `ev-before`",
                     "**After**", "exit 0, `ev-after`", "rounding of odd cents", "manifest hash: `abc123`",
                     "pack revision: 2", "`tu-1`"):
        assert expected in body, expected
    assert "SC-002" not in body.split("## Failure cause")[0]  # only the scenarios the PR fixes


def test_comment_section_and_terminal_table():
    text = comment_section(with_turns(fixed_outcome()), check_run_url="https://c/1", pr_url="https://p/2")
    assert "**Execute passed** (full) — 2 passed, 0 failed, 0 blocked" in text
    assert "[check run](https://c/1) · [fix PR](https://p/2)" in text
    assert "#1 SC-001: 1 file(s) changed" in text
    assert text.endswith("Duration 12.5 s · 1234 tokens · 3 turn(s)\n"
                         "- run tu-1: 460 tokens (input 400, cached 0, output 60)\n"
                         "- fix #1 tu-2: 590 tokens (input 500, cached 0, output 90)\n"
                         "- rerun #1 tu-3: 184 tokens (input 150, cached 0, output 34)")
    lines = terminal_table(with_turns(fixed_outcome())).splitlines()
    assert lines[0].split() == ["SCENARIO", "STATUS", "CAUSE", "CHECKPOINT", "EVIDENCE", "RERUN"]
    assert lines[1].split()[:2] == ["SC-001", "passed"]
    assert lines[-4:] == ["PASSED: 2 passed, 0 failed, 0 blocked; 1 fix attempt(s); 1234 tokens; 12.5 s",
                          "  run tu-1: 460 tokens (input 400, cached 0, output 60)",
                          "  fix #1 tu-2: 590 tokens (input 500, cached 0, output 90)",
                          "  rerun #1 tu-3: 184 tokens (input 150, cached 0, output 34)"]
