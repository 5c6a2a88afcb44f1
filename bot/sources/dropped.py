"""Names the code spelled at older commits and spells nowhere now: the identifier half of drift (issue 10).

For each older commit (``bot.sources.assess.snapshots``) only the code blobs
that differ from the current tree are read (one ``git diff-tree --stdin`` against
the head for all of them, then one ``git cat-file --batch``): a name spelled at that commit in a
file that is unchanged now is still spelled now. Each such blob is split into its words
once (a dotted name counts when the blob holds it as written); the names
found are then asked of the current tree in one ``git grep -w -E``. This
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
ALTERNATION = 400  # names per ``git grep -E`` pattern


def spelled_now(repo: Path, commit: str, names: set[str]) -> set[str]:
    """Which of ``names`` the code files at ``commit`` spell as whole words (``git grep -E -w -o -h``).

    One extended regex alternation per ``ALTERNATION`` names: git's matcher runs it as one automaton, where
    ``-F`` with as many patterns and ``-o`` takes some twenty times longer on a large repository. A match
    hides the names inside it (``Foo`` in ``Foo.bar``), so every dotted run of a match counts as spelled.
    """
    if not names:
        return set()
    ordered = sorted(names)
    patterns = [arg for start in range(0, len(ordered), ALTERNATION)
                for arg in ("-e", "|".join(re.escape(n) for n in ordered[start:start + ALTERNATION]))]
    try:
        out = git(repo, "grep", "-I", "-w", "-E", "-o", "-h", *patterns, commit, "--", *CODE_PATHSPECS)
    except GitError:  # exit 1: nothing matched
        return set()
    found = set()
    for match in set(out.decode("utf-8", "replace").split()):
        parts = match.split(".")
        found.update(".".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1))
    return found & names


def _changed_blobs(repo: Path, commits: list[str], head: str) -> dict[str, set[str]]:
    """Per commit of ``commits``, its code blobs that ``head`` changed or deleted: one ``git diff-tree --stdin``
    (each line ``<head> <commit>``: ``head`` against ``commit`` as its parent, so the old side is ``commit``'s;
    ``--always`` heads each diff with ``head``'s SHA, even an empty one)."""
    if not commits:
        return {}
    lines = "".join(f"{head} {commit}\n" for commit in commits)
    out = git(repo, "diff-tree", "--stdin", "--always", "-r", "--no-renames", "-z", "--", *CODE_PATHSPECS,
              input=lines.encode()).decode("utf-8", "replace")
    changed: dict[str, set[str]] = {commit: set() for commit in commits}
    block: set[str] = set()
    pending = iter(commits)
    fields = out.split("\0")
    i = 0
    while i < len(fields):
        field = fields[i]
        if field.startswith(":"):  # ":<old mode> <new mode> <old sha> <new sha> <status>", then the path
            meta = field.split()
            if meta[4] in "MDT":
                block.add(meta[2])
            i += 2
            continue
        if field:  # the header of the next diff
            block = changed[next(pending)]
        i += 1
    return changed


def dropped_names(repo: Path, head: str, wanted: dict[str, set[str]]) -> dict[str, set[str]]:
    """Per older commit, the names of ``wanted[commit]`` its code spelled and the code at ``head`` does not.

    Each changed blob is asked once about every wanted name (a set intersection with its words; a dotted name
    by substring), then its hits go to the commits that have it.
    """
    changed = _changed_blobs(repo, [commit for commit, names in wanted.items() if names], head)
    spelled: dict[str, set[str]] = {commit: set() for commit in changed}
    names = set().union(*(wanted[commit] for commit in changed)) if changed else set()
    plain = {n.encode(): n for n in names if "." not in n}
    dotted = [(n, n.encode(), n.partition(".")[0].encode()) for n in names if "." in n]  # name, bytes, 1st word
    blobs = read_blobs(repo, sorted(set().union(*changed.values()))) if changed else {}
    for sha, blob in blobs.items():
        words = set(_WORD.findall(blob))
        hits = {plain[w] for w in plain.keys() & words} | {n for n, raw, first in dotted if first in words
                                                             and raw in blob}
        for commit, shas in changed.items():
            if hits and sha in shas:
                spelled[commit] |= hits & wanted[commit]
    still = spelled_now(repo, head, set().union(*spelled.values())) if spelled else set()
    return {commit: found - still for commit, found in spelled.items()}
