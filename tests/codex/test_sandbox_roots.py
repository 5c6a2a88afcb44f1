"""The sandbox cannot write where the bot keeps state (issue 9).

The test world itself lives under ``/tmp`` (pytest's ``tmp_path``), as a
``WORKDIR`` under ``/tmp`` would: the agent's commands, run by the real
``codex`` binary in its workspace-write sandbox, try to poison a mirror next
to the worktree, ``/tmp`` and the database; only the worktree and the
thread's own temporary folder (``$TMPDIR``, removed with the thread) are written.
"""
from __future__ import annotations

import os
import uuid

import pytest
from pydantic import ValidationError

from bot.codex.engine import Engine
from config.settings import Settings
from tests.support.model_server import assistant_message, exec_call, tool_outputs


async def test_workspace_write_reaches_the_worktree_only(model_server, codex_settings, tmp_path):
    worktree = tmp_path / "work" / "worktrees" / "octo" / "app" / "run-1"
    mirror = tmp_path / "work" / "mirrors" / "octo" / "app.git"
    worktree.mkdir(parents=True)
    (mirror / "hooks").mkdir(parents=True)
    in_tmp = f"/tmp/sf-poison-{uuid.uuid4().hex}"
    attempts = [f"echo x > {mirror}/hooks/post-checkout", f"echo x > {in_tmp}", 'echo x > "$TMPDIR/scratch" && echo "tmpdir=$TMPDIR"',
                f"echo x > {tmp_path}/scenarioforge.db", "echo fixed > fix.txt"]
    model_server.script = lambda request: (
        [exec_call("; ".join(attempts))] if not tool_outputs(request) else [assistant_message("done")])
    async with Engine(codex_settings).thread(worktree, sandbox="workspace-write") as thread:
        result = await thread.turn("Try to write everywhere.")
    [command] = result.commands
    assert command.output.count("Read-only file system") + command.output.count("Permission denied") >= 3
    assert not (mirror / "hooks" / "post-checkout").exists()
    assert not (tmp_path / "scenarioforge.db").exists()
    assert not os.path.exists(in_tmp)
    assert (worktree / "fix.txt").read_text() == "fixed\n"
    tmpdir = command.output.split("tmpdir=", 1)[1].split()[0]
    assert tmpdir.startswith(str(codex_settings.workdir.resolve() / "tmp")) and not os.path.exists(tmpdir)


def test_codex_config_may_not_widen_the_sandbox():
    with pytest.raises(ValidationError, match="sandbox_workspace_write.writable_roots. may not be overridden"):
        Settings(_env_file=None, codex_config='sandbox_workspace_write.writable_roots = ["/tmp"]')
    with pytest.raises(ValidationError, match="sandbox_mode"):
        Settings(_env_file=None, codex_config='sandbox_mode = "danger-full-access"')
