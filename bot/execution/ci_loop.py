"""The CI fix loop: reproduce the failing step's command offline, fix, rerun it (issue 13).

:func:`fix_ci` drives one Codex thread (workspace-write sandbox, network off) in the
worktree checked out at the failing head SHA:

1. **reproduce**: the bot runs the CI command itself in the thread's sandbox
   (``bot.execution.verify.bot_run``: network off, time-bounded, output capped), so the exit
   code is the command's own, never a model's words, and no turn is paid for. Exit 0 means the
   failure does not reproduce offline: the loop stops ``blocked``;
2. a **fix** turn (``templates/ci_fix.md``) sees the CI log excerpt and the reproduced output,
   both fenced as untrusted data (``bot.codex.untrusted``); its changes under
   ``.github/workflows`` are reverted and recorded;
3. **verify**: the bot runs the command again: the fix holds only when that run exits 0.

Committing, pushing and the pull request belong to the caller (``bot.execution.ci_action``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.codex.engine import Engine
from bot.codex.prompts import template
from bot.codex.turns import EngineEvent, EngineThread, OnEvent, TurnResult, emit
from bot.codex.untrusted import fence
from bot.domain.results import Evidence, FixReport, TurnKind, TurnUsage, fix_schema
from bot.execution import evidence as ev
from bot.execution.guards import PROTECTED_PREFIX
from bot.execution.verify import bot_run

PROMPT_VERSION = "ci-fix-v2"


@dataclass
class CIFixOutcome:
    """How the loop ended: ``status`` ``passed`` (the command fails before, passes after) |
    ``failed`` (still fails after the fix) | ``blocked`` (``reason``: not reproducible offline,
    never ran); ``before`` / ``after`` the command's own runs; the fix's ``diff``, ``files``,
    ``reverted`` paths and ``report``; the usage of the Codex fix turn (``turns``)."""

    status: str
    reason: str | None = None
    before: Evidence | None = None
    after: Evidence | None = None
    diff: str = ""
    files: list[str] = field(default_factory=list)
    reverted: list[str] = field(default_factory=list)
    report: FixReport | None = None
    turns: list[TurnUsage] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        """Tokens of all turns, as Codex counts them."""
        return sum(turn.total_tokens for turn in self.turns)

    def count(self, result: TurnResult, kind: TurnKind, attempt: int) -> None:
        """Keep the usage of turn ``result``."""
        usage = result.usage
        self.turns.append(TurnUsage(turn_id=result.turn_id, kind=kind, attempt=attempt,
                                    input_tokens=usage.input_tokens, cached_input_tokens=usage.cached_input_tokens,
                                    output_tokens=usage.output_tokens, total_tokens=usage.total_tokens))


async def _run(thread: EngineThread, worktree: Path, command: str, label: str, attempt: int) -> Evidence:
    """The bot's run of ``command`` in ``worktree``; what the run wrote there is undone (the fix stays)."""
    before = await ev.snapshot(worktree)
    run = await bot_run(thread, worktree, command, attempt=attempt, label=label)
    await ev.restore(worktree, before, (await ev.diff(worktree, before, await ev.snapshot(worktree)))[1])
    return run


async def fix_ci(engine: Engine, *, worktree: Path, command: str, job: str, step: str, ci_log: str,
                 on_event: OnEvent | None = None) -> CIFixOutcome:
    """Reproduce, fix and verify ``command`` in ``worktree`` (see the module docstring); ``ci_log`` is
    the failing step's excerpt from CI. The fix stays in the worktree as an uncommitted change.

    Raises:
        CodexError: the fix turn failed, its answer does not fit its schema, or the app-server
            refused a command.
        GitError: a git command on the worktree failed.
    """
    outcome = CIFixOutcome(status="blocked")
    async with engine.thread(worktree, sandbox="workspace-write") as thread:
        await emit(on_event, EngineEvent("reproduce", "running", f"running `{command}` offline"))
        start = await ev.snapshot(worktree)
        outcome.before = await _run(thread, worktree, command, "reproduce", 0)
        if outcome.before.exit_code == 0:
            outcome.reason = "the command passes offline here: the CI failure does not reproduce without the network"
            await emit(on_event, EngineEvent("reproduce", "blocked", outcome.reason))
            return outcome
        await emit(on_event, EngineEvent("reproduce", "complete",
                                         f"reproduced offline: exit {outcome.before.exit_code}, as in CI"))
        await emit(on_event, EngineEvent("fix", "running", "Codex is fixing the failure"))
        result = await thread.turn(template("ci_fix").substitute(
            job=job, step=step, command=command, exit_code=outcome.before.exit_code,
            ci_log=fence(ci_log or "(empty)", origin="the CI job's log"),
            reproduced=fence(outcome.before.output[-4000:] or "(no output)", origin="the command's output"),
        ), output_schema=fix_schema(), on_event=on_event)
        outcome.count(result, "fix", 1)
        outcome.report = FixReport.model_validate(result.parsed)
        after_tree = await ev.snapshot(worktree)
        _, files = await ev.diff(worktree, start, after_tree)
        outcome.reverted = [path for path in files if path.startswith(PROTECTED_PREFIX)]
        if outcome.reverted:
            await ev.restore(worktree, start, outcome.reverted)
            await emit(on_event, EngineEvent("guard", "running", f"the fix turn changed {PROTECTED_PREFIX}; "
                                             f"reverted {', '.join(outcome.reverted)}", {"paths": outcome.reverted}))
        fixed = await ev.snapshot(worktree)
        outcome.diff, outcome.files = await ev.diff(worktree, start, fixed)
        await emit(on_event, EngineEvent("fix", "complete", f"{len(outcome.files)} file(s) changed",
                                         {"files": outcome.files}))
        await emit(on_event, EngineEvent("verify", "running", f"running `{command}` again"))
        outcome.after = await _run(thread, worktree, command, "verify", 1)
    passed = outcome.after.exit_code == 0 and bool(outcome.files)
    outcome.status = "passed" if passed else "failed"
    outcome.reason = None if passed else ("the fix changed no file" if not outcome.files else
                                          "the command still fails after the fix")
    await emit(on_event, EngineEvent("verify", outcome.status, outcome.reason or
                                     f"exit {outcome.after.exit_code} after the fix"))
    return outcome
