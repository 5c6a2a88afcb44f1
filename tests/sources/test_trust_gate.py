"""The trust gate blocks and ``/scenarioforge confirm`` resumes, over real webhook deliveries
(issue 3, "Done when"; seed 000 §7).

Until the real ``generate`` action lands, the world's workers run a test-only
``generate`` that does exactly what generation does first — repository config,
current manifest, gate — and then passes.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.actions import ACTIONS
from bot.jobs import queue
from bot.jobs.context import JobContext
from bot.sources.gate import current_manifest, gate, load_repo_config
from storage.manifests import selected_source_ids
from storage.models import ManifestConfirmation
from tests.support.world import READER, WRITER
from tests.sources.test_e2e_sources import SPEC_OLD, documents

SUSPECT_LINE = (f"  - `{SPEC_OLD}` (suspect): Names 1 HTTP route(s) the code does not declare. "
                "(GET /api/items/export)")


async def gated_generate(ctx: JobContext) -> None:
    """What ``generate`` does before its first Codex turn, then nothing."""
    config, error = await load_repo_config(ctx)
    manifest = await current_manifest(ctx, config, error)
    if not await gate(ctx, manifest):
        return
    await ctx.event("generate", "complete", f"would read {len(selected_source_ids(manifest))} selected source(s)")


@pytest.fixture
def world_repo():
    return documents


@pytest.fixture
def world_actions():
    return {**ACTIONS, "generate": gated_generate}


async def runs_by_action(world) -> dict[str, list]:
    found: dict[str, list] = {}
    for run in await world.runs():
        found.setdefault(run.action, []).append(run)
    return found


async def confirmations(world) -> list[ManifestConfirmation]:
    async with world.database.session() as session:
        return list((await session.scalars(select(ManifestConfirmation))).all())


async def test_the_gate_blocks_and_an_authorized_confirm_resumes(world):
    await world.comment("/scenarioforge generate")
    await world.settle()

    (generate,) = await world.runs()
    assert (generate.state, generate.phase) == ("blocked", "needs-confirmation")
    blocked = await world.tracking(generate.id)
    assert "- ⛔ **needs-confirmation** — 1 selected source(s) are stale or suspect and need a look" in blocked
    assert SUSPECT_LINE in blocked
    assert "Reply `/scenarioforge confirm`" in blocked
    assert f"`/scenarioforge sources --exclude {SPEC_OLD}`" in blocked
    assert "0001-use-sqlite.md" not in blocked  # stale but not selected: nothing to look at

    await world.comment("/scenarioforge confirm", user=READER)
    await world.settle()
    assert (await world.runs())[0].state == "blocked" and await confirmations(world) == []
    assert len([body for body in world.comments() if body.startswith(f"@{READER}")]) == 1

    await world.comment("/scenarioforge confirm")
    await world.settle()

    runs = await runs_by_action(world)
    (generate,), (confirm,) = runs["generate"], runs["confirm"]
    assert (confirm.state, generate.state, generate.phase) == ("passed", "passed", "complete")
    (confirmation,) = await confirmations(world)
    assert confirmation.confirmed_by == WRITER
    resumed = await world.tracking(generate.id)
    assert (f"✅ **needs-confirmation** — @{WRITER} answered with `/scenarioforge confirm` (run {confirm.id})"
            in resumed)
    assert f"✅ **gate** — confirmed by @{WRITER} for hash `{confirmation.manifest_hash[:12]}`" in resumed
    assert "✅ **generate** — would read 3 selected source(s)" in resumed
    assert f"resumed run {generate.id} (`generate`)" in await world.tracking(confirm.id)
    assert [(w.workflow_id, w.status) for w in await queue.workflows_of(generate.id)] == [
        (str(generate.id), "SUCCESS"), (f"{generate.id}.{confirm.id}", "SUCCESS")]


async def test_a_confirmation_does_not_carry_over_to_a_changed_manifest(world):
    await world.comment("/scenarioforge generate")
    await world.settle()
    await world.comment("/scenarioforge confirm")
    await world.settle()
    assert [run.state for run in await world.runs()] == ["passed", "passed"]

    world.remote.commit({SPEC_OLD: "# Items API, first draft\n\n- `GET /api/items/export` exports items as CSV.\n"},
                        message="Reword the draft", date="2025-06-03T12:00:00+00:00")
    await world.comment("/scenarioforge generate")
    await world.settle()

    latest = (await world.runs())[-1]
    assert (latest.state, latest.phase, latest.head_sha) == ("blocked", "needs-confirmation", world.remote.sha())
    assert SUSPECT_LINE in await world.tracking(latest.id)
    assert len(await confirmations(world)) == 1


async def test_excluding_the_suspect_source_then_confirm_resumes_without_a_confirmation(world):
    await world.comment("/scenarioforge generate", on_pr=True)
    await world.settle()
    await world.comment(f"/scenarioforge sources --exclude {SPEC_OLD}", on_pr=True)
    await world.settle()
    await world.comment("/scenarioforge confirm", on_pr=True)
    await world.settle()

    runs = await runs_by_action(world)
    assert [run.state for run in runs["generate"] + runs["sources"] + runs["confirm"]] == ["passed"] * 3
    assert await confirmations(world) == []
    (generate,) = runs["generate"]
    tracking = await world.tracking(generate.id)
    assert "✅ **gate** — no stale or suspect source is selected" in tracking
    assert "✅ **generate** — would read 2 selected source(s)" in tracking
    assert "nothing to confirm" in await world.tracking(runs["confirm"][0].id)


async def test_the_generate_label_on_a_pull_request_goes_through_the_gate_too(world):
    pull = world.open_pull(4, {"docs/notes.md": "# Notes\n\nNothing new.\n"})
    answer = await world.label("scenarioforge:generate", on_pr=True, issue_number=4)
    await world.settle()

    assert answer.status == 202
    (run,) = await world.runs()
    assert (run.is_pull_request, run.head_sha, run.state, run.phase) == (
        True, pull["head"]["sha"], "blocked", "needs-confirmation")
    assert SUSPECT_LINE in await world.tracking(run.id)
    assert world.github.issues[(world.repository, 4)]["labels"] == []  # removed when the job was picked up
