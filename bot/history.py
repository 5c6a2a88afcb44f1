"""Last change time of every path, from ONE ``git log --name-only`` pass over the history.

Issue 3 ("recency"): one pass over git history, not one ``git log`` per file.
Merge commits list no files by default, so each path gets the time of the
last non-merge commit that touched it. A shallow clone truncates history:
``History.shallow`` tells callers the times are not to be trusted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.snapshot import git, is_shallow

MARK = "\x01"


@dataclass
class History:
    """``last_change``: path → Unix time (committer date, seconds) of its last change."""

    last_change: dict[str, int] = field(default_factory=dict)
    commits: int = 0
    shallow: bool = False

    def latest(self, paths: list[str]) -> tuple[int, str] | None:
        """The most recent ``(time, path)`` among ``paths``, or ``None`` if none has a recorded change."""
        known = [(self.last_change[p], p) for p in paths if p in self.last_change]
        return max(known) if known else None

    def latest_under(self, prefix: str) -> tuple[int, str] | None:
        """The most recent change of a file under the folder ``prefix`` (``"src/"``)."""
        return self.latest([p for p in self.last_change if p.startswith(prefix)])


def read_history(repo: Path, commit: str) -> History:
    """Walk the history reachable from ``commit`` once (``git log --name-only``)."""
    out = git(repo, "log", commit, f"--format={MARK}%ct", "--name-only", "--no-renames").decode(
        "utf-8", "surrogateescape"
    )
    history = History(shallow=is_shallow(repo))
    last = history.last_change
    when = 0
    for line in out.splitlines():
        if line.startswith(MARK):
            when = int(line[1:])
            history.commits += 1
        elif line and when > last.get(line, 0):
            last[line] = when
    return history
