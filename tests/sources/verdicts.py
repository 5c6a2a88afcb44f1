"""Reading the scanner's verdicts in the tests of bot/sources.

``by_path`` scans a repository (``bot.sources.scan.scan``) and keys its sources
by path (``scanned``: the same for a ``RepoBuilder``, as a ``history_fixture``
result); ``codes`` and ``reason`` read one source's reasons.
"""
from __future__ import annotations

from pathlib import Path

from bot.domain.sources import Reason, Source
from bot.sources.cache import ScanCache
from bot.sources.scan import scan
from tests.support.repos import RepoBuilder


def by_path(path: Path, cache: ScanCache | None = None) -> dict[str, Source]:
    """The sources of a scan of the repository at ``path`` (its HEAD), keyed by path."""
    return {s.path: s for s in scan(path, cache=cache).sources}


def scanned(repo: RepoBuilder) -> dict[str, Source]:
    """``by_path`` of a built repository."""
    return by_path(repo.path)


def codes(source: Source) -> set[str]:
    """The codes of a source's reasons."""
    return {r.code for r in source.reasons}


def reason(source: Source, code: str) -> Reason:
    """A source's first reason of ``code``; raises ``StopIteration`` when it has none."""
    return next(r for r in source.reasons if r.code == code)
