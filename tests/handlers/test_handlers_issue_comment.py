"""`issue_comment` handler through the shared transport fake, with real payloads and a real database."""
from urllib.parse import quote

import pytest
from gidgethub.sansio import Event
from sqlalchemy import select

from bot.github import messages
from bot.jobs import queue
from handlers import router
from storage import runs
from storage.models import Run
from tests.support.fakes import make_settings
from tests.support.webhooks import load_payload

ISSUE = "/repos/Codertocat/Hello-World/issues/1"
COMMENTS = ISSUE + "/comments"
REACTIONS = "/repos/Codertocat/Hello-World/issues/comments/492700400/reactions"
PERMISSION = "/repos/Codertocat/Hello-World/collaborators/{login}/permission"


def comment_event(body, *, delivery_id="d-1", login="Codertocat", user_type="User", app=None, on_pr=False):
    """The real issue_comment.created payload with our comment body and author."""
    data = load_payload("issue_comment.created.4.json")
    data["comment"].update(body=body, performed_via_github_app=app)
    data["comment"]["user"].update(login=login, type=user_type)
    if on_pr:
        data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
    return Event(data, event="issue_comment", delivery_id=delivery_id)


def permission_url(login):
    return PERMISSION.format(login=quote(login))


def allow(fake_gh, login="Codertocat", role="write"):
    permission = {"maintain": "write", "triage": "read"}.get(role, role)
    fake_gh.answer("GET", permission_url(login), {"permission": permission, "role_name": role})


async def workflows(run_id):
    """``[(workflow id, status, lane)]`` of run ``run_id``."""
    return [(w.workflow_id, w.status, w.queue_partition_key) for w in await queue.workflows_of(run_id)]


async def all_runs(database):
    async with database.session() as session:
        return (await session.scalars(select(Run))).all()


async def test_no_command_makes_no_call(dispatch, fake_gh):
    await dispatch(comment_event("Thanks!\n```\n/scenarioforge help\n```"))
    assert fake_gh.calls == []


@pytest.mark.parametrize("author", [
    dict(login="scenarioforge[bot]", user_type="Bot", app={"id": 1, "slug": "scenarioforge"}),
    dict(login="dependabot[bot]", user_type="Bot"),
])
async def test_the_app_itself_and_unlisted_bots_are_ignored(dispatch, fake_gh, author):
    await dispatch(comment_event("/scenarioforge generate", **author))
    assert fake_gh.calls == []


async def test_an_allowed_bot_is_authorized_like_a_person(fake_gh, database):
    allow(fake_gh, "renovate[bot]")
    await router.dispatch(comment_event("/scenarioforge help", login="renovate[bot]", user_type="Bot"), fake_gh,
                          db=database, settings=make_settings(allowed_bots="renovate[bot]"), auth=None,
                          delivery_id="d-1")
    assert [call.path for call in fake_gh.calls] == [permission_url("renovate[bot]"), REACTIONS, COMMENTS]


@pytest.mark.parametrize(("answer", "status", "expected"), [
    ({"permission": "read", "role_name": "read"}, 200, "you have `read`"),
    ({"permission": "read", "role_name": "triage"}, 200, "you have `triage`"),
    ({"message": "Not Found"}, 404, "GitHub answered: Not Found"),
    ({"message": "Server Error"}, 500, "could not check your permission"),
])
async def test_refused_actors_get_one_reply_and_nothing_runs(dispatch, fake_gh, database, answer, status, expected):
    fake_gh.answer("GET", permission_url("Codertocat"), answer, status=status)
    await dispatch(comment_event("/scenarioforge generate"))
    replies = fake_gh.requests("POST")
    assert [call.path for call in replies] == [COMMENTS]
    assert expected in replies[0].data["body"] and "Nothing was run." in replies[0].data["body"]
    assert await all_runs(database) == []


async def test_a_custom_role_falls_back_to_its_base_permission(dispatch, fake_gh):
    fake_gh.answer("GET", permission_url("Codertocat"), {"permission": "admin", "role_name": "security-lead"})
    await dispatch(comment_event("/scenarioforge help"))
    assert [call.path for call in fake_gh.requests("POST")] == [REACTIONS, COMMENTS]


