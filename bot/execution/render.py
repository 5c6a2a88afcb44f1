"""Pure renderers of an execute outcome: check run, tracking comment, fix PR body, terminal.

Everything here is a function of an :class:`~bot.domain.results.ExecutionOutcome`
and plain values; no I/O (STYLE.md, "sans-I/O core"). Shapes follow the
GitHub checks API (https://docs.github.com/rest/checks/runs#update-a-check-run):
``output.title``, ``output.summary`` (≤ 65535 characters), ``output.text``,
``output.annotations`` (≤ 50 per request; ``path``, ``start_line``,
``end_line``, ``annotation_level`` ``notice | warning | failure``,
``message``, ``title``) and ``conclusion``.
"""
from __future__ import annotations

import re
from typing import Any

from bot.domain.cost import cost_text, total_usd
from bot.domain.results import DIFF_FILE, Evidence, ExecutionOutcome, ScenarioOutcome, TurnUsage, diff_paths
from bot.execution.render_proof import code_span, proof_section, verification_lines
from bot.github.messages import RESUME_COMMAND

SUMMARY_LIMIT = 65_535
ANNOTATIONS_PER_REQUEST = 50
EXCERPT_LINES = 30
DIFF_LIMIT = 20_000
#: Reruns one scenario, and only runs it (``--mode run``): a repository whose default mode is ``full``
#: would otherwise fix it and open a PR. ``bot.execution.action`` appends ``--revision N``.
RERUN_TEMPLATE = "/scenarioforge execute --mode run --scenarios {scenario_id}"
BUDGET_STOPS = {"token_budget": "token budget", "wall_clock_budget": "wall-clock budget"}
STATUS_MARK = {"passed": "✅ passed", "failed": "❌ failed", "blocked": "⛔ blocked", "flaky": "🎲 flaky"}

#: ``path/to/file.py:42`` as test runners and tracebacks print it.
LOCATION = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.[A-Za-z0-9]+):(\d+)\b")


def conclusion(outcome: ExecutionOutcome) -> str:
    """``success`` when all passed, ``neutral`` when all are blocked (nothing proven) or flaky, or the
    others passed (a flaky scenario is never a failure), else ``failure``."""
    statuses = {result.status for result in outcome.results}
    if statuses == {"passed"}:
        return "success"
    if statuses <= {"blocked", "flaky"} or statuses <= {"passed", "flaky"}:
        return "neutral"
    return "failure"


def _short(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks the cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str, limit: int = 160) -> str:
    """Text safe in one Markdown table cell."""
    return _short(text, limit).replace("|", "\\|")


def checkpoint_text(result: ScenarioOutcome) -> str:
    """The pass rate of a flaky scenario, the first failing checkpoint (expected vs observed), or ``n/n``
    passed, or the block reason."""
    if result.status == "flaky" and result.verification:
        return f"passed {result.verification.passes} of {len(result.verification.runs)} runs"
    failing = result.failing_checkpoints
    if failing:
        first = failing[0]
        more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
        return f"{first.checkpoint}: expected {first.expected}, observed {first.observed}{more}"
    if result.blocked_reason:
        return result.blocked_reason
    total = len(result.checkpoints)
    return f"{total}/{total} checkpoints" if total else (result.notes or "no checkpoints reported")


def counts(outcome: ExecutionOutcome) -> str:
    """``2 passed, 1 failed, 0 blocked`` (then ``, 1 flaky`` when one is)."""
    flaky = sum(r.status == "flaky" for r in outcome.results)
    return ", ".join(
        f"{sum(r.status == status for r in outcome.results)} {status}" for status in ("passed", "failed", "blocked")
    ) + (f", {flaky} flaky" if flaky else "")


def summary_table(outcome: ExecutionOutcome, *, rerun_template: str = RERUN_TEMPLATE) -> str:
    """Markdown table: scenario, status, checkpoint, evidence, the command to rerun just that scenario."""
    lines = ["| Scenario | Status | Checkpoint | Evidence | Rerun |", "|---|---|---|---|---|"]
    for result in outcome.results:
        evidence = ", ".join(f"`{eid}`" for eid in result.evidence_ids) or "none"
        if result.commands:
            evidence += f" ({_cell(' ; '.join(f'`{c}`' for c in result.commands), 120)})"
        cause = f" — {result.classification.cause}" if result.classification else ""
        lines.append(
            f"| {result.scenario_id} | {STATUS_MARK[result.status]}{cause} | {_cell(checkpoint_text(result))} "
            f"| {evidence} | `{rerun_template.format(scenario_id=result.scenario_id)}` |"
        )
    return "\n".join(lines)


