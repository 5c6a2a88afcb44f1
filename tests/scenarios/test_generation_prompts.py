"""Prompt templates: selected sources within the token budget, cut sources said, facts, update and refine prompts."""
from __future__ import annotations

from bot.codex.prompts import (
    PROMPT_VERSION,
    SourceText,
    estimate_tokens,
    generation_prompt,
    refine_prompt,
)
from bot.domain.pack import Finding, ScenarioPack
from tests.support.model_server import sample_pack

FACTS = {"languages": {"python": "3 files"}, "test_commands": ["python -m pytest", "make test"]}


def test_sources_facts_instruction_and_skill_are_in_the_prompt():
    prompt = generation_prompt([SourceText("S1", "docs/prd.md", "Pay with a saved card.")], FACTS,
                               "Only checkout.", repository="acme/shop")
    assert prompt.cut == []
    text = prompt.text
    assert text.startswith("$scenario\n")
    assert "acme/shop" in text and "### S1 — `docs/prd.md`" in text and "Pay with a saved card." in text
    assert "- languages: python: 3 files" in text
    assert "- test commands: `python -m pytest`, `make test`" in text
    assert "Only checkout." in text and "included in full" in text
    assert "$" not in text.replace("$scenario", "")  # every placeholder was filled
    assert PROMPT_VERSION


def test_sources_beyond_the_budget_are_cut_and_said():
    big = "x" * 4000  # ~1000 tokens
    sources = [SourceText("S1", "a.md", big), SourceText("S2", "b.md", big), SourceText("S3", "c.md", big)]
    prompt = generation_prompt(sources, {}, "", token_budget=1500)
    assert [(c.source_id, c.total_tokens, c.kept_tokens) for c in prompt.cut] == [("S2", 1000, 500), ("S3", 1000, 0)]
    assert "- S2 `b.md`: cut after ~500 of ~1000 tokens" in prompt.text
    assert "- S3 `c.md`: left out" in prompt.text
    assert "### S2 — `b.md` (first ~500 of ~1000 tokens)" in prompt.text
    assert "### S3" not in prompt.text
    assert "Allowed source ids: S1, S2, S3" in prompt.text  # a cut source may still be read and cited
    assert estimate_tokens(prompt.text) < 1500 + 600


def test_update_prompt_carries_the_previous_revision_and_the_next_free_id():
    previous = ScenarioPack.model_validate(sample_pack(count=3))
    prompt = generation_prompt([SourceText("S1", "a.md", "text")], {}, "Add refunds.",
                               previous=previous, previous_revision=4)
    assert "update of revision 4" in prompt.text
    assert '"id": "SC-003"' in prompt.text and "next free ids after SC-003" in prompt.text


def test_refine_prompt_lists_findings_and_allowed_ids():
    text = refine_prompt([Finding("unknown_source", "source id 'x' is not in the manifest", "SC-002")], ["S1", "S2"])
    assert "- [unknown_source] SC-002: source id 'x' is not in the manifest" in text
    assert "these source ids exist: S1, S2" in text
