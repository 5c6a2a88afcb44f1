"""Issue 14, the findings engine: each stage's rules, their severities from the policy."""
from __future__ import annotations

from bot.domain.findings import blocking, execute_findings, generate_findings, pr_findings, scan_findings
from bot.domain.pack import ScenarioPack
from bot.domain.policy import BUILTIN_PACKS, EffectivePolicy
from bot.domain.results import ScenarioOutcome
from tests.support.model_server import sample_pack

DEFAULT = EffectivePolicy("default@1", dict(BUILTIN_PACKS["default@1"]), 2, (".github/**",))
STRICT = EffectivePolicy("strict@1", dict(BUILTIN_PACKS["strict@1"]), 2, (".github/**",))


def codes(findings):
    return [(finding.code, finding.scope, finding.severity) for finding in findings]


def test_scan_an_area_with_no_trusted_selected_source():
    sources = [("docs/a.md", "stale", True), ("docs/b.md", "suspect", True), ("README.md", "trusted", True),
               ("notes/x.md", "stale", False)]  # not selected: not counted
    [finding] = scan_findings(DEFAULT, sources)
    assert codes([finding]) == [("scan.area-without-trusted-source", "docs", "warning")]
    assert finding.metadata == {"statuses": {"stale": 1, "suspect": 1}}


def test_generate_an_uncited_source_and_a_scenario_without_edge_variant():
    data = sample_pack("docs/spec.md")
    data["feature_areas"][0]["outcomes"][0]["scenarios"][1]["edge_variants"] = ["Pay by bank transfer instead"]
    found = generate_findings(DEFAULT, ScenarioPack.model_validate(data), ["docs/spec.md", "README.md"])
    assert codes(found) == [("generate.uncited-source", "README.md", "warning"),
                            ("generate.no-edge-variant", "SC-002", "warning")]
    assert found[0].metadata == {"path": "README.md"}


def test_execute_a_pass_on_shared_commands_only_and_a_missing_rerun_command():
    results = [ScenarioOutcome(scenario_id="SC-001", status="passed", reported_status="passed",
                               commands=["pytest -q"], rerun_command="pytest -q"),
               ScenarioOutcome(scenario_id="SC-002", status="passed", reported_status="passed",
                               commands=["pytest -q", "pytest tests/test_b.py"], rerun_command=""),
               ScenarioOutcome(scenario_id="SC-003", status="failed", reported_status="failed",
                               commands=["pytest -q"], rerun_command="pytest -q")]
    assert codes(execute_findings(STRICT, results)) == [
        ("execute.passed-without-specific-command", "SC-001", "block"),
        ("execute.missing-rerun-command", "SC-002", "warning")]


def test_pr_too_many_files_and_a_protected_path_block_under_strict():
    found = pr_findings(STRICT, ["a.py", "b.py", ".github/workflows/ci.yml"])
    assert codes(found) == [("pr.too-many-files", "fix", "block"),
                            ("pr.protected-path", ".github/workflows/ci.yml", "block")]
    assert blocking(found) == found and blocking(pr_findings(DEFAULT, ["a.py", "b.py", "c.py"])) == []


def test_an_off_rule_finds_nothing():
    quiet = EffectivePolicy("default@1", {**DEFAULT.rules, "pr.too-many-files": "off"}, 2, ())
    assert pr_findings(quiet, ["a", "b", "c"]) == []