def annotations(outcome: ExecutionOutcome, *, root: str | None = None) -> list[dict[str, Any]]:
    """Check-run annotations at the ``file:line`` a failing checkpoint names (first 50).

    Absolute paths under ``root`` become relative; other absolute or ``..``
    paths cannot be annotated in the repository and are skipped.
    """
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    prefix = root.rstrip("/") + "/" if root else None
    for result in outcome.results:
        if result.status != "failed":
            continue
        for checkpoint in result.failing_checkpoints:
            text = f"{checkpoint.observed} {checkpoint.checkpoint} {checkpoint.expected}"
            if prefix:
                text = text.replace(prefix, "")
            for match in LOCATION.finditer(text):
                path, line = match.group(1), int(match.group(2))
                if path.startswith(("/", "..")) or (path, line) in seen or line < 1:
                    continue
                seen.add((path, line))
                found.append({
                    "path": path, "start_line": line, "end_line": line, "annotation_level": "failure",
                    "title": f"{result.scenario_id}: {checkpoint.checkpoint}"[:255],
                    "message": f"expected {checkpoint.expected}\nobserved {checkpoint.observed}",
                })
    return found[:ANNOTATIONS_PER_REQUEST]


#: ``requested_action`` buttons of a completed execute check run; ``identifier`` is the mode
#: they start (label ≤ 20, description ≤ 40, identifier ≤ 20 characters, at most 3:
#: https://docs.github.com/rest/checks/runs#create-a-check-run).
FIX_ACTION = {"label": "Fix failures", "description": "Fix the failing scenarios and rerun", "identifier": "fix"}
PR_ACTION = {"label": "Open fix PR", "description": "Fix, rerun and open a draft PR", "identifier": "pr"}


