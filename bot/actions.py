"""The registry of job actions: run action name → ``async def (ctx: JobContext) -> None``.

``sources`` and ``confirm`` are the trust gate's (``bot.source_actions``),
``generate`` publishes a scenario pack (``bot.generate_action``) and
``execute`` runs, fixes and proposes (``bot.execute_action``).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot import execute_action, generate_action, source_actions
from bot.context import JobContext

Action = Callable[[JobContext], Awaitable[None]]

ACTIONS: dict[str, Action] = {
    "generate": generate_action.generate,
    "execute": execute_action.execute,
    "sources": source_actions.sources,
    "confirm": source_actions.confirm,
}
