"""Texts of a CI fix run: the ``ScenarioForge / CI`` check run, the tracking comment's result and the fix PR.

Every excerpt is CI or command output, i.e. untrusted text: it goes in a fenced block whose
fence is longer than any backtick run inside (``bot.sources.gate.code_block``), with what was
cut stated.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.ci import LogReading, tail
from bot.domain.cost import cost_text, total_usd
from bot.domain.results import Evidence
from bot.execution.ci_loop import CIFixOutcome
from bot.github import checks
from bot.github.ci_check import span
from bot.sources.gate import code_block

#: Characters of a sandbox run's output shown (the tail: the test summary is at the end).
RUN_EXCERPT_LIMIT = 2_000


@dataclass(frozen=True)
class FailedStep:
    """The failing step of one failed job: its job and step names, the job's page and its log reading."""

    job: str
    step: str
    url: str
    reading: LogReading

    @property
    def command(self) -> str | None:
        """The command to reproduce: the ``run:`` script's lines joined by ``&&`` (CI runs them
        with ``bash -e``, which stops at the first failing line), or ``None``."""
        if self.reading.command is None:
            return None
        lines = [line.strip() for line in self.reading.command.splitlines() if line.strip()]
        return " && ".join(lines) or None


def _cut(*statements: str | None) -> str:
    said = [s for s in statements if s]
    return f"\n\n_({'; '.join(said)}.)_" if said else ""


def before_block(step: FailedStep) -> str:
    """The failing step as CI printed it: job, step, command and the log excerpt with its cuts."""
    exit_code = f", exit {step.reading.exit_code}" if step.reading.exit_code is not None else ""
    head = f"**Before** — CI job {span(step.job)}, step {span(step.step)}{exit_code}"
    command = f"\n\n{code_block(step.command, indent='')}" if step.command else ""
    return (f"{head}{command}\n\n{code_block(step.reading.excerpt or '(empty log)', indent='')}"
            + _cut(step.reading.log_cut, step.reading.excerpt_cut))


def run_block(title: str, run: Evidence | None, *, folded: bool = False) -> str:
    """A run of the CI command recorded in the sandbox (evidence ``run.id``): exit code and the tail
    of its output (:data:`RUN_EXCERPT_LIMIT`), ``folded`` in a ``<details>`` block."""
    if run is None:
        return f"**{title}** — the command did not run with an exit code of its own."
    output, cut = tail(run.output, RUN_EXCERPT_LIMIT)
    head = f"{title} — exit {run.exit_code} (evidence `{run.id}`)"
    block = code_block(output or "(no output)", indent="") + _cut(run.output_cut, cut)
    return f"<details><summary>{head}</summary>\n\n{block}\n\n</details>" if folded else f"**{head}**\n\n{block}"


def result_text(step: FailedStep, outcome: CIFixOutcome | None, *, reason: str | None = None,
                pull: dict[str, Any] | None = None) -> str:
    """The result as Markdown: before, reproduced, after, the fix, the PR (for the comment and check run)."""
    parts = [before_block(step)]
    if outcome is not None:
        parts.append(run_block("Reproduced offline", outcome.before, folded=outcome.after is not None))
        if outcome.after is not None or outcome.report is not None:
            parts.append(run_block("After the fix", outcome.after))
        if outcome.report is not None:
            parts.append(f"Fix: {outcome.report.summary}" + (f" Changed: {', '.join(f'`{f}`' for f in outcome.files)}."
                                                               if outcome.files else ""))
        if outcome.reverted:
            parts.append(f"Reverted (never touched by a fix): {', '.join(f'`{p}`' for p in outcome.reverted)}")
    if reason:
        parts.append(f"**Stopped**: {reason}")
    if pull:
        parts.append(f"Fix PR: [#{pull['number']}]({pull['html_url']})")
    if outcome is not None and outcome.turns:
        cost = total_usd(turn.cost_usd for turn in outcome.turns)
        parts.append(f"{outcome.tokens:,} tokens over {len(outcome.turns)} Codex turn(s)" + cost_text(cost))
    return "\n\n".join(parts)


def check_output(step: FailedStep, outcome: CIFixOutcome | None, *, reason: str | None,
                 pull: dict[str, Any] | None) -> checks.Output:
    """The completed ``ScenarioForge / CI`` check run of a fix run."""
    if outcome is not None and outcome.status == "passed":
        title = f"CI failure fixed: {span(step.step)} fails before, passes after"
    elif outcome is not None and outcome.status == "failed":
        title = f"CI failure not fixed: {span(step.step)} still fails"
    else:
        title = "CI failure not reproduced: blocked"
    return checks.Output(title, result_text(step, outcome, reason=reason, pull=pull))


def pr_body(step: FailedStep, outcome: CIFixOutcome, *, workflow: str, url: str, head_sha: str, run_id: int,
            run_url: str | None, target: str, notes: Sequence[str] = ()) -> str:
    """The draft fix PR's description: which CI run, before and after, the fix, its risk."""
    link = f"run {run_id}" + (f" ([tracking comment]({run_url}))" if run_url else "")
    parts = [
        f"ScenarioForge fix for the failed CI run [{span(workflow)}]({url}) on `{head_sha[:12]}` ({target}), {link}.",
        before_block(step),
        run_block("Reproduced offline", outcome.before, folded=True),
        run_block("After the fix", outcome.after),
    ]
    if outcome.report is not None:
        parts.append(f"**What changed**: {outcome.report.summary}\n\nFiles: "
                     + ", ".join(f"`{f}`" for f in outcome.files))
        if outcome.report.residual_risk:
            parts.append(f"**Residual risk**: {outcome.report.residual_risk}")
    parts += list(notes)
    parts.append("The failing command ran in the network-less sandbox before and after the fix; the exit codes "
                 "above are those runs' own, recorded from the sandbox, not taken from the agent's answer. "
                 "Review before merging.")
    return "\n\n".join(parts)