def check_run_actions(outcome: ExecutionOutcome) -> list[dict[str, str]]:
    """Both buttons when a scenario failed; "Open fix PR" alone after a fix run left a change; else none."""
    if any(result.status == "failed" for result in outcome.results):
        return [FIX_ACTION, PR_ACTION]
    if outcome.mode == "fix" and outcome.attempts and outcome.diff:
        return [PR_ACTION]
    return []


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut said at its end."""
    return text if len(text) <= limit else text[: limit - 80] + f"\n\n… cut {len(text) - limit + 80} characters"


def check_run_output(
    outcome: ExecutionOutcome, *, root: str | None = None, rerun_template: str = RERUN_TEMPLATE
) -> dict[str, Any]:
    """The ``output`` object of the ``ScenarioForge / execute`` check run."""
    summary = f"**{outcome.status}** — {counts(outcome)}\n\n{summary_table(outcome, rerun_template=rerun_template)}"
    parts = (attempts_list(outcome) if outcome.attempts else "", verification_lines(outcome), proof_section(outcome))
    summary += "".join(f"\n\n{part}" for part in parts if part)
    return {
        "title": f"Scenarios {outcome.status}: {counts(outcome)}",
        "summary": cap(summary, SUMMARY_LIMIT),
        "annotations": annotations(outcome, root=root),
    }


def attempts_list(outcome: ExecutionOutcome) -> str:
    """One line per fix attempt (number, scenarios, files changed, rerun outcome), then the check of every
    scenario before a PR, if there was one."""
    lines = [f"Fix attempts ({len(outcome.attempts)}, stop: {outcome.stop_reason or 'n/a'}):"]
    for attempt in outcome.attempts:
        changed = len(diff_paths(attempt.diff))
        reverted = f", reverted {', '.join(attempt.reverted_paths)}" if attempt.reverted_paths else ""
        lines.append(
            f"- #{attempt.number} {', '.join(attempt.scenario_ids)}: {changed} file(s) changed{reverted}, "
            f"rerun {attempt.rerun_outcome}"
        )
    if outcome.check:
        found = "regression" if outcome.stop_reason == "regression" else "no regression"
        lines.append(f"- check of all {len(outcome.check)} scenario(s) after the fix: {found} "
                     f"({', '.join(f'{r.scenario_id} {r.status}' for r in outcome.check)})")
    return "\n".join(lines)


def diff_summary(diff: str) -> list[str]:
    """One line per file of a ``git diff``: ``path (+added −removed)``, or ``path (binary)``."""
    lines = []
    for part in re.split(r"^(?=diff --git )", diff, flags=re.MULTILINE):
        if not (match := DIFF_FILE.match(part)):
            continue
        body = part.split("\n@@", 1)[1] if "\n@@" in part else ""
        added = sum(line.startswith("+") for line in body.splitlines())
        removed = sum(line.startswith("-") for line in body.splitlines())
        change = "binary" if "\nGIT binary patch" in part or "\nBinary files" in part else f"+{added} −{removed}"
        lines.append(f"{code_span(match.group(1))} ({change})")
    return lines


def no_fix_pr(outcome: ExecutionOutcome) -> str:
    """Why a run of a PR mode opened no fix PR: its stop reason in words."""
    if outcome.stop_reason == "nothing_to_fix":
        return ("No fix PR: no failure here is one a code change fixes (each scenario's cause above says what "
                "it needs instead).")
    return f"No fix PR: the fix loop ended with `{outcome.stop_reason}`, not with passing reruns."


def budget_stop(outcome: ExecutionOutcome, run_id: int) -> str:
    """For a run stopped by its token or wall-clock budget: that its results so far and attempts are above,
    the files its work changed, and the exact command that continues it; ``""`` for any other stop."""
    if outcome.stop_reason not in BUDGET_STOPS:
        return ""
    files = diff_summary(outcome.diff)
    return "\n".join([
        f"**Stopped by the {BUDGET_STOPS[outcome.stop_reason]}** after {len(outcome.attempts)} fix attempt(s), "
        f"{outcome.tokens} tokens and {outcome.duration_s:.0f} s: the results above are the results so far; "
        "the work is kept.",
        f"Changes so far ({len(files)} file(s)):" if files else "Changes so far: none.",
        *(f"- {line}" for line in files),
        "",
        f"Continue from where it stopped, with a fresh budget: `{RESUME_COMMAND.format(run_id=run_id)}`",
    ])


def turn_usage(turn: TurnUsage) -> str:
    """``fix #1 turn-id: 360 tokens (input 300, cached 0, output 60) · est. $0.0010``: one turn's usage."""
    attempt = f" #{turn.attempt}" if turn.attempt else ""
    return (f"{turn.kind}{attempt} {turn.turn_id}: {turn.total_tokens} tokens "
            f"(input {turn.input_tokens}, cached {turn.cached_input_tokens}, output {turn.output_tokens})"
            + cost_text(turn.cost_usd))


def comment_section(
    outcome: ExecutionOutcome, *, check_run_url: str | None = None, pr_url: str | None = None,
    rerun_template: str = RERUN_TEMPLATE,
) -> str:
    """The result part of the tracking comment: table, links, duration and token usage (total, per turn)."""
    links = [f"[check run]({check_run_url})" if check_run_url else "", f"[fix PR]({pr_url})" if pr_url else ""]
    links_line = " · ".join(link for link in links if link)
    parts = [
        f"**Execute {outcome.status}** ({outcome.mode}) — {counts(outcome)}",
        summary_table(outcome, rerun_template=rerun_template),
    ]
    if outcome.attempts:
        parts.append(attempts_list(outcome))
    if verified := verification_lines(outcome):
        parts.append(verified)
    parts.append(
        (links_line + "\n" if links_line else "")
        + f"Duration {outcome.duration_s:.1f} s · {outcome.tokens} tokens · {len(outcome.turn_ids)} turn(s)"
        + cost_text(total_usd(turn.cost_usd for turn in outcome.turns))
        + "".join(f"\n- {turn_usage(turn)}" for turn in outcome.turns)
    )
    return "\n\n".join(parts)


def _excerpt(evidence: Evidence) -> str:
    """The last lines of a command's output, in a fenced block with its command and exit code."""
    lines = evidence.output.rstrip().splitlines()[-EXCERPT_LINES:]
    cut = f" (last {len(lines)} lines)" if len(evidence.output.splitlines()) > EXCERPT_LINES else ""
    by = " (run by the bot)" if evidence.by == "bot" else ""
    return (f"`{evidence.command}` → exit {evidence.exit_code}{by}, `{evidence.id}`{cut}\n"
            "```text\n" + "\n".join(lines) + "\n```")


