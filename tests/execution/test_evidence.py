"""Evidence from real command items, the blocked-without-proof rule and git snapshots."""
from __future__ import annotations

import shlex
import subprocess

import pytest

from bot.codex.turns import CommandRun
from bot.domain.results import CheckpointResult, ExecutionReport, ScenarioReport
from bot.execution.evidence import (
    OUTPUT_LIMIT,
    cap_output,
    command_evidence,
    diff,
    diff_evidence,
    evidence_id,
    judge,
    restore,
    same_command,
    snapshot,
)


def run(item_id: str, command: str, exit_code: int, output: str = "") -> CommandRun:
    return CommandRun(item_id, command, "/repo", exit_code, output, 12, "completed")


def report(scenario_id: str, status: str, commands: list[str]) -> ScenarioReport:
    return ScenarioReport(
        scenario_id=scenario_id, status=status, commands=commands, rerun_command=commands[0] if commands else "",
        checkpoints=[CheckpointResult(checkpoint="total", expected="10", observed="10", passed=status == "passed")],
        files_written=[], notes="",
    )


def test_ids_are_stable_content_hashes():
    assert evidence_id({"a": 1, "b": 2}) == evidence_id({"b": 2, "a": 1})
    assert evidence_id({"a": 1}) != evidence_id({"a": 2})
    assert evidence_id({"a": 1}).startswith("ev-") and len(evidence_id({"a": 1})) == 19


def test_output_is_capped_with_the_cut_stated():
    text = "H" * 3000 + "M" * 20000 + "T" * 5000
    kept, cut = cap_output(text)
    assert cut == f"cut {len(text) - OUTPUT_LIMIT} of {len(text)} characters after character 2000"
    assert kept.startswith("H" * 2000) and kept.endswith("T" * 5000) and cut in kept
    assert cap_output("short") == ("short", None)


def test_shell_wrapped_commands_match_what_the_agent_cites():
    assert same_command("python -m pytest -q", "/bin/bash -lc 'python -m pytest -q'")
    assert same_command("pytest  -q tests/a.py", "pytest -q tests/a.py")
    assert same_command("pytest -q", "bash -lc 'cd app && pytest -q'")
    assert same_command("python -c \"print('a  b')\"", "/bin/bash -lc 'python -c \"print('\"'\"'a  b'\"'\"')\"'")
    assert not same_command("pytest -q", "pytest -q tests/other.py")
    assert not same_command("", "pytest")


@pytest.mark.parametrize("recorded", [
    "pytest -q", "/bin/bash -lc 'pytest -q'", "cd app && pytest -q", "pytest -q && echo ok",
    "bash -lc 'cd app && pytest -q' && echo ok", "make build && pytest   -q && make clean",
])
def test_a_command_or_an_and_chain_proves_the_cited_command(recorded):
    assert same_command("pytest -q", recorded)


@pytest.mark.parametrize("recorded", [
    "pytest -q || true", "pytest -q | tee log", "pytest -q |& tee log", "pytest -q; echo ok", "pytest -q &",
    "pytest -q & wait", "pytest -q\necho ok", "cd app && pytest -q || true", "bash -lc 'pytest -q || true'",
    "bash -lc 'pytest -q' | cat", "(pytest -q)", "echo $(pytest -q)",
])
def test_a_chain_that_hides_the_exit_code_proves_nothing(recorded):
    assert not same_command("pytest -q", recorded)
    assert not same_command(recorded, recorded)  # citing the whole thing does not help


def test_quoting_and_redirections_are_read_as_the_shell_reads_them():
    assert same_command("grep 'a|b;c' log.txt", 'grep "a|b;c" log.txt')  # operators inside quotes
    assert not same_command("pytest -q", "echo '&&' pytest -q")  # a quoted && is a word
    assert same_command("pytest -q 2>&1", "bash -lc 'pytest -q 2>&1'")  # a redirection, not a background &
    assert same_command("cd app && pytest -q", "cd app && pytest -q && echo done")
    assert not same_command("pytest -q", "pytest -q 2>&1")  # not the cited command, word for word
    assert not same_command("pytest 'unclosed", "pytest 'unclosed")


