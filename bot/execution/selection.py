"""What a fix commit holds: the fix, not what running the scenarios left in the worktree (issue 9).

A path the loop changed since the worktree's ``HEAD`` is committed when it is
tracked there (changed, deleted or replaced), or when it is new and neither a
build artefact (:data:`BYPRODUCT`: bytecode, test and
coverage caches, ``node_modules/``…, committed by nobody even without a
``.gitignore``) nor a symbolic link whose target leaves the worktree. The
rest is left out, each path with its reason, and the PR body says so
(:func:`left_out_note`).
"""
from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from bot.execution import evidence as ev
from bot.workspace.git import git

#: Files that running tests and builds write by themselves (bytecode, test, type-checker and coverage caches,
#: installed packages) in a repository that does not ignore them: reverted like any change outside
#: ``bot.execution.guards.SCENARIO_DIR`` but no edit of the code, and never part of a fix commit.
BYPRODUCT = re.compile(
    r"(^|/)(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.tox|\.nox|\.hypothesis|node_modules"
    r"|htmlcov|\.nyc_output|coverage|[^/]+\.egg-info)/|(^|/)(\.coverage(\.[^/]*)?|coverage\.xml)$|\.py[co]$")


@dataclass(frozen=True)
class Selection:
    """``paths``: what to commit; ``left_out``: ``(path, reason)`` of what is not committed."""

    paths: list[str]
    left_out: list[tuple[str, str]]


def leaves_tree(worktree: Path, path: str) -> bool:
    """True when the symbolic link ``path`` points outside ``worktree`` (absolute, or ``..`` beyond its root)."""
    target = os.readlink(worktree / path)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return posixpath.isabs(target) or resolved == ".." or resolved.startswith("../")


async def fix_selection(worktree: Path, pinned: Collection[str] = ()) -> Selection:
    """The paths changed in ``worktree`` since ``HEAD`` (``.gitignore`` respected, as in ``outcome.diff``),
    split into what the fix commit holds and what it leaves out (see the module docstring).

    ``pinned`` (``Workspace.pinned``: the default branch's agent instruction files put in for the
    run) are always left out."""
    head = (await git("rev-parse", "HEAD^{tree}", cwd=worktree)).strip()
    now = await ev.snapshot(worktree)
    _, changed = await ev.diff(worktree, head, now)
    tracked, current = await ev.entries(worktree, head), await ev.entries(worktree, now)
    paths, left_out = [], []
    for path in changed:
        link = current.get(path, ("", ""))[0] == ev.SYMLINK_MODE
        if path in pinned:
            left_out.append((path, "the default branch's agent instructions, used for this run only"))
        elif link and leaves_tree(worktree, path):
            left_out.append((path, "symbolic link pointing outside the repository"))
        elif path not in tracked and BYPRODUCT.search(path):
            left_out.append((path, "build artefact, not tracked"))
        else:
            paths.append(path)
    return Selection(paths, left_out)


def left_out_note(selection: Selection, limit: int = 20) -> str:
    """The PR body's section on what the commit leaves out, or ``""`` when nothing was."""
    if not selection.left_out:
        return ""
    lines = [f"- `{path}`: {reason}" for path, reason in selection.left_out[:limit]]
    if len(selection.left_out) > limit:
        lines.append(f"- … and {len(selection.left_out) - limit} more")
    return "## Left out of the commit\n\n" + "\n".join(lines)
