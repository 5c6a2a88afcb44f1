"""The execute loop: run scenarios, classify failures, fix, rerun (seed 000 §4.2; SF-4001, SF-5001, SF-5002).

:func:`execute_pack` drives one Codex thread (workspace-write sandbox, network
off) in a worktree:

1. a **run** turn executes the selected scenarios and reports per-scenario
   results through ``outputSchema`` (:func:`bot.domain.results.report_schema`); the
   verdicts come from the commands that really ran (:func:`bot.execution.evidence.judge`);
   failures are classified (:mod:`bot.execution.classify`). Run and rerun turns may only
   write scenario tests and scripts under ``scenarioforge/``: any other change
   is reverted and recorded, and the scenarios of that turn become
   ``blocked`` (their verdict was reached against edited application code).
   Otherwise the bot runs each scenario's ``rerun_command`` itself, ``repeat``
   times, and that is the verdict of record (:mod:`bot.execution.verify`:
   ``passed | failed | flaky``);
2. modes ``fix | pr | full``: a **fix** turn in the same thread for the
   failing ``code-defect`` scenarios, the diff taken from git (anything under
   ``.github/workflows``, and edits of existing tests or scenario tests unless
   ``allow_test_changes``, reverted and recorded: :mod:`bot.execution.guards`),
   then a **rerun** turn of those
   scenarios; repeated until they pass or a stop condition is met
   (``max_fix_attempts``, token budget, wall-clock budget);
3. modes ``pr | full``, when the fixed scenarios pass: a **check** turn reruns
   every selected scenario once, so that a fix breaking a scenario that passed
   before is seen; a scenario that passed and no longer does ends the loop
   with stop reason ``regression`` and the outcome ``failed`` (no PR); then
   the bot runs the fixed scenarios on the base commit and on the fix
   (:mod:`bot.execution.proof`); one that does not pass with the fix ends the
   loop with stop reason ``unproven`` and the outcome ``failed`` (no PR);
4. modes ``fix | pr | full``: a **docs** turn in the same thread edits the
   stale documents of the ``stale-spec`` failures to match the code, and only
   them (:mod:`bot.execution.docs_fix`); its change is kept apart from the fix
   (not checkpointed: a resumed loop asks it again).

After each finished turn (the run turn, each fix attempt, the check turn) the
loop hands ``save`` a checkpoint (:mod:`bot.execution.checkpoint`: what it
knows and the worktree as a binary patch); given ``resume``, it applies that
patch and goes on at the checkpoint's next phase, so a crash, a retry or
``--resume`` never asks a finished turn again. The turns themselves are
:mod:`bot.execution.phases`.

Committing, pushing and the PR belong to the caller (the bot holds the
credentials, never the agent); the returned :class:`ExecutionOutcome` carries
the final diff, the attempts, the before/after evidence and the documents' change. Every scenario
state change (``pending → running → passed | failed | blocked``) is an event.

The local mode (``scenarioforge execute --repo PATH --pack FILE``) is
:mod:`bot.execution.local`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.codex.engine import Engine
from bot.codex.turns import EngineEvent, OnEvent, emit
from bot.domain.pack import ScenarioPack
from bot.domain.results import ExecutionOutcome, Mode, ScenarioOutcome
from bot.errors import ScenarioForgeError
from bot.execution import evidence as ev
from bot.execution.checkpoint import Checkpoint, LoopState, Phase, restore_worktree, worktree_patch
from bot.execution.docs_fix import revise_documents
from bot.execution.phases import Turns, run_status
from bot.execution.proof import prove
from bot.execution.prompts import PROMPT_VERSION
from bot.execution.verify import Rigor

#: Modes that end in a pull request: their fix is checked against every selected scenario first.
PR_MODES: frozenset[str] = frozenset({"pr", "full"})
#: Receives each checkpoint: the loop's state and the worktree's binary patch since the loop started.
SaveCheckpoint = Callable[[LoopState, bytes], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    """Stop conditions of the fix loop; ``None`` = no limit. Tokens as Codex counts them, seconds wall-clock;
    both count this run's own turns and time (a ``--resume`` run starts with a fresh budget)."""

    max_fix_attempts: int = 3
    token_budget: int | None = 2_000_000
    wall_clock_s: float | None = 3_600.0


