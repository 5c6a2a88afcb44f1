"""Render a source manifest: the GitHub comment (Markdown) and the terminal table of ``scenarioforge scan``.

Pure functions of their inputs. The comment carries a hidden marker so the
bot finds and edits its one manifest comment instead of posting new ones.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from bot.domain.sources import STATUS_ORDER, Reason, ScanResult, Source

MARKER = "<!-- scenarioforge:manifest -->"
COMMENT_LIMIT = 60_000  # characters; GitHub refuses issue comment bodies over 65,536
REASON_CHARS = 300  # a table cell or list item shows at most this much of a reason
NOTE_CHARS = 2_000
_MORE = "\n_… and {k} more sources, not shown to keep this comment within GitHub's size limit; they are counted in " \
        "the totals and the hash, and `scenarioforge scan` lists every one._"
_ICON = {"trusted": "🟢", "suspect": "🟡", "stale": "🔴", "excluded": "⚪"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _reason_text(reason: Reason | None) -> str:
    if reason is None:
        return ""
    evidence = f" ({'; '.join(reason.evidence[:2])})" if reason.evidence else ""
    text = f"{reason.message}{evidence}"
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def look_reason(source: Source, mark: str | None) -> str:
    """Why ``source`` needs a look, on one line: its mark for re-confirmation (``mark``, issue 13) and, when
    stale or suspect, its strongest reason; empty when it has neither."""
    scan = _reason_text(source.strongest_reason()) if source.status in ("stale", "suspect") else ""
    return "; ".join(part for part in (mark and f"marked for re-confirmation: {mark}", scan) if part)


def look_kinds(pending: Sequence[Source], marks: Mapping[str, str]) -> str:
    """``stale or suspect``, or ``stale, suspect or marked for re-confirmation`` when one of ``pending`` is marked."""
    marked = any(s.path in marks for s in pending)
    return "stale, suspect or marked for re-confirmation" if marked else "stale or suspect"


def totals(sources: Sequence[Source]) -> str:
    """``12 sources: 8 trusted, 2 suspect, 1 stale, 1 excluded; 10 selected``."""
    counts = Counter(s.status for s in sources)
    parts = ", ".join(f"{counts[status]} {status}" for status in STATUS_ORDER if counts[status])
    selected = sum(s.selected for s in sources)
    return f"{len(sources)} sources: {parts or 'none'}; {selected} selected"


def _fit(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The leading ``lines`` whose joined length (with newlines) stays within ``budget``; and how many were left out."""
    used = 0
    for i, line in enumerate(lines):
        used += len(line) + 1
        if used > budget:
            return lines[:i], len(lines) - i
    return lines, 0


def render_markdown(
    repository: str,
    commit_sha: str,
    manifest_hash: str,
    sources: Sequence[Source],
    *,
    html_base: str,
    notes: Sequence[Reason] = (),
    needs_confirmation: Sequence[Source] = (),
    marks: Mapping[str, str] | None = None,
    confirmed_by: str | None = None,
) -> str:
    """The manifest comment body, at most ``COMMENT_LIMIT`` characters.

    ``repository`` is ``owner/name``; paths link to
    ``{html_base}/{repository}/blob/{commit_sha}/{path}``. ``needs_confirmation``
    (selected stale/suspect or marked sources) adds the confirmation request unless
    ``confirmed_by`` is given; ``marks`` (``{path: reason}``, ``storage.manifests.marks_of``)
    says why a marked one needs a look (``look_reason``). GitHub refuses comment bodies over 65,536
    characters: when everything does not fit, the list of sources needing a
    look gets the room first, the table shows its top rows, and each ends with
    "… and K more"; totals and hash always cover every source.
    """
    look, marks = [] if confirmed_by else list(needs_confirmation), marks or {}
    head = [MARKER, f"### ScenarioForge sources at `{commit_sha[:12]}`", ""]
    if look:
        head += [f"These selected sources are {look_kinds(look, marks)} and need a look before generation:"]
    table = ["", "| | path | type | status | score | reason | selected |", "|---|---|---|---|---|---|---|"]
    foot = ["", f"**{totals(sources)}**", "", f"Manifest hash: `{manifest_hash}`"]
    foot += ["> " + f"{n.message} {'; '.join(n.evidence)}"[:NOTE_CHARS].rstrip().replace("\n", "\n> ") for n in notes]
    if confirmed_by:
        foot += ["", f"Confirmed by @{confirmed_by} for this manifest hash."]
    ask = ["", ("Reply `/scenarioforge confirm` to accept them, or change the selection with "
                "`/scenarioforge sources --exclude PATH…`.")] if look else []
    ask += ["", "Change the selection with `/scenarioforge sources --include PATH… --exclude PATH…` (globs allowed)."]
    budget = COMMENT_LIMIT - _size(head + table + foot + ask) - 2 * len(_MORE)
    bullets, bullets_left = _fit([f"- `{s.path}` ({s.status}): {_cell(look_reason(s, marks.get(s.path)))}"
                                  for s in look], budget)
    rows, rows_left = _fit([_row(s, repository, commit_sha, html_base) for s in sources], budget - _size(bullets))
    more = [_MORE.format(k=rows_left)] if rows_left else []
    more_bullets = [f"- … and {bullets_left} more"] if bullets_left else []
    return "\n".join(head + bullets + more_bullets + table + rows + more + foot + ask) + "\n"


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _row(s: Source, repository: str, commit_sha: str, html_base: str) -> str:
    link = f"[{_cell(s.path)}]({html_base}/{repository}/blob/{commit_sha}/{quote(s.path)})"
    return (f"| {_ICON[s.status]} | {link} | {s.type} | {s.status} | {s.score:.2f} "
            f"| {'' if s.status == 'trusted' else _cell(_reason_text(s.strongest_reason()))} "
            f"| {'☑' if s.selected else '☐'} |")


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
