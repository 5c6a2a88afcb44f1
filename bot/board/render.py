"""Templates and filters of the board and the HTML report (Jinja2, autoescape on).

Untrusted text reaches HTML only escaped: templates autoescape, and the
``markdown`` filter renders with markdown-it-py in CommonMark mode with raw HTML
off (a ``<script>`` stays text) and passes the result through nh3's sanitizer
(https://nh3.readthedocs.io) before it is marked safe.
"""
from __future__ import annotations

import functools
import json
from typing import Any

import jinja2
import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

LOADER = jinja2.PackageLoader("bot.board", "templates")
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

#: Text labels for status colours (never colour alone).
LABELS = {
    "queued": "queued", "running": "running", "passed": "passed", "complete": "complete",
    "failed": "failed", "blocked": "blocked", "cancelled": "cancelled",
}


def markdown(text: str | None) -> Markup:
    """``text`` (Markdown, untrusted) as sanitized HTML."""
    return Markup(nh3.clean(_MARKDOWN.render(text or "")))


def diff_lines(diff: str | None) -> list[tuple[str, str]]:
    """``(css class, line)`` per line of a unified diff: ``add``, ``del``, ``hunk``, ``file`` or ``ctx``."""
    lines = []
    for line in (diff or "").splitlines():
        if line.startswith(("diff --git", "+++", "---", "index ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append((kind, line))
    return lines


def seconds(value: float | None) -> str:
    """``73.2`` → ``1 min 13 s``; ``None`` → ``-``."""
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(round(value)), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def as_json(value: Any) -> str:
    """A config value as its file would write it: strings bare, anything else JSON (escaped later)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def usd(value: float | None) -> str:
    """An estimated cost: ``US$ 0.0123``; ``None`` (the model has no price) → ``-``."""
    return "-" if value is None else f"US$ {value:,.4f}"


def status_label(status: str | None) -> str:
    return LABELS.get(status or "", status or "unknown")


FILTERS: dict[str, Any] = {
    "markdown": markdown, "diff_lines": diff_lines, "seconds": seconds, "status_label": status_label,
    "usd": usd, "as_json": as_json,
}


@functools.cache
def environment() -> jinja2.Environment:
    """The Environment used outside a request (the report export), same loader and filters as the board."""
    env = jinja2.Environment(loader=LOADER, autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    return env
