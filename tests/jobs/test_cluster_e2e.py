"""Issue 11 on PostgreSQL, end to end over HTTP: one web replica (``serve``, WORKERS=0), worker
processes (``scenarioforge worker``), the real codex binary and the scripted model.

Everything runs as it would in production (``tests.support.cluster``): the test
process only plays GitHub (the local server), the model and the clock.
"""
from __future__ import annotations

import asyncio
import json

from sqlalchemy import select

from bot.scenarios.action import BRANCH
from storage.models import PackRevision
from tests.scenarios.test_generate_e2e import scripted, spec_id, tool_outputs, vague
from tests.support.model_server import assistant_message, exec_call, sample_pack, user_texts

pytest_plugins = ["tests.support.cluster"]

CHECK_RUNS = "POST /repos/{owner}/{repo}/check-runs"
PULLS = "POST /repos/{owner}/{repo}/pulls"
GUARD_S = 120


async def revisions(cluster) -> list[PackRevision]:
    async with cluster.database.session() as session:
        return list((await session.scalars(select(PackRevision).order_by(PackRevision.revision))).all())


def tracking_comments(cluster, run) -> list[dict]:
    return [c for c in cluster.world.github.comments(cluster.world.repository, run.issue_number)
            if f"run {run.id}" in c["body"] and c["user"]["login"] == cluster.world.github.bot_login]


async def test_six_issues_at_once_on_two_workers_and_one_lane_never_overlaps(cluster, model_server):
    model_server.script = scripted(sample_pack)
    await cluster.serve()
    await asyncio.gather(cluster.worker("a"), cluster.worker("b"))
    answers = await asyncio.gather(
        *(cluster.world.comment("/scenarioforge generate", issue_number=n) for n in range(1, 7)),
        cluster.world.comment("/scenarioforge generate", issue_number=7),
        cluster.world.comment("/scenarioforge generate --update shorter", issue_number=7))
    assert {answer.status for answer in answers} == {202}

    runs = await cluster.settle(8)
    assert [run.state for run in runs] == ["passed"] * 8, [(r.id, r.state, r.error and r.error["message"]) for r in runs]
    for run in runs:  # one tracking comment per run, on its own issue
        assert len(tracking_comments(cluster, run)) == 1
    assert sorted(r.revision for r in await revisions(cluster)) == list(range(1, 9))
    assert len(cluster.world.github.calls(PULLS)) == 1 and len(cluster.world.github.pulls) == 1
    assert len(cluster.world.github.calls(CHECK_RUNS)) == 8
    first, second = [run for run in runs if run.issue_number == 7]
    assert first.finished_at <= second.started_at or second.finished_at <= first.started_at  # one lane


async def test_every_worker_killed_mid_turn_and_a_new_worker_finishes_without_repeating(cluster, model_server):
    hung = asyncio.Event()

    def script(request):
        if not any("source ids exist:" in text for text in user_texts(request)):  # the generation turn: read the spec, answer a pack to refine
            if not tool_outputs(request):
                return [exec_call("cat docs/spec.md")]
            return [assistant_message(json.dumps(vague(sample_pack(spec_id(request)))))]
        if not hung.is_set():  # the refinement turn hangs in a command: every worker dies meanwhile
            hung.set()
            return [exec_call("sleep 600")]
        return [assistant_message(json.dumps(sample_pack(spec_id(request))))]

    model_server.script = script
    await cluster.serve()
    await asyncio.gather(cluster.worker("a"), cluster.worker("b"))
    assert (await cluster.world.comment("/scenarioforge generate")).status == 202
    await asyncio.wait_for(hung.wait(), GUARD_S)
    await cluster.kill_workers()
    (run,) = await cluster.runs()
    assert (run.state, len(model_server.requests)) == ("running", 3)  # turn 1 (2 requests) done, turn 2 begun
    checks_before = len(cluster.world.github.calls(CHECK_RUNS))
    assert checks_before == 1  # the check_run step had finished: it must not run again

    # brand-new processes of the dead workers' slots resume their workflows after the last finished step
    await asyncio.gather(cluster.worker("a"), cluster.worker("b"))
    (run,) = await cluster.settle(1)
    assert run.state == "passed", run.error
    # the finished turn (2 requests) is not asked again; the unfinished one is, in the recorded thread
    # or, on a worker whose CODEX_HOME lacks it, in a new thread given the previous answer
    assert len(model_server.requests) == 4
    assert "source ids exist:" in "\n".join(user_texts(model_server.requests[3]))
    assert len(cluster.world.github.calls(CHECK_RUNS)) == checks_before
    assert len(tracking_comments(cluster, run)) == 1
    assert len(cluster.world.github.calls(PULLS)) == 1
    (revision,) = await revisions(cluster)
    assert (revision.revision, revision.commit_sha) == (1, cluster.world.remote.sha(BRANCH))
    assert len(revision.turn_ids) == 2  # the finished turn's checkpoint and the resumed turn
