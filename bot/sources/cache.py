"""The scan cache under ``WORKDIR``: claims and code facts by blob SHA, history and results by repository and commit.

One SQLite file (``scan-cache.sqlite3``, stdlib ``sqlite3``) with a table
per kind of value, each value JSON (orjson). Blob-keyed values are
content-addressed, so every repository shares them; each key includes the
parser version (``references.PARSER_VERSION``, ``inventory.FACTS_VERSION``)
so a newer parser never reads an older parse. History rows are keyed by the
repository's common git directory; ``nearest_history`` gives the newest
stored position, which ``bot.sources.history.extend`` continues from.
Result rows hold a whole ``ScanResult`` keyed by repository, commit and
config (``bot.sources.scan``), so a rescan of the same commit reads one row.
A broken or locked cache file is not an error: the scan runs uncached, and
a write that fails (``sqlite3.Error``, e.g. another process holding the
file's lock past the timeout) is dropped. One connection serves every
thread of a scan (``bot.sources.scan`` walks the history beside the tree
read), so a lock keeps each read or write whole: two threads committing on
one ``sqlite3`` connection at once fail with "cannot commit - no
transaction is active".
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

FILE = "scan-cache.sqlite3"
CACHE_FOLDER = "scan-cache"  # under WORKDIR
KEEP_RESULTS = 8  # whole results kept per repository (its recent commits: default branch, open pull requests)
_TABLES = ("claims", "facts", "history", "lookups", "results")


class ScanCache:
    """Get and put JSON values by key in ``directory/scan-cache.sqlite3``."""

    def __init__(self, directory: Path | str) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.path = Path(directory) / FILE
        self._db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        for table in _TABLES:
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._db.commit()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection for one write, committed at the end; rolled back and dropped on ``sqlite3.Error``."""
        with self._lock:
            try:
                yield self._db
                self._db.commit()
            except sqlite3.Error:
                self._db.rollback()

    def get_many(self, table: str, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values of ``keys`` in ``table`` (absent keys are left out)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows = self._db.execute(f"SELECT key, value FROM {table} WHERE key IN ({','.join('?' * len(chunk))})",
                                        chunk).fetchall()
                found.update((key, orjson.loads(value)) for key, value in rows)
        return found

    def put_many(self, table: str, values: dict[str, Any]) -> None:
        """Store ``values`` (key → JSON-able value) in ``table``, replacing older ones."""
        if values:
            rows = [(k, orjson.dumps(v)) for k, v in values.items()]
            with self._writing() as db:
                db.executemany(f"INSERT OR REPLACE INTO {table} (key, value) VALUES (?, ?)", rows)

    def nearest_history(self, repository: str) -> dict | None:
        """The newest stored history of ``repository`` (its rows are keyed ``repository\\0commit``)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM history WHERE key >= ? AND key < ? ORDER BY rowid DESC LIMIT 1",
                                   (f"{repository}\0", f"{repository}\1")).fetchone()
        return orjson.loads(row[0]) if row else None

    def put_history(self, repository: str, commit: str, value: dict) -> None:
        """Store the history of ``repository`` at ``commit``, dropping its older positions (one row each)."""
        with self._writing() as db:
            db.execute("DELETE FROM history WHERE key >= ? AND key < ?", (f"{repository}\0", f"{repository}\1"))
            db.execute("INSERT INTO history (key, value) VALUES (?, ?)",
                       (f"{repository}\0{commit}", orjson.dumps(value)))

    def get_result(self, repository: str, key: str) -> bytes | None:
        """The stored result JSON (bytes) of ``repository`` under ``key``, or ``None``."""
        with self._lock:
            row = self._db.execute("SELECT value FROM results WHERE key = ?", (f"{repository}\0{key}",)).fetchone()
        return row[0] if row else None

    def put_result(self, repository: str, key: str, value: bytes) -> None:
        """Store the result JSON ``value`` of ``repository`` under ``key``; the ``KEEP_RESULTS`` newest are kept."""
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)", (f"{repository}\0{key}", value))
            db.execute("DELETE FROM results WHERE key >= ? AND key < ? AND rowid NOT IN (SELECT rowid FROM results "
                       "WHERE key >= ? AND key < ? ORDER BY rowid DESC LIMIT ?)",
                       (f"{repository}\0", f"{repository}\1") * 2 + (KEEP_RESULTS,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_cache(directory: Path | str | None) -> ScanCache | None:
    """A ``ScanCache`` in ``directory``; ``None`` when no directory is given or SQLite cannot open it there."""
    if directory is None:
        return None
    try:
        return ScanCache(directory)
    except (sqlite3.Error, OSError):
        return None
