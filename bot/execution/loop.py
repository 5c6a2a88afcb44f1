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
   them (:mod:`bot.execution.docs_fix`); its change is kept apart from the fix.

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
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.codex.engine import Engine
from bot.codex.turns import EngineEvent, EngineThread, OnEvent, TurnResult, emit
from bot.domain.pack import ScenarioPack
from bot.domain.results import (
    Evidence,
    ExecutionOutcome,
    ExecutionReport,
    FixAttempt,
    FixReport,
    Mode,
    ResultStatus,
    ScenarioOutcome,
    TurnKind,
    TurnUsage,
    fix_schema,
    report_schema,
)
from bot.errors import Cancelled, ScenarioForgeError
from bot.execution import evidence as ev
from bot.execution.classify import block_on_environment, classify, flaky
from bot.execution.docs_fix import committed_texts, revise_documents
from bot.execution.guards import SCENARIO_DIR, fix_rule, scenario_only
from bot.execution.proof import prove
from bot.execution.prompts import PROMPT_VERSION, fix_prompt, run_prompt
from bot.execution.selection import BYPRODUCT
from bot.execution.verify import Rigor, verify

#: Modes that end in a pull request: their fix is checked against every selected scenario first.
PR_MODES: frozenset[str] = frozenset({"pr", "full"})


@dataclass(frozen=True)
class Limits:
    """Stop conditions of the fix loop; ``None`` = no limit. Tokens as Codex counts them, seconds wall-clock."""

    max_fix_attempts: int = 3
    token_budget: int | None = 2_000_000
    wall_clock_s: float | None = 3_600.0


def run_status(results: Sequence[ScenarioOutcome]) -> ResultStatus:
    """``failed`` if any scenario failed, else ``blocked`` if any is blocked or flaky, else ``passed``."""
    statuses = {result.status for result in results}
    if "failed" in statuses:
        return "failed"
    return "blocked" if statuses & {"blocked", "flaky"} or not statuses else "passed"


