"""``scenarioforge worker``: run workflows with no HTTP server.

A worker process launches DBOS (``bot.jobs.runtime.Runtime``) with
``SCENARIOFORGE_WORKERS`` runs at once on the run queue, mints installation
tokens with the App's key (``bot.github.client.AppAuth``) and runs the action
registry (``bot.actions.ACTIONS``), until SIGINT or SIGTERM. Web replicas
(``serve`` with ``SCENARIOFORGE_WORKERS=0``) record deliveries and enqueue;
workers do the work. On start DBOS resumes this executor's pending workflows
(its id: ``SCENARIOFORGE_EXECUTOR_ID`` or ``<host name>-<SCENARIOFORGE_WORKER_SLOT>``).
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys

import aiohttp

from bot import logs
from bot.actions import ACTIONS
from bot.github.client import AppAuth
from bot.ingress.server import load_settings
from bot.jobs.runtime import Runtime
from config.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)


def worker() -> int:
    """``scenarioforge worker``: returns the exit code (2 for invalid settings, with one
    line per problem, or when the App is not configured or ``SCENARIOFORGE_WORKERS`` is 0)."""
    settings = load_settings(serving=True)
    if settings is None:
        return 2
    if not settings.has_app_credentials:
        print("cannot work: SCENARIOFORGE_APP_ID and SCENARIOFORGE_PRIVATE_KEY_PATH are not set "
              "(run `scenarioforge serve` once for the setup)", file=sys.stderr)
        return 2
    if settings.workers == 0:
        print("cannot work: SCENARIOFORGE_WORKERS is 0 (a worker runs at least one run at once)", file=sys.stderr)
        return 2
    logs.configure()
    return asyncio.run(_work(settings))


async def _work(settings: Settings) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    database = Database(settings.database_url)
    try:
        await database.upgrade()
        async with aiohttp.ClientSession() as session:
            runtime = Runtime(database, settings, AppAuth(session, settings), actions=ACTIONS)
            await runtime.start()
            log.info("worker %s running %s run(s) at once", runtime.executor_id, settings.workers)
            try:
                await stop.wait()
            finally:
                await runtime.stop()
    finally:
        await database.dispose()
    return 0
