"""A mutex per repository across processes: ``async with repository_lock(db, "owner/name"):``.

On PostgreSQL a session-level advisory lock (``pg_advisory_lock``,
https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS)
on a connection held for the block, keyed by the CRC-32 of the repository's
name, so every worker process waits its turn. On SQLite (one worker process,
``bot.jobs.runtime``) an ``asyncio.Lock`` per database and repository.

Used where runs of different issues of one repository share state: the next
pack revision number and the pack branch (``bot.scenarios.action``).
"""
from __future__ import annotations

import asyncio
import weakref
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from storage.db import Database

_local: weakref.WeakKeyDictionary[Database, defaultdict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def repository_lock(db: Database, repository: str) -> AsyncIterator[None]:
    """Hold the lock of ``repository`` (``owner/name``) for the block; waits while another holds it."""
    if db.engine.dialect.name != "postgresql":
        async with _local.setdefault(db, defaultdict(asyncio.Lock))[repository]:
            yield
        return
    key = {"key": zlib.crc32(repository.encode())}
    async with db.engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
        await connection.commit()
        try:
            yield
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
            await connection.commit()