def _fixable(results: Sequence[ScenarioOutcome]) -> list[ScenarioOutcome]:
    """Failures a code change can fix: ``code-defect`` (stale-spec → the docs turn, scenario-defect → a pack
    revision proposal, environment → not code)."""
    return [r for r in results if r.status == "failed" and r.classification and r.classification.cause == "code-defect"]


def _stop_reason(turns: Turns, limits: Limits, started: float, number: int) -> str | None:
    if number > limits.max_fix_attempts:
        return "max_fix_attempts"
    if limits.token_budget is not None and turns.budget_tokens >= limits.token_budget:
        return "token_budget"
    if limits.wall_clock_s is not None and time.monotonic() - started >= limits.wall_clock_s:
        return "wall_clock_budget"
    return None


def _selected(pack: ScenarioPack, scenario_ids: Sequence[str] | None) -> list[str]:
    known = pack.scenario_ids()
    selected = list(scenario_ids) if scenario_ids else known
    unknown = [sid for sid in selected if sid not in known]
    if unknown:
        raise ScenarioForgeError(f"unknown scenario id(s): {', '.join(unknown)}", error_type="UnknownScenario")
    return selected


def _after_run(mode: Mode, initial: Sequence[ScenarioOutcome]) -> tuple[Phase, str | None]:
    """The phase after the run turn and the stop reason it decides (``nothing_to_fix``), if any."""
    if mode == "run":
        return "done", None
    return ("fix", None) if _fixable(initial) else ("documents", "nothing_to_fix")


