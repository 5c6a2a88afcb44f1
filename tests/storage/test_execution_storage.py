"""An execute outcome stored and re-reported from a real SQLite file; the run ↔ PR link."""
from __future__ import annotations

from sqlalchemy import func, inspect, select

from bot.domain.results import TurnUsage
from storage import models
from storage.executions import (
    evidence_of,
    link_pull_request,
    load_outcome,
    pull_request_of,
    save_outcome,
)
from tests.execution.test_render_execution import fixed_outcome


async def new_run(database) -> int:
    async with database.session() as session:
        run = models.Run(installation_id=1, repository="octo/shop", issue_number=4, action="execute", requester="ann")
        session.add(run)
        await session.flush()
        return run.id


async def test_migration_0004_creates_the_execute_tables(database):
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {"execution_results", "scenario_results", "evidence", "fix_attempts", "pull_request_links"} <= tables


async def test_outcome_round_trips_and_saving_again_replaces_it(database):
    run_id = await new_run(database)
    outcome = fixed_outcome()
    for _ in range(2):
        async with database.session() as session:
            await save_outcome(session, run_id, outcome, pack_revision=2, manifest_hash="abc123")

    async with database.session() as session:
        loaded = await load_outcome(session, run_id)
        row = await session.get(models.ExecutionResult, run_id)
        attempts = await session.scalar(select(func.count()).select_from(models.FixAttempt))
        stored = await evidence_of(session, run_id, "ev-before")
        assert await load_outcome(session, run_id + 1) is None
    assert loaded == outcome
    assert (row.pack_revision, row.manifest_hash, attempts) == (2, "abc123", 1)
    assert stored.exit_code == 1 and "49.5" in stored.output


async def test_one_pull_request_per_run_updated_in_place(database):
    run_id = await new_run(database)
    async with database.session() as session:
        await link_pull_request(session, run_id, repository="octo/shop", number=12, url="https://x/pull/12",
                                branch=f"scenarioforge/fix-{run_id}", scenario_ids=["SC-001"])
    async with database.session() as session:
        await link_pull_request(session, run_id, repository="octo/shop", number=12, url="https://x/pull/12",
                                branch=f"scenarioforge/fix-{run_id}", scenario_ids=["SC-001", "SC-003"])
    async with database.session() as session:
        link = await pull_request_of(session, run_id)
        count = await session.scalar(select(func.count()).select_from(models.PullRequestLink))
    assert (link.number, link.scenario_ids, count) == (12, ["SC-001", "SC-003"], 1)


async def test_turn_usage_and_the_pre_pr_check_are_re_reported(database):
    run_id = await new_run(database)
    outcome = fixed_outcome()
    regressed = outcome.results[0].model_copy(update={"status": "failed"})
    outcome = outcome.model_copy(update={
        "turns": [TurnUsage(turn_id="t1", kind="run", input_tokens=900, output_tokens=100, total_tokens=1000),
                  TurnUsage(turn_id="t2", kind="fix", attempt=1, input_tokens=400, output_tokens=50,
                            total_tokens=450)],
        "check": [regressed],
        "results": [regressed, *outcome.results[1:]],
    })
    async with database.session() as session:
        await save_outcome(session, run_id, outcome)
    async with database.session() as session:
        loaded = await load_outcome(session, run_id)
    assert [(turn.turn_id, turn.kind, turn.total_tokens) for turn in loaded.turns] == [("t1", "run", 1000),
                                                                                      ("t2", "fix", 450)]
    assert loaded.check == [regressed]
    assert loaded.results[0].status == "failed"  # the check, not the last fix attempt, is the last word
