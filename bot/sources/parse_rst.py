"""reStructuredText documents: blocks read line by line, inline markup found with docutils' own grammar.

A full docutils parse costs 20–50 ms per PEP-sized document (a nested state
machine per list item and directive, a node per run of text): more than a
whole scan of a proposals repository may take. The scanner needs titles,
the first paragraph of each section, links, literals and the extent of
literal blocks, so it reads only those, by the rules of the reStructuredText
specification (https://docutils.sourceforge.io/docs/ref/rst/restructuredtext.html):

- blocks: section titles (an underline, optionally an overline, of one
  punctuation character; levels in order of first use), paragraphs, literal
  blocks (the indented block after a paragraph ending in ``::``, doctest
  blocks, and the content of ``code``/``code-block``/``sourcecode``/``math``/
  ``raw`` directives), hyperlink targets (``.. _name: URI``), comments, and a
  field list before the first section (``:Status: Accepted``) as metadata;
- inline markup with the patterns docutils compiles for its own inliner
  (``docutils.parsers.rst.states.Inliner.patterns``: start-strings, the
  literal and interpreted-text end-strings, embedded URIs, standalone URIs),
  so what counts as a literal or a link follows docutils; literals are
  ````x````, ``:literal:`x``` and ``:code:`x```, as docutils makes them.

An RFC 822 header block at the top (PEP 1, "PEP Header Preamble") is read
first (``bot.sources.parsed.leading_header``).
"""
from __future__ import annotations

import re

from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser, states

from bot.sources.parsed import Parsed, Section, leading_header

