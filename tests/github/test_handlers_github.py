"""Handlers against the local GitHub server: every request they make is checked against
GitHub's OpenAPI slice, through the real ``AppAuth`` client and a real database."""
import pytest
from gidgethub.sansio import Event
from sqlalchemy import select

from bot.github import messages
from bot.github.tracking import remove_trigger_label
from bot.jobs import queue
from handlers import router
from storage.models import Run
from tests.support.fakes import make_settings
from tests.support.webhooks import load_payload

REPO = "Codertocat/Hello-World"


@pytest.fixture
def dispatch(github_server, github_auth, database, app_keys, web_runtime):
    settings = make_settings(app_id=app_keys.app_id, github_api_url=github_server.url)

    async def dispatch(event):
        gh = github_auth.installation_client(event.data["installation"]["id"])
        await router.dispatch(event, gh, db=database, settings=settings, auth=github_auth,
                              delivery_id=event.delivery_id)
    return dispatch


def comment(github_server, body, *, delivery_id="d-1", login="Codertocat"):
    data = load_payload("issue_comment.created.4.json")
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = login
    return Event(github_server.adopt_payload(data), event="issue_comment", delivery_id=delivery_id)


def bodies(github_server):
    return [c["body"] for c in github_server.comments(REPO, 1)]


async def test_help_from_a_writer_gets_one_reply_and_a_reaction(dispatch, github_server):
    event = comment(github_server, "/scenarioforge help")
    github_server.set_permission(REPO, "Codertocat", "write")
    await dispatch(event)
    assert bodies(github_server) == ["/scenarioforge help", messages.help_text()]
    assert [r["content"] for r in github_server.reactions(event.data["comment"]["id"])] == ["eyes"]


async def test_a_reader_and_a_stranger_are_refused(dispatch, github_server, database):
    github_server.set_permission(REPO, "reader", "read")
    await dispatch(comment(github_server, "/scenarioforge generate", login="reader", delivery_id="d-1"))
    await dispatch(comment(github_server, "/scenarioforge generate", login="stranger", delivery_id="d-2"))
    replies = bodies(github_server)[1:]
    assert len(replies) == 2
    assert "you have `read`" in replies[0] and "GitHub answered: Not Found" in replies[1]
    async with database.session() as session:
        assert (await session.scalars(select(Run))).all() == []


async def test_generate_twice_dispatched_makes_one_tracking_comment_run_and_job(dispatch, github_server, database):
    event = comment(github_server, "/scenarioforge generate --update make it shorter")
    github_server.set_permission(REPO, "Codertocat", "admin")
    await dispatch(event)
    async with database.session() as session:  # a crash before the id was saved: found again by marker
        run = await session.scalar(select(Run))
        run.tracking_comment_id = None
    await dispatch(event)

    async with database.session() as session:
        (run,) = (await session.scalars(select(Run))).all()
    tracking = [c for c in github_server.comments(REPO, 1) if messages.marker(run.id) in c["body"]]
    assert len(tracking) == 1 and run.tracking_comment_id == tracking[0]["id"]
    assert len(github_server.comments(REPO, 1)) == 2
    assert [w.status for w in await queue.workflows_of(run.id)] == ["ENQUEUED"]
    assert run.args == {"update": True, "branch": None, "text": "make it shorter"}


async def test_the_trigger_label_is_removed(github_server, github_auth, database):
    data = github_server.adopt_payload(load_payload("issues.labeled.1.json"))
    github_server.issues[(REPO, 1)]["labels"].append({"name": "scenarioforge:generate"})
    run = Run(repository=REPO, issue_number=1, args={"trigger": "label", "label": "scenarioforge:generate"})
    gh = github_auth.installation_client(data.get("installation", {}).get("id", 1))
    await remove_trigger_label(gh, run)
    await remove_trigger_label(gh, run)  # already gone: 404 is fine
    assert "scenarioforge:generate" not in [label["name"] for label in github_server.issues[(REPO, 1)]["labels"]]
