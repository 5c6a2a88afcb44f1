"""Taking over a Codex thread after a crash or a stop (issue 11), shared by generation and execution.

A resumed run knows the id of the thread its finished turns ran in and what
they used. Before its first live turn it asks Codex to continue that thread
(:meth:`bot.codex.turns.EngineThread.adopt`, app-server ``thread/resume``):
that works when the worker's ``CODEX_HOME`` holds the thread's rollout (the
same machine, or a shared home). Where it does not, a new thread takes over
and its first turn is told what came before: the original task, the earlier
answer fenced as data (model output is untrusted, ``bot.codex.untrusted``) and
the follow-up (:func:`continued_prompt`).
"""
from __future__ import annotations

from bot.codex.turns import EngineThread, TokenUsage
from bot.codex.untrusted import fence


def continued_prompt(first_prompt: str, previous_answer: str, follow_up: str) -> str:
    """The first turn of a new thread that takes over a resumed run: the original prompt,
    the previous turn's answer (fenced: model output is data) and the follow-up."""
    return "\n\n".join([first_prompt, "Your previous answer to this task was:",
                        fence(previous_answer, origin="your previous turn"), follow_up])


async def take_over(thread: EngineThread, recorded_id: str | None, *, used: TokenUsage, first_prompt: str,
                    previous_answer: str | None, follow_up: str) -> tuple[str, bool]:
    """The text of a resumed run's first live turn, and whether a new thread was told what came before.

    ``recorded_id``: the thread the finished turns ran in (``None``: nothing was
    recorded); ``used``: that thread's token total so far (Codex reports running
    totals); ``previous_answer``: the last finished turn's final message (``None``:
    no turn finished). Returns ``(follow_up, False)`` when Codex continues the
    recorded thread or nothing came before, else ``(continued_prompt(…), True)``.
    """
    if recorded_id is None or previous_answer is None or await thread.adopt(recorded_id, used):
        return follow_up, False
    return continued_prompt(first_prompt, previous_answer, follow_up), True
