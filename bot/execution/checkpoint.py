"""The execute checkpoint: what the loop knows after each finished turn, and the worktree as a patch (issues 11, 13).

After the run turn (with the bot's own verify runs), after each fix attempt
(fix turn + rerun turn), after the check turn, after the proofs and after the
docs turn (``bot.execution.docs_fix``), :mod:`bot.execution.loop` saves a
:class:`LoopState` — initial and latest outcomes, attempts, proofs, the
document revision, evidence, each turn's usage, the Codex thread, which
phase is next — and the
worktree's change since its start tree as a git binary patch
(:func:`worktree_patch`; ``storage.checkpoints`` keeps both, one row per run).

A loop given a :class:`Checkpoint` applies the patch onto the fresh worktree
(:func:`restore_worktree`: ``git apply --binary``, checked before and after)
and goes on at ``next_phase``: a finished turn is never asked again. Two
callers load one: the same run's workflow re-running its ``execute`` step
after a crash or a retry (``inherited`` False: its budget goes on), and a new
run started by ``/scenarioforge execute --resume RUN_ID`` (``inherited``
True: a fresh budget; the turns carried over were paid by RUN_ID).

Why a checkpoint that the one ``execute`` step reads back, not a DBOS step per
turn: a turn's result is more than its answer — the worktree it changed must
survive the crash, and a binary patch and the evidence are blobs that DBOS's
step outputs must not hold (ids, not blobs: ``bot.jobs.steps``); the Codex
thread spans every turn of the loop, so turn steps would still have to
re-enter it; and ``--resume`` needs the same state across runs, which a
workflow's step outputs cannot give. One table serves crash recovery and
``--resume`` alike, and the step's transient-failure retry resumes from it too.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from bot.domain.results import LoopProgress, ScenarioOutcome
from bot.errors import GitError, ScenarioForgeError
from bot.execution import evidence as ev
from bot.workspace.git import NO_DRIVERS, git, git_bytes

#: What the loop does next: fix attempt ``len(attempts) + 1`` (after the stop checks), the check turn,
#: the bot's base/fix proofs (no model turn), the docs turn for stale-spec failures, or nothing.
Phase = Literal["fix", "check", "proofs", "documents", "done"]


class LoopState(LoopProgress):
    """The execute loop after a finished turn (JSON in ``execute_checkpoints.state``): its
    :class:`~bot.domain.results.LoopProgress` so far, and these.

    ``selected``: the scenario ids the loop runs; ``start_tree`` / ``tree``: the worktree's content
    (``bot.execution.evidence.snapshot`` tree ids) when the loop started and at the checkpoint;
    ``next_phase``: what the loop does next; ``latest``: each scenario's latest outcome; ``paid_turns``: how
    many of ``turns`` (the first ones) an earlier run paid for and its budget counted; ``elapsed_s``:
    wall-clock seconds of this run's loop; ``thread_usage``: the Codex thread's token total
    (``bot.codex.turns.TokenUsage`` fields); ``last_answer``: the last turn's final message.
    """

    selected: list[str]
    start_tree: str
    tree: str = ""
    next_phase: Phase = "done"
    latest: dict[str, ScenarioOutcome]
    paid_turns: int = 0
    elapsed_s: float = 0.0
    thread_usage: dict[str, int] = Field(default_factory=dict)
    last_answer: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    """A saved :class:`LoopState`, its patch (``git diff --binary`` bytes, ``b""`` = no change), the run that
    saved it and whether the loop given it belongs to another run (``--resume``)."""

    run_id: int
    state: LoopState
    patch: bytes
    inherited: bool = False

    @property
    def paid_turns(self) -> int:
        """Turns of the state that the run continuing it does not pay for (or count against its budget)."""
        return len(self.state.turns) if self.inherited else self.state.paid_turns


async def worktree_patch(worktree: Path, start_tree: str, tree: str) -> bytes:
    """``git diff --binary --full-index`` from ``start_tree`` to ``tree`` (tree ids), raw bytes (any
    encoding, binary files included); ``b""`` when they are the same.

    Raises:
        GitError: git failed.
    """
    if start_tree == tree:
        return b""
    return await git_bytes("diff", *NO_DRIVERS, "--no-color", "--no-renames", "--binary", "--full-index",
                           start_tree, tree, cwd=worktree)


async def restore_worktree(worktree: Path, checkpoint: Checkpoint, start_tree: str) -> None:
    """Apply ``checkpoint``'s patch onto ``worktree`` (whose content is ``start_tree``) and check that the
    worktree then holds exactly the checkpoint's tree.

    Raises:
        ScenarioForgeError: type ``CheckpointMismatch`` — the worktree does not start where the checkpoint's
            loop started (another commit), the patch does not apply (git's message quoted), or the result
            differs from the checkpoint's tree.
    """
    state, run = checkpoint.state, checkpoint.run_id
    if start_tree != state.start_tree:
        raise ScenarioForgeError(
            f"the checkpoint of run {run} was taken on tree {state.start_tree[:12]}, this worktree starts at "
            f"{start_tree[:12]}: it is not the same commit, so its work cannot be applied",
            error_type="CheckpointMismatch", run_id=run)
    if not checkpoint.patch:
        return
    with tempfile.NamedTemporaryFile(prefix="sf-checkpoint-", suffix=".patch") as file:
        file.write(checkpoint.patch)
        file.flush()
        try:
            await git("apply", "--check", "--binary", file.name, cwd=worktree)
            await git("apply", "--binary", file.name, cwd=worktree)
        except GitError as exc:
            raise ScenarioForgeError(f"the worktree patch of run {run}'s checkpoint does not apply: {exc.message}",
                                     error_type="CheckpointMismatch", run_id=run) from exc
    if (now := await ev.snapshot(worktree)) != state.tree:
        raise ScenarioForgeError(
            f"the worktree after applying run {run}'s checkpoint is tree {now[:12]}, not the checkpoint's "
            f"{state.tree[:12]}", error_type="CheckpointMismatch", run_id=run)
