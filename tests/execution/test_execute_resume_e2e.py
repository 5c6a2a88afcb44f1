"""An execute run continues from its checkpoint: a worker restarted in the middle of a fix turn (issue 11),
and a run stopped by its token budget continued with ``/scenarioforge execute --resume RUN_ID`` (issue 13).

The world of ``tests.execution.test_execute_e2e`` (the target repository with its one real bug, its stored
pack, the scripted model driving the real ``codex``). The model's requests are counted per turn kind, so a
finished turn asked again fails the test.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from bot.domain.results import FixReport
from bot.execution.action import BRANCH_PREFIX, CHECK_NAME
from bot.execution.prompts import INTROS
from bot.jobs.runtime import Runtime
from storage import checkpoints
from tests.execution.test_execute_e2e import (  # noqa: F401 - world_repo: this module's world
    cart_model,
    git_show,
    outcome_of,
    store_pack,
    the_run,
    world_repo,
)
from tests.execution.test_execute_e2e import world_settings as execute_world_settings
from tests.support.model_server import assistant_message, exec_call, this_turn, user_texts
from tests.support.target_repo import BUGGY_FILE, CART, FIX_COMMAND

@pytest.fixture
def world_settings(codex_settings) -> dict[str, Any]:
    """The scripted model at $10 / $1 / $100 per million input / cached / output tokens (a run's cost shows
    which turns it paid for)."""
    return {**execute_world_settings.__wrapped__(codex_settings),
            "model_prices": {"scripted": {"input": 10, "cached_input": 1, "output": 100}}}


NOTE = "# totals checked by ScenarioForge"
NOTE_COMMAND = f"echo '{NOTE}' >> {BUGGY_FILE}"


def kind_of(request: dict[str, Any]) -> str:
    """``run``, ``rerun``, ``check`` or ``fix``: the turn a model request belongs to, from its prompt."""
    text = user_texts(request)[-1]
    if "failed on real output" in text:
        return "fix"
    return next(kind for kind, intro in INTROS.items() if text.startswith(intro))


def fixing(plans: list[list[str]], hung: asyncio.Event | None = None):
    """Run, rerun and check turns as ``cart_model``; fix turn ``n`` runs the commands of ``plans[n - 1]``
    (``"hang"``: sets ``hung`` and never ends, once) and then reports."""
    base, started = cart_model(), []

    def script(request: dict[str, Any]) -> list[dict[str, Any]]:
        if kind_of(request) != "fix":
            return base(request)
        done = this_turn(request)
        if not done:
            started.append(request)
        plan = plans[len(started) - 1]
        if plan == ["hang"]:
            plans.pop(len(started) - 1)
            started.pop()
            assert hung is not None
            hung.set()
            return [exec_call("sleep 600")]
        if len(done) < len(plan):
            return [exec_call(plan[len(done)])]
        return [assistant_message(FixReport(summary=f"attempt with {len(plan)} command(s)",
                                            changed_files=[BUGGY_FILE], residual_risk="").model_dump_json())]

    return script


def cart_on(world, branch: str) -> str:
    """The cart on ``branch``, checked against what both fix attempts leave: the note of the first, the fix of
    the second (``git show`` drops the last newline)."""
    cart = git_show(world, f"{branch}:{BUGGY_FILE}")
    assert cart == (CART.replace("/ 1000", "/ 100") + NOTE + "\n").rstrip("\n")
    return cart


async def test_a_worker_restarted_during_a_fix_turn_goes_on_without_asking_the_finished_turns_again(
        world, model_server):
    await store_pack(world)
    hung = asyncio.Event()
    model_server.script = fixing([[NOTE_COMMAND], ["hang"], [FIX_COMMAND]], hung)
    await world.comment("/scenarioforge execute --mode full")
    await asyncio.wait_for(hung.wait(), 120)
    await world.runtime.stop()  # the process stops in the middle of fix turn 2: its workflow stays pending
    run = await the_run(world)
    async with world.database.session() as session:
        saved = await checkpoints.load(session, run.id)
    assert (run.state, saved.next_phase, saved.turns) == ("running", "fix", 3)  # run, fix 1, rerun 1
    assert world.github.check_runs[run.check_run_id]["status"] == "in_progress"  # left for the resumed run
    before = Counter(kind_of(request) for request in model_server.requests)

    restarted = Runtime(world.database, world.settings, world.runtime.auth, actions=world.runtime.actions)
    world.runtime = world.running.services.workers = restarted
    await restarted.start()  # same executor id: DBOS re-runs the execute step, which loads the checkpoint
    await world.settle()

    run = await the_run(world)
    assert run.state == "passed", run.error
    after = Counter(kind_of(request) for request in model_server.requests) - before
    assert (before["run"], after) == (3, Counter({"fix": 2, "rerun": 2, "check": 3}))  # only fix 2 on, again
    resumed_fix = user_texts(next(r for r in model_server.requests[sum(before.values()):] if kind_of(r) == "fix"))
    # the recorded thread, holding the earlier turns, not a new one told what came before
    assert any(text.startswith(INTROS["run"]) for text in resumed_fix[:-1])
    assert "Your previous answer to this task was" not in resumed_fix[-1]
    outcome = await outcome_of(world, run)
    assert [(t.kind, t.attempt) for t in outcome.turns] == [("run", 0), ("fix", 1), ("rerun", 1), ("fix", 2),
                                                           ("rerun", 2), ("rerun", 2)]
    assert outcome.thread_id == saved.state["thread_id"]
    # the same pull request as an uninterrupted run: one, holding both attempts' work
    (pull,) = world.github.pulls.values()
    branch = f"{BRANCH_PREFIX}{run.id}"
    assert pull["head"]["ref"] == branch and cart_on(world, branch)
    assert "attempt 1: attempt with 1 command(s)" in pull["body"] and "- **SC-001**: failed → passed" in pull["body"]
    tracking = await world.tracking(run.id)
    assert "continuing from this run's checkpoint after 3 finished turn(s): next `fix`" in tracking
    assert len(world.comments()) == 1  # one tracking comment
    checks = [c for c in world.github.check_runs.values() if c["name"] == CHECK_NAME]
    assert [(c["id"], c["conclusion"]) for c in checks] == [(run.check_run_id, "success")]  # taken up again


async def test_a_run_stopped_by_its_token_budget_shows_its_work_and_resume_continues_it_to_a_fix_pr(
        world, model_server):
    world.remote.commit({".github/scenarioforge.yml": "execute:\n  token_budget: 1000\n"})
    await store_pack(world)
    # the run turn and fix attempt 1 (a note, two more commands) with its rerun: 9 requests of 120 tokens
    model_server.script = fixing([[NOTE_COMMAND, "true", "true"], [FIX_COMMAND]])
    await world.comment("/scenarioforge execute --mode full")
    await world.settle()

    stopped = await the_run(world)
    outcome = await outcome_of(world, stopped)
    assert (stopped.state, outcome.stop_reason, len(outcome.attempts), outcome.tokens) == (
        "failed", "token_budget", 1, 1080)
    tracking = await world.tracking(stopped.id)
    assert "| SC-001 | ❌ failed — code-defect |" in tracking and "Fix attempts (1, stop: token_budget)" in tracking
    assert ("**Stopped by the token budget** after 1 fix attempt(s), 1080 tokens and " in tracking
            and "the results above are the results so far; the work is kept." in tracking)
    assert f"Changes so far (1 file(s)):\n- `{BUGGY_FILE}` (+1 −0)" in tracking
    assert f"with a fresh budget: `/scenarioforge execute --resume {stopped.id}`" in tracking
    assert world.github.pulls == {}
    before = len(model_server.requests)

    await world.comment(f"/scenarioforge execute --resume {stopped.id}")
    await world.settle()

    resumed = await the_run(world)
    assert (resumed.id != stopped.id, resumed.state, resumed.args["mode"], resumed.args["resume"]) == (
        True, "passed", "full", stopped.id)
    asked = Counter(kind_of(request) for request in model_server.requests[before:])
    assert asked == Counter({"fix": 2, "rerun": 2, "check": 3})  # the run turn and fix 1 are not asked again
    outcome = await outcome_of(world, resumed)
    assert [a.number for a in outcome.attempts] == [1, 2] and outcome.stop_reason == "passed"
    # the resumed run pays for its own turns only: the first three were the stopped run's
    assert [turn.cost_usd is None for turn in outcome.turns] == [True] * 3 + [False] * 3
    assert resumed.cost_usd == pytest.approx(sum(turn.cost_usd for turn in outcome.turns[3:]))
    assert stopped.cost_usd == pytest.approx(sum(t.cost_usd for t in (await outcome_of(world, stopped)).turns))
    (pull,) = world.github.pulls.values()
    branch = f"{BRANCH_PREFIX}{stopped.id}"  # the stopped run's chain: its branch
    assert pull["head"]["ref"] == branch and cart_on(world, branch)
    resumed_tracking = await world.tracking(resumed.id)
    assert f"continuing from run {stopped.id}'s checkpoint after 3 finished turn(s): next `fix`" in resumed_tracking
