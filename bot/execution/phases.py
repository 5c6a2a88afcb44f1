"""The execute loop's turns: run / rerun / check, fix (the steps :mod:`bot.execution.loop` drives).

:class:`Turns` holds one loop's Codex thread, worktree, evidence and turn
usages. :meth:`Turns.execute` is a run, rerun or check turn (the verdicts from
the commands that really ran, :func:`bot.execution.evidence.judge`, then the
bot's own runs, :mod:`bot.execution.verify`; edits outside ``scenarioforge/``
reverted and the turn's scenarios ``blocked``); :meth:`Turns.fix` a fix turn
and its rerun (guards: :mod:`bot.execution.guards`). A loop continued from a
checkpoint (:mod:`bot.execution.checkpoint`) takes over the recorded Codex
thread at its first live turn (:func:`bot.codex.resume.take_over`).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from bot.codex.resume import take_over
from bot.codex.turns import EngineEvent, EngineThread, OnEvent, TokenUsage, TurnResult, emit
from bot.domain.pack import ScenarioPack
from bot.domain.results import (
    Evidence,
    ExecutionReport,
    FixAttempt,
    FixReport,
    ResultStatus,
    ScenarioOutcome,
    TurnKind,
    TurnUsage,
    fix_schema,
    report_schema,
)
from bot.errors import Cancelled, CodexError
from bot.execution import evidence as ev
from bot.execution.checkpoint import LoopState
from bot.execution.classify import block_on_environment, classify, flaky
from bot.execution.guards import SCENARIO_DIR, fix_rule, scenario_only
from bot.execution.prompts import fix_prompt, run_prompt
from bot.execution.selection import BYPRODUCT
from bot.execution.verify import Rigor, verify

ModelT = TypeVar("ModelT", bound=BaseModel)


def run_status(results: Sequence[ScenarioOutcome]) -> ResultStatus:
    """``failed`` if any scenario failed, else ``blocked`` if any is blocked or flaky, else ``passed``."""
    statuses = {result.status for result in results}
    if "failed" in statuses:
        return "failed"
    return "blocked" if statuses & {"blocked", "flaky"} or not statuses else "passed"


def _parse(model: type[ModelT], result: TurnResult) -> ModelT:
    """The turn's JSON answer as ``model``. Raises CodexError (type ``InvalidOutput``) when it does not fit."""
    try:
        return model.model_validate(result.parsed)
    except ValidationError as exc:
        raise CodexError(f"{model.__name__} does not match the schema: {exc}", error_type="InvalidOutput",
                         thread_id=result.thread_id, turn_id=result.turn_id) from exc


class Turns:
    """The turns of one execute loop (one thread, one worktree) and what they produced so far."""

    def __init__(self, thread: EngineThread, worktree: Path, pack: ScenarioPack, on_event: OnEvent | None,
                 cancel: asyncio.Event | None, stale_source_ids: Collection[str], rigor: Rigor) -> None:
        self.thread, self.worktree, self.pack, self.rigor = thread, worktree, pack, rigor
        self.on_event, self.cancel, self.stale = on_event, cancel, stale_source_ids
        self.sources = {scenario.id: scenario.source_ids for _, _, scenario in pack.scenarios()}
        self.evidence: list[Evidence] = []
        self.turns: list[TurnUsage] = []
        self.paid_turns = 0
        self.codex_s = 0.0
        self.last_answer: str | None = None
        self._takeover: LoopState | None = None

    def resume(self, state: LoopState, *, paid_turns: int) -> None:
        """Go on from a checkpoint's ``state``: its evidence and turns; the first live turn takes over its
        thread (``paid_turns``: how many of its turns an earlier run paid for)."""
        self.evidence, self.turns, self.codex_s = list(state.evidence), list(state.turns), state.codex_s
        self.paid_turns, self.last_answer, self._takeover = paid_turns, state.last_answer, state

    def thread_state(self) -> dict[str, Any]:
        """The thread's part of a :class:`LoopState`: its id, token total and the last answer."""
        return {"thread_id": self.thread.id, "thread_usage": asdict(self.thread.usage),
                "last_answer": self.last_answer}

    @property
    def tokens(self) -> int:
        """Tokens used by the loop's turns so far."""
        return sum(turn.total_tokens for turn in self.turns)

    @property
    def budget_tokens(self) -> int:
        """Tokens of the turns this run pays for (its token budget counts these)."""
        return sum(turn.total_tokens for turn in self.turns[self.paid_turns:])

    async def event(self, phase: str, status: str, message: str, **payload: Any) -> None:
        await emit(self.on_event, EngineEvent(phase, status, message, payload))

    async def turn(self, text: str, schema: dict[str, Any], *, kind: TurnKind, attempt: int) -> TurnResult:
        """One turn, interrupted (→ :class:`Cancelled`) when ``cancel`` is set; its usage is kept in ``turns``.
        The first one after :meth:`resume` continues the checkpoint's thread, or tells a new one what came before."""
        if (state := self._takeover) is not None:
            self._takeover = None
            text, _ = await take_over(self.thread, state.thread_id, used=TokenUsage(**state.thread_usage),
                                      first_prompt=run_prompt(self.pack, state.selected),
                                      previous_answer=state.last_answer, follow_up=text)
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
        self.last_answer = result.text
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
        report = _parse(ExecutionReport, result)
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
                outcome.classification = classify(outcome, self.evidence, source_ids=self.sources[outcome.scenario_id],
                                                  stale_source_ids=self.stale)
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
        report = _parse(FixReport, result)
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

