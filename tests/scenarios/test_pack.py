"""The scenario pack: strict output schema, validator findings, change summary."""
from __future__ import annotations

import copy

import jsonschema
import pytest

from bot.domain.pack import ScenarioPack, pack_schema
from bot.scenarios.validate import change_summary, vague_reason, validate_pack
from tests.support.model_server import sample_pack
from tests.support.schemas import is_strict, object_nodes

SOURCES = {"docs/prd.md"}


def codes(pack: dict) -> list[tuple[str, str | None]]:
    return [(f.code, f.scenario_id) for f in validate_pack(ScenarioPack.model_validate(pack), SOURCES)]


def test_schema_is_strict_mode_compatible_and_accepts_a_valid_pack():
    schema = pack_schema()

    assert len(list(object_nodes(schema))) == 4  # pack, feature area, outcome, scenario
    assert is_strict(schema)
    jsonschema.validate(sample_pack(), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**sample_pack(), "extra": 1}, schema)


def test_valid_pack_has_no_findings():
    assert codes(sample_pack()) == []


def test_empty_fields_unknown_sources_and_duplicate_ids_are_found():
    pack = sample_pack(count=3)
    first, second, third = pack["feature_areas"][0]["outcomes"][0]["scenarios"]
    first["persona"] = "  "
    first["edge_variants"] = []
    second["source_ids"] = ["docs/missing.md"]
    third["id"] = "SC-001"
    found = codes(pack)
    assert ("empty_field", "SC-001") in found
    assert sum(1 for code, _ in found if code == "empty_field") == 2
    assert ("unknown_source", "SC-002") in found
    assert ("duplicate_id", "SC-001") in found


@pytest.mark.parametrize("checkpoint", [
    "It works correctly",
    "Everything should be fine after payment",
    "The result is OK for the user",
    "Works",
    "Checkout behaves as expected",
])
def test_vague_checkpoints_are_not_testable(checkpoint):
    assert vague_reason(checkpoint) is not None
    pack = sample_pack(count=1)
    pack["feature_areas"][0]["outcomes"][0]["scenarios"][0]["checkpoints"].append(checkpoint)
    assert codes(pack) == [("untestable_checkpoint", "SC-001")]


def test_observable_checkpoint_passes():
    assert vague_reason("GET /orders/latest returns 200 with state 'paid'") is None


def test_duplicate_scenarios_and_single_step_scenarios_are_found():
    pack = sample_pack(count=1)
    scenarios = pack["feature_areas"][0]["outcomes"][0]["scenarios"]
    twin = copy.deepcopy(scenarios[0])
    twin["id"], twin["title"] = "SC-002", "Another name"
    twin["objective"] = twin["objective"].upper() + "!"  # same once normalized
    scenarios.append(twin)
    short = copy.deepcopy(scenarios[0])
    short.update(id="SC-003", objective="Cancel an order", steps=["Click cancel"])
    scenarios.append(short)
    assert codes(pack) == [("duplicate_scenario", "SC-002"), ("too_few_steps", "SC-003")]


def test_empty_groups_are_found():
    pack = sample_pack()
    pack["feature_areas"].append({"name": "Returns", "outcomes": []})
    assert [code for code, _ in codes(pack)] == ["empty_group"]


def test_change_summary_reports_added_changed_removed_ids():
    old = ScenarioPack.model_validate(sample_pack(count=3))
    data = sample_pack(count=4)
    scenarios = data["feature_areas"][0]["outcomes"][0]["scenarios"]
    scenarios[1]["steps"].append("Open the order history")
    del scenarios[2]  # SC-003 removed
    new = ScenarioPack.model_validate(data)
    summary = change_summary(old, new)
    assert summary.as_dict() == {"added": ["SC-004"], "changed": ["SC-002"], "removed": ["SC-003"]}
    assert change_summary(None, old).added == ["SC-001", "SC-002", "SC-003"]
