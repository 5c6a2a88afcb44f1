"""What a document claims about the code: referenced paths, identifiers, routes, settings, lifecycle.

Pure text analysis (issue 3, "drift", "lifecycle markers", "contradiction
hints"). Paths come from Markdown/reST links and backticks; identifiers from
backticks; routes from ``METHOD /path`` mentions (with any status codes on
the same line); settings from ``KEY = value`` lines and "X defaults to N".
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from bot.discovery import DOC_FORMATS, extension, front_matter
from bot.inventory import HTTP_METHODS, LANGUAGES, normalize_route

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_LINK = re.compile(
    r"\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)"  # Markdown [text](target "title")
    r"|`[^`<]*<(?P<rst>[^>`]+)>`_"  # reStructuredText `text <target>`_
    r"|\b(?:link|xref|include)::?(?P<adoc>[^\s\[]+)\["  # AsciiDoc link:target[text]
)
_TICK = re.compile(r"(?<!`)`(?P<body>[^`\n]+)`(?!`)")
_PATHLIKE = re.compile(r"^[\w.\-]+(/[\w.\-]+)*/?$")
FILE_EXTENSIONS = set(LANGUAGES) | DOC_FORMATS | {
    ".json", ".toml", ".cfg", ".ini", ".html", ".css", ".scss", ".env", ".xml", ".csv", ".proto", ".graphql",
    ".tf", ".mk", ".gradle", ".properties", ".vue", ".svelte",
}
_IDENT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(\(\))?$")
_ROUTE = re.compile(rf"\b(?P<method>{'|'.join(HTTP_METHODS)})\s+`?(?P<path>/[^\s`'\")\]<>,;]*)")
_STATUS_CODE = re.compile(r"\b(?P<code>[1-5]\d\d)\b")
_SETTING = re.compile(r"^\s*[-*]?\s*`?(?P<key>[A-Z][A-Z0-9_]{2,})`?\s*(?:=|:)\s*`?(?P<value>[^\s`]+)`?", re.M)
_DEFAULTS = re.compile(r"`?(?P<key>[A-Za-z_][\w.\-]*)`?\s+defaults\s+to\s+`?(?P<value>[^\s`]+?)`?[.,;]?(?:\s|$)")
_LIFECYCLE_WORDS = ("withdrawn", "superseded", "deprecated", "replaced", "obsolete", "rejected", "draft", "proposed",
                    "accepted", "implemented")
_STATUS_LINE = re.compile(r"^\s*(?:[-*]\s*)?\**status\**\s*:\**\s*(?P<value>[A-Za-z]+)", re.I | re.M)
_STATUS_HEADING = re.compile(r"^#{1,4}\s*status\s*\n+\s*(?P<value>[A-Za-z]+)", re.I | re.M)
_WORDS = "|".join(_LIFECYCLE_WORDS)
_TITLE_MARK = re.compile(  # "# Deprecated: X", "# X (Deprecated)", "# [WITHDRAWN] X"
    rf"^#{{1,4}}\s*(?:(?P<b>{_WORDS})\s*:|.*?[\[(]\s*(?P<a>{_WORDS})\s*[\])])", re.I | re.M
)
_SUPERSEDED_BY = re.compile(r"(?P<verb>superseded|replaced)\s+by\s+(?P<target>\[[^\]]*\]\([^)]*\)|`[^`]+`|\S+)", re.I)


@dataclass(frozen=True)
class RouteClaim:
    """``METHOD /path`` named in a document; ``codes``: HTTP status codes stated on the same line."""

    method: str
    path: str  # normalised
    raw: str
    line: int
    codes: tuple[str, ...] = ()


@dataclass
class Claims:
    """Everything one document says that can be checked against the code or other documents."""

    paths: list[str] = field(default_factory=list)  # repository-relative, as resolved
    basenames: list[str] = field(default_factory=list)  # bare file names like `billing.py`
    identifiers: list[str] = field(default_factory=list)
    routes: list[RouteClaim] = field(default_factory=list)
    settings: dict[str, tuple[str, int]] = field(default_factory=dict)  # key → (value, line)
    lifecycle: str | None = None
    lifecycle_evidence: str = ""
    superseded_by: str | None = None


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _resolve(doc_path: str, target: str) -> str | None:
    """A link target relative to the document, as a repository path; ``None`` when it leaves the tree."""
    target = target.split("#", 1)[0].split("?", 1)[0]
    if not target or "://" in target or target.startswith(("mailto:", "#")):
        return None
    base = "" if target.startswith("/") else posixpath.dirname(doc_path)
    resolved = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
    return None if resolved.startswith("..") or resolved == "." else resolved


def _is_code_identifier(token: str) -> bool:
    """Backticked words that look like code names: ``snake_case``, ``camelCase``, ``Dotted.name``, ``call()``.

    ALL_CAPS names are settings, plain words are prose: neither is checked.
    """
    if not _IDENT.match(token) or token.isupper():
        return False
    bare = token.removesuffix("()")
    return token.endswith("()") or "_" in bare.strip("_") or "." in bare or bool(re.search(r"[a-z][A-Z]", bare))


def extract(doc_path: str, text: str) -> Claims:
    """The claims of the document at ``doc_path`` (repository-relative) with content ``text``."""
    claims = Claims()
    prose = _FENCE.sub("", text)
    for m in _LINK.finditer(prose):
        resolved = _resolve(doc_path, m.group("target") or m.group("rst") or m.group("adoc"))
        if resolved:
            claims.paths.append(resolved)
    for m in _TICK.finditer(prose):
        body = m.group("body").strip()
        if body.startswith("/") or " " in body or "://" in body:
            continue
        has_ext = extension(body) in FILE_EXTENSIONS
        if "/" in body and _PATHLIKE.match(body) and (has_ext or body.endswith("/")):
            claims.paths.append(body.rstrip("/"))
        elif has_ext and _PATHLIKE.match(body):
            claims.basenames.append(body)
        elif _is_code_identifier(body):
            claims.identifiers.append(body.removesuffix("()"))
    for m in _ROUTE.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        rest = text[m.end() : line_end if line_end != -1 else len(text)]
        codes = tuple(dict.fromkeys(c.group("code") for c in _STATUS_CODE.finditer(rest)))
        claims.routes.append(
            RouteClaim(m.group("method"), normalize_route(m.group("path")), f"{m.group('method')} {m.group('path')}",
                       _line_of(text, line_start), codes)
        )
    for regex in (_SETTING, _DEFAULTS):
        for m in regex.finditer(prose):
            value = m.group("value").strip("\"'.,;")
            claims.settings.setdefault(m.group("key"), (value, _line_of(prose, m.start())))
    _lifecycle(claims, text)
    return claims


def locate(doc_path: str, paths: list[str], tree: set[str]) -> list[str]:
    """Each path as it exists in ``tree`` (files and folders): as written, else relative to the document's folder.

    Paths found neither way are returned as written (they are drift).
    """
    located = []
    for path in paths:
        relative = posixpath.normpath(posixpath.join(posixpath.dirname(doc_path), path))
        located.append(relative if path not in tree and relative in tree else path)
    return located


def _lifecycle(claims: Claims, text: str) -> None:
    """Front matter ``status:``, a ``Status:`` line or ``## Status`` heading near the top, "superseded by …"."""
    meta_status = front_matter(text).get("status", "")
    head = text[:3000]
    candidates = [(meta_status, f"front matter status: {meta_status}")] if meta_status else []
    for regex in (_STATUS_LINE, _STATUS_HEADING):
        m = regex.search(head)
        if m:
            candidates.append((m.group("value"), f"line {_line_of(head, m.start())}: Status: {m.group('value')}"))
    m = _TITLE_MARK.search(head)
    if m:
        candidates.append((m.group("a") or m.group("b"), f"line {_line_of(head, m.start())}: {m.group(0).strip()}"))
    for value, evidence in candidates:
        word = value.lower().split()[0] if value else ""
        if word in _LIFECYCLE_WORDS:
            claims.lifecycle, claims.lifecycle_evidence = word, evidence
            break
    m = _SUPERSEDED_BY.search(head)
    if m:
        claims.superseded_by = m.group("target")
        if claims.lifecycle in (None, "draft", "proposed", "accepted", "implemented"):
            claims.lifecycle = m.group("verb").lower()
            claims.lifecycle_evidence = f"line {_line_of(head, m.start())}: {m.group(0).strip()}"
