"""A fix proves it matters (issue 13): its scenarios fail on the base commit and pass on the fix commit.

After a passing fix loop in modes ``pr | full``, :func:`prove` reverts the
fix's code changes in the worktree (everything but the scenario tests under
``SCENARIO_DIR`` and build artefacts), has the bot run each fixed scenario's
``rerun_command`` there (the base commit with the agent's scenario tests:
they must fail, else the scenario test "does not detect the defect"), puts
the fix back and runs them again (they must pass). Both runs are command
evidence (``by="bot"``) and a :class:`~bot.domain.verification.FixProof`.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.codex.turns import EngineEvent, EngineThread, OnEvent, emit
from bot.domain.results import Evidence, ScenarioOutcome
from bot.domain.verification import BotRun, FixProof
from bot.execution import evidence as ev
from bot.execution.guards import SCENARIO_DIR
from bot.execution.selection import BYPRODUCT
from bot.execution.verify import Rigor, bot_run
from bot.workspace.git import git


async def prove(thread: EngineThread, worktree: Path, start_tree: str, fixed: Sequence[ScenarioOutcome], *,
                attempt: int, rigor: Rigor, on_event: OnEvent | None = None) -> tuple[list[FixProof], list[Evidence]]:
    """The base and fix runs of each of ``fixed`` (outcomes with a ``rerun_command``; ``start_tree`` is the
    worktree's tree on entry to the loop, ``attempt`` the last fix attempt's number). The worktree ends as it
    began, with the fix. Returns the proofs and their evidence; each proof is a ``proof`` event.

    Raises:
        CodexError: the app-server refused a command.
        GitError: a git command on the worktree failed.
    """
    fixed = [outcome for outcome in fixed if outcome.rerun_command.strip()]
    if not fixed:
        return [], []
    base_sha = (await git("rev-parse", "HEAD", cwd=worktree)).strip()
    fix_tree = await ev.snapshot(worktree)
    _, files = await ev.diff(worktree, start_tree, fix_tree)
    code = [path for path in files if not path.startswith(SCENARIO_DIR) and not BYPRODUCT.search(path)]
    runs: dict[str, list[Evidence]] = {outcome.scenario_id: [] for outcome in fixed}
    for label, tree in (("base", start_tree), ("fix", fix_tree)):
        await ev.restore(worktree, tree, code)
        for outcome in fixed:
            runs[outcome.scenario_id].append(await bot_run(
                thread, worktree, outcome.rerun_command, attempt=attempt, scenario_id=outcome.scenario_id,
                label=label, timeout_s=rigor.timeout_s))
    proofs = []
    for outcome in fixed:
        base, fix = runs[outcome.scenario_id]
        proof = FixProof(scenario_id=outcome.scenario_id, command=outcome.rerun_command, base_sha=base_sha,
                         base=BotRun(evidence_id=base.id, exit_code=base.exit_code),
                         fix=BotRun(evidence_id=fix.id, exit_code=fix.exit_code))
        proofs.append(proof)
        verdict = ("fails before, passes after" if proof.detects and proof.passes
                   else "does not detect the defect" if not proof.detects else "does not pass with the fix")
        await emit(on_event, EngineEvent(
            "proof", "complete" if proof.detects and proof.passes else "failed",
            f"{outcome.scenario_id}: {verdict} (base `{base_sha[:12]}` exit {base.exit_code}, fix exit "
            f"{fix.exit_code})", {"scenario_id": outcome.scenario_id, "evidence_ids": [base.id, fix.id]}))
    return proofs, [item for pair in runs.values() for item in pair]
