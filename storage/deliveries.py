"""The ``deliveries`` and ``delivery_outcomes`` tables, written through one group-committing writer.

Every webhook delivery is recorded before its HTTP answer. Concurrent requests
hand their rows to a single writer that inserts whatever has queued up since
its last commit in one transaction (group commit), and each request awaits its
own future: the database pays one commit for many deliveries, and a repeated
``X-GitHub-Delivery`` id is detected by the primary key (``INSERT … ON
CONFLICT DO NOTHING … RETURNING id``), also when both copies arrive at once.

A delivery row is written once and never updated. How it ended is a small
``delivery_outcomes`` row, inserted through the same writer (in the same
transaction as the delivery when the outcome is known at the answer); a
delivery without one is pending.

The writer runs each batch on a synchronous connection in its own thread: one
thread hop per batch, where the async driver needs several per statement.
It therefore opens its own engine on the same URL with the dialect's
synchronous driver (an in-memory SQLite database would not be shared).

On SQLite the writer also checkpoints the WAL itself, every
``CHECKPOINT_BYTES`` of payload, after answering the batch that crossed the
mark, instead of SQLite's automatic checkpoint inside a commit: the requests
of that batch do not wait for the checkpoint's fsync, and smaller checkpoints
keep the stall short for those that queue meanwhile.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database, sqlite_pragmas
from storage.models import Delivery, DeliveryOutcome, utcnow

log = logging.getLogger(__name__)

#: Upper bound of rows per transaction (SQLite allows 32,766 bound parameters).
MAX_BATCH = 256
#: SQLite: payload bytes the writer lets into the WAL before it checkpoints them into
#: the database file. A checkpoint holds the writer for a time about proportional to
#: its size, fsync included: ~3 ms for 512 KiB on the 2-core bench machine, ~14 ms
#: for SQLite's automatic 1000 pages (4 MiB), at about the same cost per byte.
CHECKPOINT_BYTES = 512 * 1024

#: dialect → (INSERT construct with ON CONFLICT, synchronous driver)
_DIALECTS = {"sqlite": (sqlite.insert, "pysqlite"), "postgresql": (postgresql.insert, "psycopg")}


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery as recorded: headers, the fields routing needs and the raw JSON body."""

    id: str  # X-GitHub-Delivery
    event: str  # X-GitHub-Event
    action: str | None
    installation_id: int | None
    repository: str | None  # owner/name
    payload: str  # the raw JSON body
    #: the outcome when known at the answer (``ignored``: no handler; ``processed``:
    #: ping), else None: pending until the dispatcher records one.
    outcome: str | None = None
    received_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        """Raises ValueError naming the first field whose type the ``deliveries`` columns refuse
        (checked before the row reaches the writer, so it never fails a batch)."""
        for name, kinds in _FIELD_TYPES.items():
            value = getattr(self, name)
            if type(value) not in kinds:  # exact types: a bool is no installation id
                raise ValueError(f"delivery {self.id!r}: field `{name}` must be "
                                 f"{' or '.join(kind.__name__ for kind in kinds)}, got {type(value).__name__}")


#: The accepted Python types of each column of a ``DeliveryRecord``.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "event": (str,), "action": (str, type(None)), "installation_id": (int, type(None)),
    "repository": (str, type(None)), "payload": (str,), "outcome": (str, type(None)),
}


@dataclass(frozen=True)
class Outcome:
    """How a delivery ended (a ``delivery_outcomes`` row)."""

    delivery_id: str
    status: str  # processed | ignored | failed
    error: str | None = None
    finished_at: datetime = field(default_factory=utcnow)


_Entry = tuple[DeliveryRecord | Outcome, asyncio.Future[bool]]


