"""Issue 2, "Done when": real signed ``issue_comment`` deliveries over HTTP to the running app,
answered on the local GitHub server (``tests.support.world``)."""
from __future__ import annotations

import asyncio

from bot.github import messages
from tests.support.world import READER, WRITER

COMMENT_CREATE = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"


async def test_help_from_a_writer_gets_exactly_one_reply_and_a_reaction(world):
    payload = world.comment_payload("/scenarioforge help")
    answer = await world.post(payload, "issue_comment")
    assert answer.status == 202
    await world.settle()

    assert world.comments() == [messages.help_text()]
    reactions = world.github.reactions(payload["comment"]["id"])
    assert [(r["content"], r["user"]["login"]) for r in reactions] == [("eyes", world.github.bot_login)]
    assert await world.runs() == []


async def test_status_lists_the_runs_of_the_repository(world):
    await world.comment("/scenarioforge sources", issue_number=3)
    await world.settle()
    (run,) = await world.runs()

    await world.comment("/scenarioforge status")
    await world.settle()

    (status,) = world.comments(1)
    assert status.startswith("### ScenarioForge status")
    assert f"| {run.id} | `sources` | {run.state} | {run.phase} | issue #3 | {WRITER} |" in status


async def test_a_read_only_user_gets_one_short_refusal_and_nothing_runs(world):
    payload = world.comment_payload("/scenarioforge generate", user=READER)
    await world.post(payload, "issue_comment")
    await world.settle()

    (refusal,) = world.comments()
    assert refusal.startswith(f"@{READER}, ScenarioForge commands need `write` permission")
    assert "you have `read`" in refusal and len(refusal.splitlines()) == 1
    assert world.github.reactions(payload["comment"]["id"]) == []
    assert await world.runs() == []


async def test_a_bot_not_allowed_and_the_app_itself_are_ignored(world):
    await world.comment("/scenarioforge help", user="dependabot[bot]")
    await world.comment("/scenarioforge help", user=world.github.bot_login)
    await world.settle()

    assert world.comments() == ["/scenarioforge help"]  # the App's own comment, nothing more
    assert world.github.calls(COMMENT_CREATE) == []
    assert world.github.calls("GET /repos/{owner}/{repo}/collaborators/{username}/permission") == []
    assert await world.runs() == []


async def test_a_repeated_delivery_is_answered_once(world):
    payload = world.comment_payload("/scenarioforge help")
    first = await world.post(payload, "issue_comment")
    again = await world.post(payload, "issue_comment", delivery_id=first.delivery_id)
    await world.settle()

    assert (first.status, again.status) == (202, 200)
    assert world.comments() == [messages.help_text()]


async def post_concurrently_four_times(world, comment: str) -> None:
    """Deliver one ``issue_comment`` of ``comment`` four times at once under one delivery id and let the bot
    settle: one delivery is accepted (202), the three others are answered as duplicates (200)."""
    payload = world.comment_payload(comment)
    answers = await asyncio.gather(*(world.post(payload, "issue_comment", delivery_id="same-delivery")
                                     for _ in range(4)))
    await world.settle()
    assert sorted(a.status for a in answers) == [200, 200, 200, 202]


async def test_concurrent_duplicate_help_deliveries_are_answered_once(world):
    await post_concurrently_four_times(world, "/scenarioforge help")
    assert world.comments() == [messages.help_text()]


async def test_concurrent_duplicate_command_deliveries_make_one_run(world):
    await post_concurrently_four_times(world, "/scenarioforge sources")
    (run,) = await world.runs()
    tracking = [body for body in world.comments() if messages.marker(run.id) in body]
    assert len(tracking) == 1
    assert len(world.github.calls(COMMENT_CREATE)) == 2  # the tracking comment and the manifest comment
