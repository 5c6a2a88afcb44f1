"""What a document claims about the code: referenced paths, identifiers, routes, settings, lifecycle.

Pure text analysis (issue 3, "drift", "lifecycle markers", "contradiction
hints"). Fenced code blocks are blanked (same length, same line numbers)
before anything but routes is read, so every line number is one of the
original text.

- Paths come from Markdown/reST/AsciiDoc links and backticks. Paths that
  leave the tree (``../shared/x.md``, ``/etc/x``) and dotfiles (``.env``,
  usually git-ignored local files) are not claims.
- Identifiers come from backticks (``snake_case``, ``camelCase``,
  ``Dotted.name``, ``call()``); ``config.nu``-like names (one dot, a short
  lower-case suffix) are file names of unknown type, not identifiers.
- Routes come from ``METHOD /path`` mentions, fences included; the status
  codes are those after the route on its line, up to the next route.
- Settings come from ``KEY = value`` / ``KEY: value`` lines (admonitions
  such as ``NOTE:`` or ``WARNING:`` are not keys) and "X defaults to N"
  (pronouns such as "This defaults to" are not keys).
- Lifecycle comes only from places that describe the document itself:
  front matter, a ``Status:`` line in the metadata block between the title
  and the first section, the first line of a ``Status`` section, or the title
  (the first heading, when it is a level-1 heading). "Superseded by …" /
  "Replaced by …" counts in those places or as a line of its own in the
  metadata block, never inside prose.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from bot.sources.discovery import DOC_FORMATS, FRONT_MATTER, extension, front_matter
from bot.sources.inventory import HTTP_METHODS, LANGUAGES, normalize_route

_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.M | re.S)
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
_FILE_NAME = re.compile(r"^[a-z_][\w\-]*\.[a-z][a-z0-9]{0,3}$")  # config.nu, setup.py: a name, not code
_ROUTE = re.compile(rf"\b(?P<method>{'|'.join(HTTP_METHODS)})\s+`?(?P<path>/[^\s`'\")\]<>,;]*)")
_STATUS_CODE = re.compile(r"\b(?P<code>[1-5]\d\d)\b")
_SETTING = re.compile(r"^[ \t]*[-*]?[ \t]*`?(?P<key>[A-Z][A-Z0-9_]{2,})`?[ \t]*(?:=|:)[ \t]*`?(?P<value>[^\s`]+)`?", re.M)
_DEFAULTS = re.compile(r"`?(?P<key>[A-Za-z_][\w.\-]*)`?[ \t]+defaults[ \t]+to[ \t]+`?(?P<value>[^\s`]+?)`?[.,;]?(?:\s|$)")
NOT_SETTING_KEYS = {  # admonitions and markers written like "KEY: text"
    "NOTE", "NOTES", "TODO", "FIXME", "XXX", "HACK", "BUG", "WARNING", "WARN", "CAUTION", "IMPORTANT", "TIP",
    "HINT", "DANGER", "INFO", "ERROR", "ATTENTION", "EXAMPLE", "SEE", "TLDR", "PS", *HTTP_METHODS,
}
PRONOUNS = {"it", "this", "that", "which", "these", "those", "they", "what", "everything", "something", "one",
            "each", "either", "both", "all", "value", "default"}
_LIFECYCLE_WORDS = ("withdrawn", "superseded", "deprecated", "replaced", "obsolete", "rejected", "draft", "proposed",
                    "accepted", "implemented")
_WORDS = "|".join(_LIFECYCLE_WORDS)
_HEADING = re.compile(  # ATX "## x", AsciiDoc "== x", or a line underlined with = or - (setext / reST)
    r"^(?:(?P<atx>#{1,6}|={1,6})[ \t]+(?P<text>[^\n]*)|(?P<under>[^\s\n][^\n]*)\n(?P<rule>=+|-+)[ \t]*)$", re.M
)
_STATUS_LINE = re.compile(r"^[ \t]*(?:[-*+][ \t]+)?[*_:]*status[*_]*[ \t]*:[*_]*[ \t]*(?P<value>[^\n]+)", re.I | re.M)
_BY_LINE = re.compile(r"^[ \t]*(?:[-*+>][ \t]+)?[*_]*(?P<value>(?:superseded|replaced)[*_]*[ \t]+by\b[^\n]*)", re.I | re.M)
_TITLE_MARK = re.compile(rf"^(?:(?P<b>{_WORDS})\s*:|.*?[\[(]\s*(?P<a>{_WORDS})\s*[\])])", re.I)  # "Deprecated: X"
_SUPERSEDED_BY = re.compile(r"(?P<verb>superseded|replaced)\s+by\s+(?P<target>\[[^\]]*\]\([^)]*\)|`[^`]+`|\S+)", re.I)
META_BLOCK_LINES = 20  # the metadata block under the title is at most this long


@dataclass(frozen=True)
class RouteClaim:
    """``METHOD /path`` named in a document; ``codes``: HTTP status codes stated after it on its line."""

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


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _resolve(doc_path: str, target: str) -> str | None:
    """A link target relative to the document, as a repository path; ``None`` when it leaves the tree."""
    target = target.split("#", 1)[0].split("?", 1)[0]
    if not target or "://" in target or target.startswith(("mailto:", "#")):
        return None
    base = "" if target.startswith("/") else posixpath.dirname(doc_path)
    resolved = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
    return None if resolved.startswith("..") or resolved == "." else resolved


def _is_dotfile(path: str) -> bool:
    return path.rstrip("/").rsplit("/", 1)[-1].startswith(".")


def _is_code_identifier(token: str) -> bool:
    """Backticked words that look like code names: ``snake_case``, ``camelCase``, ``Dotted.name``, ``call()``.

    ALL_CAPS names are settings, plain words are prose, ``config.nu`` is a file name: none is checked.
    """
    if not _IDENT.match(token) or token.isupper() or _FILE_NAME.match(token):
        return False
    bare = token.removesuffix("()")
    return token.endswith("()") or "_" in bare.strip("_") or "." in bare or bool(re.search(r"[a-z][A-Z]", bare))


def extract(doc_path: str, text: str) -> Claims:
    """The claims of the document at ``doc_path`` (repository-relative) with content ``text``."""
    claims = Claims()
    prose = _FENCE.sub(_blank, text)
    for m in _LINK.finditer(prose):
        resolved = _resolve(doc_path, m.group("target") or m.group("rst") or m.group("adoc"))
        if resolved and not _is_dotfile(resolved):
            claims.paths.append(resolved)
    for m in _TICK.finditer(prose):
        _tick(claims, doc_path, m.group("body").strip())
    _routes(claims, text)
    for regex in (_SETTING, _DEFAULTS):
        for m in regex.finditer(prose):
            key = m.group("key")
            if key in NOT_SETTING_KEYS or key.lower() in PRONOUNS:
                continue
            claims.settings.setdefault(key, (m.group("value").strip("\"'.,;"), _line_of(prose, m.start("key"))))
    _lifecycle(claims, text, FRONT_MATTER.sub(_blank, prose, count=1))
    return claims


def _tick(claims: Claims, doc_path: str, body: str) -> None:
    """One backticked token: a path (kept only inside the tree), a file name, or an identifier."""
    if body.startswith("/") or " " in body or "://" in body:
        return
    has_ext = extension(body) in FILE_EXTENSIONS
    if _PATHLIKE.match(body) and (has_ext or body.endswith("/")) and ("/" in body or body.startswith(".")):
        if body.startswith(".."):  # relative to the document: keep only when it stays in the tree
            resolved = _resolve(doc_path, body)
            if resolved and not _is_dotfile(resolved):
                claims.paths.append(resolved)
            return
        path = posixpath.normpath(body)
        if not _is_dotfile(path) and path != "." and not path.startswith(".."):
            claims.paths.append(path)
    elif has_ext and _PATHLIKE.match(body):
        claims.basenames.append(body)
    elif _is_code_identifier(body):
        claims.identifiers.append(body.removesuffix("()"))


def _routes(claims: Claims, text: str) -> None:
    """``METHOD /path`` mentions with the status codes between them and the next route (or the line's end)."""
    matches = list(_ROUTE.finditer(text))
    for i, m in enumerate(matches):
        end = text.find("\n", m.end())
        end = len(text) if end == -1 else end
        if i + 1 < len(matches):
            end = min(end, matches[i + 1].start())
        codes = tuple(dict.fromkeys(c.group("code") for c in _STATUS_CODE.finditer(text, m.end(), end)))
        claims.routes.append(RouteClaim(m.group("method"), normalize_route(m.group("path")),
                                        f"{m.group('method')} {m.group('path')}", _line_of(text, m.start()), codes))


def locate(doc_path: str, paths: list[str], tree: set[str]) -> list[str]:
    """Each path as it exists in ``tree`` (files and folders): as written, else relative to the document's folder.

    Paths found neither way are returned as written (they are drift).
    """
    located = []
    for path in paths:
        relative = posixpath.normpath(posixpath.join(posixpath.dirname(doc_path), path))
        located.append(relative if path not in tree and relative in tree else path)
    return located


def _layout(masked: str) -> tuple[re.Match[str] | None, tuple[int, int], re.Match[str] | None, tuple[int, int]]:
    """The title (first heading, if level 1), the metadata block span, the ``Status`` heading and its body span."""
    headings = list(_HEADING.finditer(masked))
    first = headings[0] if headings else None
    title = first if first and (first.group("atx") in ("#", "=") or (first.group("rule") or "").startswith("=")) else None
    start = title.end() + 1 if title else 0
    limit = start
    for _ in range(META_BLOCK_LINES):
        limit = masked.find("\n", limit) + 1 or len(masked)
    block = (start, min(next((h.start() for h in headings if h.start() >= start), len(masked)), limit))
    for i, h in enumerate(headings):
        if (h.group("text") or h.group("under") or "").strip(" *_:#").lower() == "status":
            return title, block, h, (h.end() + 1, headings[i + 1].start() if i + 1 < len(headings) else len(masked))
    return title, block, None, (0, 0)


def _lifecycle(claims: Claims, text: str, masked: str) -> None:
    """The document's own lifecycle marker, from the places listed in the module docstring (first found wins)."""
    meta = front_matter(text)
    title, block, status_heading, section = _layout(masked)
    values: list[tuple[str, str, bool]] = []  # (value as written, evidence, may name a state by its first word)
    if meta.get("status"):
        values.append((meta["status"], f"front matter status: {meta['status']}", True))
    for key in ("superseded_by", "superseded-by", "replaced_by", "replaced-by"):
        if meta.get(key):
            values.append((f"{key[:-3]} by {meta[key]}", f"front matter {key}: {meta[key]}", True))
    for regex in (_STATUS_LINE, _BY_LINE):
        m = regex.search(masked, *block)
        if m:
            values.append((m.group("value"), f"line {_line_of(text, m.start('value'))}: {m.group(0).strip()}", True))
    body = masked[section[0]:section[1]].strip()
    if status_heading and body:
        first_line = body.splitlines()[0].strip()
        word = re.sub(r"[^A-Za-z]", "", first_line.split()[0])
        values.append((first_line, f"line {_line_of(text, status_heading.start())}: Status: {word}", True))
    if title:
        heading = (title.group("text") or title.group("under")).strip()
        evidence = f"line {_line_of(text, title.start())}: {title.group(0).splitlines()[0].strip()}"
        mark = _TITLE_MARK.search(heading)
        values.append(((mark.group("a") or mark.group("b")) if mark else heading, evidence, bool(mark)))
    for value, evidence, may_name_state in values:
        words = re.findall(r"[A-Za-z]+", value)
        if may_name_state and words and words[0].lower() in _LIFECYCLE_WORDS and claims.lifecycle is None:
            claims.lifecycle, claims.lifecycle_evidence = words[0].lower(), evidence
        by = _SUPERSEDED_BY.search(value) if claims.superseded_by is None else None
        if by:
            claims.superseded_by = by.group("target")
            if claims.lifecycle in (None, "draft", "proposed", "accepted", "implemented"):
                claims.lifecycle, claims.lifecycle_evidence = by.group("verb").lower(), evidence