class DeliveryLog:
    """Record deliveries and their outcome; ``start()`` before use, ``close()`` after."""

    def __init__(self, database: Database) -> None:
        url = database.engine.url
        dialect = url.get_backend_name()
        if dialect not in _DIALECTS:
            raise ValueError(f"unsupported database dialect {dialect!r} (sqlite or postgresql)")
        self._database = database
        insert, driver = _DIALECTS[dialect]
        self._insert_deliveries = (
            insert(_DELIVERIES).on_conflict_do_nothing(index_elements=["id"]).returning(_DELIVERIES.c.id)
        )
        # The first outcome of a delivery stays; a conflict never fails the batch it is in.
        self._insert_outcomes = insert(_OUTCOMES).on_conflict_do_nothing(index_elements=["delivery_id"])
        self._engine = create_engine(url.set(drivername=f"{dialect}+{driver}"))
        self._checkpoints = dialect == "sqlite"
        if self._checkpoints:
            event.listen(self._engine, "connect", sqlite_pragmas)
            event.listen(self._engine, "connect", _no_automatic_checkpoint)
        self._unchecked_bytes = 0  # payload bytes written since the last checkpoint (writer thread)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="delivery-writer")
        self._queue: asyncio.Queue[_Entry | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="delivery-writer")

    async def close(self) -> None:
        """Write what is queued, then stop the writer and close its connections."""
        if self._writer is not None:
            self._queue.put_nowait(None)
            await self._writer
            self._writer = None
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown()

    async def record(self, delivery: DeliveryRecord) -> bool:
        """Insert ``delivery`` (and its outcome, if known); True once committed,
        False if its id was already recorded (then nothing is written)."""
        return await self._submit(delivery)

    async def record_outcome(self, delivery_id: str, status: str, error: str | None = None) -> None:
        """Record how a delivery ended (``processed`` | ``failed`` with the error text),
        once committed; a delivery keeps its first outcome."""
        await self._submit(Outcome(delivery_id, status, error))

    async def pending(self) -> Sequence[Delivery]:
        """Deliveries recorded without an outcome (never handled), oldest first."""
        async with self._database.session() as session:
            rows = await session.scalars(
                select(Delivery)
                .outerjoin(DeliveryOutcome)
                .where(DeliveryOutcome.delivery_id.is_(None))
                .order_by(Delivery.received_at)
            )
            return rows.all()

    async def _submit(self, item: DeliveryRecord | Outcome) -> bool:
        if self._writer is None:
            raise RuntimeError("DeliveryLog is not started")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            stopping = None in batch
            work = [entry for entry in batch if entry is not None]
            if not work:
                continue
            results = await self._write_batch(loop, [item for item, _ in work])
            for (_, future), result in zip(work, results):
                if future.done():  # the waiting request was cancelled
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
            if self._checkpoints and self._unchecked_bytes >= CHECKPOINT_BYTES:
                await loop.run_in_executor(self._thread, self._checkpoint)

    async def _write_batch(self, loop: asyncio.AbstractEventLoop,
                           items: list[DeliveryRecord | Outcome]) -> list[bool | Exception]:
        """Each item's result: one transaction for the batch; if it fails, one transaction per
        item, so that a row the database refuses fails alone and the others are committed."""
        try:
            return list(await loop.run_in_executor(self._thread, self._write, items))
        except Exception as exc:
            if len(items) == 1:
                return [exc]
            log.warning("a batch of %d rows failed (%s); writing them one by one", len(items), exc)
        results: list[bool | Exception] = []
        for item in items:
            try:
                results += await loop.run_in_executor(self._thread, self._write, [item])
            except Exception as exc:  # only this row's waiter gets the error
                results.append(exc)
        return results

    def _write(self, items: list[DeliveryRecord | Outcome]) -> list[bool]:
        """One transaction (in the writer thread): new deliveries first, then outcomes.

        Returns each item's result in order: a record's is True only for the
        first copy of its id that got inserted; outcomes always give True.
        """
        records = [item for item in items if isinstance(item, DeliveryRecord)]
        first_copy = {record.id: record for record in reversed(records)}
        with self._engine.begin() as connection:
            inserted = self._insert_new(connection, list(first_copy.values())) if records else set()
            outcomes = [
                _outcome_row(Outcome(record.id, record.outcome, finished_at=record.received_at))
                for record in first_copy.values()
                if record.outcome is not None and record.id in inserted
            ] + [_outcome_row(item) for item in items if isinstance(item, Outcome)]
            if outcomes:
                connection.execute(self._insert_outcomes, outcomes)
        self._unchecked_bytes += sum(len(first_copy[id].payload) for id in inserted)
        return [
            not isinstance(item, DeliveryRecord) or (item.id in inserted and first_copy[item.id] is item)
            for item in items
        ]

    def _checkpoint(self) -> None:
        """Copy the WAL into the database file (in the writer thread, after the batch's
        waiters have their answer); a failure only leaves the WAL longer."""
        self._unchecked_bytes = 0
        try:
            with self._engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            log.warning("WAL checkpoint failed", exc_info=True)

    def _insert_new(self, connection: Connection, records: list[DeliveryRecord]) -> set[str]:
        """Insert deliveries whose id is new; returns those ids."""
        result = connection.execute(self._insert_deliveries, [_delivery_row(record) for record in records])
        return set(result.scalars().all())


_DELIVERIES = Delivery.__table__
_OUTCOMES = DeliveryOutcome.__table__


async def recorded(database: Database, ids: Sequence[str]) -> set[str]:
    """Which of the delivery ``ids`` (``X-GitHub-Delivery``) are recorded."""
    found: set[str] = set()
    async with database.session() as session:
        for start in range(0, len(ids), MAX_BATCH):
            chunk = list(ids[start:start + MAX_BATCH])
            found.update(await session.scalars(select(Delivery.id).where(Delivery.id.in_(chunk))))
    return found


def _no_automatic_checkpoint(dbapi_connection, _record) -> None:
    """The writer checkpoints itself, between batches (``DeliveryLog._checkpoint``): an
    automatic one would run inside a commit, with every request of the batch waiting on
    its fsync (https://www.sqlite.org/wal.html#application_initiated_checkpoints)."""
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def _delivery_row(record: DeliveryRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "event": record.event,
        "action": record.action,
        "installation_id": record.installation_id,
        "repository": record.repository,
        "received_at": record.received_at,
        "payload": record.payload,
    }


def _outcome_row(outcome: Outcome) -> dict[str, object]:
    return {
        "delivery_id": outcome.delivery_id,
        "status": outcome.status,
        "error": outcome.error,
        "finished_at": outcome.finished_at,
    }
