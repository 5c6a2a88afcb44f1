"""What a parser reads from one document: metadata, sections, links, code spans, code blocks.

One shape for every prose format (``bot.sources.parse_markdown`` for Markdown,
``bot.sources.parse_rst`` for reStructuredText, ``parse_plain`` here for
AsciiDoc, Org and plain text), so the claims built from it
(``bot.sources.references``) do not depend on the format. Line numbers are
1-based lines of the original text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C loader when PyYAML has it: ~10× faster


@dataclass
class Section:
    """A heading: ``level`` 1 = title; ``first_paragraph``: plain text of the first paragraph under it."""

    title: str
    level: int
    line: int
    first_paragraph: str = ""
    paragraph_line: int = 0


@dataclass
class Parsed:
    """The parse of one document.

    ``meta``: lower-case key → (value, line) from YAML/TOML front matter, an
    RFC 822 header block or a metadata list under the title; ``meta_form``
    names which. ``links``/``literals``: (text, line) of link targets and
    code spans; ``code_blocks``: (first line, last line) of fenced or
    literal blocks; ``preamble``: (text, line) of the first paragraphs under the title.
    """

    meta: dict[str, tuple[str, int]] = field(default_factory=dict)
    meta_form: str = ""
    sections: list[Section] = field(default_factory=list)
    links: list[tuple[str, int]] = field(default_factory=list)
    literals: list[tuple[str, int]] = field(default_factory=list)
    code_blocks: list[tuple[int, int]] = field(default_factory=list)
    preamble: list[tuple[str, int]] = field(default_factory=list)  # paragraphs before the first section

    @property
    def title(self) -> Section | None:
        first = self.sections[0] if self.sections else None
        return first if first and first.level == 1 else None


_HEADER_LINE = re.compile(r"^(?P<bullet>[-*+][ \t]+)?:?[*_]*(?P<key>[A-Za-z][\w ()/.\-]{0,30}?)[*_]*[ \t]*:[*_]*[ \t]+(?P<value>\S.*)$")
_CONTINUATION = re.compile(r"^[ \t]+\S")
_ADOC_HEADING = re.compile(r"^(?P<marks>={1,6}|\*{1,6})[ \t]+(?P<text>\S.*)$")  # AsciiDoc "== x", Org "** x"
_ADOC_LINK = re.compile(r"\b(?:link|xref|include)::?(?P<target>[^\s\[]+)\[|\[\[(?P<org>[^\]]+)\]")
_TICK = re.compile(r"(?<!`)`(?P<body>[^`\n]+)`(?!`)|(?<![\w=])=(?P<org>[^=\s][^=\n]*?)=(?![\w=])")
_NOT_LAZY = ("#", "-", "*", "+", ">", "```", "~~~", "|")  # a new block, not a lazy continuation of a list item
HEADER_KEYS_MIN = 2  # an RFC 822 block needs this many fields (or a status field)


def header_block(lines: list[str], start: int) -> tuple[dict[str, tuple[str, int]], int]:
    """``Key: Value`` lines from ``lines[start]`` on (bulleted or not, continuation lines indented) → meta, end index.

    The RFC 822 form (https://www.rfc-editor.org/rfc/rfc822#section-3.1) as
    PEP 1 and the IETF use it, and the ``* Status: …`` lists under a title (where an unindented line goes on
    the item before it, as Markdown's lazy continuation lines do).
    Empty unless there are ``HEADER_KEYS_MIN`` fields or a ``status`` field.
    """
    meta: dict[str, tuple[str, int]] = {}
    i, last, bulleted = start, None, False
    while i < len(lines):
        line = lines[i]
        m = _HEADER_LINE.match(line)
        if m and len(m.group("key").split()) <= 4:
            last, bulleted = m.group("key").strip().lower(), bool(m.group("bullet"))
            meta.setdefault(last, (m.group("value").strip(), i + 1))
        elif last and (_CONTINUATION.match(line) or bulleted and line.strip() and not line.startswith(_NOT_LAZY)):
            value, at = meta[last]
            meta[last] = (f"{value} {line.strip()}", at)
        else:
            break
        i += 1
    if len(meta) < HEADER_KEYS_MIN and "status" not in meta:
        return {}, start
    return meta, i


def leading_header(text: str) -> tuple[dict[str, tuple[str, int]], int]:
    """An RFC 822 header block at the very top of ``text`` (blank lines before it allowed) → meta, lines it spans."""
    lines = text.split("\n", 200)[:200]
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    meta, end = header_block(lines, start)
    return meta, end if meta else 0


def parse_plain(text: str) -> Parsed:
    """AsciiDoc, Org and plain text: header block, ``=``/``*`` headings, ``link:``/``[[…]]`` links, backticks."""
    parsed = Parsed()
    parsed.meta, skip = leading_header(text)
    parsed.meta_form = "header block" if parsed.meta else ""
    lines = text.splitlines()
    for number, line in enumerate(lines[skip:], skip + 1):
        heading = _ADOC_HEADING.match(line)
        if heading:
            parsed.sections.append(Section(heading.group("text").strip(), len(heading.group("marks")), number))
        elif parsed.sections and not parsed.sections[-1].first_paragraph and line.strip():
            parsed.sections[-1].first_paragraph, parsed.sections[-1].paragraph_line = line.strip(), number
        for m in _ADOC_LINK.finditer(line):
            parsed.links.append(((m.group("target") or m.group("org")).split("][")[0], number))
        for m in _TICK.finditer(line):
            parsed.literals.append(((m.group("body") or m.group("org")).strip(), number))
    return parsed
