"""Markdown documents read with pyromark (pulldown-cmark, https://github.com/Monokai/pyromark), a CommonMark parser.

pulldown-cmark yields the document as events with UTF-8 byte ranges
(``pyromark.events_with_range``): headings, paragraphs, list items, code
spans, fenced and indented code blocks, links (reference links resolved to
their definitions). It
runs in Rust, about eight times faster than markdown-it-py on the corpus's
KEPs, which is what lets a cold scan of a proposals repository stay within
a few times its git floor. Front matter at the top (YAML ``---``, TOML
``+++``) is loaded with PyYAML (libyaml) or ``tomllib``; a metadata list right under the title
(``* Status: Final``) or an RFC 822 block at the top counts as the header
block. The first paragraph of a section is its first paragraph or list
item outside block quotes (quoted template guidance is not a status).
"""
from __future__ import annotations

import tomllib
from bisect import bisect_right
from itertools import accumulate
from typing import Any

import pyromark
import yaml

from bot.sources.parsed import SAFE_LOADER, Parsed, Section, header_block, leading_header

# pulldown-cmark's own metadata blocks are not enabled: it takes any "---" … "---" pair for one, anywhere in the
# document, and swallows the headings between two thematic breaks; front matter is read only at the very top.
_OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_FOOTNOTES
_FENCES = {"---": ("---", "..."), "+++": ("+++",)}
_BLOCKS = {"Paragraph", "Item"}  # what may be a section's first paragraph
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


def _toml_front_matter(body: str, first_line: int) -> dict[str, tuple[str, int]]:
    """``+++``-fenced TOML front matter (Hugo, Zola) → meta; empty when it is not TOML."""
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError:
        return {}
    lines = {line.partition("=")[0].strip().lower(): n for n, line in enumerate(body.splitlines(), first_line + 1)}
    return {k.lower(): (_scalar(v), lines.get(k.lower(), first_line)) for k, v in data.items()}


def front_matter(text: str) -> tuple[dict[str, tuple[str, int]], str]:
    """YAML (``---`` … ``---``/``...``) or TOML (``+++`` … ``+++``) front matter at the very top → meta, and the
    text with the block blanked (its lines kept, so line numbers stay those of the document)."""
    lines = text.split("\n", 300)
    closing = _FENCES.get(lines[0].rstrip())
    end = next((i for i in range(1, len(lines) - 1) if lines[i].rstrip() in closing), None) if closing else None
    if end is None:
        return {}, text
    body = "\n".join(lines[1:end])
    meta = _front_matter(body, 1) if closing[0] == "---" else _toml_front_matter(body, 1)
    return meta, "\n" * end + text[sum(len(line) + 1 for line in lines[:end]):]


def parse_markdown(text: str) -> Parsed:
    """The ``Parsed`` shape of a Markdown document (front matter, header block, sections, links, code)."""
    parsed = Parsed()
    parsed.meta, text = front_matter(text)
    parsed.meta_form = "front matter" if parsed.meta else ""
    starts = [0, *accumulate(n + 1 for n in map(len, text.encode().split(b"\n")))]  # byte offset of each line
    lines: list[str] | None = None
    heading: list[str] | None = None  # text of the heading being read
    block: list[str] | None = None  # text of the paragraph being read (a section's first, or the preamble's)
    block_line, quoted = 0, 0
    # merged text: one event per run of text (the pieces are only ever joined); the common events first
    for event, where in pyromark.events_with_range(text, options=_OPTIONS, merge_text=True):
        if type(event) is str:  # SoftBreak, HardBreak, Rule…
            if block is not None and (event == "SoftBreak" or event == "HardBreak"):
                block.append("\n")
            continue
        piece = event.get("Text")
        if piece is not None:
            if heading is not None:
                heading.append(piece)
            if block is not None:
                block.append(piece)
            continue
        detail = event.get("Start")
        if detail is not None:
            tag = detail if type(detail) is str else next(iter(detail))
            start = where["start"]
            if tag == "Heading":
                heading = []
                parsed.sections.append(Section("", int(detail[tag]["level"][1:]), bisect_right(starts, start)))
            elif tag == "Link" or tag == "Image":  # an image names a file of the repository as a link does
                parsed.links.append((detail[tag]["dest_url"], bisect_right(starts, start)))
            elif tag == "CodeBlock":
                parsed.code_blocks.append((bisect_right(starts, start), bisect_right(starts, max(where["end"] - 1, start))))
            elif tag == "BlockQuote":
                quoted += 1
            if (tag == "Paragraph" or tag == "List") and not parsed.meta and len(parsed.sections) <= 1:
                lines = lines or text.split("\n")
                meta, _ = header_block(lines, bisect_right(starts, start) - 1)  # "* Status: Final" list under the title
                if meta:
                    parsed.meta, parsed.meta_form = meta, "header block"
            if tag in _BLOCKS and block is None and not quoted and _wants_paragraph(parsed):
                block, block_line = [], bisect_right(starts, start)
            continue
        detail = event.get("End")
        if detail is not None:
            tag = detail if type(detail) is str else next(iter(detail))
            if tag == "Heading" and heading is not None:
                parsed.sections[-1].title, heading = "".join(heading).strip(), None
            elif tag == "BlockQuote":
                quoted -= 1
            elif tag in _BLOCKS and block is not None:
                _paragraph(parsed, "".join(block).strip(), block_line)
                block = None
            continue
        code = event.get("Code")
        if code is not None:
            for part in (heading, block):
                if part is not None:
                    part.append(code)
            parsed.literals.append((code, bisect_right(starts, where["start"])))
    if not parsed.meta:
        parsed.meta, _ = leading_header(text)
        parsed.meta_form = "header block" if parsed.meta else ""
    return parsed


def _wants_paragraph(parsed: Parsed) -> bool:
    """True while a paragraph is still wanted: the current section's first one, or one of the preamble."""
    if len(parsed.sections) <= 1 and len(parsed.preamble) < PREAMBLE:
        return True
    return bool(parsed.sections) and not parsed.sections[-1].first_paragraph


def _paragraph(parsed: Parsed, text: str, line: int) -> None:
    if len(parsed.sections) <= 1 and len(parsed.preamble) < PREAMBLE:
        parsed.preamble.append((text, line))
    section = parsed.sections[-1] if parsed.sections else None
    if section is not None and not section.first_paragraph and text:
        section.first_paragraph, section.paragraph_line = text, line
