"""The bot's own git runs nothing a repository or the agent planted (issue 9).

An armed repository: executable hooks in ``.git/hooks`` and in a
``core.hooksPath`` folder, a ``core.fsmonitor`` program, and a
``.gitattributes`` ``filter=``/``diff=`` whose drivers (in the repository's
config) are programs. Each program drops a marker file holding the
environment it got. A plain ``git`` shows the trap is armed; then every git
operation of the bot (snapshot, diff, restore, the source scanner, mirror and
worktree, commit, push) runs on it, with secrets in the process environment,
and no marker appears.
"""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from bot.execution.evidence import diff, restore, snapshot
from bot.execution.selection import fix_selection
from bot.github.publish import commit
from bot.sources.snapshot import ignored_paths, list_tree, read_blobs, read_path, resolve_commit
from bot.workspace.git import git_env
from bot.workspace.worktrees import Workspaces, push

HOOKS = ("pre-commit", "commit-msg", "post-commit", "post-checkout", "pre-push", "reference-transaction",
         "post-index-change", "pre-auto-gc", "post-rewrite", "fsmonitor-watchman")
SECRETS = {"SCENARIOFORGE_WEBHOOK_SECRET": "hook-me", "OPENAI_API_KEY": "sk-leak", "AWS_SECRET_ACCESS_KEY": "aws"}


def plain_git(repo, *args) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def program(path, markers, name: str, tail: str = "") -> str:
    path.write_text(f"#!/bin/sh\nenv > {markers}/{name}-$$.env\n{tail}")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def arm(repo, tmp_path):
    """Plant hooks, fsmonitor and filter/diff drivers in ``repo``; returns the markers folder."""
    markers = tmp_path / "markers"
    markers.mkdir(exist_ok=True)
    hooks_path = tmp_path / "planted-hooks"
    hooks_path.mkdir(exist_ok=True)
    git_dir = plain_git(repo, "rev-parse", "--absolute-git-dir").strip()
    for name in HOOKS:
        program(Path(git_dir, "hooks", name), markers, f"hook-{name}")
        program(hooks_path / name, markers, f"hooks-path-{name}")
    drivers = tmp_path / "drivers"
    drivers.mkdir(exist_ok=True)
    settings = {
        "core.hooksPath": str(hooks_path),
        "core.fsmonitor": program(drivers / "fsmonitor", markers, "fsmonitor"),
        "filter.evil.clean": program(drivers / "clean", markers, "clean", "cat\n"),
        "filter.evil.smudge": program(drivers / "smudge", markers, "smudge", "cat\n"),
        "filter.evil.required": "true",
        "diff.evil.textconv": program(drivers / "textconv", markers, "textconv", 'cat "$1"\n'),
        "diff.evil.command": program(drivers / "diffcmd", markers, "diffcmd"),
        "diff.external": program(drivers / "external", markers, "external"),
    }
    for key, value in settings.items():
        plain_git(repo, "config", key, value)
    return markers


@pytest.fixture
def armed(tmp_path, monkeypatch):
    """``(repo, markers)``: a committed repository with ``* filter=evil diff=evil``, then armed."""
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    repo = tmp_path / "repo"
    repo.mkdir()
    plain_git(repo, "init", "-q", "-b", "main")
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "app.py").write_text("x = 1\n")
    plain_git(repo, "add", "-A")
    plain_git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return repo, arm(repo, tmp_path)


def test_the_trap_is_armed_for_a_plain_git(armed):
    repo, markers = armed
    (repo / "app.py").write_text("x = 2\n")
    plain_git(repo, "add", "-A")
    plain_git(repo, "diff", "HEAD")
    fired = {name.split("-")[0] for name in os.listdir(markers)}
    assert {"clean", "fsmonitor", "hooks"} <= fired
    assert any("hook-me" in (markers / name).read_text() for name in os.listdir(markers))


async def test_snapshot_diff_restore_and_selection_run_nothing(armed):
    repo, markers = armed
    before = await snapshot(repo)
    (repo / "app.py").write_text("x = 2\n")
    (repo / "new.py").write_text("y = 1\n")
    after = await snapshot(repo)
    text, files = await diff(repo, before, after)
    assert files == ["app.py", "new.py"] and "+x = 2" in text
    assert sorted((await fix_selection(repo)).paths) == ["app.py", "new.py"]
    await restore(repo, before, files)
    assert (repo / "app.py").read_text() == "x = 1\n" and not (repo / "new.py").exists()
    assert os.listdir(markers) == []


def test_the_source_scanner_runs_nothing(armed):
    repo, markers = armed
    head = resolve_commit(repo, "HEAD")
    entries = list_tree(repo, head)
    assert read_path(repo, head, "app.py") == "x = 1\n"
    assert read_blobs(repo, [entry.sha for entry in entries])
    assert ignored_paths(repo, {".gitignore": b"*.log\n"}, ["a.log", "app.py"]) == {"a.log"}
    assert os.listdir(markers) == []


async def test_mirror_worktree_commit_and_push_run_nothing(armed, tmp_path):
    repo, markers = armed
    remote = tmp_path / "remote.git"
    plain_git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    workspaces = Workspaces(tmp_path / "work")
    first = await workspaces.prepare(repository="octo/app", clone_url=str(remote), token=None)
    arm(first.mirror, tmp_path)  # the agent poisoned the mirror's config and hooks
    workspace = await workspaces.prepare(repository="octo/app", clone_url=str(remote), token=None)
    (workspace.path / "app.py").write_text("x = 3\n")
    sha = await commit(workspace, ["app.py"], message="fix")
    await push(workspace, "scenarioforge/fix-1", None)
    assert plain_git(remote, "rev-parse", "refs/heads/scenarioforge/fix-1").strip() == sha
    await workspaces.remove(workspace)
    assert os.listdir(markers) == []


def test_git_gets_no_secret_of_the_process(monkeypatch):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    env = git_env(None)
    assert not set(SECRETS) & set(env)
    assert (env["GIT_CONFIG_NOSYSTEM"], env["GIT_CONFIG_GLOBAL"]) == ("1", os.devnull)
