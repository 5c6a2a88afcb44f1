"""Markdown documents read with markdown-it-py (https://markdown-it-py.readthedocs.io), not regular expressions.

One ``MarkdownIt("zero")`` parser with only the rules the scanner reads
(headings, paragraphs, lists, block quotes, tables, fences, code spans,
links, reference definitions, autolinks) and the ``mdit_py_plugins`` front
matter rule. YAML front matter is loaded with PyYAML, TOML (``+++``) with
``tomllib``; a metadata list right under the title (``* Status: Final``)
or an RFC 822 block at the top counts as the header block. Lists, block
quotes and tables are read as paragraphs (see ``_RULES``).
"""
from __future__ import annotations

import tomllib
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from bot.sources.parsed import SAFE_LOADER, Parsed, Section, header_block, leading_header

# Lists, block quotes, tables and HTML blocks are read as paragraphs: their links and code spans are the
# same, and the block rules tried on every line are most of markdown-it's cost on long documents.
_RULES = ["heading", "lheading", "paragraph", "fence", "code", "backticks", "link", "reference", "autolink"]
_MD = MarkdownIt("zero").enable(_RULES).use(front_matter_plugin)
_MD.disable("inline")  # the core rule that parses every paragraph's inline content: done lazily below
_INLINE_MARKS = ("`", "[", "<", "http")  # an inline run without these holds no link and no code span
_TOML_FENCE = "+++"
PREAMBLE = 5  # paragraphs under the title read for a "Superseded by X" line


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def _front_matter(body: str, first_line: int) -> dict[str, tuple[str, int]]:
    """Top-level keys of a YAML front matter block with the line each starts on; keys lower-cased."""
    try:
        data = yaml.load(body, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        data = None
    lines = {line.partition(":")[0].strip().lower(): n for n, line in enumerate(body.splitlines(), first_line + 1)
             if line[:1].strip() and ":" in line}
    if not isinstance(data, dict):  # broken YAML: fall back to its "key: value" lines
        data = {line.partition(":")[0].strip(): line.partition(":")[2].strip().strip("\"'")
                for line in body.splitlines() if line[:1].strip() and ":" in line}
    return {str(k).lower(): (_scalar(v), lines.get(str(k).lower(), first_line)) for k, v in data.items()}


def _toml_front_matter(text: str) -> tuple[dict[str, tuple[str, int]], str]:
    """``+++``-fenced TOML front matter (Hugo, Zola) → meta, and the text with the block blanked."""
    end = text.find(f"\n{_TOML_FENCE}", len(_TOML_FENCE))
    if end < 0:
        return {}, text
    block = text[len(_TOML_FENCE):end]
    try:
        data = tomllib.loads(block)
    except tomllib.TOMLDecodeError:
        return {}, text
    lines = {line.partition("=")[0].strip().lower(): n for n, line in enumerate(block.splitlines(), 1)}
    meta = {k.lower(): (_scalar(v), lines.get(k.lower(), 1)) for k, v in data.items()}
    return meta, "\n" * text.count("\n", 0, end + len(_TOML_FENCE) + 1) + text[end + len(_TOML_FENCE) + 1:]


def _inline_text(token: Token) -> str:
    """The plain text of an inline token: emphasis marks and link syntax stripped, code spans kept."""
    parts = [c.content.replace("*", "") if c.type == "text" else c.content
             for c in token.children or () if c.type in ("text", "code_inline")]
    return ("".join(parts) if parts else token.content.replace("*", "")).strip()


def parse_markdown(text: str) -> Parsed:
    """The ``Parsed`` shape of a Markdown document (front matter, header block, sections, links, code)."""
    parsed = Parsed()
    if text.startswith(_TOML_FENCE):
        parsed.meta, text = _toml_front_matter(text)
        parsed.meta_form = "front matter" if parsed.meta else ""
    env: dict = {}
    tokens = _MD.parse(text, env)
    for token in tokens:
        if token.type == "inline" and any(mark in token.content for mark in _INLINE_MARKS):
            token.children = []
            _MD.inline.parse(token.content, _MD, env, token.children)
    lines: list[str] | None = None
    pending: Section | None = None
    for i, token in enumerate(tokens):
        line = token.map[0] + 1 if token.map else 0
        if token.type == "front_matter":
            parsed.meta, parsed.meta_form = _front_matter(token.content, line), "front matter"
        elif token.type == "heading_open":
            pending = Section(_inline_text(tokens[i + 1]), int(token.tag[1:]), line)
            parsed.sections.append(pending)
        elif token.type in ("fence", "code_block") and token.map:
            parsed.code_blocks.append((token.map[0] + 1, token.map[1]))
        elif token.type == "inline" and tokens[i - 1].type == "paragraph_open":
            if len(parsed.sections) <= 1 and len(parsed.preamble) < PREAMBLE:
                parsed.preamble.append((_inline_text(token), line))
            if pending is not None and pending is parsed.sections[-1] and not pending.first_paragraph:
                pending.first_paragraph, pending.paragraph_line = _inline_text(token), line
        if token.type == "inline":
            _inline(parsed, token, line)
        elif token.type == "paragraph_open" and not parsed.meta and len(parsed.sections) <= 1 and token.map:
            lines = lines or text.split("\n")
            meta, _ = header_block(lines, token.map[0])  # "* Status: Final" list under the title
            if meta:
                parsed.meta, parsed.meta_form = meta, "header block"
    if not parsed.meta:
        parsed.meta, _ = leading_header(text)
        parsed.meta_form = "header block" if parsed.meta else ""
    return parsed


def _inline(parsed: Parsed, token: Token, line: int) -> None:
    """Links and code spans of one inline token; the line is the token's first line plus the newlines before."""
    offset = 0
    for child in token.children or ():
        if child.type == "softbreak" or child.type == "hardbreak":
            offset += 1
        elif child.type == "link_open":
            parsed.links.append((str(child.attrs.get("href", "")), line + offset))
        elif child.type == "code_inline":
            parsed.literals.append((child.content, line + offset))
        elif child.type == "text":
            offset += child.content.count("\n")
