"""What an action receives: the run, its job, a GitHub client, the checkout and helpers.

Actions (``bot.actions``) are ``async def action(ctx: JobContext) -> None``.
They report through ``ctx.event`` / ``ctx.set_state`` (persisted, seed event
envelope) and ``ctx.report`` (the tracking comment), and leave the run in a
final state; a run still ``running`` when the action returns ends ``passed``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from gidgethub.abc import GitHubAPI

from bot import messages
from bot.tracking import Tracker
from bot.workspace import Workspace
from config.settings import Settings
from storage import runs
from storage.db import Database
from storage.models import Job, Run


class JobAuth(Protocol):
    """What jobs use of ``bot.github.AppAuth``."""

    def installation_client(self, installation_id: int) -> GitHubAPI: ...

    async def installation_token(self, installation_id: int) -> str: ...


@dataclass
class JobContext:
    """One job's world. ``run`` is refreshed from the database on every state change."""

    run: Run
    job: Job
    gh: GitHubAPI
    db: Database
    settings: Settings
    auth: JobAuth
    workspace: Workspace | None = None

    @cached_property
    def tracker(self) -> Tracker:
        """The run's tracking comment (``bot.tracking.Tracker``), built on first use."""
        return Tracker(self.gh, self.db, self.run)

    async def token(self) -> str:
        """The installation token, for git pushes (``bot.workspace.push``); never store it."""
        return await self.auth.installation_token(self.job.installation_id)

    async def event(self, phase: str, status: str, message: str = "", payload: dict[str, Any] | None = None) -> None:
        """Persist a run event (seed envelope; a repeat of the last phase+status is skipped)
        and make ``phase`` the run's current phase."""
        async with self.db.session() as session:
            run = await session.get(Run, self.run.id, populate_existing=True)
            run.phase = phase
            await runs.add_event(session, run, phase, status, message, payload)
        self.run = run

    async def set_state(
        self, state: str, phase: str, message: str = "", *, error: dict[str, Any] | None = None, **columns: Any
    ) -> None:
        """Move the run to ``state``/``phase`` (``storage.runs.set_state``), optionally
        recording ``error`` (``ScenarioForgeError.as_record()``) and other run ``columns``.

        Raises:
            ValueError: the transition is not allowed from the run's stored state.
        """
        async with self.db.session() as session:
            run = await session.get(Run, self.run.id, populate_existing=True)
            for name, value in columns.items():
                setattr(run, name, value)
            if error is not None:
                run.error = error
            await runs.set_state(session, run, state, phase, message)
        self.run = run

    async def refresh(self) -> Run:
        """Reload the run (another process may have cancelled it)."""
        async with self.db.session() as session:
            self.run = await session.get(Run, self.run.id, populate_existing=True)
        return self.run

    async def report(self, note: str | None = None, *, final: bool = False) -> None:
        """Render the tracking comment from the stored run and events and show it
        (throttled by the tracker unless ``final``)."""
        async with self.db.session() as session:
            events = await runs.events_of(session, self.run.id)
        await self.tracker.update(messages.tracking(self.run, events, note=note), final=final)
