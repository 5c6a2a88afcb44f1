"""The board's governance panels (issue 14): a run's findings, a repository's effective config.

Findings come from the run's ``findings:<stage>`` events (``bot.jobs.policy.stage_findings``
records each finding there), so the panel shows exactly what the run reported. The effective
config is read as the bot reads it for a run and for ``/scenarioforge status --config``
(``bot.github.config_files.load_effective``, with the App's installation client), and its
policy is resolved as a run resolves it (``bot.domain.policy.effective_policy``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
import gidgethub
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.board.access import Board, Viewer
from bot.board.queries import event_order
from bot.domain.findings import Finding
from bot.domain.policy import effective_policy
from bot.errors import ScenarioForgeError
from bot.github.config_files import load_effective
from bot.jobs.policy import FINDINGS_PHASE
from storage.models import RunEvent


@dataclass(frozen=True)
class StageFinding:
    """One finding of a run and the stage (``scan | generate | execute | pr``) that found it."""

    stage: str
    finding: Finding


def stage_findings(events: Iterable[tuple[str, dict[str, Any] | None]]) -> list[StageFinding]:
    """The findings recorded in ``events`` (``(phase, payload)`` of ``findings:<stage>`` events), in order."""
    found = []
    for phase, payload in events:
        for item in (payload or {}).get("findings", []):
            found.append(StageFinding(phase.removeprefix(FINDINGS_PHASE), Finding(
                code=item["code"], severity=item["severity"], message=item["message"], scope=item["scope"],
                suggested_fix=item["suggested_fix"], metadata=item.get("metadata") or {})))
    return found


async def findings_of(session: AsyncSession, run_id: int) -> list[StageFinding]:
    """Every finding run ``run_id`` reported, in the order it reported them (all events, not the tail)."""
    rows = (await session.execute(
        select(RunEvent.phase, RunEvent.payload).where(RunEvent.run_id == run_id,
                                                       RunEvent.phase.startswith(FINDINGS_PHASE))
        .order_by(*event_order()))).all()
    return stage_findings(rows)


async def effective_config(board: Board, viewer: Viewer, repository: str) -> dict[str, Any]:
    """Template context of the repository page's config panel.

    ``config``: ``config.org.Effective`` (``rows()`` give key, value, file, kind; ``layers`` every
    file read, an invalid one with its ``error``: a ``policy:`` that does not resolve included);
    ``policy``: the effective policy. When GitHub cannot
    be asked, ``config`` is ``None`` and ``config_unreadable`` says why.
    """
    gh = board.installation_client(viewer.installations[repository])
    try:
        found = await load_effective(gh, repository)
    except (gidgethub.GitHubException, aiohttp.ClientError, TimeoutError, ScenarioForgeError) as exc:
        return {"config": None, "config_unreadable": f"{type(exc).__name__}: {exc}"}
    return {"config": found, "policy": effective_policy(found.config.policy), "config_unreadable": None}
