"""What the history says about every path, from ONE ``git log --name-status`` pass, kept and extended.

Issue 3 ("recency") and issue 10 ("drift grounded in history", after Tan,
Wagner & Treude, EMSE 2024): per path the last commit that changed it, the
last commit that deleted it and, when git's rename detection pairs it, the
path it was renamed to. Merge commits list no files by default, so a path's
last change is its last non-merge commit. ``extend`` reads only the commits
after a known position (``git log known..commit``), so a rescan at a newer
commit reads only the new commits. Rename detection needs blob contents; a
repository with missing blobs (a partial mirror) is read without it.
A shallow clone truncates history: ``History.shallow`` says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import GitError
from bot.sources.discovery import DOC_BINARIES, PROSE_FORMATS, extension
from bot.sources.snapshot import git, is_shallow

MARK = "\x01"
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".bmp"}
NOT_CODE = PROSE_FORMATS | {".txt"} | DOC_BINARIES | IMAGES  # what a link may name without naming the project's code
Change = tuple[int, str]  # (committer time in Unix seconds, commit SHA)


@dataclass
class History:
    """``last_change``/``removed``: path → (time, commit); ``renamed``: old path → (new path, time, commit).

    ``commit``: the commit this history was read up to; ``commits``: how many commits it covers.
    """

    commit: str = ""
    last_change: dict[str, Change] = field(default_factory=dict)
    removed: dict[str, Change] = field(default_factory=dict)
    renamed: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    commits: int = 0
    shallow: bool = False
    _dirs: set[str] = field(default_factory=set, repr=False, compare=False)  # folders of ever-seen paths
    _artefact_dirs: set[str] | None = field(default=None, repr=False, compare=False)  # folders that held code

    def latest(self, paths: list[str]) -> tuple[int, str] | None:
        """The most recent ``(time, path)`` among ``paths``, or ``None`` if none has a recorded change."""
        known = [(self.last_change[p][0], p) for p in paths if p in self.last_change]
        return max(known) if known else None

    def existed(self, path: str) -> bool:
        """True when some commit of the history added, changed or deleted ``path`` or a file under it."""
        if path in self.last_change:
            return True
        if len(self._dirs) == 0 and self.last_change:
            self._dirs.update(p.rsplit("/", i)[0] for p in self.last_change for i in range(1, p.count("/") + 1))
        return path in self._dirs

    def only_documents(self, path: str) -> bool:
        """True for a document or image (``NOT_CODE``), or a folder that never held anything else."""
        if extension(path):
            return extension(path) in NOT_CODE
        if self._artefact_dirs is None:
            self._artefact_dirs = {p.rsplit("/", i)[0] for p in self.last_change if extension(p) not in NOT_CODE
                                   for i in range(1, p.count("/") + 1)}
        return path not in self._artefact_dirs and path not in self.last_change

    def successor(self, path: str) -> str | None:
        """Where ``path`` went by renames (followed to the end), or ``None``; a folder follows its files."""
        if path not in self.renamed and path in self._dirs:
            moved = {new.rsplit("/", 1)[0] for old, (new, _, _) in self.renamed.items() if old.startswith(path + "/")}
            return moved.pop() if len(moved) == 1 else None
        seen: set[str] = set()
        while path in self.renamed and path not in seen:
            seen.add(path)
            path = self.renamed[path][0]
        return path if seen else None

    def to_json(self) -> dict:
        return {"commit": self.commit, "last": self.last_change, "removed": self.removed, "renamed": self.renamed,
                "commits": self.commits}

    @classmethod
    def from_json(cls, data: dict) -> History:
        return cls(commit=data["commit"], last_change={k: tuple(v) for k, v in data["last"].items()},
                   removed={k: tuple(v) for k, v in data["removed"].items()},
                   renamed={k: tuple(v) for k, v in data["renamed"].items()}, commits=data["commits"])


def _log(repo: Path, revisions: str) -> str:
    """``git log --name-status`` of ``revisions``; renames detected as git does by default, else exact ones only
    (``-M100%`` compares blob SHAs and reads no blob), else none."""
    args = ["log", revisions, f"--format={MARK}%H %ct", "--name-status", "-z"]
    for renames in ("-M", "-M100%"):
        try:
            return git(repo, *args, renames).decode("utf-8", "replace")
        except GitError:  # inexact rename detection reads blobs; a partial mirror may lack some
            continue
    return git(repo, *args, "--no-renames").decode("utf-8", "replace")


def extend(history: History, repo: Path, commit: str) -> History:
    """``history`` (read up to ``history.commit``, or empty) extended to ``commit``; a new object.

    When ``history.commit`` is not an ancestor of ``commit`` the whole history is read again.
    """
    base = history.commit
    if base and base != commit:
        try:
            git(repo, "merge-base", "--is-ancestor", base, commit)
        except GitError:
            base = ""
    if base == commit:
        return History(commit, dict(history.last_change), dict(history.removed), dict(history.renamed),
                       history.commits, is_shallow(repo))
    new = History(commit=commit, shallow=is_shallow(repo))
    _read(new, _log(repo, f"{base}..{commit}" if base else commit))
    if base:
        for path, change in history.last_change.items():
            new.last_change.setdefault(path, change)
        for path, change in history.removed.items():
            new.removed.setdefault(path, change)
        for path, move in history.renamed.items():
            new.renamed.setdefault(path, move)
        new.commits += history.commits
    return new


def _read(history: History, out: str) -> None:
    """Parse ``-z`` output: ``\\x01<sha> <time>\\0\\n<status>\\0<path>[\\0<new path>]\\0…`` (newest first)."""
    tokens = out.split("\0")
    when, sha, i = 0, "", 0
    last, removed, renamed = history.last_change, history.removed, history.renamed
    while i < len(tokens):
        token = tokens[i].lstrip("\n")
        i += 1
        if token.startswith(MARK):
            sha, _, stamp = token[1:].partition(" ")
            when = int(stamp)
            history.commits += 1
            continue
        if not token:
            continue
        status = token[0]
        if status in "RC":
            old, new = tokens[i], tokens[i + 1]
            i += 2
            for path in (old, new):
                last.setdefault(path, (when, sha))
            if status == "R":
                removed.setdefault(old, (when, sha))
                renamed.setdefault(old, (new, when, sha))
            continue
        path = tokens[i]
        i += 1
        last.setdefault(path, (when, sha))
        if status == "D":
            removed.setdefault(path, (when, sha))
