"""Cancelling an execute run end to end: during a Codex turn, and as the fix loop ends (issue 5).

The world of ``tests.execution.test_execute_e2e`` (the target repository, its
stored pack, the scripted model); a FIFO in the test's folder holds an agent's
command until the test releases it, so a cancel lands exactly where the test wants.
"""
from __future__ import annotations

import asyncio
import errno
import os
from typing import Any

from sqlalchemy import select

from bot.execution.prompts import INTROS
from storage import executions, runs
from storage.models import Run
from tests.execution.test_execute_e2e import (  # noqa: F401 - world_settings and world_repo: this module's world
    cart_model,
    check_of,
    outcome_of,
    remote_branches,
    store_pack,
    the_run,
    world_repo,
    world_settings,
)
from tests.support.model_server import exec_call, this_turn, user_texts
from tests.support.target_repo import DISCOUNT_TEST
from tests.support.world import WRITER


async def test_cancel_during_a_turn_ends_the_run_cancelled(world, model_server, tmp_path):
    await store_pack(world)
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    asked = asyncio.Event()

    def blocking(request: dict[str, Any]) -> list[dict[str, Any]]:
        asked.set()
        return [exec_call(f"cat {gate}")]  # blocks until the test writes to the FIFO
    model_server.script = blocking
    await world.comment("/scenarioforge execute")
    await asyncio.wait_for(asked.wait(), 60)
    await world.comment("/scenarioforge cancel")
    await world.settle()
    release(gate)

    run = await the_run(world)
    assert run.state == "cancelled"  # (its phase is whatever the turn reported last before it stopped)
    assert ("cancelled", "complete") in [(e.phase, e.status) for e in await world.events(run.id)]
    check = check_of(world, run)
    assert (check["status"], check["conclusion"]) == ("completed", "cancelled")
    answer = world.comments()[-1]
    assert answer.startswith("Cancelled") and f"run {run.id} (`execute`" in answer
    async with world.database.session() as session:
        assert await executions.load_outcome(session, run.id) is None


async def test_a_cancel_landing_as_the_fix_loop_ends_publishes_nothing(world, model_server, tmp_path):
    await store_pack(world)
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    # the check turn's first command (the last turn of the loop) waits on the FIFO until the test has
    # cancelled the run
    script = cart_model()
    check_intro = INTROS["check"].split(",")[0]
    model_server.script = lambda request: [exec_call(f"cat {gate} > /dev/null && {DISCOUNT_TEST}")] if (
        check_intro in user_texts(request)[-1] and not this_turn(request)) else script(request)
    await world.comment("/scenarioforge execute --mode full")
    writer = await open_when_read(gate)
    # what `/scenarioforge cancel` writes, the workflow itself not cancelled
    async with world.database.session() as session:
        run = (await session.scalars(select(Run))).one()
        await runs.cancel_run(session, run, by=WRITER)
    os.close(writer)  # the check goes on and passes, the loop ends "passed"
    await world.settle()

    run = await the_run(world)
    outcome = await outcome_of(world, run)
    assert (run.state, outcome.stop_reason) == ("cancelled", "passed")
    assert world.github.pulls == {} and remote_branches(world) == ["master"]
    assert world.github.calls("POST /repos/{owner}/{repo}/pulls") == []
    check = check_of(world, run)
    assert (check["status"], check["conclusion"]) == ("completed", "cancelled")
    assert "nothing was committed, pushed or proposed" in check["output"]["summary"]
    assert "state **cancelled**" in await world.tracking(run.id)


async def open_when_read(fifo) -> int:
    """The write end of ``fifo``, opened once a reader has it open (polled: the reader is a
    command Codex starts in its own time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or loop.time() > deadline:  # ENXIO: no reader yet
                raise
        await asyncio.sleep(0.05)


def release(fifo) -> None:
    """Let a reader still blocked on ``fifo`` go (nothing to do when none is left)."""
    try:
        descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: no reader
            raise
        return
    os.close(descriptor)
