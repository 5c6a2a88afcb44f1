"""The Markdown (pyromark) and reStructuredText (blocks + docutils' inline patterns) readers (issue 10)."""
from __future__ import annotations

from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from bot.sources.lifecycle import declared
from bot.sources.parse_markdown import parse_markdown
from bot.sources.parse_rst import parse_rst

RST = """PEP: 9
Title: Sample
Status: Accepted

Abstract
========

Uses ``sys.path``, `the app <../app/main.py>`_ and https://github.com/o/r/blob/main/lib/x.py.
A :literal:`lit_name` and a :func:`not_a_literal`.

- Run the script::

      python ``not_a_literal_either``.py

  Then ``after_block`` is read again.

.. _target: https://example.com/t
.. [1] See https://example.com/footnote
.. code-block:: python

   ``inside_code``

Status
------

**Final** since 2020.
"""


def _docutils(text: str) -> tuple[set[str], set[str]]:
    """Links and literals by a full docutils parse: the oracle the block reader must agree with."""
    settings = get_default_settings(Parser)
    settings.report_level, settings.halt_level, settings.warning_stream = 5, 5, False
    document = new_document("<test>", settings)
    Parser().parse(text.split("\n\n", 1)[1], document)
    links = {n["refuri"] for n in document.findall(lambda n: isinstance(n, (nodes.reference, nodes.target)))
             if n.get("refuri")}
    return links, {n.astext() for n in document.findall(nodes.literal)}


def test_rst_links_literals_and_blocks_agree_with_docutils():
    parsed = parse_rst(RST)
    links, literals = _docutils(RST)
    assert {target for target, _ in parsed.links} == links
    assert {body for body, _ in parsed.literals} == literals == {"sys.path", "lit_name", "after_block"}
    assert ("sys.path", 8) in parsed.literals and ("after_block", 15) in parsed.literals
    assert [(s.title, s.level, s.first_paragraph) for s in parsed.sections] == [
        ("Abstract", 1, "Uses sys.path, the app <../app/main.py> and https://github.com/o/r/blob/main/lib/x.py. "
         "A lit_name and a not_a_literal."), ("Status", 2, "Final since 2020.")]
    assert declared(parsed).word == "accepted"  # the header block comes first


def test_markdown_front_matter_only_at_the_top_and_breaks_do_not_swallow_headings():
    text = ("---\nstatus: Draft\n---\n# ADR 7\n\n- 2022: drafted\n\n---\n## Status\n\nAccepted\n\n---\n"
            "## Context\n\nSee `pkg/run.go` and [the guide](docs/guide.md).\n")
    parsed = parse_markdown(text)
    assert parsed.meta == {"status": ("Draft", 2)}
    assert [(s.title, s.line, s.first_paragraph) for s in parsed.sections] == [
        ("ADR 7", 4, "2022: drafted"), ("Status", 9, "Accepted"), ("Context", 14, "See pkg/run.go and the guide.")]
    assert parsed.literals == [("pkg/run.go", 16)] and parsed.links == [("docs/guide.md", 16)]


def test_markdown_status_list_under_the_title_takes_lazy_continuation_lines():
    text = ("A72: Tracing\n----\n* Author(s): [A](https://a)\n* Reviewers: [B](https://b),\n[C](https://c)\n"
            "* Status: Ready for Implementation\n\n# Abstract\n\nx\n")
    found = declared(parse_markdown(text))
    assert (found.word, found.cls, found.evidence) == ("ready for implementation", "not_built",
                                                       "line 6: header block status: Ready for Implementation")


def test_quoted_template_guidance_is_not_a_status():
    text = "# ADR 3\n\n## Status\n\n> A decision may be \"proposed\" or \"accepted\".\n\nRejected\n"
    assert declared(parse_markdown(text)).word == "rejected"


def test_an_unfilled_template_choice_is_no_declaration():
    text = "# ADR 36\n\n## Status\n\n{Deprecated|Proposed|Accepted|Declined}\n\n## Context\n\nx\n"
    assert declared(parse_markdown(text)) is None
