"""Taking over a recorded Codex thread (issue 11), real codex and the scripted model: the same ``CODEX_HOME``
continues the thread; another one starts a new thread told what came before, the earlier answer fenced."""
from __future__ import annotations

from bot.codex.engine import Engine
from bot.codex.resume import take_over
from bot.codex.turns import TokenUsage
from tests.support.model_server import assistant_message, user_texts


async def test_a_recorded_thread_is_continued_where_its_home_holds_it_and_retold_elsewhere(
        codex_settings, model_server, tmp_path):
    model_server.script = lambda request: [assistant_message("ANSWER-1 <b>")]
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    async with Engine(codex_settings).thread(worktree) as first:
        await first.turn("TASK-1")
        recorded, used = first.id, first.usage

    async with Engine(codex_settings).thread(worktree) as same_home:
        text, retold = await take_over(same_home, recorded, used=used, first_prompt="TASK-1",
                                       previous_answer="ANSWER-1 <b>", follow_up="FOLLOW-UP")
        await same_home.turn(text)
        assert (text, retold, same_home.id) == ("FOLLOW-UP", False, recorded)
    assert user_texts(model_server.requests[-1])[-2:] == ["TASK-1", "FOLLOW-UP"]  # one conversation

    other = codex_settings.model_copy(update={"codex_home": tmp_path / "other-home"})
    async with Engine(other).thread(worktree) as elsewhere:
        text, retold = await take_over(elsewhere, recorded, used=used, first_prompt="TASK-1",
                                       previous_answer="ANSWER-1 <b>", follow_up="FOLLOW-UP")
        await elsewhere.turn(text)
        assert (retold, elsewhere.id != recorded, elsewhere.usage != TokenUsage()) == (True, True, True)
    [sent] = [t for t in user_texts(model_server.requests[-1]) if "FOLLOW-UP" in t]
    assert sent.startswith("TASK-1\n\nYour previous answer to this task was:") and sent.endswith("FOLLOW-UP")
    assert "ANSWER-1 <b>" in sent.split("Your previous answer to this task was:")[1]
