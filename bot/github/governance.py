"""Texts of org governance on GitHub: the effective config with its sources, spend, findings.

Pure functions. Values come from people's YAML files and findings from
repository content, so every cell is HTML-escaped inside ``<code>`` (a ``|``
cannot break the table, nor a tag or a mention leak out).
"""
from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

from config.org import DEFAULT_SOURCE, Effective


def cell(value: Any) -> str:
    """One table cell: ``value`` as JSON (strings bare) in ``<code>``, escaped, ``|`` as an entity."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "<code>" + html.escape(text).replace("|", "&#124;").replace("\n", " ") + "</code>"


def effective_config(found: Effective) -> str:
    """``/scenarioforge status --config``: every key, its value, where it came from (``default``,
    ``org file``, ``_extends base``, ``repository file``) and that file, then the errors of the
    files left out."""
    rows = "\n".join(f"| {cell(key)} | {cell(value)} | {kind} | {'' if kind == DEFAULT_SOURCE else cell(source)} |"
                     for key, value, source, kind in found.rows())
    text = ("### ScenarioForge effective config\n\n"
            "| key | value | from | file |\n|---|---|---|---|\n" + rows)
    if found.errors:
        problems = "\n".join(f"- {f'invalid {kind}: ' if kind else ''}{cell(error)}" for kind, error in found.problems())
        text += f"\n\n**Left out (invalid):**\n{problems}"
    return text


def usd(amount: float) -> str:
    """``$1.2345`` below a dollar, ``$12.34`` above."""
    return f"${amount:,.4f}" if abs(amount) < 1 else f"${amount:,.2f}"


def spend_line(repository: str, month: str, spent: float, ceiling: float | None) -> str:
    """``Month-to-date spend (2026-12) of owner/repo: $1.23 of $50.00 (2 %).``"""
    if ceiling is None:
        of = " (no ceiling)"
    elif ceiling == 0:
        of = f" of {usd(ceiling)} (every run refused)"
    else:
        of = f" of {usd(ceiling)} ({spent / ceiling:.0%})"
    return f"Month-to-date spend ({month}) of {repository}: {usd(spent)}{of}."


def findings_table(findings: Iterable[Any]) -> str:
    """Findings (``bot.domain.findings.Finding``) as a Markdown table, or ``""`` when there are none."""
    rows = [f"| {cell(f.severity)} | {cell(f.code)} | {cell(f.scope)} | {cell(f.message)} | {cell(f.suggested_fix)} |"
            for f in findings]
    if not rows:
        return ""
    return "| severity | code | scope | finding | suggested fix |\n|---|---|---|---|---|\n" + "\n".join(rows)


#: Finding severity → check-run annotation level (https://docs.github.com/rest/checks/runs#update-a-check-run).
LEVELS = {"block": "failure", "warning": "warning", "info": "notice"}


def annotations_of(findings: Iterable[Any]) -> list[dict[str, Any]]:
    """Check-run annotations (line 1) of the findings about a repository file (``metadata["path"]``)."""
    return [{"path": f.metadata["path"], "start_line": 1, "end_line": 1, "annotation_level": LEVELS[f.severity],
             "title": f"[{f.code}] {f.scope}"[:255], "message": f"{f.message}\n\nSuggested fix: {f.suggested_fix}"}
            for f in findings if f.metadata.get("path")]
