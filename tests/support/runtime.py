"""DBOS for tests that call handlers or the queue directly, without an app.

``web_runtime`` launches ``bot.jobs.runtime.Runtime`` on the test's ``database``
with ``workers=0``: it only enqueues, like a web replica, so tests can read the
enqueued workflows (``bot.jobs.queue.workflows_of``) while nothing runs them.
"""
from __future__ import annotations

import pytest

from bot.jobs.runtime import Runtime
from tests.support.fakes import make_settings


@pytest.fixture
async def web_runtime(database, tmp_path):
    """A started enqueue-only ``Runtime`` on ``database``; stopped after the test."""
    settings = make_settings(database_url=database.url, workdir=tmp_path / "work", workers=0, queue_poll_s=0.05)
    runtime = Runtime(database, settings, auth=None, actions={})
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
