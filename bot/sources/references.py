"""What a document claims about the code: referenced paths, identifiers, routes, settings, its lifecycle.

Built from the parse of the document (``bot.sources.parse_markdown``,
``bot.sources.parse_rst``, ``bot.sources.parsed.parse_plain``), never from
the document's own path, so the claims of one blob can be cached by its SHA
(``bot.sources.cache``); ``bot.sources.drift`` resolves them against the tree
and the history.

- Paths come from links (relative targets as written, and the path part of
  ``github.com/<owner>/<name>/blob|tree/<ref>/<path>`` links) and from code
  spans that look like paths (a slash or a known extension), and from Go-style
  import paths ``github.com/<owner>/<name>/<package>`` anywhere in the text
  (lists and code blocks included), kept whole. Dotfiles
  (``.env``) and absolute file system paths (``/etc/x``) are not claims.
- Identifiers come from code spans (``snake_case``, ``camelCase``,
  ``Dotted.name``, ``call()``), whole or as words of a code fragment
  (``LastBlockHash ([]byte)``, ``addrbook_strict=false``); ``config.nu``-like
  names (one dot, a short lower-case suffix) are file names, not identifiers.
- Routes come from ``METHOD /path`` mentions, code blocks included; the
  status codes are those after the route on its line, up to the next route.
- Settings come from ``KEY = value`` / ``KEY: value`` lines outside code
  blocks (admonitions such as ``NOTE:`` are not keys) and "X defaults to N".
"""
from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field

from bot.sources.discovery import DOC_FORMATS, extension
from bot.sources.inventory import HTTP_METHODS, LANGUAGES, normalize_route
from bot.sources.lifecycle import Declared, declared
from bot.sources.parse_markdown import parse_markdown
from bot.sources.parse_rst import parse_rst
from bot.sources.parsed import Parsed, parse_plain

PARSER_VERSION = 10  # bump when the claims of an unchanged blob would change (it keys the cache)
_PATHLIKE = re.compile(r"^[\w.\-@+]+(/[\w.\-@+]+)*/?$")
FILE_EXTENSIONS = set(LANGUAGES) | DOC_FORMATS | {
    ".json", ".toml", ".cfg", ".ini", ".html", ".css", ".scss", ".xml", ".csv", ".proto", ".graphql",
    ".tf", ".mk", ".gradle", ".properties", ".vue", ".svelte", ".j2", ".jinja", ".tpl", ".tmpl",
}
_IDENT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(\(\))?$")
_FILE_NAME = re.compile(r"^[a-z_][\w\-]*\.[a-z][a-z0-9]{0,3}$")  # config.nu, setup.py: a name, not code
# no leading \b: an assertion first keeps re from skipping ahead to the first letters; the boundary is checked after
_ROUTE = re.compile(rf"(?P<method>{'|'.join(HTTP_METHODS)})\s+`?(?P<path>/[^\s`'\")\]<>,;]*)")
_CHECKBOX = re.compile(r"^[ \t]*[-*+][ \t]+\[[ xX]\](?:[ \t]|$)", re.M)
_STATUS_CODE = re.compile(r"\b(?P<code>[1-5]\d\d)\b")
_SETTING = re.compile(r"^[ \t]*[-*]?[ \t]*`?(?P<key>[A-Z][A-Z0-9_]{2,})`?[ \t]*(?:=|:)[ \t]*`?(?P<value>[^\s`]+)`?", re.M)
_DEFAULTS = re.compile(r"(?<![\w.\-`])`?(?P<key>[A-Za-z_][\w.\-]*)`?[ \t]+defaults[ \t]+to[ \t]+`?(?P<value>[^\s`]+?)`?[.,;]?(?:\s|$)")
_WORD = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?")  # a code name inside a fragment of code
# github.com/<owner>/<name>/<path> whose path is not a web page's; a literal first, so re skips ahead to it
_IMPORT_PATH = re.compile(r"github\.com/[\w.-]+/[\w.-]+/(?!(?:blob|tree|raw|pull|issues|commit|compare|releases|"
                          r"wiki|actions)/)[\w.-]+(?:/[\w.-]+)*")
