"""The execute checkpoint: its state and binary patch stored and read back, applied onto a fresh worktree
(or refused clearly), and the ``--resume`` rules (issues 11, 13). Real git repositories, a real SQLite file."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.domain.results import FixAttempt, ScenarioOutcome, TurnUsage
from bot.errors import ScenarioForgeError
from bot.execution import evidence as ev
from bot.execution.checkpoint import Checkpoint, LoopState, restore_worktree, worktree_patch
from bot.execution.render import budget_stop, diff_summary
from bot.execution.resume import refusal, resumed_run
from storage import checkpoints
from storage.models import ExecuteCheckpoint, ExecutionResult, Run
from tests.execution.test_render_execution import fixed_outcome
from tests.support.target_repo import BUGGY_FILE, build_target_repo

PNG = bytes(range(256)) * 4  # not UTF-8: only a binary patch carries it


def clone(source: Path, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(target)], check=True)
    return target


def failed(sid: str) -> ScenarioOutcome:
    return ScenarioOutcome(scenario_id=sid, status="failed", reported_status="failed")


async def worked_on(worktree: Path) -> tuple[LoopState, bytes]:
    """What a loop leaves after a fix attempt: a modified, a new binary, a new executable and a deleted file."""
    start = await ev.snapshot(worktree)
    (worktree / BUGGY_FILE).write_text((worktree / BUGGY_FILE).read_text().replace("/ 1000", "/ 100"))
    (worktree / "scenarioforge").mkdir()
    (worktree / "scenarioforge" / "shot.png").write_bytes(PNG)
    script = worktree / "scenarioforge" / "run.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    (worktree / "shop" / "__init__.py").unlink()
    tree = await ev.snapshot(worktree)
    state = LoopState(mode="full", selected=["SC-001"], start_tree=start, tree=tree, next_phase="fix",
                      initial=[failed("SC-001")], latest={"SC-001": failed("SC-001")},
                      attempts=[FixAttempt(number=1, scenario_ids=["SC-001"], results=[failed("SC-001")])],
                      turns=[TurnUsage(turn_id="t1", kind="run", total_tokens=360)], thread_id="thread-1")
    return state, await worktree_patch(worktree, start, tree)


async def test_the_patch_rebuilds_the_worktree_on_a_fresh_clone_binary_and_modes_included(tmp_path):
    target = build_target_repo(tmp_path)
    state, patch = await worked_on(target.path)
    fresh = clone(target.path, tmp_path / "fresh")

    await restore_worktree(fresh, Checkpoint(run_id=7, state=state, patch=patch), await ev.snapshot(fresh))

    assert (fresh / "scenarioforge" / "shot.png").read_bytes() == PNG
    assert (fresh / "scenarioforge" / "run.sh").stat().st_mode & 0o111
    assert not (fresh / "shop" / "__init__.py").exists()
    assert "/ 100," in (fresh / BUGGY_FILE).read_text()
    assert await ev.snapshot(fresh) == state.tree


async def test_a_patch_that_does_not_apply_or_another_commit_fails_clearly(tmp_path):
    target = build_target_repo(tmp_path)
    state, patch = await worked_on(target.path)
    fresh = clone(target.path, tmp_path / "fresh")
    checkpoint = Checkpoint(run_id=7, state=state, patch=patch)

    (fresh / BUGGY_FILE).write_text("changed meanwhile\n")
    with pytest.raises(ScenarioForgeError) as moved:
        await restore_worktree(fresh, checkpoint, await ev.snapshot(fresh))
    assert moved.value.error_type == "CheckpointMismatch" and "not the same commit" in moved.value.message

    with pytest.raises(ScenarioForgeError) as refused:  # told it starts where the checkpoint did: git refuses
        await restore_worktree(fresh, checkpoint, state.start_tree)
    assert refused.value.error_type == "CheckpointMismatch"
    assert f"run 7's checkpoint does not apply: error: patch failed: {BUGGY_FILE}" in refused.value.message
    assert (fresh / BUGGY_FILE).read_text() == "changed meanwhile\n"  # nothing half-applied


async def test_the_checkpoint_round_trips_and_the_latest_one_replaces_the_earlier(database, tmp_path):
    state, patch = await worked_on(build_target_repo(tmp_path).path)
    async with database.session() as session:
        run = Run(installation_id=1, repository="octo/shop", issue_number=4, action="execute", requester="ann")
        session.add(run)
        await session.flush()
    for phase in ("fix", "check"):
        state.next_phase = phase
        async with database.session() as session:
            await checkpoints.save(session, run.id, state=state.model_dump(mode="json"), patch=patch,
                                   next_phase=phase, turns=len(state.turns), revision=2)
    async with database.session() as session:
        row = await checkpoints.load(session, run.id)
        assert await checkpoints.load(session, run.id + 1) is None
    assert (row.next_phase, row.turns, row.revision, row.patch) == ("check", 1, 2, patch)
    assert LoopState.model_validate(row.state) == state


def test_a_resumed_run_pays_for_none_of_the_turns_it_inherits_and_its_own_restart_keeps_its_count():
    state = LoopState(mode="fix", selected=["SC-001"], start_tree="a", initial=[], latest={}, paid_turns=1,
                      turns=[TurnUsage(turn_id=f"t{n}", kind="run") for n in range(3)])
    assert Checkpoint(run_id=1, state=state, patch=b"", inherited=True).paid_turns == 3
    assert Checkpoint(run_id=1, state=state, patch=b"").paid_turns == 1


# ---------------------------------------------------------------- --resume RUN_ID: who may


def run(**fields) -> Run:
    return Run(**{"id": 5, "repository": "octo/shop", "issue_number": 4, "action": "execute", "state": "failed",
                  "args": {}, **fields})


def stopped(reason: str | None) -> ExecutionResult:
    return ExecutionResult(run_id=5, mode="full", status="failed", stop_reason=reason)


ROW = ExecuteCheckpoint(run_id=5, next_phase="fix")


@pytest.mark.parametrize(("target", "result", "row", "reason"), [
    (None, None, None, "run 5 does not exist in octo/shop"),
    (run(repository="other/repo"), stopped("token_budget"), ROW, "run 5 does not exist in octo/shop"),
    (run(action="generate"), None, ROW, "run 5 is a `generate` run, not an `execute` run"),
    (run(issue_number=9), stopped("token_budget"), ROW, "run 5 belongs to #9: resume it there"),
    (run(state="running"), None, ROW, "run 5 is still running: wait until it stops, or cancel it first"),
    (run(), stopped("max_fix_attempts"), ROW,
     "run 5 did not stop on its token or wall-clock budget nor was it cancelled (its fix loop ended with "
     "`max_fix_attempts`): there is nothing to resume; start a new run with `/scenarioforge execute`"),
    (run(state="passed"), stopped(None), ROW, "run 5 did not stop on its token or wall-clock budget nor was it "
     "cancelled (it ended passed): there is nothing to resume; start a new run with `/scenarioforge execute`"),
    (run(state="cancelled"), None, None, "run 5 stopped before its first turn finished: there is nothing to resume"),
    (run(), stopped("wall_clock_budget"), ROW, None),
    (run(state="cancelled"), None, ROW, None),
])
def test_resume_is_refused_with_the_reason(target, result, row, reason):
    assert refusal(5, target, result, row, repository="octo/shop", issue_number=4) == reason


async def test_a_resume_takes_over_the_stopped_runs_mode_scenarios_revision_rigor_and_commit(database, tmp_path):
    state, patch = await worked_on(build_target_repo(tmp_path).path)
    async with database.session() as session:
        target = Run(installation_id=1, repository="octo/shop", issue_number=4, action="execute", requester="ann",
                     state="failed", head_sha="c0ffee", args={"repeat": 3, "allow_test_changes": True})
        session.add(target)
        await session.flush()
        session.add(ExecutionResult(run_id=target.id, mode="full", status="failed", stop_reason="token_budget"))
        await checkpoints.save(session, target.id, state=state.model_dump(mode="json"), patch=patch,
                               next_phase="fix", turns=1, revision=2)

    resumed = await resumed_run(database, target.id, repository="octo/shop", issue_number=4)
    assert resumed.head_sha == "c0ffee"
    assert resumed.args == {"mode": "full", "scenarios": ["SC-001"], "revision": 2, "repeat": 3,
                            "allow_test_changes": True, "resume": target.id, "origin_run": target.id}
    assert await resumed_run(database, target.id + 1, repository="octo/shop", issue_number=4) == (
        f"run {target.id + 1} does not exist in octo/shop")


# ---------------------------------------------------------------- what the stopped run's comment says


def test_a_budget_stop_lists_the_changes_and_the_exact_resume_command():
    outcome = fixed_outcome().model_copy(update={"stop_reason": "token_budget", "tokens": 1200, "duration_s": 9.4})
    text = budget_stop(outcome, 12)
    assert text.startswith(f"**Stopped by the token budget** after {len(outcome.attempts)} fix attempt(s), "
                           "1200 tokens and 9 s: the results above are the results so far; the work is kept.")
    assert text.endswith("Continue from where it stopped, with a fresh budget: `/scenarioforge execute --resume 12`")
    assert budget_stop(outcome.model_copy(update={"stop_reason": "max_fix_attempts"}), 12) == ""


def test_the_diff_summary_counts_lines_per_file_and_keeps_odd_paths_in_code_spans():
    diff = ("diff --git a/shop/cart.py b/shop/cart.py\n--- a/shop/cart.py\n+++ b/shop/cart.py\n@@ -1,2 +1,2 @@\n"
            "-    return x / 1000\n+    return x / 100\n+# checked\n"
            "diff --git a/a`b.png b/a`b.png\nnew file mode 100644\nGIT binary patch\nliteral 3\nKcmZ>\n")
    assert diff_summary(diff) == ["`shop/cart.py` (+2 −1)", "`` a`b.png `` (binary)"]
