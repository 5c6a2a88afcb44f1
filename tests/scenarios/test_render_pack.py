"""scenarios.md rendering: headings per area and outcome, TOC links to every scenario, source links."""
from __future__ import annotations

import re

from bot.domain.pack import PackDocument, Revision, ScenarioPack
from bot.scenarios.render import render_pack
from tests.support.model_server import sample_pack


def document() -> PackDocument:
    data = sample_pack(count=3)
    data["feature_areas"].append({"name": "Returns | refunds", "outcomes": [
        {"outcome": "A customer gets money back", "scenarios": [
            {**data["feature_areas"][0]["outcomes"][0]["scenarios"][0], "id": "SC-004", "title": "Refund"}]}]})
    revision = Revision(revision=2, mode="update", prompt_version="generate-v1", model="scripted",
                        thread_id="t", turn_ids=["u"], manifest_hash="ab" * 32, head_sha="cd" * 20)
    return PackDocument(revision=revision, pack=ScenarioPack.model_validate(data))


def test_render_has_title_toc_groups_and_every_scenario():
    doc = document()
    md = render_pack(doc, source_link=lambda sid: (f"{sid} (manifest)", f"https://example.test/blob/{sid}"))
    assert md.startswith("# Shop scenarios\n")
    assert "revision 2" in md and "manifest `abababababab`" in md
    assert "## Checkout" in md and "## Returns \\| refunds" in md
    assert "### Outcome: A customer can pay an order" in md
    toc = md.split("## Contents", 1)[1].split('<a id="area-1">', 1)[0]
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', md))
    for target in re.findall(r"\]\(#([^)]+)\)", toc):
        assert target in anchors
    for sid in doc.pack.scenario_ids():
        assert f"#### {sid} — " in md
        assert f"(#{sid.lower()})" in toc
    assert "[`docs/prd.md (manifest)`](https://example.test/blob/docs/prd.md)" in md
    scenario = doc.pack.feature_areas[0].outcomes[0].scenarios[0]
    for value in [scenario.persona, scenario.objective, scenario.pass_criteria,
                  *scenario.preconditions, *scenario.test_data, *scenario.checkpoints, *scenario.edge_variants]:
        assert value in md
    assert "1. Sign in as ana@example.com" in md


def test_render_without_links_names_sources_plainly():
    md = render_pack(document())
    assert "- **Sources:** `docs/prd.md`" in md
