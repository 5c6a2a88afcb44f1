"""Storage tests hold on SQLite and on PostgreSQL: ``database`` is both, in turn."""
import pytest


@pytest.fixture
def database(database_on_both):
    return database_on_both