_NOT_BEFORE_IMPORT = re.compile(r"[\w./-]")  # "https://github.com/…" is a URL, "xgithub.com/…" another host
_GITHUB_FILE = re.compile(r"^/[^/]+/[^/]+/(?:blob|tree|raw)/[^/]+/(?P<path>.+)$")
NOT_SETTING_KEYS = {  # admonitions and markers written like "KEY: text"
    "NOTE", "NOTES", "TODO", "FIXME", "XXX", "HACK", "BUG", "WARNING", "WARN", "CAUTION", "IMPORTANT", "TIP",
    "HINT", "DANGER", "INFO", "ERROR", "ATTENTION", "EXAMPLE", "SEE", "TLDR", "PS", *HTTP_METHODS,
}
PRONOUNS = {"it", "this", "that", "which", "these", "those", "they", "what", "everything", "something", "one",
            "each", "either", "both", "all", "value", "default"}
MAX_CLAIMS = 400  # references kept per kind: a generated reference list is not a document's claims


class RouteClaim(BaseModel):
    """``METHOD /path`` named in a document; ``codes``: HTTP status codes stated after it on its line."""

    method: str
    path: str  # normalised
    raw: str
    line: int
    codes: tuple[str, ...] = ()


class Ref(BaseModel):
    """A path or name as the document writes it, with its line; ``linked``: it came from a link target."""

    text: str
    line: int
    linked: bool = False


class Claims(BaseModel):
    """Everything one document says that can be checked against the code or other documents.

    ``paths`` as written (relative ones not yet resolved), ``basenames`` bare file names like
    ``billing.py``; ``marks``: what in the content makes it planning material (``bot.sources.discovery``).
    """

    paths: list[Ref] = Field(default_factory=list)
    basenames: list[Ref] = Field(default_factory=list)
    identifiers: list[Ref] = Field(default_factory=list)
    routes: list[RouteClaim] = Field(default_factory=list)
    settings: dict[str, tuple[str, int]] = Field(default_factory=dict)  # key → (value, line)
    declared: Declared | None = None
    title: str = ""
    headings: list[str] = Field(default_factory=list)
    meta_keys: list[str] = Field(default_factory=list)
    checkboxes: int = 0


def parse(path: str, text: str) -> Parsed:
    """The parse of ``text`` by the parser of ``path``'s format (Markdown, reStructuredText, else plain)."""
    ext = extension(path)
    if ext in (".md", ".markdown", ".mdx", ""):
        return parse_markdown(text)
    if ext == ".rst":
        return parse_rst(text)
    return parse_plain(text)


def _link_path(target: str) -> str | None:
    """The repository path a link target names, as written; ``None`` for web pages, anchors and mail."""
    if target.startswith(("mailto:", "#")) or not target:
        return None
    if "://" in target:
        url = urlsplit(target)
        m = _GITHUB_FILE.match(url.path) if url.hostname == "github.com" else None
        return unquote(m.group("path")).rstrip("/") if m else None
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    return path if path and not path.startswith("//") else None


def _is_dotfile(path: str) -> bool:
    return path.rstrip("/").rsplit("/", 1)[-1].startswith(".")


def is_code_identifier(token: str) -> bool:
    """Code-span words that look like code names: ``snake_case``, ``camelCase``, ``Dotted.name``, ``call()``.

    ALL_CAPS names are settings, plain words are prose, ``config.nu`` is a file name: none is checked.
    """
    if not _IDENT.match(token) or token.isupper() or _FILE_NAME.match(token):
        return False
    bare = token.removesuffix("()")
    return token.endswith("()") or "_" in bare.strip("_") or "." in bare or bool(re.search(r"[a-z][A-Z]", bare))


def extract(path: str, text: str) -> Claims:
    """The claims of a document with content ``text``; ``path`` only chooses the parser."""
    parsed = parse(path, text)
    claims = Claims(declared=declared(parsed), title=parsed.title.title if parsed.title else "",
                    headings=[s.title for s in parsed.sections[:60]], meta_keys=sorted(parsed.meta),
                    checkboxes=len(_CHECKBOX.findall(text)) if "]" in text else 0)
    for target, line in parsed.links:
        linked = _link_path(target.strip())
        if linked and not _is_dotfile(linked):
            claims.paths.append(Ref(text=linked, line=line, linked=True))
    for body, line in parsed.literals:
        _literal(claims, body.strip(), line)
    if "github.com/" in text:  # a substring test first: most documents name no import path
        _import_paths(claims, text)
    for field in ("paths", "basenames", "identifiers"):  # one entry per (text, line), at most MAX_CLAIMS
        unique = {(r.text, r.line): r for r in getattr(claims, field)}
        setattr(claims, field, list(unique.values())[:MAX_CLAIMS])
    if any(method in text for method in HTTP_METHODS):  # a substring test first: the regex is slow on long text
        _routes(claims, text)
    prose = _blank_lines(text, parsed.code_blocks)
    for regex in (_SETTING, _DEFAULTS) if "defaults to" in prose else (_SETTING,):
        line, pos = 1, 0
        for m in regex.finditer(prose):
            key = m.group("key")
            if key in NOT_SETTING_KEYS or key.lower() in PRONOUNS:
                continue
            line, pos = line + prose.count("\n", pos, m.start()), m.start()
            claims.settings.setdefault(key, (m.group("value").strip("\"'.,;"), line))
    return claims


