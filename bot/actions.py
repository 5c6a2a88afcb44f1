"""The registry of job actions: run action name → ``async def (ctx: JobContext) -> None``.

``sources`` and ``confirm`` are the trust gate's (``bot.source_actions``).
Until the issues that bring them land, the others say plainly that the
capability is not installed yet and end the run ``blocked`` in phase
``not-installed``: nothing failed, and a later version can pick the same
request up again (``blocked`` may be re-queued).
Later issues replace the entries of ``ACTIONS``.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot import execute_action, generate_action, messages, source_actions
from bot.context import JobContext

Action = Callable[[JobContext], Awaitable[None]]


async def not_installed(ctx: JobContext) -> None:
    """Block the run with the "not installed yet" message in its tracking comment."""
    note = messages.not_installed(ctx.run.action)
    await ctx.set_state("blocked", "not-installed", note)
    await ctx.report(final=True)


ACTIONS: dict[str, Action] = {
    "generate": generate_action.generate,
    "execute": execute_action.execute,
    "sources": source_actions.sources,
    "confirm": source_actions.confirm,
}