_INLINER = states.Inliner()
_INLINER.init_customizations(get_default_settings(Parser))
_P = _INLINER.patterns
_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")  # one punctuation character, three or more times
_EXPLICIT = re.compile(r"^(?P<indent>\s*)\.\.(?:\s+|$)(?P<rest>.*)$")
_TARGET = re.compile(r"^_(?P<name>`[^`]+`|[^:]+):(?:\s+(?P<uri>.*))?$|^__(?:\s+(?P<anon>.*))?$")
_DIRECTIVE = re.compile(r"^(?:\|[^|]+\|\s+)?(?P<name>[\w:.+-]+)::(?:\s|$)")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+\u2022\u2023\u2043]|\(?(?:\d+|[a-zA-Z]|#)[.)])\s+")
_FIELD = re.compile(r"^:(?P<name>[^:\s][^:]*):(?:\s+(?P<value>.*))?$")
LITERAL_DIRECTIVES = {"code", "code-block", "sourcecode", "math", "raw", "highlight", "literalinclude", "csv-table"}
LITERAL_ROLES = {":literal:", ":code:"}
_START = re.compile(_INLINER.start_string_prefix)  # docutils: what may stand before a start-string
_ROLE_BEFORE = re.compile(rf":{_INLINER.simplename}:$")
_SCHEME_BEFORE = re.compile(r"(?<![A-Za-z0-9.+-])[A-Za-z][A-Za-z0-9.+-]*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """The index after the block of lines from ``start`` indented deeper than ``indent`` (blank lines inside)."""
    end = start
    for i in range(start, len(lines)):
        if lines[i].strip():
            if _indent(lines[i]) <= indent:
                break
            end = i + 1
    return end


def parse_rst(text: str) -> Parsed:
    """The ``Parsed`` shape of a reStructuredText document."""
    parsed = Parsed()
    parsed.meta, skip = leading_header(text)
    parsed.meta_form = "header block" if parsed.meta else ""
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []  # adornment (character, with overline) in order of first use
    paragraph: list[str] = []
    start = i = skip
    section: Section | None = None
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if paragraph:
            if not stripped:
                i, paragraph = _flush(parsed, lines, paragraph, start, section), []
            elif len(paragraph) == 1 and _ADORNMENT.match(line) and not _indent(paragraph[0]):
                section, paragraph = _title(parsed, styles, paragraph[0], stripped[0], False, start + 1), []
                i += 1
            else:
                paragraph.append(line)
                i += 1
            continue
        if not stripped:
            i += 1
            continue
        over, explicit, field = _ADORNMENT.match(line), _EXPLICIT.match(line), _FIELD.match(line)
        if over and i + 2 < len(lines) and lines[i + 2].strip() == stripped and lines[i + 1].strip():
            section = _title(parsed, styles, lines[i + 1], stripped[0], True, i + 2)
            i += 3
        elif explicit:
            i = _explicit(parsed, lines, i, explicit)
        elif stripped.startswith(">>>"):  # a doctest block runs to the next blank line
            end = next((j for j in range(i, len(lines)) if not lines[j].strip()), len(lines))
            parsed.code_blocks.append((i + 1, end))
            i = end
        elif field and not parsed.sections and not parsed.meta:
            i = _field(parsed, lines, i, field)
        else:
            start, paragraph = i, [line]
            i += 1
    if paragraph:
        _flush(parsed, lines, paragraph, start, section)
    return parsed


def _title(parsed: Parsed, styles: list[tuple[str, bool]], title: str, char: str, overline: bool, line: int
           ) -> Section:
    """A section titled ``title`` at 1-based ``line``; its level is its adornment style's order of first use."""
    if (char, overline) not in styles:
        styles.append((char, overline))
    section = Section(_plain(title.strip()), styles.index((char, overline)) + 1, line)
    parsed.sections.append(section)
    _inline(parsed, title, line)
    return section


def _flush(parsed: Parsed, lines: list[str], paragraph: list[str], start: int, section: Section | None) -> int:
    """Read the paragraph of ``lines[start:]``; the index after it and after the literal block that follows
    when it ends in ``::`` (the next lines indented deeper than the paragraph)."""
    body = "\n".join([line.strip() for line in paragraph])
    if "`" in body or "://" in body:
        _inline(parsed, body, start + 1)
    if section is not None and not section.first_paragraph:
        section.first_paragraph, section.paragraph_line = " ".join(_plain(body).split()), start + 1
    after = start + len(paragraph)
    if not body.rstrip().endswith("::"):
        return after
    first = next((j for j in range(after, len(lines)) if lines[j].strip()), len(lines))
    marker = _LIST_MARKER.match(paragraph[0])  # a list item's text starts after its marker
    indent = marker.end() if marker else _indent(paragraph[0])
    if first < len(lines) and _indent(lines[first]) > indent:
        end = _block_end(lines, first, indent)
        parsed.code_blocks.append((first + 1, end))
        return end
    return after


def _explicit(parsed: Parsed, lines: list[str], i: int, match: re.Match) -> int:
    """A hyperlink target, a directive or a comment starting at ``lines[i]``; the index after it."""
    indent, rest = len(match.group("indent")), match.group("rest")
    end = _block_end(lines, i + 1, indent)
    target = _TARGET.match(rest)
    if target:
        uri = "".join(part.strip() for part in [target.group("uri") or target.group("anon") or "", *lines[i + 1:end]])
        if uri and not uri.endswith("_"):  # "name_": an indirect target, no URI
            parsed.links.append((uri, i + 1))
        return end
    if rest.startswith("["):  # a footnote or citation: its text is body text
        _inline(parsed, "\n".join([rest, *(ln.strip() for ln in lines[i + 1:end])]), i + 1)
        return end
    directive = _DIRECTIVE.match(rest)
    if directive is None:  # a comment
        return end
    if directive.group("name").lower() in LITERAL_DIRECTIVES:
        if end > i + 1:
            parsed.code_blocks.append((i + 2, end))
        return end
    return i + 1  # other directives: their content is body text, read on


def _field(parsed: Parsed, lines: list[str], i: int, match: re.Match) -> int:
    """A field list before the first section (``:Status: Accepted``) as metadata; the index after it."""
    parsed.meta_form = "field list"
    while match:
        end = _block_end(lines, i + 1, 0)
        value = " ".join([match.group("value") or "", *(ln.strip() for ln in lines[i + 1:end])]).strip()
        parsed.meta.setdefault(match.group("name").strip().lower(), (" ".join(value.split()), i + 1))
        i = end
        match = _FIELD.match(lines[i]) if i < len(lines) else None
    return i


def _inline(parsed: Parsed, text: str, line: int) -> None:
    """Literals and links in ``text`` (its first line is ``line``), by docutils' inline patterns.

    Candidates are found with ``str.find`` (a backquote, ``://``) and checked with docutils' patterns at
    that position: its start-string prefix, literal and interpreted-text end-strings, embedded and
    standalone URIs.
    """
    pos, spans = text.find("`"), []
    while pos >= 0:
        role = _ROLE_BEFORE.search(text, max(0, pos - 40), pos) if text[pos:pos + 2] != "``" else None
        begin = role.start() if role else pos
        end, after = None, pos + (2 if role is None and text[pos:pos + 2] == "``" else 1)
        if _START.match(text, begin) and not text[after:after + 1].isspace() and after < len(text):
            if after == pos + 2:
                end = _P.literal.search(text, after)
                if end is not None:
                    parsed.literals.append((text[after:end.start(1)], line + text.count("\n", 0, pos)))
            else:
                end = _P.interpreted_or_phrase_ref.search(text, after)
                if end is not None:
                    _interpreted(parsed, text[after:end.start(1)], role.group(0) if role else end.group("role"),
                                 bool(end.group("refend")), line + text.count("\n", 0, pos))
        if end is not None:
            spans.append((begin, end.end()))
        pos = text.find("`", end.end() if end is not None else after)
    pos = text.find("://")
    while pos >= 0:
        scheme = _SCHEME_BEFORE.search(text, max(0, pos - 20), pos)
        uri = _P.uri.match(text, scheme.start()) if scheme else None
        if uri and not any(a <= uri.start() < b for a, b in spans):
            parsed.links.append((uri.group("whole"), line + text.count("\n", 0, uri.start())))
        pos = text.find("://", uri.end() if uri else pos + 3)


def _interpreted(parsed: Parsed, body: str, role: str | None, reference: bool, line: int) -> None:
    """A phrase reference (`` `text <URI>`_ ``: its URI is a link) or interpreted text (a literal role)."""
    if reference:
        embedded = _P.embedded_link.search(body)
        uri = "".join(embedded.group(2).split()) if embedded else ""
        if uri and not uri.endswith("_"):  # "<name_>": an alias of another target, no URI
            parsed.links.append((uri, line))
    elif role in LITERAL_ROLES:
        parsed.literals.append((body, line))


_MARKUP = re.compile(r"``|`_{0,2}|(?<=\w)__?(?=\W|$)|:[\w:.+-]+:(?=`)|\*\*?")


def _plain(text: str) -> str:
    """``text`` without inline markup characters (backquotes, roles, emphasis, reference underscores)."""
    return _MARKUP.sub("", text)