class _Loop:
    """State of one :func:`execute_pack` call (one thread, one worktree)."""

    def __init__(self, thread: EngineThread, worktree: Path, pack: ScenarioPack, on_event: OnEvent | None,
                 cancel: asyncio.Event | None, stale_source_ids: Collection[str], rigor: Rigor) -> None:
        self.thread, self.worktree, self.pack, self.rigor = thread, worktree, pack, rigor
        self.on_event, self.cancel, self.stale = on_event, cancel, stale_source_ids
        self.sources = {scenario.id: scenario.source_ids for _, _, scenario in pack.scenarios()}
        self.evidence: list[Evidence] = []
        self.turns: list[TurnUsage] = []
        self.codex_s = 0.0

    @property
    def tokens(self) -> int:
        """Tokens used by the loop's turns so far."""
        return sum(turn.total_tokens for turn in self.turns)

    async def event(self, phase: str, status: str, message: str, **payload: Any) -> None:
        await emit(self.on_event, EngineEvent(phase, status, message, payload))

    async def turn(self, text: str, schema: dict[str, Any], *, kind: TurnKind, attempt: int) -> TurnResult:
        """One turn, interrupted (→ :class:`Cancelled`) when ``cancel`` is set; its usage is kept in ``turns``."""
        task = asyncio.ensure_future(self.thread.turn(text, output_schema=schema, on_event=self.on_event))
        if self.cancel is not None:
            waiter = asyncio.ensure_future(self.cancel.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise Cancelled("execution cancelled during a Codex turn", thread_id=self.thread.id)
        result = await task
        self.turns.append(TurnUsage(
            turn_id=result.turn_id, kind=kind, attempt=attempt, input_tokens=result.usage.input_tokens,
            cached_input_tokens=result.usage.cached_input_tokens, output_tokens=result.usage.output_tokens,
            total_tokens=result.usage.total_tokens,
        ))
        self.codex_s += result.duration_s
        return result

    async def guarded_diff(self, before: str, *, allowed: Callable[[str], bool],
                           why: str) -> tuple[str, list[str], list[str]]:
        """The turn's change since the ``before`` tree, after reverting every path ``allowed`` refuses and
        every new symbolic link (it may point outside the worktree: the bot never writes or commits through one).
        A revert is a ``guard`` event: ``why``, then the paths. Returns ``(diff, files, reverted)``."""
        after = await ev.snapshot(self.worktree)
        diff, files = await ev.diff(self.worktree, before, after)
        links = set(await ev.new_links(self.worktree, before, after)) if files else set()
        reverted = [path for path in files if not allowed(path) or path in links]
        if links:
            why += f"; new symbolic link(s) {', '.join(sorted(links))}"
        if reverted:
            await ev.restore(self.worktree, before, reverted)
            await self.event("guard", "running", f"{why}; reverted {', '.join(reverted)}", paths=reverted)
            after = await ev.snapshot(self.worktree)
            diff, files = await ev.diff(self.worktree, before, after)
        return diff, files, reverted

    async def execute(self, ids: Sequence[str], *, attempt: int,
                      check: bool = False) -> tuple[list[ScenarioOutcome], list[str]]:
        """A run (``attempt`` 0), rerun or ``check`` turn of ``ids``: verdicts, classification, events.

        Changes outside :data:`SCENARIO_DIR` are reverted; unless they are all
        :data:`BYPRODUCT` files, every scenario of the turn is ``blocked`` ("the
        run turn edited application code: …").
        Returns the outcomes and the reverted edits (byproducts left out).
        """
        kind: Literal["run", "rerun"] = "rerun" if attempt else "run"
        for scenario_id in ids:
            await self.event("scenario", "running", f"{scenario_id} running", scenario_id=scenario_id,
                             state="running", attempt=attempt)
        before = await ev.snapshot(self.worktree)
        result = await self.turn(run_prompt(self.pack, ids, turn="check" if check else kind), report_schema(),
                                 kind=kind, attempt=attempt)
        report = result.answer(ExecutionReport)
        commands = ev.command_evidence(result.commands, turn_id=result.turn_id, attempt=attempt)
        outcomes = ev.judge(report, commands, ids)
        diff, files, reverted = await self.guarded_diff(
            before, allowed=scenario_only, why=f"the {kind} turn changed files outside {SCENARIO_DIR}")
        written = ev.diff_evidence(diff, files, turn_id=result.turn_id, attempt=attempt, scenario_ids=ids)
        self.evidence += commands + ([written] if written else [])
        edited = [path for path in reverted if not BYPRODUCT.search(path)]
        if not edited:  # the bot's own runs are the evidence of record (bot.execution.verify)
            self.evidence += await verify(self.thread, self.worktree, outcomes, attempt=attempt, rigor=self.rigor,
                                          on_event=self.on_event)
        for outcome in outcomes:
            if edited:
                outcome.status = "blocked"
                outcome.blocked_reason = (f"the {kind} turn edited application code: {', '.join(edited)} "
                                          "(reverted; its results do not hold for the code under test)")
            elif outcome.status == "failed":
                sources = self.sources[outcome.scenario_id]
                texts = await committed_texts(self.worktree, [outcome.misread.source_id] if outcome.misread else [])
                outcome.classification = classify(outcome, self.evidence, source_ids=sources,
                                                  stale_source_ids=self.stale, source_texts=texts)
                block_on_environment(outcome)
            await self.result_event(outcome, attempt)
        return outcomes, edited

    async def result_event(self, outcome: ScenarioOutcome, attempt: int) -> None:
        cause = f" ({outcome.classification.cause})" if outcome.classification else ""
        await self.event(
            "scenario", outcome.status, f"{outcome.scenario_id} {outcome.status}{cause}",
            scenario_id=outcome.scenario_id, state=outcome.status, attempt=attempt,
            evidence_ids=outcome.evidence_ids, blocked_reason=outcome.blocked_reason,
            cause=outcome.classification.cause if outcome.classification else None,
        )

    async def check(self, ids: Sequence[str], latest: dict[str, ScenarioOutcome],
                    number: int) -> tuple[list[ScenarioOutcome], list[str]]:
        """The check turn after a passing fix loop (attempt ``number``): every scenario of ``ids`` rerun.

        Returns its outcomes and the regressions: ids whose ``latest`` result
        passed and whose check did not.
        """
        await self.event("check", "running", f"rerunning all {len(ids)} scenario(s) to check for regressions",
                         attempt=number, scenario_ids=list(ids))
        outcomes, _ = await self.execute(ids, attempt=number, check=True)
        regressions = [o.scenario_id for o in outcomes
                       if latest[o.scenario_id].status == "passed" and o.status != "passed"]
        status = "failed" if regressions else "complete"
        message = (f"regression: {', '.join(regressions)} passed before and not after the fix" if regressions
                   else "no regression: every scenario that passed still passes")
        await self.event("check", status, message, attempt=number, regressions=regressions)
        return outcomes, regressions

    async def fix(self, number: int, failures: list[ScenarioOutcome]) -> FixAttempt:
        """Fix turn + rerun turn for ``failures``; the attempt with its diff, rerun outcome and evidence."""
        ids = [failure.scenario_id for failure in failures]
        await self.event("fix", "running", f"fix attempt {number}: {', '.join(ids)}", attempt=number, scenario_ids=ids)
        before = await ev.snapshot(self.worktree)
        existing = await ev.entries(self.worktree, before)
        allowed, why = fix_rule(existing, allow_test_changes=self.rigor.allow_test_changes)
        result = await self.turn(fix_prompt(self.pack, failures, self.evidence), fix_schema(), kind="fix",
                                 attempt=number)
        report = result.answer(FixReport)
        commands = ev.command_evidence(result.commands, turn_id=result.turn_id, attempt=number)
        for command in commands:
            command.scenario_ids = list(ids)
        diff, files, reverted = await self.guarded_diff(before, allowed=allowed, why=why)
        change = ev.diff_evidence(diff, files, turn_id=result.turn_id, attempt=number, scenario_ids=ids)
        self.evidence += commands + ([change] if change else [])
        await self.event("fix", "complete", f"fix attempt {number}: {len(files)} file(s) changed",
                         attempt=number, files=files, reverted=reverted, turn_id=result.turn_id)

        rerun, rerun_reverted = await self.execute(ids, attempt=number)
        before_by_id = {failure.scenario_id: failure for failure in failures}
        for outcome in rerun:
            if outcome.status == "passed" and not files:
                outcome.classification = flaky(before_by_id[outcome.scenario_id], outcome)
        attempt_evidence = [item.id for item in self.evidence if item.attempt == number]
        attempt = FixAttempt(
            number=number, scenario_ids=ids, turn_id=result.turn_id, summary=report.summary,
            residual_risk=report.residual_risk, diff=diff, reverted_paths=reverted + rerun_reverted,
            rerun_outcome=run_status(rerun), results=rerun, evidence_ids=attempt_evidence,
        )
        await self.event("fix", attempt.rerun_outcome, f"fix attempt {number}: rerun {attempt.rerun_outcome}",
                         attempt=number, rerun_outcome=attempt.rerun_outcome, evidence_ids=attempt_evidence)
        return attempt


def _fixable(results: Sequence[ScenarioOutcome]) -> list[ScenarioOutcome]:
    """Failures a code change can fix: ``code-defect`` (stale-spec → the docs turn, scenario-defect → a pack
    revision proposal, environment → not code)."""
    return [r for r in results if r.status == "failed" and r.classification and r.classification.cause == "code-defect"]


def _stop_reason(loop: _Loop, limits: Limits, started: float, number: int) -> str | None:
    if number > limits.max_fix_attempts:
        return "max_fix_attempts"
    if limits.token_budget is not None and loop.tokens >= limits.token_budget:
        return "token_budget"
    if limits.wall_clock_s is not None and time.monotonic() - started >= limits.wall_clock_s:
        return "wall_clock_budget"
    return None


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
) -> ExecutionOutcome:
    """Run the selected scenarios of ``pack`` in ``worktree``; in modes fix/pr/full, fix and rerun failures;
    in modes pr/full, check every selected scenario after a passing fix (see the module docstring).

    ``scenario_ids`` defaults to every scenario of the pack, in pack order.
    ``stale_source_ids`` are the manifest's stale sources (→ ``stale-spec``); ``rigor``
    sets the bot's runs per scenario and whether fix turns may edit tests.
    The worktree keeps the fixes as an uncommitted change; ``outcome.diff`` is
    ``git diff`` from the state it had on entry.

    Raises:
        ScenarioForgeError: ``scenario_ids`` names a scenario the pack lacks
            (error type ``UnknownScenario``).
        CodexError: a turn failed or returned output outside the schema (raw message).
        Cancelled: ``cancel`` was set during a turn (the turn is abandoned and
            the Codex process stopped).
        GitError: a git command on the worktree failed.
    """
    known = pack.scenario_ids()
    selected = list(scenario_ids) if scenario_ids else known
    unknown = [sid for sid in selected if sid not in known]
    if unknown:
        raise ScenarioForgeError(f"unknown scenario id(s): {', '.join(unknown)}", error_type="UnknownScenario")
    started = time.monotonic()
    start_tree = await ev.snapshot(worktree)
    for scenario_id in selected:
        await emit(on_event, EngineEvent("scenario", "queued", f"{scenario_id} pending",
                                         {"scenario_id": scenario_id, "state": "pending"}))
    async with engine.thread(worktree, sandbox="workspace-write") as thread:
        loop = _Loop(thread, worktree, pack, on_event, cancel, stale_source_ids, rigor)
        initial, _ = await loop.execute(selected, attempt=0)
        latest = {outcome.scenario_id: outcome for outcome in initial}
        attempts: list[FixAttempt] = []
        stop_reason = None
        if mode != "run":
            failures = _fixable(initial)
            stop_reason = None if failures else "nothing_to_fix"
            while failures and stop_reason is None:
                stop_reason = _stop_reason(loop, limits, started, len(attempts) + 1)
                if stop_reason:
                    break
                attempt = await loop.fix(len(attempts) + 1, failures)
                attempts.append(attempt)
                latest.update({outcome.scenario_id: outcome for outcome in attempt.results})
                failures = _fixable(attempt.results)
                if not failures:
                    stop_reason = "passed" if attempt.rerun_outcome == "passed" else "nothing_to_fix"
            if stop_reason:
                await loop.event("fix", "complete", f"fix loop stopped: {stop_reason}", stop_reason=stop_reason)
        check: list[ScenarioOutcome] = []
        if mode in PR_MODES and stop_reason == "passed":
            check, regressions = await loop.check(selected, latest, len(attempts))
            latest.update({outcome.scenario_id: outcome for outcome in check})
            stop_reason = "regression" if regressions else stop_reason
        proofs = []
        if mode in PR_MODES and stop_reason == "passed":  # fails before, passes after (bot.execution.proof)
            fixed = [latest[o.scenario_id] for o in initial if o.status == "failed"
                     and latest[o.scenario_id].status == "passed"]
            proofs, runs = await prove(thread, worktree, start_tree, fixed, attempt=len(attempts), rigor=rigor,
                                       on_event=on_event)
            loop.evidence += runs
            stop_reason = stop_reason if all(proof.passes for proof in proofs) else "unproven"
        documentation = None if mode == "run" else await revise_documents(loop, list(latest.values()),
                                                                          attempt=len(attempts))
        diff, _ = await ev.diff(worktree, start_tree, await ev.snapshot(worktree))
        results = [latest[sid] for sid in selected]
        outcome = ExecutionOutcome(
            mode=mode, status="failed" if stop_reason in ("regression", "unproven") else run_status(results),
            scenario_ids=selected, initial=initial, results=results, check=check, proofs=proofs,
            documentation=documentation,
            attempts=attempts, evidence=loop.evidence, diff=diff, stop_reason=stop_reason, thread_id=thread.id,
            turn_ids=[turn.turn_id for turn in loop.turns], turns=loop.turns, tokens=loop.tokens,
            duration_s=time.monotonic() - started, codex_s=loop.codex_s,
            prompt_version=PROMPT_VERSION,
        )
    await emit(on_event, EngineEvent("execute", outcome.status, f"execute {outcome.status}",
                                     {"stop_reason": stop_reason, "attempts": len(attempts), "tokens": outcome.tokens}))
    return outcome
