"""``EngineThread.run_command``: the bot's own commands run in the thread's sandbox (issue 13), real codex."""
from __future__ import annotations

from bot.codex.engine import Engine


async def test_the_bots_command_writes_only_the_worktree_keeps_pipe_failures_and_is_time_bounded(
        codex_settings, tmp_path, monkeypatch):
    bot_folder, worktree = tmp_path / "bot", tmp_path / "worktree"
    bot_folder.mkdir()
    worktree.mkdir()
    monkeypatch.chdir(bot_folder)  # where the bot runs: its database and .env may live here
    async with Engine(codex_settings).thread(worktree, sandbox="workspace-write") as thread:
        wrote = await thread.run_command(f"touch {bot_folder}/x; touch y && echo ok", cwd=worktree, timeout_s=30,
                                         output_cap=1000)
        piped = await thread.run_command("false | tail -1", cwd=worktree, timeout_s=30, output_cap=1000)
        slow = await thread.run_command("sleep 20", cwd=worktree, timeout_s=1, output_cap=1000)
    assert (wrote.exit_code, "ok" in wrote.output, "Read-only file system" in wrote.output) == (0, True, True)
    assert (worktree / "y").exists() and not (bot_folder / "x").exists()
    assert piped.exit_code == 1  # pipefail: the status is not tail's
    assert slow.exit_code == 124