@pytest.mark.parametrize(("recorded", "exit_code"), [
    ("pytest -q || true", 0), ("pytest -q | tee log", 0), ("pytest -q; echo ok", 0), ("pytest -q &", 0),
])
def test_passed_proven_only_by_a_masking_chain_is_blocked(recorded, exit_code):
    commands = command_evidence([run("c1", f"/bin/bash -lc {shlex.quote(recorded)}", exit_code, "1 failed")],
                                turn_id="t1", attempt=0)
    [outcome] = judge(ExecutionReport(scenarios=[report("S-A", "passed", ["pytest -q"])]), commands, ["S-A"])
    assert (outcome.status, outcome.evidence_ids) == ("blocked", [])
    assert outcome.blocked_reason == (
        "reported passed without proof: cited command(s) only ran inside a command whose exit code is not "
        f"theirs (joined by ;, ||, |, & or a newline): pytest -q (only within `/bin/bash -lc {shlex.quote(recorded)}`)"
    )


def test_passed_without_a_proving_command_is_blocked():
    commands = command_evidence(
        [run("c1", "bash -lc 'pytest -q tests/test_a.py'", 0, "1 passed"),
         run("c2", "bash -lc 'pytest -q tests/test_b.py'", 1, "1 failed")],
        turn_id="t1", attempt=0,
    )
    result = ExecutionReport(scenarios=[
        report("S-A", "passed", ["pytest -q tests/test_a.py"]),   # proven
        report("S-B", "passed", ["pytest -q tests/test_b.py"]),   # cited command failed
        report("S-C", "passed", []),                              # cites nothing
        report("S-D", "passed", ["pytest -q tests/test_d.py"]),   # cited command never ran
        report("S-E", "failed", ["pytest -q tests/test_b.py"]),
        report("S-X", "passed", []),                              # not selected
    ])
    outcomes = judge(result, commands, ["S-A", "S-B", "S-C", "S-D", "S-E", "S-F"])
    status = {o.scenario_id: (o.status, o.reported_status) for o in outcomes}
    assert status == {
        "S-A": ("passed", "passed"), "S-B": ("blocked", "passed"), "S-C": ("blocked", "passed"),
        "S-D": ("blocked", "passed"), "S-E": ("failed", "failed"), "S-F": ("blocked", "blocked"),
    }
    by_id = {o.scenario_id: o for o in outcomes}
    assert "did not exit 0" in by_id["S-B"].blocked_reason
    assert "cites no command" in by_id["S-C"].blocked_reason
    assert "never ran" in by_id["S-D"].blocked_reason
    assert by_id["S-F"].blocked_reason == "no result reported for this scenario"
    assert by_id["S-A"].evidence_ids == [commands[0].id]
    assert commands[0].scenario_ids == ["S-A"] and commands[1].scenario_ids == ["S-B", "S-E"]


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


async def test_snapshots_diff_and_restore_without_touching_the_index(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    before = await snapshot(tmp_path)

    (tmp_path / "app.py").write_text("x = 2\n")
    (tmp_path / "new_test.py").write_text("assert True\n")
    (tmp_path / "run.log").write_text("ignored\n")
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: pull_request\n")
    (tmp_path / ".github" / "workflows" / "evil.yml").write_text("on: push\n")
    after = await snapshot(tmp_path)
    text, files = await diff(tmp_path, before, after)
    assert files == [".github/workflows/ci.yml", ".github/workflows/evil.yml", "app.py", "new_test.py"]
    assert "-x = 1\n+x = 2" in text
    assert git(tmp_path, "status", "--porcelain") .count("??") == 2  # index untouched: new files untracked

    await restore(tmp_path, before, [".github/workflows/ci.yml", ".github/workflows/evil.yml"])
    assert (tmp_path / ".github" / "workflows" / "ci.yml").read_text() == "on: push\n"
    assert not (tmp_path / ".github" / "workflows" / "evil.yml").exists()
    _, files = await diff(tmp_path, before, await snapshot(tmp_path))
    assert files == ["app.py", "new_test.py"]
    assert await diff(tmp_path, before, before) == ("", [])

    evidence = diff_evidence(text, files, turn_id="t", attempt=1, scenario_ids=["S-A"])
    assert evidence.kind == "diff" and evidence.files == files and evidence.id.startswith("ev-")
    assert diff_evidence("", [], turn_id="t", attempt=1, scenario_ids=[]) is None
