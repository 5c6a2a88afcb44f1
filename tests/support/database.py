"""Real databases, migrated with Alembic: a SQLite file per test, or PostgreSQL.

``database`` is a SQLite file under ``tmp_path``. Test folders whose tests
must hold on both engines (``tests/storage``, ``tests/jobs``) override it with
``database_on_both`` (``tests/<folder>/conftest.py``): parametrized
``sqlite`` / ``postgresql``, the latter a fresh database on the session's
server (``tests.support.postgres``) given as the plain URL users set.
"""
from __future__ import annotations

import pytest

from config.settings import Settings
from storage.db import Database

ENGINES = ("sqlite", "postgresql")


async def migrated(url: str):
    """A migrated ``Database`` of ``url`` (normalised like ``SCENARIOFORGE_DATABASE_URL``), disposed after."""
    db = Database(Settings(_env_file=None, database_url=url).database_url)
    await db.upgrade()
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def database(tmp_path):
    """A migrated database in a temporary SQLite file."""
    async for db in migrated(f"sqlite+aiosqlite:///{tmp_path / 'scenarioforge.db'}"):
        yield db


@pytest.fixture(params=ENGINES)
async def database_on_both(request, tmp_path):
    """A migrated database on SQLite, then on PostgreSQL (``request.param``)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'scenarioforge.db'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    async for db in migrated(url):
        yield db
