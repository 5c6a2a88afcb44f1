"""Pure renderers of what the bot proved itself (issue 13): its own runs and the "fails before, passes after".

:func:`verification_lines` lists the bot's runs of each scenario's
``rerun_command`` (the evidence of record) beside the agent's verdict;
:func:`proof_section` is the fix PR's table of the base and fix runs
(``bot.execution.proof``) and names every scenario test that does not detect
the defect. Untrusted text (commands, reasons) goes in code spans or escaped
cells.
"""
from __future__ import annotations

from bot.domain.results import ExecutionOutcome


def code_span(text: str) -> str:
    """``text`` as one inline code span (a longer backtick fence when it holds backticks)."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def verification_lines(outcome: ExecutionOutcome) -> str:
    """``The bot's own runs …`` and one line per verified scenario of ``outcome.results``, or ``""``."""
    lines = []
    for result in outcome.results:
        check = result.verification
        if check is None:
            continue
        codes = ", ".join(str(run.exit_code) for run in check.runs)
        reason = f" ({check.agent_reason})" if check.agent_reason else ""
        agent = f"the agent's commands: {check.agent_status}{reason}"
        against = f" — **contradiction**: {check.contradiction}" if check.contradiction else ""
        lines.append(f"- **{result.scenario_id}**: {code_span(check.command)} → exit {codes} "
                     f"({check.passes}/{len(check.runs)} passed) → **{result.status}**; {agent}{against}")
    if not lines:
        return ""
    return "The bot's own runs (evidence of record; network off, in the sandbox):\n" + "\n".join(lines)


def proof_section(outcome: ExecutionOutcome) -> str:
    """The fix PR's ``## Fails before, passes after`` section, or ``""`` without proofs."""
    if not outcome.proofs:
        return ""
    base_sha = outcome.proofs[0].base_sha
    rows = ["| Scenario | Command | Base (fix reverted) | Fix | Verdict |", "|---|---|---|---|---|"]
    for proof in outcome.proofs:
        verdict = ("fails before, passes after" if proof.detects and proof.passes
                   else "**does not detect the defect**" if not proof.detects else "**does not pass with the fix**")
        rows.append(f"| {proof.scenario_id} | {code_span(proof.command).replace('|', chr(92) + '|')} "
                    f"| exit {proof.base.exit_code} (`{proof.base.evidence_id}`) "
                    f"| exit {proof.fix.exit_code} (`{proof.fix.evidence_id}`) | {verdict} |")
    blind = [proof.scenario_id for proof in outcome.proofs if not proof.detects]
    note = ("\n\n⚠️ " + ", ".join(blind) + ": the scenario test passes with and without the fix, so it "
            "does not detect the defect; review the fix by other means." if blind else "")
    return (f"## Fails before, passes after\n\nRun by the bot on the base commit `{base_sha[:12]}` with the "
            "fix's code changes reverted (the scenario tests kept), then on the fix:\n\n" + "\n".join(rows) + note)
