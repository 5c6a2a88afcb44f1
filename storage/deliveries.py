"""The ``deliveries`` table, written through one group-committing writer.

Every webhook delivery is recorded before its HTTP answer. Concurrent requests
hand their rows to a single writer that inserts whatever has queued up since
its last commit in one transaction (group commit), and each request awaits its
own future: the database pays one commit for many deliveries, and a repeated
``X-GitHub-Delivery`` id is detected by the primary key (``INSERT … ON
CONFLICT DO NOTHING … RETURNING id``), also when both copies arrive at once.
Status changes after dispatch go through the same writer.

The writer runs each batch on a synchronous connection in its own thread: one
thread hop per batch, where the async driver needs several per statement.
It therefore opens its own engine on the same URL with the dialect's
synchronous driver (an in-memory SQLite database would not be shared).
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, create_engine, event, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database, _sqlite_pragmas
from storage.models import Delivery, utcnow

#: Upper bound of rows per transaction (SQLite allows 32,766 bound parameters).
MAX_BATCH = 256

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
    status: str = "received"  # or "ignored" (no handler) / "processed" (ping)
    received_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class _Mark:
    id: str
    status: str
    error: str | None


_Entry = tuple[DeliveryRecord | _Mark, asyncio.Future[bool]]


class DeliveryLog:
    """Record deliveries and their outcome; ``start()`` before use, ``close()`` after."""

    def __init__(self, database: Database) -> None:
        url = database.engine.url
        dialect = url.get_backend_name()
        if dialect not in _DIALECTS:
            raise ValueError(f"unsupported database dialect {dialect!r} (sqlite or postgresql)")
        self._database = database
        self._insert, driver = _DIALECTS[dialect]
        self._engine = create_engine(url.set(drivername=f"{dialect}+{driver}"))
        if dialect == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
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
        """Insert ``delivery``; True once committed, False if its id was already recorded."""
        return await self._submit(delivery)

    async def mark(self, delivery_id: str, status: str, error: str | None = None) -> None:
        """Set the status (``processed`` | ``failed``) and error text of a recorded delivery."""
        await self._submit(_Mark(delivery_id, status, error))

    async def pending(self) -> Sequence[Delivery]:
        """Deliveries still ``received`` (recorded, never handled), oldest first."""
        async with self._database.session() as session:
            rows = await session.scalars(
                select(Delivery).where(Delivery.status == "received").order_by(Delivery.received_at)
            )
            return rows.all()

    async def _submit(self, item: DeliveryRecord | _Mark) -> bool:
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
            try:
                results: list[bool | Exception] = await loop.run_in_executor(
                    self._thread, self._write, [item for item, _ in work]
                )
            except Exception as exc:  # every waiter of the failed transaction gets the error
                results = [exc] * len(work)
            for (_, future), result in zip(work, results):
                if future.done():  # the waiting request was cancelled
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _write(self, items: list[DeliveryRecord | _Mark]) -> list[bool]:
        """One transaction (in the writer thread): new rows first, then status marks.

        Returns each item's result in order: a record's is True only for the
        first copy of its id that got inserted; marks always give True.
        """
        records = [item for item in items if isinstance(item, DeliveryRecord)]
        first_copy = {record.id: record for record in reversed(records)}
        marks = [
            {"mark_id": item.id, "status": item.status, "error": item.error}
            for item in items
            if isinstance(item, _Mark)
        ]
        inserted: set[str] = set()
        with self._engine.begin() as connection:
            if records:
                inserted = self._insert_new(connection, list(first_copy.values()))
            if marks:
                connection.execute(_MARK, marks)
        return [
            not isinstance(item, DeliveryRecord) or (item.id in inserted and first_copy[item.id] is item)
            for item in items
        ]

    def _insert_new(self, connection: Connection, records: list[DeliveryRecord]) -> set[str]:
        """Insert rows whose id is new; returns those ids."""
        result = connection.execute(
            self._insert(_TABLE).on_conflict_do_nothing(index_elements=["id"]).returning(_TABLE.c.id),
            [_row(record) for record in records],
        )
        return set(result.scalars().all())


_TABLE = Delivery.__table__
_MARK = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("mark_id"))
    .values(status=bindparam("status"), error=bindparam("error"))
)


def _row(record: DeliveryRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "event": record.event,
        "action": record.action,
        "installation_id": record.installation_id,
        "repository": record.repository,
        "received_at": record.received_at,
        "status": record.status,
        "payload": record.payload,
        "error": None,
    }
