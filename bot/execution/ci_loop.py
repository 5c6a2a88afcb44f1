"""The CI fix loop: reproduce the failing step's command offline, fix, rerun it (issue 13).

:func:`fix_ci` drives one Codex thread (workspace-write sandbox, network off) in the
worktree checked out at the failing head SHA:

1. a **reproduce** turn runs the CI command exactly (``templates/ci_run.md``); its exit code
   is taken from the turn's own ``commandExecution`` item (``bot.execution.evidence.same_command``),
   never from the model's words. Exit 0 means the failure does not reproduce offline: the loop
   stops ``blocked``; so it does when the command never ran with an exit code of its own;
2. a **fix** turn (``templates/ci_fix.md``) sees the CI log excerpt and the reproduced output,
   both fenced as untrusted data (``bot.codex.untrusted``); its changes under
   ``.github/workflows`` are reverted and recorded;
3. a **verify** turn runs the command again: the fix holds only when that run exits 0.

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

PROMPT_VERSION = "ci-fix-v1"
INTROS = {
    "reproduce": "A CI step of this repository failed. Reproduce it offline in this checkout.",
    "verify": "The fix is in place. Run the failing CI command again to check it.",
}


@dataclass
class CIFixOutcome:
    """How the loop ended: ``status`` ``passed`` (the command fails before, passes after) |
    ``failed`` (still fails after the fix) | ``blocked`` (``reason``: not reproducible offline,
    never ran); ``before`` / ``after`` the command's own runs; the fix's ``diff``, ``files``,
    ``reverted`` paths and ``report``; the usage of each Codex turn (``turns``: reproduce = ``run``,
    fix = ``fix``, verify = ``rerun``)."""

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


def command_run(command: str, runs: list[Evidence]) -> Evidence | None:
    """The last recorded run of ``command`` whose exit code is its own (:func:`ev.same_command`)."""
    return next((item for item in reversed(runs) if item.command and item.exit_code is not None
                 and ev.same_command(command, item.command)), None)


async def _run(thread: EngineThread, outcome: CIFixOutcome, command: str, kind: str, attempt: int,
               on_event: OnEvent | None) -> Evidence | None:
    result = await thread.turn(template("ci_run").substitute(intro=INTROS[kind], command=command), on_event=on_event)
    outcome.count(result, "run" if kind == "reproduce" else "rerun", attempt)
    return command_run(command, ev.command_evidence(result.commands, turn_id=result.turn_id, attempt=attempt))


async def fix_ci(engine: Engine, *, worktree: Path, command: str, job: str, step: str, ci_log: str,
                 on_event: OnEvent | None = None) -> CIFixOutcome:
    """Reproduce, fix and verify ``command`` in ``worktree`` (see the module docstring); ``ci_log`` is
    the failing step's excerpt from CI. The fix stays in the worktree as an uncommitted change.

    Raises:
        CodexError: a turn failed or the fix turn's answer does not fit its schema.
        GitError: a git command on the worktree failed.
    """
    outcome = CIFixOutcome(status="blocked")
    async with engine.thread(worktree, sandbox="workspace-write") as thread:
        await emit(on_event, EngineEvent("reproduce", "running", f"running `{command}` offline"))
        start = await ev.snapshot(worktree)
        outcome.before = await _run(thread, outcome, command, "reproduce", 0, on_event)
        await ev.restore(worktree, start, (await ev.diff(worktree, start, await ev.snapshot(worktree)))[1])
        if outcome.before is None:
            outcome.reason = "the command never ran with an exit code of its own in the sandbox"
        elif outcome.before.exit_code == 0:
            outcome.reason = "the command passes offline here: the CI failure does not reproduce without the network"
        if outcome.reason:
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
        outcome.after = await _run(thread, outcome, command, "verify", 1, on_event)
        await ev.restore(worktree, fixed, (await ev.diff(worktree, fixed, await ev.snapshot(worktree)))[1])
    passed = outcome.after is not None and outcome.after.exit_code == 0 and bool(outcome.files)
    outcome.status = "passed" if passed else "failed"
    outcome.reason = None if passed else ("the fix changed no file" if not outcome.files else
                                          "the command still fails after the fix" if outcome.after else
                                          "the command never ran again after the fix")
    await emit(on_event, EngineEvent("verify", outcome.status, outcome.reason or
                                     f"exit {outcome.after.exit_code} after the fix"))  # type: ignore[union-attr]
    return outcome
