"""Every text ScenarioForge writes on GitHub, as pure functions of their inputs.

Comments are GitHub-flavoured Markdown. Tracking comments carry a hidden
marker (``<!-- scenarioforge:run:{id} -->``) so they can be found again.
Phase lines show only events that really happened (seed 000 §5: "No fake
progress").
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from config.settings import Settings

if TYPE_CHECKING:
    from bot.github.authorize import Decision
    from storage.models import Run, RunEvent

USAGE: dict[str, str] = {
    "help": "/scenarioforge help",
    "status": "/scenarioforge status [--config]",
    "cancel": "/scenarioforge cancel",
    "generate": "/scenarioforge generate [--update] [--branch BRANCH] [INSTRUCTION…]",
    "execute": "/scenarioforge execute [--mode run|fix|pr|full] [--scenarios ID,…] [--revision N] [--repeat N] "
               "[--allow-test-changes] | --resume RUN_ID",
    "sources": "/scenarioforge sources [--include PATH…] [--exclude PATH…]",
    "confirm": "/scenarioforge confirm",
}

SUMMARY: dict[str, str] = {
    "help": "show this reference",
    "status": "list the latest runs and the month's spend; `--config` shows the effective config and its sources",
    "cancel": "cancel the queued and running runs of this issue or pull request",
    "generate": "build the scenario pack from the confirmed sources (`--update` revises the latest pack)",
    "execute": "run scenarios; `fix` also fixes failures, `pr` and `full` open a fix pull request; `--resume RUN_ID` "
               "continues a run stopped by its budget or cancelled",
    "sources": "show the source manifest; `--include`/`--exclude` change the selection (globs allowed)",
    "confirm": "confirm a manifest that selects stale or suspect sources",
}

LABELS: dict[str, str] = {"scenarioforge:generate": "generate", "scenarioforge:execute": "execute"}

ICONS: dict[str, str] = {
    "queued": "🕓", "running": "⏳", "passed": "✅", "complete": "✅", "failed": "❌", "blocked": "⛔",
}


def marker(run_id: int) -> str:
    """The hidden marker that identifies the tracking comment of a run."""
    return f"<!-- scenarioforge:run:{run_id} -->"


def usage(verb: str | None) -> str:
    """Usage of one verb, or of every verb when ``verb`` is ``None``."""
    lines = [USAGE[verb]] if verb else list(USAGE.values())
    return "\n".join(lines)


def _details(summary: str, body: str) -> str:
    """A folded block; the fence is longer than any backtick run in ``body`` (raw errors stay intact)."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", body)), default=0))
    return f"<details>\n<summary>{summary}</summary>\n\n{fence}\n{body}\n{fence}\n\n</details>"


def help_text(min_permission: str = Settings.model_fields["min_permission"].default) -> str:
    """The command reference posted for ``/scenarioforge help``; ``min_permission`` is
    ``Settings.min_permission``, the role a commenter needs (``bot.github.authorize``)."""
    rows = "\n".join(f"| `{USAGE[verb]}` | {SUMMARY[verb]} |" for verb in USAGE)
    labels = ", ".join(f"`{name}`" for name in LABELS)
    return (
        "### ScenarioForge commands\n\n"
        "Write one of these at the start of a line in a comment on an issue or pull request:\n\n"
        "| command | what it does |\n|---|---|\n"
        f"{rows}\n\n"
        f"The labels {labels} do the same as the command with its defaults.\n"
        f"Commands are accepted from people with `{min_permission}` permission (or higher) on the repository."
    )


def command_error(line: str, problem: str, verb: str | None) -> str:
    """Reply to an invalid command: the line quoted, the problem, the verb's usage folded away
    (the whole reference when ``verb`` is ``None``)."""
    return f"> {line}\n\n{problem}.\n\n" + _details("Usage", usage(verb))


def refused(login: str, decision: Decision) -> str:
    """Reply to an actor whose permission does not reach the minimum."""
    if decision.error is not None:
        return (
            f"@{login}, I could not check your permission on this repository "
            f"(GitHub answered: {decision.error}). Nothing was run."
        )
    return (
        f"@{login}, ScenarioForge commands need `{decision.required}` permission on this repository; "
        f"you have `{decision.permission}`. Nothing was run."
    )


