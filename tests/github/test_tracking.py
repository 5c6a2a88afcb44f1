"""The tracking comment: posted once, found again by its marker, throttled edits, label removal."""
import asyncio

from sqlalchemy import select

from bot.github import messages
from bot.github.tracking import Tracker, remove_trigger_label
from storage import runs
from storage.models import Run, RunEvent

COMMENTS = "/repos/octo/app/issues/3/comments"


class HeldTimer:
    """A ``sleep`` for the tracker's timer that waits until the test releases it."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._released = asyncio.Event()
        self._done = asyncio.Event()

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        try:
            await self._released.wait()
        finally:
            self._done.set()

    async def release(self) -> None:
        """Let the timer fire and wait until the tracker has acted on it
        (a timer cancelled before it started has nothing to do)."""
        self._released.set()
        if self.delays:
            await self._done.wait()
        await asyncio.sleep(0)  # the timer task's flush runs after its sleep returns


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def new_run(database, **args):
    async with database.session() as session:
        run, _ = await runs.create_run(
            session, delivery_id="d-1", verb="generate", installation_id=1, repository="octo/app",
            issue_number=3, is_pull_request=False, requester="ann", args=args,
        )
    return run


async def new_tracker(database, fake_gh, *, comment_id):
    """A tracker of a new run whose comment GitHub creates as ``comment_id``, on a fake clock and timer."""
    run = await new_run(database)
    fake_gh.answer("POST", COMMENTS, {"id": comment_id})
    clock, timer = FakeClock(), HeldTimer()
    return Tracker(fake_gh, database, run, clock=clock, sleep=timer.sleep), clock, timer


async def stored_comment_id(database, run):
    async with database.session() as session:
        return await session.scalar(select(Run.tracking_comment_id).where(Run.id == run.id))


async def test_posts_once_then_edits_at_most_every_three_seconds(database, fake_gh):
    tracker, clock, timer = await new_tracker(database, fake_gh, comment_id=77)
    run = tracker.run

    await tracker.update("one")
    clock.now += 1
    await tracker.update("two")  # inside the interval: kept back
    clock.now += 1
    await tracker.update("three")  # still inside: replaces "two"
    assert [call.data for call in fake_gh.requests("PATCH")] == []
    clock.now += 1.5
    await tracker.update("four")  # 3.5 s after the post: goes out
    clock.now += 0.5
    await tracker.update("five", final=True)  # final always goes out
    clock.now += 0.5
    await tracker.update("five", final=True)  # unchanged body: no call

    assert [call.data for call in fake_gh.requests("POST")] == [{"body": "one"}]
    patches = fake_gh.requests("PATCH")
    assert [call.path for call in patches] == ["/repos/octo/app/issues/comments/77"] * 2
    assert [call.data["body"] for call in patches] == ["four", "five"]
    assert await stored_comment_id(database, run) == 77


async def test_flush_sends_the_kept_body(database, fake_gh):
    tracker, clock, timer = await new_tracker(database, fake_gh, comment_id=5)
    await tracker.update("one")
    await tracker.update("two")
    await tracker.flush()
    await tracker.flush()
    assert [call.data["body"] for call in fake_gh.requests("PATCH")] == ["two"]
    await tracker.update("three", final=True)


async def test_a_kept_body_goes_out_when_the_interval_has_passed(database, fake_gh):
    tracker, clock, timer = await new_tracker(database, fake_gh, comment_id=5)
    await tracker.update("Codex started")
    clock.now += 1
    await tracker.update("Codex is running `pytest -q`")  # kept back; no further update comes
    assert fake_gh.requests("PATCH") == []

    await timer.release()  # the timer waited the rest of the interval
    assert timer.delays == [2.0]
    assert [call.data["body"] for call in fake_gh.requests("PATCH")] == ["Codex is running `pytest -q`"]


async def test_nothing_older_follows_the_final_body(database, fake_gh):
    tracker, clock, timer = await new_tracker(database, fake_gh, comment_id=5)
    await tracker.update("one")
    await tracker.update("two")  # kept back, timer armed
    await tracker.update("done", final=True)
    await tracker.update("late progress")
    await timer.release()
    assert [call.data["body"] for call in fake_gh.requests("PATCH")] == ["done"]


async def test_finds_a_comment_posted_by_a_crashed_attempt(database, fake_gh):
    run = await new_run(database)
    marker = messages.marker(run.id)
    page_two = "https://api.github.com/repositories/1/issues/3/comments?page=2"
    fake_gh.answer("GET", COMMENTS, [
        {"id": 1, "body": f"quoting {marker}", "user": {"type": "User"}},
    ], headers={"link": f'<{page_two}>; rel="next"'})
    fake_gh.answer("GET", page_two, [{"id": 9, "body": f"{marker}\nold", "user": {"type": "Bot"}}])

    await Tracker(fake_gh, database, run).update("fresh")

    assert fake_gh.requests("POST") == []
    assert [(call.path, call.data) for call in fake_gh.requests("PATCH")] == [
        ("/repos/octo/app/issues/comments/9", {"body": "fresh"})
    ]
    assert await stored_comment_id(database, run) == 9


async def test_remove_trigger_label_only_for_label_runs_and_tolerates_404(database, fake_gh):
    labelled = await new_run(database, trigger="label", label="scenarioforge:generate")
    url = "/repos/octo/app/issues/3/labels/scenarioforge%3Agenerate"
    fake_gh.answer("DELETE", url, {"message": "Label does not exist"}, status=404)
    await remove_trigger_label(fake_gh, labelled)
    labelled.args = {}
    await remove_trigger_label(fake_gh, labelled)
    assert [call.path for call in fake_gh.requests("DELETE")] == [url]


def test_the_body_shows_each_real_phase_once_with_its_latest_status_and_the_raw_error():
    run = Run(id=12, action="generate", requester="ann", state="failed", ref="dev",
              error={"type": "CodexError", "message": "turn failed: 429 Too Many Requests",
                     "context": {"run_id": 12, "turn_id": "t-1"}})
    events = [RunEvent(phase=phase, status=status, message=message) for phase, status, message in [
        ("queued", "queued", "waiting for a worker"), ("workspace", "running", "checking out"),
        ("workspace", "complete", "checked out `abc`"), ("turn", "running", ""), ("turn", "failed", "Codex failed"),
    ]]
    body = messages.tracking(run, events, note="see the check run")
    assert body.startswith("<!-- scenarioforge:run:12 -->\n\n### ScenarioForge · `generate` · run 12")
    assert "Requested by @ann · state **failed** · at `dev`" in body
    assert messages.phase_lines(events) == [
        "- 🕓 **queued** — waiting for a worker", "- ✅ **workspace** — checked out `abc`", "- ❌ **turn** — Codex failed",
    ]
    assert "see the check run" in body
    assert "<summary>Error: CodexError (run_id=12, turn_id=t-1)</summary>" in body
    assert "```\nturn failed: 429 Too Many Requests\n```" in body


def test_a_raw_error_with_backticks_stays_inside_its_block():
    run = Run(id=3, action="execute", requester="ann", state="failed",
              error={"type": "GitError", "message": "fatal: bad ```ref```", "context": {}})
    assert "````\nfatal: bad ```ref```\n````" in messages.tracking(run, [])
