"""Names the code spelled at older commits and spells nowhere now: the identifier half of drift (issue 10).

For each older commit (``bot.sources.assess.snapshots``) only the code blobs
that differ from the current tree are read (``git diff-tree -r`` against the
head, then one ``git cat-file --batch``): a name spelled at that commit in a
file that is unchanged now is still spelled now. Each such blob is split into its words
once (a dotted name counts when the blob holds it as written); the names
found are then asked of the current tree in one ``git grep -w -F``. This
replaces a ``git grep -o`` per commit with hundreds of patterns, which costs
tens of seconds on a large repository.
"""
from __future__ import annotations

import re
from pathlib import Path

from bot.errors import GitError
from bot.sources.inventory import LANGUAGES
from bot.sources.snapshot import git, read_blobs

CODE_PATHSPECS = [f"*{ext}" for ext in LANGUAGES]
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def _spelled_in(blob: bytes, names: set[str], words: set[bytes]) -> set[str]:
    return {n for n in names if (n.encode() in words if "." not in n else n.encode() in blob)}


def spelled_now(repo: Path, commit: str, names: set[str]) -> set[str]:
    """Which of ``names`` the code files at ``commit`` spell as whole words (``git grep -w -F -o -h``)."""
    if not names:
        return set()
    patterns = [arg for name in sorted(names) for arg in ("-e", name)]
    try:
        out = git(repo, "grep", "-I", "-w", "-F", "-o", "-h", *patterns, commit, "--", *CODE_PATHSPECS)
    except GitError:  # exit 1: nothing matched
        return set()
    return set(out.decode("utf-8", "replace").split()) & names


def _changed_blobs(repo: Path, commit: str, head: str) -> set[str]:
    """The code blobs of ``commit`` that ``head`` changed or deleted (``git diff-tree -r --raw``)."""
    out = git(repo, "diff-tree", "-r", "--no-renames", "-z", commit, head, "--", *CODE_PATHSPECS).decode()
    fields = out.split("\0")
    return {meta.split()[2] for meta in fields[0::2] if meta.startswith(":") and meta.split()[4] in "MDT"}


def dropped_names(repo: Path, head: str, wanted: dict[str, set[str]]) -> dict[str, set[str]]:
    """Per older commit, the names of ``wanted[commit]`` its code spelled and the code at ``head`` does not."""
    changed = {commit: _changed_blobs(repo, commit, head) for commit, names in wanted.items() if names}
    spelled: dict[str, set[str]] = {commit: set() for commit in changed}
    blobs = read_blobs(repo, sorted(set().union(*changed.values()))) if changed else {}
    for sha, blob in blobs.items():
        words = set(_WORD.findall(blob))
        for commit, shas in changed.items():
            if sha in shas and len(spelled[commit]) < len(wanted[commit]):
                spelled[commit] |= _spelled_in(blob, wanted[commit] - spelled[commit], words)
    still = spelled_now(repo, head, set().union(*spelled.values())) if spelled else set()
    return {commit: names - still for commit, names in spelled.items()}