async def execute_pack(
    engine: Engine,
    *,
    worktree: Path,
    pack: ScenarioPack,
    scenario_ids: Sequence[str] | None = None,
    mode: Mode = "run",
    limits: Limits = Limits(),
    rigor: Rigor = Rigor(),
    stale_source_ids: Collection[str] = frozenset(),
    on_event: OnEvent | None = None,
    cancel: asyncio.Event | None = None,
    resume: Checkpoint | None = None,
    save: SaveCheckpoint | None = None,
) -> ExecutionOutcome:
    """Run the selected scenarios of ``pack`` in ``worktree``; in modes fix/pr/full, fix and rerun failures;
    in modes pr/full, check every selected scenario after a passing fix (see the module docstring).

    ``scenario_ids`` defaults to every scenario of the pack, in pack order.
    ``stale_source_ids`` are the manifest's stale sources (→ ``stale-spec``); ``rigor``
    sets the bot's runs per scenario and whether fix turns may edit tests.
    The worktree keeps the fixes as an uncommitted change; ``outcome.diff`` is
    ``git diff`` from the state it had on entry. ``save`` receives a checkpoint
    after each finished turn; with ``resume`` the loop continues that checkpoint
    (its mode and scenarios, not ``mode`` and ``scenario_ids``).

    Raises:
        ScenarioForgeError: ``scenario_ids`` names a scenario the pack lacks
            (error type ``UnknownScenario``); ``resume`` does not apply to the
            worktree (type ``CheckpointMismatch``).
        CodexError: a turn failed or returned output outside the schema (raw message).
        Cancelled: ``cancel`` was set during a turn (the turn is abandoned and
            the Codex process stopped).
        GitError: a git command on the worktree failed.
    """
    selected = resume.state.selected if resume else _selected(pack, scenario_ids)
    mode = resume.state.mode if resume else mode
    started = time.monotonic() - (resume.state.elapsed_s if resume and not resume.inherited else 0.0)
    start_tree = await ev.snapshot(worktree)
    if resume is not None:
        await restore_worktree(worktree, resume, start_tree)
        whose = f"run {resume.run_id}'s" if resume.inherited else "this run's"
        await emit(on_event, EngineEvent(
            "checkpoint", "complete", f"continuing from {whose} checkpoint after {len(resume.state.turns)} "
            f"finished turn(s): next `{resume.state.next_phase}`",
            {"run_id": resume.run_id, "next_phase": resume.state.next_phase, "turns": len(resume.state.turns)}))
    for scenario_id in () if resume else selected:
        await emit(on_event, EngineEvent("scenario", "queued", f"{scenario_id} pending",
                                         {"scenario_id": scenario_id, "state": "pending"}))
    async with engine.thread(worktree, sandbox="workspace-write") as thread:
        turns = Turns(thread, worktree, pack, on_event, cancel, stale_source_ids, rigor)

        async def keep(state: LoopState) -> None:
            if save is None:
                return
            tree = await ev.snapshot(worktree)
            await save(state.model_copy(update={
                "tree": tree, "evidence": list(turns.evidence), "turns": list(turns.turns),
                "paid_turns": turns.paid_turns, "codex_s": turns.codex_s, "elapsed_s": time.monotonic() - started,
                **turns.thread_state()}, deep=True), await worktree_patch(worktree, start_tree, tree))

        if resume is not None:
            turns.resume(resume.state, paid_turns=resume.paid_turns)
            state = resume.state.model_copy(deep=True)
        else:
            initial, _ = await turns.execute(selected, attempt=0)
            phase, stop = _after_run(mode, initial)
            state = LoopState(mode=mode, selected=selected, start_tree=start_tree, initial=initial,
                              latest={outcome.scenario_id: outcome for outcome in initial}, next_phase=phase,
                              stop_reason=stop)
            await keep(state)
        while state.next_phase == "fix":
            number = len(state.attempts) + 1
            if stop := _stop_reason(turns, limits, started, number):  # not saved: --resume goes on from here
                # a budget stop spends no more turns (the documents wait for --resume); max_fix_attempts goes on
                state.stop_reason, state.next_phase = stop, "documents" if stop == "max_fix_attempts" else "done"
                break
            attempt = await turns.fix(number, _fixable(state.attempts[-1].results if state.attempts else state.initial))
            state.attempts.append(attempt)
            state.latest.update({outcome.scenario_id: outcome for outcome in attempt.results})
            if not _fixable(attempt.results):
                state.stop_reason = "passed" if attempt.rerun_outcome == "passed" else "nothing_to_fix"
                state.next_phase = "check" if mode in PR_MODES and state.stop_reason == "passed" else "documents"
            await keep(state)
        if mode != "run" and state.stop_reason:
            await turns.event("fix", "complete", f"fix loop stopped: {state.stop_reason}",
                              stop_reason=state.stop_reason)
        if state.next_phase == "check":
            state.check, regressions = await turns.check(selected, state.latest, len(state.attempts))
            state.latest.update({outcome.scenario_id: outcome for outcome in state.check})
            state.stop_reason = "regression" if regressions else state.stop_reason
            state.next_phase = "documents" if regressions else "proofs"
            await keep(state)
        if state.next_phase == "proofs":  # fails before, passes after (bot.execution.proof)
            fixed = [state.latest[o.scenario_id] for o in state.initial if o.status == "failed"
                     and state.latest[o.scenario_id].status == "passed"]
            state.proofs, runs = await prove(thread, worktree, start_tree, fixed, attempt=len(state.attempts),
                                             rigor=rigor, on_event=on_event)
            turns.evidence += runs
            state.stop_reason = state.stop_reason if all(proof.passes for proof in state.proofs) else "unproven"
            state.next_phase = "documents"
            await keep(state)
        if state.next_phase == "documents":  # stale-spec failures: their documents revised (bot.execution.docs_fix)
            state.documentation = await revise_documents(turns, list(state.latest.values()),
                                                         attempt=len(state.attempts))
            state.next_phase = "done"
            await keep(state)
        diff, _ = await ev.diff(worktree, start_tree, await ev.snapshot(worktree))
        results = [state.latest[sid] for sid in selected]
        stop_reason = state.stop_reason
        outcome = ExecutionOutcome(
            mode=mode, status="failed" if stop_reason in ("regression", "unproven") else run_status(results),
            scenario_ids=selected, initial=state.initial, results=results, check=state.check, proofs=state.proofs,
            documentation=state.documentation,
            attempts=state.attempts, evidence=turns.evidence, diff=diff, stop_reason=stop_reason,
            thread_id=thread.id, turn_ids=[turn.turn_id for turn in turns.turns], turns=turns.turns,
            tokens=turns.tokens, duration_s=time.monotonic() - started, codex_s=turns.codex_s,
            prompt_version=PROMPT_VERSION,
        )
    await emit(on_event, EngineEvent("execute", outcome.status, f"execute {outcome.status}",
                                     {"stop_reason": stop_reason, "attempts": len(state.attempts),
                                      "tokens": outcome.tokens}))
    return outcome
