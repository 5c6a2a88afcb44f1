"""A real SQLite file database per test, migrated with Alembic."""
from __future__ import annotations

import pytest

from storage.db import Database


@pytest.fixture
async def database(tmp_path):
    """A migrated database in a temporary file."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'scenarioforge.db'}")
    await db.upgrade()
    try:
        yield db
    finally:
        await db.dispose()
