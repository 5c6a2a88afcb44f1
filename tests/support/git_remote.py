"""A local bare repository standing in for GitHub's git remote.

``git_remote`` builds ``<tmp>/remotes/octo/app.git`` with a history on
``main``, a ``feature`` branch and an open pull request whose head lives only
under ``refs/pull/7/head`` (as a fork's PR does on GitHub). Tests point
``clone_url_template`` at ``git_remote.template``.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

GIT_ENV = {
    "PATH": os.environ["PATH"],
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


def run_git(*args: str, cwd: Path) -> str:
    """Run git synchronously (test set-up only) and return its stdout."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class GitRemote:
    """The bare remote plus a scratch clone used to make commits."""

    full_name: str
    bare: Path
    scratch: Path
    shas: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    @property
    def template(self) -> str:
        """A ``clone_url_template`` pointing at the remotes directory."""
        root = self.bare.parents[1]
        return f"{root.as_uri()}/{{full_name}}.git"

    def commit(self, branch: str, filename: str, content: str, *, push_to: str | None = None) -> str:
        """Commit ``filename`` on ``branch`` in the scratch clone and push it; returns the SHA.

        ``push_to`` overrides the pushed ref (e.g. ``refs/pull/7/head``).
        """
        exists = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=self.scratch, env=GIT_ENV,
            capture_output=True,
        ).returncode == 0
        run_git("checkout", "-q", *(() if exists else ("-b",)), branch, cwd=self.scratch)
        (self.scratch / filename).write_text(content, encoding="utf-8")
        run_git("add", filename, cwd=self.scratch)
        run_git("commit", "-q", "-m", f"{branch}: {filename}", cwd=self.scratch)
        sha = run_git("rev-parse", "HEAD", cwd=self.scratch)
        run_git("push", "-q", "--force", "origin", f"HEAD:{push_to or f'refs/heads/{branch}'}", cwd=self.scratch)
        return sha


def make_remote(root: Path, full_name: str = "octo/app") -> GitRemote:
    """Build the bare remote with ``main`` (2 commits), ``feature`` and PR #7."""
    bare = root / "remotes" / f"{full_name}.git"
    bare.parent.mkdir(parents=True)
    run_git("init", "-q", "--bare", "--initial-branch=main", str(bare), cwd=root)
    scratch = root / "scratch"
    run_git("clone", "-q", bare.as_uri(), str(scratch), cwd=root)
    remote = GitRemote(full_name=full_name, bare=bare, scratch=scratch)
    remote.shas["main~1"] = remote.commit("main", "README.md", "# app\n")
    remote.shas["main"] = remote.commit("main", "docs.md", "plan\n")
    remote.shas["feature"] = remote.commit("feature", "feature.txt", "feature\n")
    run_git("checkout", "-q", "main", cwd=scratch)
    remote.shas["pull/7"] = remote.commit("fork-work", "fork.txt", "from a fork\n", push_to="refs/pull/7/head")
    run_git("checkout", "-q", "main", cwd=scratch)
    return remote


@pytest.fixture
def git_remote(tmp_path) -> GitRemote:
    """A bare ``octo/app`` remote with history, a branch and a PR ref."""
    return make_remote(tmp_path)
