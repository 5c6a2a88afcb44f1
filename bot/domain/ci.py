"""A failed CI job's log, read the way GitHub Actions writes it: the failing step, its command, an excerpt.

GitHub Actions logs (``GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs``,
https://docs.github.com/rest/actions/workflow-jobs#download-job-logs-for-a-workflow-run)
prefix every line with an ISO 8601 timestamp; each step opens a group
``##[group]Run <first line>``, a ``run:`` step lists its script lines and then
``shell: …`` before ``##[endgroup]`` (a ``uses:`` step lists ``with:`` instead);
a failing step ends with ``##[error]Process completed with exit code N.``
(workflow commands, https://docs.github.com/actions/reference/workflow-commands-for-github-actions#grouping-log-lines).

:func:`read_log` finds the last group before the first such error: the failing
step's command (``None`` for a ``uses:`` step) and the output it printed. Logs
and excerpts are capped keeping the tail, where a failure is, and the cut is stated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: Characters of a job's log kept (the tail): a real log is often megabytes of set-up output.
LOG_LIMIT = 200_000
#: Characters of the failing step's output quoted in check runs, comments, PRs and prompts (the tail).
EXCERPT_LIMIT = 4_000
_STAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
_EXIT = re.compile(r"^##\[error\]Process completed with exit code (\d+)\.")
#: Commands that need the network: the sandbox has none, so they cannot be reproduced offline.
_NETWORK = re.compile(
    r"\b(?:curl|wget|docker|podman|apt(?:-get)?|brew|ssh|scp|gh)\b|"
    r"\b(?:pip3?|uv pip|poetry|npm|pnpm|yarn|gem|cargo|go)\s+(?:install|add|ci|sync|get|fetch|update)\b|"
    r"\bgit\s+(?:clone|fetch|pull|push|submodule)\b|\buv\s+sync\b")


def tail(text: str, limit: int) -> tuple[str, str | None]:
    """The last ``limit`` characters of ``text`` and what was cut (``None`` when nothing was)."""
    if len(text) <= limit:
        return text, None
    return text[-limit:], f"the first {len(text) - limit} of {len(text)} characters were cut"


@dataclass(frozen=True)
class LogReading:
    """What a job's log says: the failing step's ``command`` (``None``: not a ``run:`` step or not
    found), its ``exit_code``, the ``excerpt`` of its output (the tail, ``excerpt_cut`` says what
    was left out) and ``log_cut``, what was cut of the log before reading it."""

    command: str | None
    exit_code: int | None
    excerpt: str
    excerpt_cut: str | None
    log_cut: str | None


def read_log(log: str) -> LogReading:
    """Read a GitHub Actions job log (see the module docstring); a log without a failing
    step's error line yields its tail as the excerpt and no command."""
    log, log_cut = tail(log, LOG_LIMIT)
    lines = [_STAMP.sub("", line) for line in log.splitlines()]
    error_at = next((i for i, line in enumerate(lines) if _EXIT.match(line)), None)
    scope = lines if error_at is None else lines[:error_at]
    starts = [i for i, line in enumerate(scope) if line.startswith("##[group]Run ")]
    command = None
    if starts and error_at is not None:
        group = scope[starts[-1]:]
        end = next((i for i, line in enumerate(group) if line.startswith("##[endgroup]")), len(group))
        body = group[1:end]
        shell = next((i for i, line in enumerate(body) if line.startswith("shell: ")), None)
        if shell is not None:
            command = "\n".join(body[:shell]).strip() or group[0].removeprefix("##[group]Run ").strip()
        output = group[end + 1:]
    else:
        output = scope
    excerpt, excerpt_cut = tail("\n".join(line for line in output if not line.startswith("##[")).strip(),
                                EXCERPT_LIMIT)
    exit_code = int(_EXIT.match(lines[error_at]).group(1)) if error_at is not None else None  # type: ignore[union-attr]
    return LogReading(command, exit_code, excerpt, excerpt_cut, log_cut)


def needs_network(command: str) -> bool:
    """True when ``command`` installs, downloads or talks to a remote (:data:`_NETWORK`), so the
    network-less sandbox cannot reproduce it."""
    return bool(_NETWORK.search(command))
