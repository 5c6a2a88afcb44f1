"""Render a source manifest: the GitHub comment (Markdown) and the terminal table of ``scenarioforge scan``.

Pure functions of their inputs. The comment carries a hidden marker so the
bot finds and edits its one manifest comment instead of posting new ones.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from urllib.parse import quote

from bot.source_model import STATUS_ORDER, Reason, ScanResult, Source

MARKER = "<!-- scenarioforge:manifest -->"
_ICON = {"trusted": "🟢", "suspect": "🟡", "stale": "🔴", "excluded": "⚪"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _reason_text(reason: Reason | None) -> str:
    if reason is None:
        return ""
    evidence = f" ({'; '.join(reason.evidence[:2])})" if reason.evidence else ""
    return f"{reason.message}{evidence}"


def totals(sources: Sequence[Source]) -> str:
    """``12 sources: 8 trusted, 2 suspect, 1 stale, 1 excluded; 10 selected``."""
    counts = Counter(s.status for s in sources)
    parts = ", ".join(f"{counts[status]} {status}" for status in STATUS_ORDER if counts[status])
    selected = sum(s.selected for s in sources)
    return f"{len(sources)} sources: {parts or 'none'}; {selected} selected"


def render_markdown(
    repository: str,
    commit_sha: str,
    manifest_hash: str,
    sources: Sequence[Source],
    *,
    html_base: str = "https://github.com",
    notes: Sequence[Reason] = (),
    needs_confirmation: Sequence[Source] = (),
    confirmed_by: str | None = None,
) -> str:
    """The manifest comment body.

    ``repository`` is ``owner/name``; paths link to
    ``{html_base}/{repository}/blob/{commit_sha}/{path}``. ``needs_confirmation``
    (selected stale/suspect sources) adds the confirmation request unless
    ``confirmed_by`` is given.
    """
    lines = [
        MARKER,
        f"### ScenarioForge sources at `{commit_sha[:12]}`",
        "",
        "| | path | type | status | score | strongest reason | selected |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in sources:
        link = f"[{_cell(s.path)}]({html_base}/{repository}/blob/{commit_sha}/{quote(s.path)})"
        lines.append(
            f"| {_ICON[s.status]} | {link} | {s.type} | {s.status} | {s.score:.2f} "
            f"| {_cell(_reason_text(s.strongest_reason()))} | {'☑' if s.selected else '☐'} |"
        )
    lines += ["", f"**{totals(sources)}**", "", f"Manifest hash: `{manifest_hash}`"]
    lines += ["> " + f"{n.message} {'; '.join(n.evidence)}".rstrip().replace("\n", "\n> ") for n in notes]
    if confirmed_by:
        lines += ["", f"Confirmed by @{confirmed_by} for this manifest hash."]
    elif needs_confirmation:
        lines += ["", "These selected sources are stale or suspect and need a look before generation:"]
        lines += [f"- `{s.path}` ({s.status}): {_cell(_reason_text(s.strongest_reason()))}" for s in needs_confirmation]
        lines += ["", "Reply `/scenarioforge confirm` to accept them, or change the selection with "
                  "`/scenarioforge sources --exclude PATH…`."]
    lines += ["", "Change the selection with `/scenarioforge sources --include PATH… --exclude PATH…` (globs allowed)."]
    return "\n".join(lines) + "\n"


def render_terminal(result: ScanResult) -> str:
    """A plain fixed-width table of ``result`` with totals, hash and notes."""
    rows = [("STATUS", "SCORE", "TYPE", "SEL", "PATH", "STRONGEST REASON")]
    rows += [(s.status, f"{s.score:.2f}", s.type, "x" if s.selected else "-", s.path, _reason_text(s.strongest_reason()))
             for s in result.sources]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    out = ["  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row)).rstrip() for row in rows]
    out += ["", f"commit: {result.commit_sha or '(none)'}", totals(result.sources), f"manifest hash: {result.manifest_hash}"]
    out += [f"note: {n.message} {'; '.join(n.evidence)}".rstrip() for n in result.notes]
    return "\n".join(out)
