"""The scan cache shared by a scan's threads: whole reads and writes, and a failed write dropped."""
from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from bot.sources.cache import ScanCache


def test_two_threads_writing_through_one_cache_both_land(tmp_path):
    cache = ScanCache(tmp_path)

    def claims(worker: int) -> None:
        for n in range(300):
            cache.put_many("claims", {f"{worker}:{n}": {"n": n}})

    def history(worker: int) -> None:
        for n in range(300):
            cache.put_history("owner/name", f"commit{worker}-{n}", {"commit": n})

    with ThreadPoolExecutor(max_workers=2) as pool:  # the shape of a scan: history beside the tree read
        for done in [pool.submit(claims, 1), pool.submit(history, 2)]:
            done.result()

    assert len(cache.get_many("claims", [f"1:{n}" for n in range(300)])) == 300
    assert cache.nearest_history("owner/name") == {"commit": 299}
    cache.close()


def test_a_write_the_file_refuses_is_dropped_and_the_cache_still_reads(tmp_path):
    cache = ScanCache(tmp_path)
    cache.put_many("facts", {"kept": 1})
    holder = sqlite3.connect(tmp_path / "scan-cache.sqlite3", timeout=0)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    cache._db.execute("PRAGMA busy_timeout=0")

    cache.put_many("facts", {"dropped": 2})
    holder.rollback()

    assert cache.get_many("facts", ["kept", "dropped"]) == {"kept": 1}
    cache.put_many("facts", {"later": 3})
    assert cache.get_many("facts", ["later"]) == {"later": 3}
    cache.close()
