"""Continuing an execute loop from its checkpoint: after a crash, and with ``--resume RUN_ID`` (issues 11, 13).

The ``execute`` action hands the loop the run's own checkpoint when its
workflow re-runs the ``execute`` step (a crash, a restarted worker, a
retried transient failure), else the checkpoint of the run that
``args["resume"]`` names (:func:`checkpoint_for`), and a :func:`saver` that
stores each new one (``storage.checkpoints``).

``/scenarioforge execute --resume RUN_ID`` starts a new run that continues
RUN_ID with a fresh budget. :func:`resumed_run` decides at command time
whether it may (:func:`refusal`, one sentence per reason) and what the new run
takes over: RUN_ID's mode, scenarios, pack revision, ``--repeat`` and
``--allow-test-changes``, its head SHA, and RUN_ID as its origin run (so it
updates the same fix branch and pull request, ``bot.execution.action.origins_of``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.errors import ScenarioForgeError
from bot.execution.checkpoint import Checkpoint, LoopState
from bot.execution.loop import SaveCheckpoint
from bot.jobs.context import JobContext
from storage import checkpoints
from storage.db import Database
from storage.models import ExecuteCheckpoint, ExecutionResult, Run
from storage.runs import ACTIVE_STATES

#: Stop reasons of a run that may be resumed (a cancelled run may be too).
BUDGET_STOPS = frozenset({"token_budget", "wall_clock_budget"})


def _checkpoint(row: ExecuteCheckpoint, *, inherited: bool) -> Checkpoint:
    return Checkpoint(run_id=row.run_id, state=LoopState.model_validate(row.state), patch=row.patch,
                      inherited=inherited)


async def checkpoint_for(ctx: JobContext) -> Checkpoint | None:
    """The run's own latest checkpoint, else that of the run it resumes (``args["resume"]``), else ``None``.

    Raises:
        ScenarioForgeError: type ``NoCheckpoint`` — the resumed run has none (no turn of it finished).
    """
    async with ctx.db.session() as session:
        if (own := await checkpoints.load(session, ctx.run.id)) is not None:
            return _checkpoint(own, inherited=False)
        if (resumed := ctx.run.args.get("resume")) is None:
            return None
        row = await checkpoints.load(session, resumed)
    if row is None:
        raise ScenarioForgeError(f"run {resumed} left no checkpoint: nothing to resume", error_type="NoCheckpoint",
                                 run_id=resumed)
    return _checkpoint(row, inherited=True)


def saver(ctx: JobContext, revision: int) -> SaveCheckpoint:
    """Stores each checkpoint of the run's loop (pack ``revision``) as the run's latest one."""

    async def save(state: LoopState, patch: bytes) -> None:
        async with ctx.db.session() as session:
            await checkpoints.save(session, ctx.run.id, state=state.model_dump(mode="json"), patch=patch,
                                   next_phase=state.next_phase, turns=len(state.turns), revision=revision)

    return save


def refusal(run_id: int, target: Run | None, result: ExecutionResult | None, checkpoint: ExecuteCheckpoint | None,
            *, repository: str, issue_number: int) -> str | None:
    """Why ``--resume run_id`` may not continue ``target`` from this issue or pull request, or ``None``.

    In order: it must exist in ``repository`` (another repository's runs are not named), be an ``execute``
    run of ``issue_number``, have ended, have stopped on its token or wall-clock budget
    (``result.stop_reason``) or been cancelled, and have a checkpoint.
    """
    if target is None or target.repository != repository:
        return f"run {run_id} does not exist in {repository}"
    if target.action != "execute":
        return f"run {run_id} is a `{target.action}` run, not an `execute` run"
    if target.issue_number != issue_number:
        return f"run {run_id} belongs to #{target.issue_number}: resume it there"
    if target.state in ACTIVE_STATES:
        return f"run {run_id} is still {target.state}: wait until it stops, or cancel it first"
    stop = result.stop_reason if result is not None else None
    if target.state != "cancelled" and stop not in BUDGET_STOPS:
        why = f"its fix loop ended with `{stop}`" if stop else f"it ended {target.state}"
        return (f"run {run_id} did not stop on its token or wall-clock budget nor was it cancelled ({why}): "
                "there is nothing to resume; start a new run with `/scenarioforge execute`")
    if checkpoint is None:
        return f"run {run_id} stopped before its first turn finished: there is nothing to resume"
    return None


@dataclass(frozen=True)
class Resumed:
    """What a ``--resume`` run takes over: its ``args`` (``Run.args``) and the commit to check out."""

    args: dict[str, Any]
    head_sha: str | None


async def resumed_run(db: Database, run_id: int, *, repository: str, issue_number: int) -> Resumed | str:
    """The new run's part of ``--resume run_id`` (see the module docstring), or why it is refused (:func:`refusal`)."""
    async with db.session() as session:
        target = await session.get(Run, run_id)
        result = await session.get(ExecutionResult, run_id)
        row = await checkpoints.load(session, run_id)
    if why := refusal(run_id, target, result, row, repository=repository, issue_number=issue_number):
        return why
    assert target is not None and row is not None
    state = LoopState.model_validate(row.state)
    return Resumed(args={"mode": state.mode, "scenarios": state.selected, "revision": row.revision,
                         "repeat": target.args.get("repeat"),
                         "allow_test_changes": bool(target.args.get("allow_test_changes")),
                         "resume": run_id, "origin_run": run_id}, head_sha=target.head_sha)
