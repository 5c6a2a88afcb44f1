"""End to end: signed real payloads over HTTP → real app → handlers → local GitHub server."""
from __future__ import annotations

import asyncio
import io
import json
import logging

import aiohttp
import pytest
from sqlalchemy import select

from bot import logs
from bot.github.client import AppAuth
from bot.jobs import queue
from bot.jobs.context import JobContext
from storage.models import Run
from tests.support.webhooks import load_payload

COMMENT = "issue_comment.created.4.json"
#: Failure guard of the waits below; a passing test is nowhere near it.
GUARD_S = 30


@pytest.fixture
async def served(github_server, start_app, webhook_settings):
    """The real app (default router and AppAuth) talking to the local GitHub server."""
    settings = webhook_settings.model_copy(update={"github_api_url": github_server.url})
    running = await start_app(settings)
    return running, github_server


def help_comment(github_server) -> dict:
    payload = load_payload(COMMENT)
    payload["comment"]["body"] = "/scenarioforge help"
    payload = github_server.adopt_payload(payload)
    login = payload["comment"]["user"]["login"]
    github_server.set_permission(payload["repository"]["full_name"], login, "write")
    return payload


async def test_help_from_a_writer_gets_exactly_one_reply(served):
    running, github_server = served
    payload = help_comment(github_server)
    repository, number = payload["repository"]["full_name"], payload["issue"]["number"]
    before = len(github_server.comments(repository, number))
    answer = await running.post(payload, "issue_comment")
    assert answer.status == 202
    await running.services.dispatcher.idle()
    replies = github_server.comments(repository, number)[before:]
    assert len(replies) == 1
    assert "/scenarioforge" in replies[0]["body"]


async def test_concurrent_copies_of_a_command_get_one_reply(served):
    running, github_server = served
    payload = help_comment(github_server)
    repository, number = payload["repository"]["full_name"], payload["issue"]["number"]
    before = len(github_server.comments(repository, number))
    answers = await asyncio.gather(
        *(running.post(payload, "issue_comment", delivery_id="d-same") for _ in range(5))
    )
    await running.services.dispatcher.idle()
    assert sorted(answer.status for answer in answers) == [200] * 4 + [202]
    assert len(github_server.comments(repository, number)[before:]) == 1


async def test_the_json_log_line_of_a_queued_run_carries_its_delivery_and_run_ids(served, caplog):
    running, github_server = served
    payload = help_comment(github_server)
    payload["comment"]["body"] = "/scenarioforge generate cover the user's refunds"
    stream = io.StringIO()
    handler = logs.json_handler(stream)
    caplog.set_level(logging.INFO, logger="handlers.intake")
    logging.getLogger("handlers.intake").addHandler(handler)
    try:
        answer = await running.post(payload, "issue_comment")
        await running.services.dispatcher.idle()
    finally:
        logging.getLogger("handlers.intake").removeHandler(handler)

    async with running.services.database.session() as session:
        (run,) = (await session.scalars(select(Run))).all()
    (line,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (line["message"], line["delivery_id"], line["run_id"]) == ("generate run queued", answer.delivery_id, run.id)


class Gate:
    """An aiohttp ``TraceConfig`` that holds every request of a ``ClientSession`` until ``open()``."""

    def __init__(self) -> None:
        self.held = 0
        self._open = asyncio.Event()
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_start.append(self._wait)

    async def _wait(self, session, context, params) -> None:
        self.held += 1
        await self._open.wait()

    def open(self) -> None:
        self._open.set()


@pytest.fixture
async def gated_github():
    """``(gate, session)``: a ``ClientSession`` whose requests wait for ``gate.open()`` (set up
    before ``start_app``, so it outlives the app)."""
    gate = Gate()
    async with aiohttp.ClientSession(trace_configs=[gate.trace]) as session:
        yield gate, session


async def test_no_github_call_happens_before_the_answer(github_server, gated_github, start_app, webhook_settings):
    """Every GitHub request of the app waits for the gate, which opens only after the answer:
    an answer that waited for any GitHub call (token, permission, reply) would never come."""
    gate, session = gated_github
    settings = webhook_settings.model_copy(update={"github_api_url": github_server.url})
    running = await start_app(settings, auth=AppAuth(session, settings))
    payload = help_comment(github_server)
    repository, number = payload["repository"]["full_name"], payload["issue"]["number"]
    before = len(github_server.comments(repository, number))

    answer = await asyncio.wait_for(running.post(payload, "issue_comment"), GUARD_S)

    assert answer.status == 202
    assert github_server.requests == []
    gate.open()
    await asyncio.wait_for(running.services.dispatcher.idle(), GUARD_S)
    assert len(github_server.comments(repository, number)) == before + 1  # the handler did its calls after
    assert gate.held == len(github_server.requests) >= 3  # token, permission, reaction, reply: all held


class Held:
    """An ``execute`` action that runs until it is cancelled."""

    def __init__(self) -> None:
        self.started, self.cancelled = asyncio.Event(), asyncio.Event()

    async def __call__(self, ctx: JobContext) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


@pytest.fixture
def held() -> Held:
    return Held()


@pytest.fixture
def world_actions(held):
    """The actions of ``tests.support.world``'s ``world`` in this module."""
    return {"execute": held}


async def test_a_command_starts_a_workflow_and_cancel_stops_the_running_action(world, held):
    assert (await world.comment("/scenarioforge execute")).status == 202
    await asyncio.wait_for(held.started.wait(), GUARD_S)
    assert (await world.comment("/scenarioforge cancel")).status == 202
    await asyncio.wait_for(held.cancelled.wait(), GUARD_S)
    await world.settle()

    (run,) = await world.runs()
    assert run.state == "cancelled"
    assert world.comments()[-1].startswith("Cancelled 1 run: run 1 (`execute`")
    assert [(w.workflow_id, w.status) for w in await queue.workflows_of(run.id)] == [(str(run.id), "CANCELLED")]
