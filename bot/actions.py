"""The registry of job actions: run action name → ``async def (ctx: JobContext) -> None``.

Until the issues that bring them land, ``generate``, ``execute``, ``sources``
and ``confirm`` say plainly that the capability is not installed yet and end
the run ``blocked`` in phase ``not-installed``: nothing failed, and a later
version can pick the same request up again (``blocked`` may be re-queued).
Later issues replace the entries of ``ACTIONS``.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot import messages
from bot.context import JobContext

Action = Callable[[JobContext], Awaitable[None]]


async def not_installed(ctx: JobContext) -> None:
    """Block the run with the "not installed yet" message in its tracking comment."""
    note = messages.not_installed(ctx.run.action)
    await ctx.set_state("blocked", "not-installed", note)
    await ctx.report(final=True)


ACTIONS: dict[str, Action] = {verb: not_installed for verb in ("generate", "execute", "sources", "confirm")}