def status_table(runs: Sequence[Run]) -> str:
    """The latest runs of a repository as a Markdown table (newest first).

    Requesters are written without ``@`` so that asking for the status notifies nobody.
    """
    if not runs:
        return "### ScenarioForge status\n\nNo runs yet in this repository."
    rows = "\n".join(
        f"| {run.id} | `{run.action}` | {run.state} | {run.phase} | "
        f"{'PR' if run.is_pull_request else 'issue'} #{run.issue_number} | {run.requester} | "
        f"{run.created_at:%Y-%m-%d %H:%M} UTC |"
        for run in runs
    )
    return (
        "### ScenarioForge status\n\n"
        "| run | action | state | phase | on | requested by | created |\n"
        "|---|---|---|---|---|---|---|\n" + rows
    )


def needs_review(flags: Sequence[Any]) -> str:
    """``status``'s list of the latest pack's scenarios flagged ``needs review`` (``storage.reviews``
    rows: ``scenario_id``, ``revision``, ``reasons``), or ``""`` when none is."""
    if not flags:
        return ""
    rows = "\n".join(f"- `{flag.scenario_id}`: {'; '.join(flag.reasons)}" for flag in flags)
    return (f"**{len(flags)} scenario(s) of pack revision {flags[0].revision} need review** (their sources "
            f"changed):\n{rows}")


#: Continues a run stopped by its budget or cancelled (``bot.execution.resume``).
RESUME_COMMAND = "/scenarioforge execute --resume {run_id}"


def cancelled(runs: Sequence[Run]) -> str:
    """Reply to ``cancel``: how many runs were cancelled, then each one; a cancelled ``execute`` keeps the
    turns it finished (``bot.execution.checkpoint``), so the reply names the command that continues it."""
    listed = "; ".join(f"run {run.id} (`{run.action}`, requested by @{run.requester})" for run in runs)
    resumable = [run.id for run in runs if run.action == "execute"]
    later = "".join(f" `{RESUME_COMMAND.format(run_id=run_id)}` continues run {run_id} from the last turn it "
                    "finished (nothing to continue if it finished none)." for run_id in resumable)
    return f"Cancelled {len(runs)} run{'s' if len(runs) != 1 else ''}: {listed}.{later}"


def nothing_to_cancel(issue_number: int) -> str:
    return f"Nothing to cancel: no run is queued or running on #{issue_number}."


def phase_lines(events: Iterable[RunEvent]) -> list[str]:
    """One line per phase, in the order phases started, with its latest status and message."""
    latest: dict[str, RunEvent] = {}
    for event in events:
        latest[event.phase] = event
    return [
        f"- {ICONS.get(event.status, '•')} **{event.phase}**" + (f" — {event.message}" if event.message else "")
        for event in latest.values()
    ]


def run_page(board_url: str | None, run_id: int) -> str | None:
    """The run's page on the review board (``Settings.board_url``), ``None`` without a board URL."""
    return f"{board_url}/board/runs/{run_id}" if board_url else None


def board_links(board_url: str | None, run_id: int) -> str | None:
    """One Markdown line linking the run's board page and its report, ``None`` without a board URL."""
    page = run_page(board_url, run_id)
    if page is None:
        return None
    return f"[Run page]({page}) · report: [Markdown]({page}/report.md) · [HTML]({page}/report.html) · " \
           f"[JSON]({page}/report.json)"


def tracking(run: Run, events: Iterable[RunEvent], *, note: str | None = None,
             board_url: str | None = None) -> str:
    """The tracking comment of a run: marker, header, real phases, note, raw error, and the
    links of ``board_links`` when ``board_url`` (``Settings.board_url``) is set."""
    where = f"`{run.ref}`" if run.ref else (f"`{run.head_sha[:12]}`" if run.head_sha else None)
    header = f"### ScenarioForge · `{run.action}` · run {run.id}\n\n" + (
        f"Requested by @{run.requester} · state **{run.state}**" + (f" · at {where}" if where else "")
    )
    parts = [marker(run.id), header, "\n".join(phase_lines(events))]
    if note:
        parts.append(note)
    if run.error:
        context = ", ".join(f"{key}={value}" for key, value in run.error.get("context", {}).items())
        parts.append(_details(f"Error: {run.error.get('type', 'error')}" + (f" ({context})" if context else ""),
                              run.error.get("message", "")))
    parts.append(board_links(board_url, run.id))
    return "\n\n".join(part for part in parts if part)
