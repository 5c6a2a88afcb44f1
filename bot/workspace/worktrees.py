"""Checkouts for jobs: one cached mirror clone per repository, one worktree per job.

Layout under ``root`` (``Settings.workdir``)::

    mirrors/<owner>/<name>.git          git clone --mirror, then git fetch --prune
    worktrees/<owner>/<name>/<label>    git worktree add --detach <sha>

Every git command goes through :func:`bot.workspace.git.git` (scrubbed
environment, the token only for the one fetch or push that needs it).
"""
from __future__ import annotations

import asyncio
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import GitError
from bot.workspace.git import git, git_bytes


#: File names Codex reads as instructions, from the repository root down to its working directory
#: (https://developers.openai.com/codex/guides/agents-md).
AGENT_FILES = ("AGENTS.md", "AGENTS.override.md")


@dataclass
class Workspace:
    """A worktree of ``repository`` detached at ``sha`` (``ref``: what it was resolved from).

    ``pinned``: agent instruction files replaced by the default branch's (:func:`pin_agent_files`);
    they are no change of the run and never committed.
    """

    repository: str
    path: Path
    sha: str
    ref: str | None
    mirror: Path
    clone_url: str
    pinned: list[str] = field(default_factory=list)

    async def reset(self) -> None:
        """Put the worktree back as checked out: at ``sha`` exactly, untracked and ignored files
        removed, the agent instruction files pinned again (:func:`pin_agent_files`), so a retried
        step starts from the checkout, not from what its failed attempt left.

        Raises:
            GitError: git failed.
        """
        await git("reset", "--hard", "--quiet", self.sha, cwd=self.path, repository=self.repository)
        await git("clean", "-ffdxq", cwd=self.path, repository=self.repository)
        self.pinned = await pin_agent_files(self.mirror, self.path, self.sha)

    async def remove(self) -> None:
        """Remove the worktree and prune its administrative files from the mirror."""
        if self.path.exists():
            await git("worktree", "remove", "--force", str(self.path), cwd=self.mirror, repository=self.repository)
        await git("worktree", "prune", cwd=self.mirror, repository=self.repository)


class Workspaces:
    """Mirrors and worktrees under ``root``; one fetch at a time per repository."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def mirror_path(self, repository: str) -> Path:
        owner, name = repository.split("/", 1)
        return self.root / "mirrors" / owner / f"{name}.git"

    async def prepare(
        self,
        *,
        repository: str,
        clone_url: str,
        token: str | None,
        sha: str | None = None,
        ref: str | None = None,
        pull_number: int | None = None,
        label: str | None = None,
    ) -> Workspace:
        """Update the mirror of ``repository`` and add a worktree at the exact commit.

        The commit is ``sha`` when given (a pull request's ``head.sha``), else
        ``refs/pull/<pull_number>/head``, else ``refs/heads/<ref>``, else the
        mirror's ``HEAD`` (the default branch, whose name becomes ``ref``). ``label`` names the worktree
        directory (e.g. ``run-12``); a random suffix keeps it unique, and
        worktrees left with the same label by a dead attempt are removed first.

        When the commit is not the default branch's tip (a pull request, from a fork or not, or
        another branch), its agent instruction files are the default branch's (:func:`pin_agent_files`).

        Raises:
            GitError: clone, fetch, resolution or worktree creation failed.
        """
        mirror = self.mirror_path(repository)
        context = {"repository": repository}
        async with self._locks[repository]:
            if (mirror / "HEAD").exists():
                await git("fetch", "--prune", "--quiet", "origin", cwd=mirror, token=token, **context)
            else:
                mirror.parent.mkdir(parents=True, exist_ok=True)
                await git("clone", "--mirror", "--quiet", clone_url, str(mirror), token=token, **context)
            target = sha or (
                f"refs/pull/{pull_number}/head" if pull_number is not None
                else f"refs/heads/{ref}" if ref else "HEAD"
            )
            if target == "HEAD":
                ref = (await git("symbolic-ref", "--short", "HEAD", cwd=mirror, **context)).strip()
            resolved = (await git("rev-parse", "--verify", "--end-of-options", f"{target}^{{commit}}",
                                  cwd=mirror, **context)).strip()
            parent = self.root / "worktrees" / repository
            if label:  # a previous attempt of the same job died and left its worktree behind
                for stale in parent.glob(f"{label}-*"):
                    await git("worktree", "remove", "--force", str(stale), cwd=mirror, **context)
            path = parent / f"{label or 'job'}-{uuid.uuid4().hex[:8]}"
            path.parent.mkdir(parents=True, exist_ok=True)
            await git("worktree", "add", "--detach", "--quiet", str(path), resolved, cwd=mirror, **context)
            pinned = await pin_agent_files(mirror, path, resolved)
        return Workspace(repository=repository, path=path, sha=resolved, ref=ref, mirror=mirror, clone_url=clone_url,
                         pinned=pinned)

    async def refresh(self, workspace: Workspace, token: str | None) -> None:
        """Fetch ``workspace``'s mirror again under the repository's lock, so its branches show
        what other runs pushed since the checkout (the worktree itself does not move).

        Raises:
            GitError: the fetch failed.
        """
        async with self._locks[workspace.repository]:
            await git("fetch", "--prune", "--quiet", "origin", cwd=workspace.mirror, token=token,
                      repository=workspace.repository)

    async def remove(self, workspace: Workspace) -> None:
        """Remove ``workspace`` under the repository's lock (no fetch runs meanwhile)."""
        async with self._locks[workspace.repository]:
            await workspace.remove()