async def test_a_bad_command_gets_the_line_problem_and_usage(dispatch, fake_gh):
    allow(fake_gh)
    await dispatch(comment_event("hey\n/scenarioforge execute --mode deploy"))
    (reply,) = fake_gh.requests("POST")
    assert reply.path == COMMENTS
    body = reply.data["body"]
    assert body.startswith("> /scenarioforge execute --mode deploy\n")
    assert "invalid choice: 'deploy'" in body
    assert "<details>\n<summary>Usage</summary>" in body and messages.USAGE["execute"] in body


async def test_help_reacts_and_replies_with_the_reference(dispatch, fake_gh):
    allow(fake_gh, role="maintain")
    await dispatch(comment_event("/scenarioforge help"))
    reaction, reply = fake_gh.requests("POST")
    assert (reaction.path, reaction.data) == (REACTIONS, {"content": "eyes"})
    assert reply.path == COMMENTS
    assert all(usage in reply.data["body"] for usage in messages.USAGE.values())
    assert "scenarioforge:execute" in reply.data["body"]


async def test_help_names_the_configured_minimum_permission(fake_gh, database):
    allow(fake_gh, role="admin")
    await router.dispatch(comment_event("/scenarioforge help"), fake_gh, db=database, auth=None, delivery_id="d-1",
                          settings=make_settings(min_permission="maintain"))
    reply = fake_gh.requests("POST", COMMENTS)[-1].data["body"]
    assert reply == messages.help_text("maintain")
    assert "people with `maintain` permission (or higher)" in reply and "`write`" not in reply


async def test_status_lists_the_latest_runs(dispatch, fake_gh, database):
    allow(fake_gh)
    await dispatch(comment_event("/scenarioforge status", delivery_id="d-0"))
    assert "No runs yet" in fake_gh.requests("POST")[-1].data["body"]

    fake_gh.answer("POST", COMMENTS, lambda call: (201, {"id": len(fake_gh.calls)}))
    await dispatch(comment_event("/scenarioforge generate", delivery_id="d-1"))
    await dispatch(comment_event("/scenarioforge execute --mode fix", delivery_id="d-2", on_pr=True))
    await dispatch(comment_event("/scenarioforge status", delivery_id="d-3"))
    table = fake_gh.requests("POST", COMMENTS)[-1].data["body"]
    lines = table.splitlines()
    assert "| run | action | state | phase | on | requested by | created |" in lines
    rows = [line for line in lines if line.startswith("| ") and "`" in line]
    assert [row.split(" | ")[1:6] for row in rows] == [
        ["`execute`", "queued", "queued", "PR #1", "Codertocat"],
        ["`generate`", "queued", "queued", "issue #1", "Codertocat"],
    ]


async def test_an_accepted_command_gets_one_reaction_comment_run_and_workflow(dispatch, fake_gh, database):
    allow(fake_gh)
    fake_gh.answer("POST", COMMENTS, {"id": 501}, status=201)
    event = comment_event("/scenarioforge generate --branch dev cover the user's checkout", on_pr=True)
    await dispatch(event)
    await dispatch(event)  # the same delivery dispatched again (restart)

    (run,) = await all_runs(database)
    assert (run.action, run.args, run.ref, run.is_pull_request, run.requester, run.installation_id) == (
        "generate", {"update": False, "branch": "dev", "text": "cover the user's checkout"}, "dev", True, "Codertocat", 1,
    )
    assert (run.state, run.phase, run.tracking_comment_id, run.delivery_id) == ("queued", "queued", 501, "d-1")
    assert await workflows(run.id) == [(str(run.id), "ENQUEUED", "Codertocat/Hello-World#1")]
    tracking = [call for call in fake_gh.requests("POST", COMMENTS)]
    assert len(tracking) == 1 and messages.marker(run.id) in tracking[0].data["body"]
    assert fake_gh.requests("PATCH") == []
    assert len(fake_gh.requests("POST", REACTIONS)) == 2  # one per dispatch; GitHub keeps one reaction