def _blank_lines(text: str, blocks: list[tuple[int, int]]) -> str:
    if not blocks:
        return text
    lines = text.split("\n")
    for first, last in blocks:
        for i in range(max(first - 1, 0), min(last, len(lines))):
            lines[i] = ""
    return "\n".join(lines)


def _literal(claims: Claims, body: str, line: int) -> None:
    """One code span's references (``literal_claims``), added at ``line``."""
    for kind, text in literal_claims(body):
        getattr(claims, kind).append(Ref(text=text, line=line))


@lru_cache(maxsize=1 << 16)  # documents of a collection repeat their template's code spans
def literal_claims(body: str) -> tuple[tuple[str, str], ...]:
    """A code span as ``(kind, text)`` pairs, kind ``paths``/``basenames``/``identifiers``: a path (kept only
    inside the tree), a file name, an identifier, or a fragment of code whose words are read the same way
    (``mvn -f core/pom.xml``, ``LastBlockHash ([]byte)``), the code names inside a word included
    (``addrbook_strict=false``)."""
    if body.startswith("/") or "://" in body or not body:
        return ()
    if " " in body or "\t" in body:
        return tuple(pair for word in body.split() for pair in literal_claims(word.strip("\"'(),;:[]{}<>")))
    has_ext = extension(body) in FILE_EXTENSIONS
    if _PATHLIKE.match(body) and (has_ext or body.endswith("/")) and ("/" in body or body.startswith(".")):
        return (("paths", body),) if not _is_dotfile(body) and posixpath.normpath(body) != "." else ()
    if has_ext and _PATHLIKE.match(body):
        return (("basenames", body),)
    if is_code_identifier(body):
        return (("identifiers", body.removesuffix("()")),)
    if not _PATHLIKE.match(body):
        return tuple(("identifiers", m.group().removesuffix("()")) for m in _WORD.finditer(body)
                     if body[m.start() - 1:m.start()] not in ("/", ".") and is_code_identifier(m.group()))
    return ()


def _import_paths(claims: Claims, text: str) -> None:
    """Go-style import paths ``github.com/<owner>/<name>/<package>`` anywhere in the text (prose, lists, code
    blocks; not inside URLs, whose links are read as links), whole: ``bot.sources.drift`` keeps those of the
    repository's own Go modules."""
    line, pos = 1, 0
    for m in _IMPORT_PATH.finditer(text):
        if m.start() and _NOT_BEFORE_IMPORT.match(text, m.start() - 1):
            continue
        line, pos = line + text.count("\n", pos, m.start()), m.start()
        claims.paths.append(Ref(text=m.group().rstrip("/."), line=line))


def _routes(claims: Claims, text: str) -> None:
    """``METHOD /path`` mentions with the status codes between them and the next route (or the line's end)."""
    matches = [m for m in _ROUTE.finditer(text) if not m.start() or not (text[m.start() - 1].isalnum()
                                                                         or text[m.start() - 1] == "_")]
    for i, m in enumerate(matches[:MAX_CLAIMS]):
        end = text.find("\n", m.end())
        end = len(text) if end == -1 else end
        if i + 1 < len(matches):
            end = min(end, matches[i + 1].start())
        codes = tuple(dict.fromkeys(c.group("code") for c in _STATUS_CODE.finditer(text, m.end(), end)))
        claims.routes.append(RouteClaim(method=m.group("method"), path=normalize_route(m.group("path")),
                                        raw=f"{m.group('method')} {m.group('path')}",
                                        line=text.count("\n", 0, m.start()) + 1, codes=codes))