async def pin_agent_files(mirror: Path, worktree: Path, commit: str) -> list[str]:
    """Make every ``AGENTS.md`` / ``AGENTS.override.md`` of ``worktree`` (checked out at ``commit``) the
    default branch's version of the same path, or remove it when the default branch has none,
    unless ``commit`` is the default branch's tip. Returns the paths changed that way.

    Codex follows these files as instructions; a pull request (or a branch) must not bring its own
    (claude-code-action restores its configuration from the base branch for the same reason).
    """
    default = (await git("rev-parse", "HEAD^{commit}", cwd=mirror)).strip()
    if commit == default:
        return []

    async def agent_files(tree: str) -> set[str]:
        names = await git("ls-tree", "-r", "-z", "--name-only", tree, cwd=mirror)
        return {path for path in names.split("\0") if path.rsplit("/", 1)[-1] in AGENT_FILES}

    theirs, ours = await agent_files(commit), await agent_files(default)
    changed = []
    for path in sorted(theirs | ours):
        target = worktree / path
        if any((worktree / folder).is_symlink() for folder in Path(path).parents if folder != Path(".")):
            continue  # never write through a link the commit holds (nor can Codex read it as the root's file)
        if path in ours:
            content = (await git_bytes("cat-file", "blob", f"{default}:{path}", cwd=mirror))
            if path in theirs and target.is_file() and not target.is_symlink() and target.read_bytes() == content:
                continue
            if target.is_symlink():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        elif os.path.lexists(target):
            target.unlink()
        changed.append(path)
    return changed


async def push(workspace: Workspace, branch: str, token: str | None, *, force: bool = False) -> None:
    """Push the worktree's ``HEAD`` to ``refs/heads/<branch>`` of the repository's remote.

    The push goes to the clone URL itself (the mirror's remote pushes
    mirror-style). With ``force`` it uses ``--force-with-lease`` against the
    branch as the mirror last saw it (absent → it must still be absent).

    Raises:
        GitError: git refused or failed the push (stderr unchanged).
    """
    destination = f"refs/heads/{branch}"
    args = ["push", "--quiet", workspace.clone_url, f"HEAD:{destination}"]
    if force:
        try:
            expected = (await git("rev-parse", "--verify", "--quiet", destination, cwd=workspace.mirror)).strip()
        except GitError:  # the branch does not exist yet on the remote
            expected = ""
        args.insert(1, f"--force-with-lease={destination}:{expected}")
    await git(*args, cwd=workspace.path, token=token, repository=workspace.repository, branch=branch)
