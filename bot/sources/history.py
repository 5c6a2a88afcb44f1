"""Last change time of every path, from ONE ``git log --name-only`` pass over the history.

Issue 3 ("recency"): one pass over git history, not one ``git log`` per file.
Merge commits list no files by default, so each path gets the time of the
last non-merge commit that touched it. A shallow clone truncates history:
``History.shallow`` tells callers the times are not to be trusted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.sources.snapshot import git, is_shallow

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


def read_history(repo: Path, commit: str) -> History:
    """Walk the history reachable from ``commit`` once (``git log --name-only``)."""
    out = git(repo, "log", commit, f"--format={MARK}%ct", "--name-only", "--no-renames", "-z").decode("utf-8", "replace")
    history = History(shallow=is_shallow(repo))
    last = history.last_change
    when = 0
    # -z output: "\x01<time>\0\n<path>\0<path>\0\x01<time>\0…" (the first path of a commit follows a newline)
    for token in out.split("\0"):
        if token.startswith(MARK):
            when = int(token[1:])
            history.commits += 1
            continue
        path = token[1:] if token.startswith("\n") else token
        if path and when > last.get(path, 0):
            last[path] = when
    return history
