"""Checkouts for jobs: one cached mirror clone per repository, one worktree per job.

Layout under ``root`` (``Settings.workdir``)::

    mirrors/<owner>/<name>.git          git clone --mirror, then git fetch --prune
    worktrees/<owner>/<name>/<label>    git worktree add --detach <sha>

Every git command goes through :func:`bot.workspace.git.git` (scrubbed
environment, the token only for the one fetch or push that needs it).
"""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bot.errors import GitError
from bot.workspace.git import git


@dataclass
class Workspace:
    """A worktree of ``repository`` detached at ``sha`` (``ref``: what it was resolved from)."""

    repository: str
    path: Path
    sha: str
    ref: str | None
    mirror: Path
    clone_url: str

    async def reset(self) -> None:
        """Put the worktree back at ``sha`` exactly, untracked and ignored files removed (a retried
        step starts from the checkout, not from what its failed attempt left).

        Raises:
            GitError: git failed.
        """
        await git("reset", "--hard", "--quiet", self.sha, cwd=self.path, repository=self.repository)
        await git("clean", "-ffdxq", cwd=self.path, repository=self.repository)

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
        return Workspace(repository=repository, path=path, sha=resolved, ref=ref, mirror=mirror, clone_url=clone_url)

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
