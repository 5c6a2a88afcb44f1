"""Issue 14, "Policy packs" end to end: a custom pack from the org file, findings of a real
generate run (events, check-run table and annotations)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.policy import effective_policy
from config.org import effective, parse_layer
from tests.execution.test_execute_e2e import world_settings as execute_world_settings
from tests.support.model_server import assistant_message, exec_call, sample_pack, tool_outputs

ORG_REPO = "Codertocat/.github"
ORG_TEXT = ("policy:\n  pack: acme@1\n  packs:\n    acme@1:\n      extends: default@1\n      rules:\n"
            "        generate.no-edge-variant: info\n")
REPO_TEXT = "policy:\n  rules:\n    scan.area-without-trusted-source: off\n"


@pytest.fixture
def world_settings(codex_settings) -> dict[str, Any]:
    return execute_world_settings.__wrapped__(codex_settings)


def org_policy(world, text: str = ORG_TEXT) -> None:
    world.github.add_repo(ORG_REPO, installation_id=world.installation_id)
    world.github.set_file(ORG_REPO, ".github/scenarioforge.yml", text)


def pack_without_edges(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Read the spec, then answer a pack citing only it, its second scenario's edge variant no edge at all."""
    if not tool_outputs(request):
        return [exec_call("cat docs/spec.md")]
    pack = sample_pack("docs/spec.md")
    pack["feature_areas"][0]["outcomes"][0]["scenarios"][1]["edge_variants"] = ["The customer pays with a new card"]
    return [assistant_message(json.dumps(pack))]


async def test_a_generate_run_follows_the_org_pack_and_reports_its_findings(world, model_server):
    org_policy(world)
    world.remote.commit({".github/scenarioforge.yml": REPO_TEXT})
    model_server.script = pack_without_edges

    await world.comment("/scenarioforge generate")
    await world.settle()

    [run] = await world.runs()
    expected = effective_policy(effective([parse_layer("org", ORG_TEXT), parse_layer("repo", REPO_TEXT)]).config.policy)
    assert (run.state, run.policy_key, run.policy_version) == ("passed", "acme@1", 1)
    assert run.policy_effective_hash == expected.effective_hash
    [event] = [e for e in await world.events(run.id) if e.phase == "findings:generate"]
    found = {(f["code"], f["scope"], f["severity"]) for f in event.payload["findings"]}
    assert found == {("generate.uncited-source", "README.md", "warning"), ("generate.no-edge-variant", "SC-002", "info")}
    check = next(c for c in world.github.check_runs.values() if c["name"].endswith("generate"))
    assert [(a["path"], a["annotation_level"]) for a in check["output"]["annotations"]] == [("README.md", "warning")]
    assert "| severity | code | scope | finding | suggested fix |" in check["output"]["summary"]
    tracking = await world.tracking(run.id)
    assert f"policy `acme@1`, effective hash `{expected.effective_hash[:12]}`" in tracking
    print("\n" + event.message)
