"""The ``deliveries`` table, written through one group-committing writer task.

Every webhook delivery is recorded before its HTTP answer. Concurrent requests
hand their rows to a single writer task that inserts whatever has queued up
since its last commit in one transaction (group commit), and each request
awaits its own future: SQLite then pays one commit for many deliveries, and a
repeated ``X-GitHub-Delivery`` id is detected by the primary key
(``INSERT … ON CONFLICT DO NOTHING … RETURNING id``), also when both copies
arrive at once. Status changes after dispatch go through the same writer.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.models import Delivery, utcnow

#: Upper bound of rows per transaction (SQLite allows 32,766 bound parameters).
MAX_BATCH = 256

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


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
        dialect = database.engine.dialect.name
        if dialect not in _INSERTS:
            raise ValueError(f"unsupported database dialect {dialect!r} (sqlite or postgresql)")
        self._database = database
        self._insert = _INSERTS[dialect]
        self._queue: asyncio.Queue[_Entry | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the writer; it keeps one connection of its own (no pool round trip per batch)."""
        connection = await self._database.engine.connect()
        self._writer = asyncio.create_task(self._write_loop(connection), name="delivery-writer")

    async def close(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._writer is not None:
            self._queue.put_nowait(None)
            await self._writer
            self._writer = None

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

    async def _write_loop(self, connection: AsyncConnection) -> None:
        try:
            while not await self._write_batch(connection):
                pass
        finally:
            await connection.close()

    async def _write_batch(self, connection: AsyncConnection) -> bool:
        """Write everything queued (waiting for at least one item); True once told to stop."""
        batch = [await self._queue.get()]
        while len(batch) < MAX_BATCH and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        work = [entry for entry in batch if entry is not None]
        if work:
            try:
                async with connection.begin():
                    results = await self._write(connection, [item for item, _ in work])
            except Exception as exc:  # every waiter of the failed transaction gets the error
                results = [exc] * len(work)
            for (_, future), result in zip(work, results):
                if future.done():  # the waiting request was cancelled
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        return None in batch

    async def _write(self, connection: AsyncConnection, items: list[DeliveryRecord | _Mark]) -> list[bool]:
        """One transaction: new rows first, then status marks; each item's result in order.

        A record's result is True only for the first copy of its id that got
        inserted; marks always give True.
        """
        records = [item for item in items if isinstance(item, DeliveryRecord)]
        first_copy = {record.id: record for record in reversed(records)}
        inserted: set[str] = set()
        if records:
            result = await connection.execute(
                self._insert(_TABLE).on_conflict_do_nothing(index_elements=["id"]).returning(_TABLE.c.id),
                [_row(record) for record in first_copy.values()],
            )
            inserted = set(result.scalars().all())
        marks = [
            {"mark_id": item.id, "status": item.status, "error": item.error}
            for item in items
            if isinstance(item, _Mark)
        ]
        if marks:
            await connection.execute(_MARK, marks)
        return [
            not isinstance(item, DeliveryRecord) or (item.id in inserted and first_copy[item.id] is item)
            for item in items
        ]


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
