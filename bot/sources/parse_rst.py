"""reStructuredText documents read with docutils (https://docutils.sourceforge.io/docs/), not regular expressions.

The document is parsed by ``docutils.parsers.rst.Parser`` without the
publisher's transforms (nothing is rendered), with every system message
suppressed: Sphinx roles and directives docutils does not know become
problem nodes, which are skipped. An RFC 822 header block at the top (PEP 1,
"PEP Header Preamble") is read first and blanked, so docutils sees the body
only; a leading field list (``:Status: Accepted``) counts as the header.
"""
from __future__ import annotations

from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from bot.sources.parsed import Parsed, Section, leading_header

_PARSER = Parser()
_SETTINGS = get_default_settings(Parser)
_SETTINGS.report_level = 5  # "none": no system message is written anywhere
_SETTINGS.halt_level = 5
_SETTINGS.warning_stream = False
_SETTINGS.file_insertion_enabled = False  # never read files named by include:: directives
_SETTINGS.raw_enabled = False


def _line(node: nodes.Node) -> int:
    """The line of ``node`` or of its nearest ancestor that knows one (inline nodes do not)."""
    while node is not None:
        if getattr(node, "line", None):
            return int(node.line)  # type: ignore[attr-defined]
        node = node.parent
    return 0


def parse_rst(text: str) -> Parsed:
    """The ``Parsed`` shape of a reStructuredText document."""
    parsed = Parsed()
    parsed.meta, skip = leading_header(text)
    parsed.meta_form = "header block" if parsed.meta else ""
    if skip:
        text = "\n" * skip + text.split("\n", skip)[-1]
    document = new_document("<document>", _SETTINGS)
    _PARSER.parse(text, document)
    for node in document.findall(lambda n: isinstance(n, (nodes.section, nodes.reference, nodes.target,
                                                          nodes.literal, nodes.literal_block, nodes.field_list))):
        if isinstance(node, nodes.section):
            _section(parsed, node)
        elif isinstance(node, (nodes.reference, nodes.target)) and node.get("refuri"):
            parsed.links.append((node["refuri"], _line(node)))
        elif isinstance(node, nodes.literal):
            parsed.literals.append((node.astext(), _line(node)))
        elif isinstance(node, nodes.literal_block):
            first = _line(node)
            parsed.code_blocks.append((first, first + node.astext().count("\n")))
        elif isinstance(node, nodes.field_list) and not parsed.meta and node.parent is document:
            parsed.meta_form = "field list"
            for fld in node.children:
                name, body = fld.children[0].astext().strip().lower(), fld.children[1].astext().strip()
                parsed.meta[name] = (" ".join(body.split()), _line(fld.children[0]) or _line(node))
    return parsed


def _section(parsed: Parsed, node: nodes.section) -> None:
    """A section's title, depth and first paragraph (the document title, when it exists, is level 1)."""
    depth, parent = 1, node.parent
    while parent is not None:
        depth += isinstance(parent, nodes.section)
        parent = parent.parent
    title = node.next_node(nodes.title)
    paragraph = next((c for c in node.children if isinstance(c, nodes.paragraph)), None)
    section = Section(title.astext() if title else "", depth, _line(title) if title else _line(node))
    if paragraph is not None:
        section.first_paragraph, section.paragraph_line = " ".join(paragraph.astext().split()), _line(paragraph)
    parsed.sections.append(section)
