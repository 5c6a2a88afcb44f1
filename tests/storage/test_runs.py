"""Runs on SQLite and PostgreSQL (tests/storage/conftest.py): idempotent creation, queueing, events,
states, cancel."""
import pytest
from sqlalchemy import func, select

from storage import runs
from storage.models import Run, RunEvent

FIELDS = dict(installation_id=1, repository="octo/app", issue_number=3, is_pull_request=False,
              requester="ann", args={"mode": None})


async def make_run(database, delivery_id="d-1", verb="execute", **overrides):
    async with database.session() as session:
        return await runs.create_run(session, delivery_id=delivery_id, verb=verb, **{**FIELDS, **overrides})


async def count(database, model, *where):
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_create_run_is_idempotent_per_delivery_and_verb(database):
    run, created = await make_run(database)
    again, created_again = await make_run(database)
    other, created_other = await make_run(database, verb="generate")
    assert (created, created_again, created_other) == (True, False, True)
    assert again.id == run.id != other.id
    assert (run.state, run.phase, run.args) == ("queued", "accepted", {"mode": None})


async def test_queue_moves_an_accepted_run_to_queued_once(database):
    run, _ = await make_run(database)
    async with database.session() as session:
        queued = await runs.queue(session, run.id)
    async with database.session() as session:
        assert await runs.queue(session, run.id) is None
    assert queued.phase == "queued"
    async with database.session() as session:
        events = await runs.events_of(session, run.id)
    assert [(e.phase, e.status, e.action) for e in events] == [("queued", "queued", "execute")]


async def test_events_are_only_transitions_and_states_are_checked(database):
    run, _ = await make_run(database)
    async with database.session() as session:
        await runs.set_state(session, run, "running", "workspace", "checking out")
        assert await runs.add_event(session, run, "workspace", "running", "still checking out") is None
        await runs.add_event(session, run, "workspace", "passed", "at abc123", {"sha": "abc123"})
        await runs.set_state(session, run, "passed", "done")
        with pytest.raises(ValueError, match="passed → running"):
            await runs.set_state(session, run, "running", "again")
    async with database.session() as session:
        events = await runs.events_of(session, run.id)
    assert [(e.phase, e.status) for e in events] == [("workspace", "running"), ("workspace", "passed"), ("done", "passed")]
    assert events[1].payload == {"sha": "abc123"}
    assert run.started_at is not None and run.finished_at is not None


async def test_same_phase_and_status_for_another_subject_is_a_transition(database):
    run, _ = await make_run(database)
    async with database.session() as session:
        await runs.set_state(session, run, "running", "scenario")
        for scenario_id in ("SC-001", "SC-002"):
            for status in ("running", "passed"):
                await runs.add_event(session, run, "scenario", status, f"{scenario_id} {status}",
                                     {"scenario_id": scenario_id})
    async with database.session() as session:
        events = await runs.events_of(session, run.id)
    assert [(e.status, e.payload.get("scenario_id")) for e in events][1:] == [
        ("running", "SC-001"), ("passed", "SC-001"), ("running", "SC-002"), ("passed", "SC-002")]


async def test_latest_and_active_runs(database):
    first, _ = await make_run(database, delivery_id="d-1")
    second, _ = await make_run(database, delivery_id="d-2", issue_number=4)
    await make_run(database, delivery_id="d-3", repository="octo/other")
    async with database.session() as session:
        latest = await runs.latest_runs(session, "octo/app")
        assert [run.id for run in latest] == [second.id, first.id]
        assert [run.id for run in await runs.latest_runs(session, "octo/app", limit=1)] == [second.id]
        assert [run.id for run in await runs.active_runs(session, "octo/app", 3)] == [first.id]
        assert await runs.active_runs(session, "octo/app", 5) == []


async def test_cancel_marks_the_run_cancelled_with_its_event(database):
    run, _ = await make_run(database)
    async with database.session() as session:
        await runs.queue(session, run.id)
    async with database.session() as session:
        (active,) = await runs.active_runs(session, "octo/app", 3)
        await runs.cancel_run(session, active, by="bob")
    async with database.session() as session:
        assert await runs.active_runs(session, "octo/app", 3) == []
        last = (await runs.events_of(session, run.id))[-1]
    assert (active.state, last.phase, last.status, last.message) == ("cancelled", "cancelled", "complete", "cancelled by @bob")
    assert await count(database, RunEvent, RunEvent.run_id == run.id) == 2


async def test_cancel_active_runs_cancels_every_queued_and_running_run_of_the_issue(database):
    queued, _ = await make_run(database, delivery_id="d-1")
    running, _ = await make_run(database, delivery_id="d-2", verb="generate")
    done, _ = await make_run(database, delivery_id="d-3")
    elsewhere, _ = await make_run(database, delivery_id="d-4", issue_number=4)
    async with database.session() as session:
        for run in (queued, running, done, elsewhere):
            await runs.queue(session, run.id)
        for run in (running, done):
            await runs.set_state(session, await session.get(Run, run.id), "running", "workspace")
        await runs.set_state(session, await session.get(Run, done.id), "passed", "done")
    async with database.session() as session:
        cancelled = await runs.cancel_active_runs(session, "octo/app", 3, by="bob")
    assert [run.id for run in cancelled] == [queued.id, running.id]
    assert await count(database, Run, Run.state == "cancelled") == 2
    async with database.session() as session:
        assert await runs.cancel_active_runs(session, "octo/app", 3, by="bob") == []
        assert [run.state for run in await runs.active_runs(session, "octo/app", 4)] == ["queued"]
