"""A generation stopped between two Codex turns resumes after the finished turn, in the same Codex thread (issue 11)."""
from __future__ import annotations

import asyncio
import json

from bot.jobs.runtime import Runtime
from tests.scenarios.test_generate_e2e import only_run, spec_id, stored_revisions, tool_outputs, vague
from tests.scenarios.test_generate_e2e import world_settings  # noqa: F401 - this module's world uses the scripted model
from tests.support.model_server import assistant_message, exec_call, sample_pack, user_texts
REFINE = "source ids exist:"


def refining(hung: asyncio.Event):
    """Turn 1 reads the spec and answers a pack to refine; the refinement turn's first request hangs."""

    def script(request):
        if not any(REFINE in text for text in user_texts(request)):
            if not tool_outputs(request):
                return [exec_call("cat docs/spec.md")]
            return [assistant_message(json.dumps(vague(sample_pack(spec_id(request)))))]
        if not hung.is_set():
            hung.set()
            return [exec_call("sleep 600")]
        return [assistant_message(json.dumps(sample_pack(spec_id(request))))]

    return script


async def test_a_process_restarted_mid_refinement_continues_the_same_thread_without_the_first_turn(
        world, model_server):
    hung = asyncio.Event()
    model_server.script = refining(hung)
    await world.comment("/scenarioforge generate")
    await asyncio.wait_for(hung.wait(), 60)
    await world.runtime.stop()  # the process stops: its workflow stays pending
    assert (await only_run(world)).state == "running" and len(model_server.requests) == 3

    restarted = Runtime(world.database, world.settings, world.runtime.auth, actions=world.runtime.actions)
    world.runtime = world.running.services.workers = restarted
    await restarted.start()  # same executor id: DBOS resumes the workflow after its last finished step
    await world.settle()

    run = await only_run(world)
    assert run.state == "passed", run.error
    assert len(model_server.requests) == 4  # the finished generation turn was not asked again
    resumed = model_server.requests[-1]
    history = json.dumps(resumed["input"])
    assert "Your previous answer to this task was" not in history  # the recorded thread, not a new one
    assert "It works correctly" in history  # …which still holds the first turn's answer
    (revision,) = await stored_revisions(world)
    assert len(revision.turn_ids) == 2 and len({revision.thread_id}) == 1
