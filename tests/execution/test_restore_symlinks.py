"""The agent cannot reach outside its worktree through the bot's restore or commit (issue 9).

The attack: the agent replaces a path it may not change (a workflow, or its
folder) with a symbolic link to a file outside the worktree. The bot, which
runs outside the sandbox, must restore the path itself, never write through
the link, and never commit a link that leaves the tree or the build artefacts
running the scenarios left behind.
"""
from __future__ import annotations

import os
import subprocess

from bot.codex.engine import Engine
from bot.execution.evidence import diff, restore, snapshot
from bot.execution.loop import execute_pack
from bot.execution.selection import fix_selection, left_out_note
from tests.execution.test_execution import honest_script
from tests.support.target_repo import FIX_COMMAND


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def committed(repo, files: dict[str, str]) -> None:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "files")


def outside_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ci.yml").write_text("outside, untouched\n")
    return outside


async def repo_and_outside(tmp_path, files: dict[str, str]):
    """A git repository ``tmp_path/repo`` with ``files`` committed, the folder outside it (``outside_folder``)
    and the repository's snapshot tree id: ``(repo, outside, before)``."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    committed(repo, files)
    return repo, outside_folder(tmp_path), await snapshot(repo)


async def test_restoring_a_folder_replaced_by_a_link_writes_nothing_outside(tmp_path):
    repo, outside, before = await repo_and_outside(tmp_path, {".github/workflows/ci.yml": "on: push\n",
                                                               "app.py": "x = 1\n"})
    (repo / ".github" / "workflows" / "ci.yml").unlink()
    (repo / ".github" / "workflows").rmdir()
    os.symlink(outside, repo / ".github" / "workflows")
    _, files = await diff(repo, before, await snapshot(repo))
    assert files == [".github/workflows", ".github/workflows/ci.yml"]

    await restore(repo, before, files)
    assert (outside / "ci.yml").read_text() == "outside, untouched\n"
    assert not (repo / ".github" / "workflows").is_symlink()
    assert (repo / ".github" / "workflows" / "ci.yml").read_text() == "on: push\n"
    assert await diff(repo, before, await snapshot(repo)) == ("", [])


async def test_restoring_a_file_replaced_by_a_link_replaces_the_link(tmp_path):
    repo, outside, before = await repo_and_outside(tmp_path, {"protected.yml": "mine\n"})
    (repo / "protected.yml").unlink()
    os.symlink(outside / "ci.yml", repo / "protected.yml")
    await restore(repo, before, ["protected.yml"])
    assert (outside / "ci.yml").read_text() == "outside, untouched\n"
    assert not (repo / "protected.yml").is_symlink() and (repo / "protected.yml").read_text() == "mine\n"


async def test_removing_a_new_link_removes_the_link_not_its_target(tmp_path):
    repo, outside, before = await repo_and_outside(tmp_path, {"app.py": "x = 1\n"})
    os.symlink(outside / "ci.yml", repo / "evil.yml")
    await restore(repo, before, ["evil.yml"])
    assert not os.path.lexists(repo / "evil.yml") and (outside / "ci.yml").exists()


async def test_a_fix_turn_that_plants_a_link_over_the_workflows_has_it_reverted(model_server, codex_settings,
                                                                                target_repo, tmp_path):
    outside = outside_folder(tmp_path)
    committed(target_repo.path, {".github/workflows/ci.yml": "on: push\n"})
    plant = (f"rm .github/workflows/ci.yml && rmdir .github/workflows && ln -s {outside} .github/workflows && ln -s {outside}/ci.yml escape.yml")
    model_server.script = honest_script(f"{FIX_COMMAND} && {plant}")
    events = []
    outcome = await execute_pack(Engine(codex_settings), worktree=target_repo.path, pack=target_repo.pack,
                                 mode="fix", on_event=events.append)

    assert outcome.status == "passed"
    [attempt] = outcome.attempts
    assert set(attempt.reverted_paths) >= {".github/workflows", ".github/workflows/ci.yml", "escape.yml"}
    assert (outside / "ci.yml").read_text() == "outside, untouched\n"
    assert not (target_repo.path / ".github" / "workflows").is_symlink()
    assert (target_repo.path / ".github" / "workflows" / "ci.yml").read_text() == "on: push\n"
    assert not os.path.lexists(target_repo.path / "escape.yml")
    assert ".github" not in outcome.diff and "escape.yml" not in outcome.diff
    assert any("new symbolic link(s)" in e.message for e in events if e.phase == "guard")


async def test_the_fix_commit_leaves_out_artefacts_and_links_leaving_the_tree(tmp_path):
    repo, outside, _ = await repo_and_outside(tmp_path, {"app.py": "x = 1\n", "docs/link.md": "see\n"})
    (repo / "app.py").write_text("x = 2\n")
    (repo / "helper.py").write_text("y = 1\n")  # a new module of the fix: committed
    for artefact in ("__pycache__/app.cpython-311.pyc", ".pytest_cache/v/cache/lastfailed", ".coverage",
                     "node_modules/left-pad/index.js", "htmlcov/index.html"):
        (repo / artefact).parent.mkdir(parents=True, exist_ok=True)
        (repo / artefact).write_text("artefact")
    os.symlink(outside / "ci.yml", repo / "escape.yml")
    os.symlink("../app.py", repo / "docs" / "inside.py")  # stays inside the tree: committed

    selection = await fix_selection(repo)
    assert sorted(selection.paths) == ["app.py", "docs/inside.py", "helper.py"]
    left = dict(selection.left_out)
    assert left["escape.yml"] == "symbolic link pointing outside the repository"
    assert {path for path, reason in left.items() if reason == "build artefact, not tracked"} == {
        "__pycache__/app.cpython-311.pyc", ".pytest_cache/v/cache/lastfailed", ".coverage",
        "node_modules/left-pad/index.js", "htmlcov/index.html"}
    note = left_out_note(selection)
    assert note.startswith("## Left out of the commit") and "`escape.yml`" in note
