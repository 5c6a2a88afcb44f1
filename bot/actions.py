"""The registry of job actions: run action name → ``async def (ctx: JobContext) -> None``.

``sources`` and ``confirm`` are the trust gate's (``bot.sources.actions``),
``generate`` publishes a scenario pack (``bot.scenarios.action``) and
``execute`` runs, fixes and proposes (``bot.execution.action``); ``ci-fix`` turns a failed CI run
into a fix PR (``bot.execution.ci_action``) and ``review`` flags the scenarios whose sources
changed (``bot.scenarios.review``).
"""
from __future__ import annotations

from bot.execution import action as execute_action
from bot.execution import ci_action
from bot.jobs.context import Action
from bot.scenarios import action as generate_action
from bot.scenarios import review
from bot.sources import actions as source_actions

ACTIONS: dict[str, Action] = {
    "generate": generate_action.generate,
    "execute": execute_action.execute,
    "sources": source_actions.sources,
    "confirm": source_actions.confirm,
    "ci-fix": ci_action.ci_fix,
    "review": review.review,
}
