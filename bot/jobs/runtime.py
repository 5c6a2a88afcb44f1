"""The process's DBOS runtime: configuration, launch, the run queue, graceful stop.

One ``Runtime`` per process (DBOS is a process singleton). ``start()``
configures DBOS with

- ``system_database_url``: DBOS's own tables next to ours — for SQLite a
  sibling file ``<name>.dbos.sqlite``, for PostgreSQL the database
  ``<name>_dbos`` on the same server (DBOS creates it and migrates it);
- ``application_version`` = ``APP_VERSION``, explicit and bumped on purpose
  when a workflow's steps change: DBOS resumes a pending workflow only in a
  process of the same version, so old runs finish on old workers (README,
  "Upgrades");
- ``executor_id``: ``settings.executor_id`` or ``<host name>-<worker_slot>``
  (``<host name>-web-<worker_slot>`` for a web replica), stable across
  restarts, so a restarted process resumes its own runs;

and listens to the run queue (``bot.jobs.queue.QUEUE``), heartbeats and takes
over dead executors' runs (``bot.jobs.takeover``), and applies the schedules
(``bot.jobs.schedules``: the missed-delivery reconciler) only when ``settings.workers`` > 0; with 0 the process (a web replica) only enqueues.
The queue is registered with ``worker_concurrency = settings.workers`` (runs
per process at once) and ``partition_concurrency = 1`` per lane. DBOS keeps
the queue's limits in its database, shared by every process, so all workers
of one deployment should use the same ``SCENARIOFORGE_WORKERS``.

Limit (DBOS's documentation and our own measurement): on SQLite the lane
exclusivity holds within one process only; run several worker processes on
PostgreSQL.
"""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from pathlib import Path

from dbos import DBOS
from sqlalchemy.engine import make_url

from bot.jobs import schedules, takeover, workflow
from bot.jobs.context import Action, JobAuth
from bot.jobs.queue import QUEUE
from bot.workspace.worktrees import Workspaces
from config.settings import Settings
from storage.db import Database

APP_NAME = "scenarioforge"
#: The version of the workflows' step sequence (``bot.jobs.workflow`` and the
#: actions' steps). Bump it whenever steps are added, removed or reordered.
APP_VERSION = "2026.12.1"


def system_database_url(database_url: str) -> str:
    """DBOS's system database for our ``database_url`` (plain driver, as DBOS wants it).

    ``sqlite+aiosqlite:///./sf.db`` → ``sqlite:////abs/sf.dbos.sqlite``;
    ``postgresql+psycopg://u@h:5432/sf`` → ``postgresql://u@h:5432/sf_dbos``.

    Raises:
        ValueError: an in-memory SQLite database (DBOS needs a file).
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ValueError("DBOS needs a SQLite file, not an in-memory database")
        path = Path(url.database).resolve()
        return f"sqlite:///{path.with_name(path.stem + '.dbos.sqlite')}"
    return url.set(drivername=url.get_backend_name(), database=f"{url.database}_dbos").render_as_string(
        hide_password=False)


def executor_id(settings: Settings) -> str:
    """``settings.executor_id``, else ``<host name>-<worker_slot>`` for a worker and
    ``<host name>-web-<worker_slot>`` for a web replica (``workers`` = 0). DBOS resumes an
    executor's pending workflows when a process with its id launches, so a web replica must
    never share a worker's id."""
    if settings.executor_id:
        return settings.executor_id
    role = "" if settings.workers > 0 else "web-"
    return f"{socket.gethostname()}-{role}{settings.worker_slot}"


class Runtime:
    """DBOS for this process: workflows run ``actions`` with ``db``, ``settings`` and ``auth``."""

    def __init__(self, db: Database, settings: Settings, auth: JobAuth, *, actions: Mapping[str, Action],
                 version: str = APP_VERSION) -> None:
        self.db, self.settings, self.auth, self.actions, self.version = db, settings, auth, actions, version
        self.executor_id = executor_id(settings)
        self._services: workflow.Bound | None = None
        self._heartbeat: asyncio.Task | None = None

    @property
    def running(self) -> int:
        """Workflows running in this process now (a cancelled one counts until its action has stopped)."""
        return len(self._services.tasks) if self._services is not None else 0

    @property
    def works(self) -> bool:
        """True when this process runs workflows (``settings.workers`` > 0)."""
        return self.settings.workers > 0

    async def start(self) -> None:
        """Bind the services, launch DBOS on the running loop (workflows run on it) and
        register the run queue; DBOS resumes this executor's pending workflows."""
        self._services = workflow.Bound(self.db, self.settings, self.auth, self.actions,
                                        Workspaces(self.settings.workdir))
        workflow.bind(self._services)
        DBOS(config={
            "name": APP_NAME, "system_database_url": system_database_url(self.db.url),
            "application_version": self.version, "executor_id": self.executor_id, "log_level": "WARNING",
            "scheduler_polling_interval_sec": self.settings.queue_poll_s,
            "notification_listener_polling_interval_sec": min(self.settings.queue_poll_s, 1.0),
        })
        DBOS.listen_queues([QUEUE] if self.works else [])
        DBOS.launch()
        await DBOS.register_queue_async(
            QUEUE, worker_concurrency=self.settings.workers or None, partition_concurrency=1,
            polling_interval_sec=self.settings.queue_poll_s,
            on_conflict="always_update" if self.works else "never_update",
        )
        if self.works:  # a dead worker's runs are taken over (bot.jobs.takeover); missed deliveries asked again
            await DBOS.apply_schedules_async(schedules.schedules(self.settings.reconcile_every_s))
            self._heartbeat = asyncio.create_task(
                takeover.keep_alive(self.db, self.executor_id, self.settings.heartbeat_timeout_s))

    async def stop(self) -> None:
        """Cancel the workflows running here (they stay pending and resume at the next
        start of this executor, or on another worker), then shut DBOS down."""
        services = self._services
        if services is None:
            return
        services.stopping = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
        running = list(services.tasks)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await asyncio.to_thread(DBOS.destroy)
        workflow.unbind()
        self._services = None
