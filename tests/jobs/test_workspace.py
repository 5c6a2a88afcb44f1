"""Mirror clones and worktrees with real git (bot/workspace/)."""
from __future__ import annotations

import base64
import subprocess

import pytest
from aiohttp import web

from bot.errors import GitError
from bot.workspace.git import git_env
from bot.workspace.worktrees import Workspaces, push
from tests.support.git_remote import run_git

TOKEN = "ghs_" + "S3cr3tInstallationToken0123456789"


@pytest.fixture
def workspaces(tmp_path):
    return Workspaces(tmp_path / "work")


def head_of(path) -> str:
    return run_git("rev-parse", "HEAD", cwd=path)


def files_containing(root, needle: str) -> list[str]:
    found = subprocess.run(["grep", "-rl", needle, str(root)], capture_output=True, text=True).stdout
    return found.split()


async def test_default_branch_at_exact_sha(workspaces, git_remote):
    ws = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=TOKEN)
    assert ws.sha == git_remote.shas["main"] == head_of(ws.path)
    assert ws.ref == "main"
    assert (ws.path / "docs.md").read_text() == "plan\n"
    assert ws.path.is_relative_to(workspaces.root / "worktrees" / "octo" / "app")
    assert ws.mirror == workspaces.root / "mirrors" / "octo" / "app.git"


async def test_branch_pull_ref_and_sha(workspaces, git_remote):
    feature = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=None, ref="feature")
    pull = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=None, pull_number=7)
    old = await workspaces.prepare(
        repository="octo/app", clone_url=git_remote.url, token=None, sha=git_remote.shas["main~1"], pull_number=7
    )
    assert head_of(feature.path) == feature.sha == git_remote.shas["feature"]
    assert head_of(pull.path) == pull.sha == git_remote.shas["pull/7"]
    assert (pull.path / "fork.txt").exists()
    assert head_of(old.path) == git_remote.shas["main~1"]
    assert len({feature.path, pull.path, old.path}) == 3


async def test_mirror_is_cloned_once_then_fetched(workspaces, git_remote):
    first = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=None)
    marker = first.mirror / "cloned-once"
    marker.write_text("")
    inode = first.mirror.stat().st_ino
    newer = git_remote.commit("main", "later.md", "later\n")
    git_remote.commit("gone", "tmp.txt", "x\n")
    run_git("push", "-q", "origin", "--delete", "gone", cwd=git_remote.scratch)

    second = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=None)
    assert marker.exists() and second.mirror.stat().st_ino == inode
    assert second.sha == newer == head_of(second.path)
    branches = run_git("for-each-ref", "--format=%(refname)", "refs/heads", cwd=second.mirror).split()
    assert "refs/heads/gone" not in branches  # fetched with --prune


async def test_token_never_written_to_disk(workspaces, git_remote):
    ws = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=TOKEN, pull_number=7)
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    for needle in (TOKEN, basic):
        assert files_containing(workspaces.root, needle) == []
    assert run_git("config", "--get", "remote.origin.url", cwd=ws.mirror) == git_remote.url
    assert run_git("remote", "-v", cwd=ws.path).count(git_remote.url) == 2


async def test_token_travels_as_extra_header_only(tmp_path, workspaces):
    """A real HTTP remote sees the header; argv and the error context never hold the token."""
    seen = []

    async def refuse(request):
        seen.append(request.headers.get("Authorization"))
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(GitError) as raised:
            await workspaces.prepare(
                repository="octo/app", clone_url=f"http://127.0.0.1:{port}/octo/app.git", token=TOKEN
            )
    finally:
        await runner.cleanup()
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert seen and set(seen) == {f"basic {basic}"}
    record = raised.value.as_record()
    assert TOKEN not in repr(record) and basic not in repr(record)
    assert record["type"] == "GitError" and record["context"]["repository"] == "octo/app"
    assert "git clone --mirror" in record["context"]["command"]


def test_env_is_scrubbed(monkeypatch):
    monkeypatch.setenv("SCENARIOFORGE_WEBHOOK_SECRET", "hush")
    env = git_env(TOKEN)
    assert "SCENARIOFORGE_WEBHOOK_SECRET" not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert (env["GIT_CONFIG_COUNT"], env["GIT_CONFIG_KEY_0"]) == ("1", "http.extraHeader")


async def test_unknown_ref_raises_git_error_with_stderr(workspaces, git_remote):
    with pytest.raises(GitError) as raised:
        await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=None, ref="nope")
    assert raised.value.message  # git's own stderr, unchanged
    assert raised.value.context["exit_code"] != 0


async def test_remove_prunes_the_worktree(workspaces, git_remote):
    ws = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=None)
    await workspaces.remove(ws)
    assert not ws.path.exists()
    assert str(ws.path) not in run_git("worktree", "list", cwd=ws.mirror)


async def test_push_with_force_with_lease(workspaces, git_remote):
    branch = "scenarioforge/scenarios"
    ws = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=TOKEN)
    run_git("commit", "-q", "--allow-empty", "-m", "bot change", cwd=ws.path)
    await push(ws, branch, TOKEN, force=True)  # the branch must not exist yet: it does not
    assert run_git("rev-parse", f"refs/heads/{branch}", cwd=git_remote.bare) == head_of(ws.path)

    again = await workspaces.prepare(repository="octo/app", clone_url=git_remote.url, token=TOKEN)
    run_git("commit", "-q", "--allow-empty", "-m", "bot change, rewritten", cwd=again.path)
    await push(again, branch, TOKEN, force=True)  # not a fast-forward, but the lease holds
    assert run_git("rev-parse", f"refs/heads/{branch}", cwd=git_remote.bare) == head_of(again.path)

    git_remote.commit(branch, "human.txt", "a person pushed meanwhile\n")
    with pytest.raises(GitError) as raised:
        await push(again, branch, TOKEN, force=True)
    assert "stale info" in raised.value.message
    assert files_containing(workspaces.root, TOKEN) == []
