"""End to end: signed real payloads over HTTP → real app → handlers → local GitHub server."""
from __future__ import annotations

import asyncio

import pytest

from tests.support.webhooks import NoWorkers, load_payload

COMMENT = "issue_comment.created.4.json"


@pytest.fixture
async def world(github_server, start_app, webhook_settings):
    """The real app (default router and AppAuth) talking to the local GitHub server."""
    settings = webhook_settings.model_copy(update={"github_api_url": github_server.url})
    running = await start_app(settings, workers=NoWorkers())
    return running, github_server


def help_comment(github_server) -> dict:
    payload = load_payload(COMMENT)
    payload["comment"]["body"] = "/scenarioforge help"
    payload = github_server.adopt_payload(payload)
    login = payload["comment"]["user"]["login"]
    github_server.set_permission(payload["repository"]["full_name"], login, "write")
    return payload


async def test_help_from_a_writer_gets_exactly_one_reply(world):
    running, github_server = world
    payload = help_comment(github_server)
    repository, number = payload["repository"]["full_name"], payload["issue"]["number"]
    before = len(github_server.comments(repository, number))
    answer = await running.post(payload, "issue_comment")
    assert answer.status == 202
    await running.services.dispatcher.idle()
    replies = github_server.comments(repository, number)[before:]
    assert len(replies) == 1
    assert "/scenarioforge" in replies[0]["body"]


async def test_concurrent_copies_of_a_command_get_one_reply(world):
    running, github_server = world
    payload = help_comment(github_server)
    repository, number = payload["repository"]["full_name"], payload["issue"]["number"]
    before = len(github_server.comments(repository, number))
    answers = await asyncio.gather(
        *(running.post(payload, "issue_comment", delivery_id="d-same") for _ in range(5))
    )
    await running.services.dispatcher.idle()
    assert sorted(answer.status for answer in answers) == [200] * 4 + [202]
    assert len(github_server.comments(repository, number)[before:]) == 1
