"""The bot verifies, it does not only record (issue 13): its own runs of each scenario's ``rerun_command``.

After every run, rerun and check turn, the bot runs each reported scenario's
``rerun_command`` itself in the thread's sandbox (``EngineThread.run_command``:
``bash -o pipefail``, network off, time-bounded, output capped) ``repeat`` times
(``execute --repeat N``, repository config ``execute.repeat``) and records
each run as a command :class:`~bot.domain.results.Evidence` with ``by="bot"``.
Those runs are the evidence of record (:func:`settle`): all exit 0 →
``passed``, none → ``failed``, mixed → ``flaky`` with its pass rate (never
fixed). An agent's claim that the bot's runs contradict is kept beside them
(``verification.contradiction``), and the bot's result wins; a pass whose
exit code the agent hid in a pipe (``pytest -q 2>&1 | tail -20``) is settled
by the bot's own run instead of staying ``blocked``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.codex.turns import EngineEvent, EngineThread, OnEvent, emit
from bot.domain.results import Classification, Evidence, ScenarioOutcome
from bot.domain.verification import BotRun, Verification
from bot.execution import evidence as ev

#: Seconds one bot run of a ``rerun_command`` may take before it is killed (exit 124).
RUN_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Rigor:
    """How hard the loop checks: ``repeat`` bot runs per scenario and turn (1–20), whether a fix turn
    may edit existing tests and scenario tests (``--allow-test-changes``), seconds per bot run."""

    repeat: int = 1
    allow_test_changes: bool = False
    timeout_s: float = RUN_TIMEOUT_S


async def bot_run(thread: EngineThread, worktree: Path, command: str, *, attempt: int, label: str,
                  scenario_id: str | None = None, index: int = 0, timeout_s: float = RUN_TIMEOUT_S) -> Evidence:
    """Run ``command`` in ``worktree`` as the bot; its command evidence (``by="bot"``, output capped, the cut
    stated), naming ``scenario_id`` when it ran for one. ``label`` (``verify``, ``base``, ``fix``,
    ``reproduce``) and ``index`` keep the ids of equal runs apart."""
    run = await thread.run_command(command, cwd=worktree, timeout_s=timeout_s, output_cap=ev.OUTPUT_LIMIT)
    output, cut = ev.cap_output(run.output)
    content = {"by": "bot", "label": label, "index": index, "attempt": attempt, "scenario": scenario_id,
               "command": command, "exit_code": run.exit_code, "output": run.output}
    return Evidence(id=ev.evidence_id(content), kind="command", by="bot", attempt=attempt, command=command,
                    cwd=run.cwd, exit_code=run.exit_code, duration_ms=run.duration_ms, output=output,
                    output_cut=cut, scenario_ids=[scenario_id] if scenario_id else [])


def settle(outcome: ScenarioOutcome, runs: Sequence[Evidence]) -> None:
    """Make the bot's ``runs`` of ``outcome.rerun_command`` its verdict, in place (see the module docstring).

    The agent's verdict and why it was blocked stay in ``outcome.verification``;
    a ``passed`` or ``failed`` claim the runs disagree with is its ``contradiction``.
    """
    record = [BotRun(evidence_id=run.id, exit_code=run.exit_code) for run in runs]
    passes = sum(run.exit_code == 0 for run in runs)
    status = "passed" if passes == len(runs) else "failed" if passes == 0 else "flaky"
    codes = ", ".join(str(run.exit_code) for run in runs)
    contradiction = None
    if outcome.reported_status in ("passed", "failed") and outcome.reported_status != status:
        contradiction = (f"the agent reported {outcome.reported_status}; the bot's run of "
                         f"`{outcome.rerun_command}` exited {codes}")
    outcome.verification = Verification(command=outcome.rerun_command, runs=record, agent_status=outcome.status,
                                        agent_reason=outcome.blocked_reason, contradiction=contradiction)
    outcome.status = status
    outcome.blocked_reason = None
    outcome.evidence_ids += [run.id for run in runs]
    if status == "flaky":
        outcome.classification = Classification(
            cause="flaky", action="make the scenario deterministic (no fix is attempted)",
            reason=f"passed {passes} of {len(runs)} runs by the bot (exit codes {codes})",
            evidence_ids=[run.id for run in runs])


async def verify(thread: EngineThread, worktree: Path, outcomes: Sequence[ScenarioOutcome], *, attempt: int,
                 rigor: Rigor, on_event: OnEvent | None = None) -> list[Evidence]:
    """The bot's ``rigor.repeat`` runs of each outcome's ``rerun_command`` (outcomes without one are left
    as they are), each outcome settled (:func:`settle`) and announced as a ``verify`` event.

    Returns the runs' evidence in order.

    Raises:
        CodexError: the app-server refused a command.
    """
    evidence: list[Evidence] = []
    for outcome in outcomes:
        if not outcome.rerun_command.strip():
            continue
        runs = [await bot_run(thread, worktree, outcome.rerun_command, attempt=attempt, label="verify",
                              scenario_id=outcome.scenario_id, index=index, timeout_s=rigor.timeout_s)
                for index in range(rigor.repeat)]
        settle(outcome, runs)
        evidence += runs
        assert outcome.verification is not None
        against = f"; {outcome.verification.contradiction}" if outcome.verification.contradiction else ""
        await emit(on_event, EngineEvent(
            "verify", "failed" if outcome.status == "failed" else "complete",
            f"{outcome.scenario_id}: the bot's run of `{outcome.rerun_command}` → {outcome.status} "
            f"({outcome.verification.passes}/{len(runs)} exit 0){against}",
            {"scenario_id": outcome.scenario_id, "state": outcome.status, "evidence_ids": [r.id for r in runs],
             "contradiction": outcome.verification.contradiction}))
    return evidence