def _evidence_excerpts(result: ScenarioOutcome, index: dict[str, Evidence]) -> str:
    items = [index[eid] for eid in result.evidence_ids if eid in index and index[eid].kind == "command"]
    return "\n\n".join(_excerpt(item) for item in items) or "_no command evidence_"


def pr_body(
    outcome: ExecutionOutcome, *, run_id: int | str, manifest_hash: str | None, pack_revision: int | None,
    run_url: str | None = None,
) -> str:
    """The fix PR body (backlog SF-5003): scenario ids, failure cause, code changes,
    rerun evidence before and after, residual risk, manifest hash and pack revision."""
    index = {item.id: item for item in outcome.evidence}
    before = {result.scenario_id: result for result in outcome.initial}
    fixed = [sid for sid in outcome.scenario_ids if sid in before and before[sid].status == "failed"]
    after = {result.scenario_id: result for result in outcome.results}
    run_ref = f"[run {run_id}]({run_url})" if run_url else f"run {run_id}"
    parts = [
        f"ScenarioForge fix from {run_ref}.",
        "## Scenarios\n\n" + "\n".join(
            f"- **{sid}**: {before[sid].status} → {after[sid].status if sid in after else 'not rerun'}"
            for sid in fixed
        ),
        "## Failure cause\n\n" + "\n\n".join(
            f"**{sid}** — {before[sid].classification.cause if before[sid].classification else 'unclassified'}: "
            + checkpoint_text(before[sid])
            for sid in fixed
        ),
    ]
    parts += [proof_section(outcome)] if outcome.proofs else []
    summaries = "\n".join(
        f"- attempt {attempt.number}: {attempt.summary or 'no summary'}"
        + (f" (reverted {', '.join(attempt.reverted_paths)})" if attempt.reverted_paths else "")
        for attempt in outcome.attempts
    )
    files = "\n".join(f"- `{path}`" for path in diff_paths(outcome.diff))
    parts.append(f"## Code changes\n\n{summaries}\n\nFiles:\n{files}\n\n```diff\n{cap(outcome.diff, DIFF_LIMIT)}\n```")
    evidence = []
    for sid in fixed:
        evidence.append(f"### {sid}\n\n**Before**\n\n{_evidence_excerpts(before[sid], index)}")
        if sid in after:
            evidence.append(f"**After**\n\n{_evidence_excerpts(after[sid], index)}")
    parts.append("## Rerun evidence\n\n" + "\n\n".join(evidence))
    risks = [attempt.residual_risk for attempt in outcome.attempts if attempt.residual_risk]
    still = [f"{r.scenario_id} is still {r.status}" for r in outcome.results if r.status != "passed"]
    parts.append("## Residual risk\n\n" + ("\n".join(f"- {item}" for item in risks + still) or "- none reported"))
    parts.append(
        "## Audit\n\n"
        f"- manifest hash: `{manifest_hash or 'unknown'}`\n- pack revision: {pack_revision or 'unknown'}\n"
        f"- fix attempts: {len(outcome.attempts)} (stop: {outcome.stop_reason or 'n/a'})\n"
        f"- Codex thread: `{outcome.thread_id or 'n/a'}`, turns: {', '.join(f'`{t}`' for t in outcome.turn_ids)}\n"
        f"- prompt version: `{outcome.prompt_version}`"
    )
    return "\n\n".join(parts)


def terminal_table(outcome: ExecutionOutcome) -> str:
    """A plain-text results table for the local mode's terminal, then the totals and each turn's tokens."""
    header = ("SCENARIO", "STATUS", "CAUSE", "CHECKPOINT", "EVIDENCE", "RERUN")
    body = [
        (r.scenario_id, r.status, r.classification.cause if r.classification else "",
         _short(checkpoint_text(r), 70), ",".join(r.evidence_ids) or "-", r.rerun_command or "-")
        for r in outcome.results
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *body]]
    lines.append(f"\n{outcome.status.upper()}: {counts(outcome)}; {len(outcome.attempts)} fix attempt(s); "
                 f"{outcome.tokens} tokens; {outcome.duration_s:.1f} s")
    lines += [f"  {turn_usage(turn)}" for turn in outcome.turns]
    return "\n".join(lines)

