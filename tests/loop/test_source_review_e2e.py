"""Issue 13, "Documents change → their scenarios are flagged", end to end over HTTP.

The world's repository has a published scenario pack (revision 1, stored with the manifest of
a real scan of the default branch, its pack PR #5 on the local GitHub server): SC-001 and
SC-002 cite ``docs/spec.md``, SC-003 cites ``README.md``. A real ``push`` delivery (the
example payload, adapted) for a new commit on the default branch starts a ``review`` run that
rescans the commit and flags the scenarios whose sources changed, in ONE comment on the pack
PR that later pushes edit; ``/scenarioforge status`` lists them. With
``generate.on_source_change: update`` the same run generates revision 2 with the real codex
binary and the scripted model, its change summary naming the changed source.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.pack import PackDocument, Revision, ScenarioPack
from bot.sources.scan import scan_checkout
from storage import manifests, packs, reviews
from tests.execution.test_execute_e2e import world_settings  # noqa: F401  (fixture)
from tests.support.model_server import assistant_message, sample_pack
from tests.support.webhooks import load_payload
from tests.support.world import WRITER

PACK_PR = 5
SPEC = "docs/spec.md"
NEW_SPEC = ("# Items API specification\n\n- `GET /api/items` lists items, served by `list_items` in "
            "[app/main.py](../app/main.py).\n- `POST /api/items` creates an item and answers 201.\n")


def pack_citing() -> ScenarioPack:
    """SC-001, SC-002 cite the spec; SC-003 cites the README."""
    data = sample_pack(SPEC, count=3)
    data["feature_areas"][0]["outcomes"][0]["scenarios"][2]["source_ids"] = ["README.md"]
    return ScenarioPack.model_validate(data)


async def publish_pack(world) -> None:
    """Revision 1 of the pack, from a real scan of the default branch, published as PR #5."""
    result = scan_checkout(world.remote.work.path)
    world.github.add_pull(world.repository, PACK_PR, head="scenarioforge/scenarios", author=world.github.bot_login,
                          title="ScenarioForge: scenario pack (revision 1)")
    async with world.database.session() as session:
        manifest = await manifests.save_manifest(session, world.repository, result)
        revision = Revision(revision=1, mode="initial", prompt_version="generate-v1", model="scripted",
                            thread_id="thread", turn_ids=["turn"], manifest_id=str(manifest.id),
                            manifest_hash=manifest.manifest_hash, repository=world.repository,
                            head_sha=result.commit_sha)
        row = await packs.save_revision(session, PackDocument(pack=pack_citing(), revision=revision),
                                        repository=world.repository, issue_number=1)
        await packs.mark_published(session, row.id, commit_sha=result.commit_sha, pr_number=PACK_PR)


async def push(world, files: dict[str, str], message: str = "docs: answer 201"):
    """Commit ``files`` on the default branch and deliver its ``push`` webhook."""
    before = world.remote.sha()
    after = world.remote.commit(files, message=message)
    payload = load_payload("push.event.5.json")
    payload.update(ref="refs/heads/master", before=before, after=after)
    payload["repository"] = {k: v for k, v in world.github.repos[world.repository].items() if not k.startswith("_")}
    payload["installation"] = {"id": world.installation_id}
    payload["sender"] = world.github.user(WRITER)
    payload["commits"] = [{**payload["commits"][0], "id": after, "message": message, "added": [], "removed": [],
                           "modified": sorted(files)}]
    await world.post(payload, "push")
    await world.settle()
    return after


async def flagged(world) -> dict[str, list[str]]:
    async with world.database.session() as session:
        return {row.scenario_id: row.source_ids for row in await reviews.needing_review(session, world.repository)}


async def test_a_push_flags_the_scenarios_citing_a_changed_document_in_one_comment_edited_on_the_next(world):
    await publish_pack(world)

    sha = await push(world, {SPEC: NEW_SPEC})
    [run] = await world.runs()
    assert (run.action, run.state, run.issue_number, run.head_sha) == ("review", "passed", PACK_PR, sha)
    assert await flagged(world) == {"SC-001": [SPEC], "SC-002": [SPEC]}  # SC-003 cites the README only
    [comment] = world.comments(PACK_PR)
    assert "**2 scenario(s) need review** (pack revision 1)" in comment
    assert f"`{SPEC}` changed (blob" in comment and "`SC-003`" not in comment

    await world.comment("/scenarioforge status")
    await world.settle()
    status = world.comments(1)[-1]
    assert "2 scenario(s) of pack revision 1 need review" in status and "- `SC-001`: `docs/spec.md` changed" in status

    await push(world, {"README.md": "# Items\n\nRun `flask --app app.main run`.\n"}, message="readme")
    assert await flagged(world) == {"SC-001": [SPEC], "SC-002": [SPEC], "SC-003": ["README.md"]}
    [edited] = world.comments(PACK_PR)  # still one comment, now listing all three
    assert "**3 scenario(s) need review**" in edited and "`README.md` changed (blob" in edited


async def test_on_source_change_off_leaves_a_push_alone(world):
    world.remote.commit({".github/scenarioforge.yml": "generate:\n  on_source_change: off\n"})
    await publish_pack(world)
    await push(world, {SPEC: NEW_SPEC})
    assert await world.runs() == [] and world.comments(PACK_PR) == []


@pytest.fixture
def scripted_update(model_server) -> list[dict[str, Any]]:
    """The model answers every generation turn with the pack, SC-002's checkpoint now saying 201."""
    def script(request: dict[str, Any]) -> Any:
        data = pack_citing().model_dump()
        data["feature_areas"][0]["outcomes"][0]["scenarios"][1]["checkpoints"] = [
            "POST /api/items answers status 201 with the created item"]
        return [assistant_message(json.dumps(data))]

    model_server.script = script
    return model_server.requests


async def test_on_source_change_update_generates_revision_two_naming_the_changed_source(world, scripted_update):
    world.remote.commit({".github/scenarioforge.yml": "generate:\n  on_source_change: update\n"})
    await publish_pack(world)

    await push(world, {SPEC: NEW_SPEC})

    [run] = await world.runs()
    assert (run.action, run.state) == ("review", "passed"), run.error
    async with world.database.session() as session:
        latest = await packs.latest_revision(session, world.repository)
    assert (latest.revision, latest.mode, latest.pr_number) == (2, "update", PACK_PR)
    assert latest.change_summary["sources_changed"] == [SPEC] and latest.change_summary["changed"] == ["SC-002"]
    assert "The source documents changed: `docs/spec.md` changed (blob" in json.dumps(scripted_update[0])
    assert await flagged(world) == {}  # revision 2 starts with no flags
    body = world.github.pulls[(world.repository, PACK_PR)]["body"]
    assert "revision 2 (update)" in body and "after changes to `docs/spec.md`" in body
