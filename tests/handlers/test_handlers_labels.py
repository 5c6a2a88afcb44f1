"""Label triggers through the shared transport fake, with real `issues`/`pull_request` payloads."""
import pytest
from gidgethub.sansio import Event
from sqlalchemy import select

from bot.errors import PayloadError
from bot.github import messages
from bot.jobs import queue
from storage.models import Run
from tests.support.webhooks import load_payload

REPO = "/repos/Codertocat/Hello-World"


def labeled(event_name, label, *, sender="Codertocat"):
    data = load_payload(f"{event_name}.labeled.1.json")
    data["label"]["name"] = label
    data["sender"]["login"] = sender
    data.setdefault("installation", {"id": 1})
    return Event(data, event=event_name, delivery_id="d-label")


async def stored(database, model):
    async with database.session() as session:
        return (await session.scalars(select(model))).all()


async def test_other_labels_are_ignored(dispatch, fake_gh, database):
    await dispatch(labeled("issues", "bug"))
    assert fake_gh.calls == [] and await stored(database, Run) == []


async def test_issue_label_queues_generate_with_defaults(dispatch, fake_gh, database):
    fake_gh.answer("GET", f"{REPO}/collaborators/Codertocat/permission", {"permission": "admin", "role_name": "admin"})
    fake_gh.answer("POST", f"{REPO}/issues/1/comments", {"id": 42}, status=201)
    event = labeled("issues", "scenarioforge:generate")
    await dispatch(event)
    await dispatch(event)

    (run,) = await stored(database, Run)
    assert (run.action, run.issue_number, run.is_pull_request, run.head_sha, run.tracking_comment_id) == (
        "generate", 1, False, None, 42,
    )
    assert run.args == {"update": False, "branch": None, "text": "",
                        "trigger": "label", "label": "scenarioforge:generate"}
    assert [w.status for w in await queue.workflows_of(run.id)] == ["ENQUEUED"]
    (comment,) = fake_gh.requests("POST")
    assert messages.marker(run.id) in comment.data["body"]


async def test_pull_request_label_queues_execute_at_the_head_sha(dispatch, fake_gh, database):
    fake_gh.answer("GET", f"{REPO}/collaborators/Codertocat/permission", {"permission": "write", "role_name": "write"})
    fake_gh.answer("POST", f"{REPO}/issues/2/comments", {"id": 43}, status=201)
    await dispatch(labeled("pull_request", "scenarioforge:execute"))

    (run,) = await stored(database, Run)
    assert (run.action, run.issue_number, run.is_pull_request, run.head_sha) == (
        "execute", 2, True, "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    )
    assert run.args == {"mode": None, "scenarios": [], "revision": None, "repeat": None, "allow_test_changes": False,
                        "resume": None, "trigger": "label", "label": "scenarioforge:execute"}


async def test_a_sender_without_write_is_refused(dispatch, fake_gh, database):
    fake_gh.answer("GET", f"{REPO}/collaborators/mallory/permission", {"permission": "read", "role_name": "read"})
    await dispatch(labeled("issues", "scenarioforge:execute", sender="mallory"))
    (reply,) = fake_gh.requests("POST")
    assert reply.path == f"{REPO}/issues/1/comments" and "@mallory" in reply.data["body"]
    assert await stored(database, Run) == []


@pytest.mark.parametrize("bot", ["scenarioforge-test[bot]", "github-actions[bot]", "renovate[bot]"])
async def test_a_label_set_by_a_bot_or_the_app_itself_is_ignored_without_a_reply(dispatch, fake_gh, database, bot):
    event = labeled("pull_request", "scenarioforge:execute", sender=bot)
    event.data["sender"]["type"] = "Bot"
    await dispatch(event)
    assert fake_gh.calls == [] and await stored(database, Run) == []


async def test_a_label_event_without_the_senders_type_is_a_payload_error(dispatch):
    event = labeled("issues", "scenarioforge:generate")
    del event.data["sender"]["type"]
    with pytest.raises(PayloadError, match="sender.type"):
        await dispatch(event)
