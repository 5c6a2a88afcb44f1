"""Hand recorded deliveries to the handlers, after the webhook has answered.

Each accepted delivery becomes a background task (at most ``concurrency``
running at once, every task tracked so shutdown can wait for them). A task
builds the installation's GitHub client, calls
``router.dispatch(event, gh, db=…, settings=…, auth=…, delivery_id=…)`` (handlers
enqueue and cancel runs through ``bot.jobs.queue``) and records the
delivery's outcome, ``processed`` or ``failed`` with the error text (only
failures are logged: the webhook logged the delivery's line, and the outcome
is in the database and the metrics). Every delivery ends with an outcome: a
malformed envelope or payload is ``failed`` with a message naming the event and
the field (``bot.ingress.envelope``, ``handlers.payloads``), never a crashed
task. At start-up, deliveries without an outcome (the process stopped before
handling them) are dispatched again; one whose stored payload no longer
parses is recorded ``failed`` instead, so it is not tried at every start.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any, Protocol

import orjson
from gidgethub import sansio
from gidgethub.routing import Router

from bot import logs
from bot.errors import PayloadError
from bot.ingress import envelope
from bot.metrics import DELIVERIES
from config.settings import Settings
from storage.db import Database
from storage.deliveries import DeliveryLog

log = logging.getLogger(__name__)


class Auth(Protocol):
    """What dispatch needs of ``bot.github.client.AppAuth``."""

    def installation_client(self, installation_id: int) -> Any: ...

    def app_client(self) -> Any: ...


class Dispatcher:
    """Runs the router on accepted deliveries in tracked background tasks."""

    def __init__(
        self,
        router: Router,
        deliveries: DeliveryLog,
        *,
        db: Database,
        settings: Settings,
        concurrency: int = 16,
    ) -> None:
        self._router = router
        self._deliveries = deliveries
        self._db = db
        self._settings = settings
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._auth: Auth | None = None

    def handles(self, event: sansio.Event) -> bool:
        """True when some handler is registered for the event (and its ``action``)."""
        return bool(self._router.fetch(event))

    async def start(self, auth: Auth) -> None:
        """Use ``auth`` for GitHub clients from now on, and re-dispatch deliveries left pending."""
        self._auth = auth
        for delivery in await self._deliveries.pending():
            log.info("re-dispatching delivery %s left unprocessed", delivery.id)
            try:
                data = orjson.loads(delivery.payload)  # as bot.ingress.webhook parsed it
                if not isinstance(data, dict):
                    raise ValueError("the payload is not a JSON object")
            except ValueError as exc:
                await self._deliveries.record_outcome(delivery.id, "failed", f"{delivery.event} delivery: {exc}")
                continue
            self.submit(sansio.Event(data, event=delivery.event, delivery_id=delivery.id))

    def submit(self, event: sansio.Event) -> None:
        """Process ``event`` in a background task; returns at once."""
        task = asyncio.create_task(self._run(event), name=f"delivery-{event.delivery_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every submitted delivery is processed (tests, benchmark, shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self, grace_s: float = 30.0) -> None:
        """Wait up to ``grace_s`` seconds for running deliveries, then cancel the rest;
        cancelled ones stay pending and are dispatched again at the next start."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _run(self, event: sansio.Event) -> None:
        async with self._slots:
            with logs.bound(delivery_id=event.delivery_id):
                status, error = await self._dispatch(event)
                DELIVERIES.labels(event.event, status).inc()
                try:
                    await self._deliveries.record_outcome(event.delivery_id, status, error)
                except Exception:  # stays pending: dispatched again at the next start
                    log.exception("could not record the delivery as %s", status)

    async def _dispatch(self, event: sansio.Event) -> tuple[str, str | None]:
        """Run the handlers; ``("processed", None)`` or ``("failed", error text)``."""
        if self._auth is None:
            raise RuntimeError("Dispatcher.start() was not awaited")
        try:
            installation_id = envelope.parse(event.event, event.data).installation_id
            gh = (
                self._auth.installation_client(installation_id)
                if installation_id is not None
                else self._auth.app_client()
            )
            await self._router.dispatch(
                event,
                gh,
                db=self._db,
                settings=self._settings,
                auth=self._auth,
                delivery_id=event.delivery_id,
            )
        except PayloadError as exc:  # malformed: the message names the field
            log.warning("%s", exc)
            return "failed", str(exc)
        except Exception as exc:  # a handler's failure is recorded on its delivery, never lost
            log.exception("handlers failed on %s delivery", event.event)
            return "failed", "".join(traceback.format_exception_only(exc)).strip()
        return "processed", None