async def test_a_crash_after_the_run_row_is_finished_by_the_redispatch(dispatch, fake_gh, database):
    allow(fake_gh)
    fake_gh.answer("POST", COMMENTS, {"message": "Server Error"}, status=502)
    fake_gh.answer("POST", COMMENTS, {"id": 9}, status=201)
    event = comment_event("/scenarioforge sources --exclude 'old/**'")
    with pytest.raises(Exception):
        await dispatch(event)
    (run,) = await all_runs(database)
    assert run.phase == "accepted" and run.tracking_comment_id is None
    await dispatch(event)
    (run,) = await all_runs(database)
    assert (run.phase, run.tracking_comment_id, run.args) == ("queued", 9, {"include": [], "exclude": ["old/**"]})
    assert [status for _, status, _ in await workflows(run.id)] == ["ENQUEUED"]


async def test_cancel_cancels_every_active_run_of_the_issue_and_its_workflow_and_says_how_many(
    dispatch, fake_gh, database
):
    allow(fake_gh)
    await dispatch(comment_event("/scenarioforge cancel", delivery_id="d-0"))
    assert "Nothing to cancel" in fake_gh.requests("POST", COMMENTS)[-1].data["body"]

    fake_gh.answer("POST", COMMENTS, {"id": 700}, status=201)
    fake_gh.answer("POST", COMMENTS, {"id": 701}, status=201)
    await dispatch(comment_event("/scenarioforge execute", delivery_id="d-1"))
    await dispatch(comment_event("/scenarioforge generate", delivery_id="d-2"))
    async with database.session() as session:  # the execute run is running on a worker
        await runs.set_state(session, await session.scalar(select(Run).where(Run.action == "execute")),
                             "running", "workspace")
    await dispatch(comment_event("/scenarioforge cancel", delivery_id="d-3"))

    assert [run.state for run in await all_runs(database)] == ["cancelled", "cancelled"]
    first, second = await all_runs(database)
    async with database.session() as session:
        events = await runs.events_of(session, first.id)
    assert [await workflows(run.id) for run in (first, second)] == [
        [(str(run.id), "CANCELLED", "Codertocat/Hello-World#1")] for run in (first, second)]
    assert [(event.phase, event.status) for event in events][-1] == ("cancelled", "complete")
    edits = fake_gh.requests("PATCH")
    assert [edit.path for edit in edits] == [f"/repos/Codertocat/Hello-World/issues/comments/{i}" for i in (700, 701)]
    assert all("state **cancelled**" in e.data["body"] and "cancelled by @Codertocat" in e.data["body"] for e in edits)
    reply = fake_gh.requests("POST", COMMENTS)[-1].data["body"]
    assert reply.startswith("Cancelled 2 runs: ")
    assert all(f"run {run.id} (" in reply for run in (first, second))
    execute_run = next(run for run in (first, second) if run.action == "execute")
    assert f"`/scenarioforge execute --resume {execute_run.id}` continues run {execute_run.id}" in reply
    assert reply.count("--resume") == 1  # a cancelled generate has nothing to resume


async def test_resume_of_a_run_that_did_not_stop_on_a_budget_is_refused_with_the_reason(dispatch, fake_gh, database):
    allow(fake_gh)
    async with database.session() as session:
        done = Run(installation_id=1, repository="Codertocat/Hello-World", issue_number=1, action="execute",
                   requester="Codertocat", state="passed")
        session.add(done)
        await session.flush()
        done_id = done.id
    await dispatch(comment_event(f"/scenarioforge execute --resume {done_id}", delivery_id="d-1"))
    await dispatch(comment_event("/scenarioforge execute --resume 999", delivery_id="d-2"))

    first, second = [call.data["body"] for call in fake_gh.requests("POST", COMMENTS)]
    assert first.startswith(f"> /scenarioforge execute --resume {done_id}\n\n--resume {done_id}: run {done_id} did "
                            "not stop on its token or wall-clock budget nor was it cancelled (it ended passed)")
    assert "--resume 999: run 999 does not exist in Codertocat/Hello-World." in second
    assert [run.id for run in await all_runs(database)] == [done_id]  # nothing started
