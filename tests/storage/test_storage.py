"""The migrations create every table and the models round-trip through them."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from storage.models import Base, Run, RunEvent


async def test_migrations_create_the_tables(database):
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {"installations", "deliveries", "runs", "run_events"} <= tables
    assert "jobs" not in tables  # the lease queue is gone: runs are DBOS workflows (0008)


async def test_a_run_keeps_its_events(database):
    async with database.session() as session:
        run = Run(installation_id=1, repository="octo/app", issue_number=3, action="generate", requester="ann")
        session.add(run)
        await session.flush()
        session.add(RunEvent(run_id=run.id, action="generate", phase="queued", status="queued", message="queued"))
    async with database.session() as session:
        events = (await session.scalars(select(RunEvent).where(RunEvent.run_id == run.id))).all()
    assert [event.phase for event in events] == ["queued"]
    assert len(events[0].event_id) == 32


async def test_the_migrations_build_exactly_the_models(database):
    def differences(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_a_delivery_yields_one_run_per_verb(database):
    async with database.session() as session:
        session.add(Run(installation_id=1, repository="octo/app", issue_number=3, action="generate",
                        requester="ann", delivery_id="d-1"))
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            session.add(Run(installation_id=1, repository="octo/app", issue_number=3, action="generate",
                            requester="ann", delivery_id="d-1"))
