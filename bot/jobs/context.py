"""What an action receives: the run, a GitHub client, the checkout and helpers.

Actions (``bot.actions``) are ``async def action(ctx: JobContext) -> None``, run by
the run's workflow (``bot.jobs.workflow``); their phases are ``bot.jobs.steps.step`` calls.
They report through ``ctx.event`` / ``ctx.set_state`` (persisted, seed event
envelope) and ``ctx.report`` (the tracking comment), and leave the run in a
final state; a run still ``running`` when the action returns ends ``passed``.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from gidgethub.abc import GitHubAPI
from sqlalchemy import update

from bot.github import checks, messages
from bot.github.tracking import Tracker
from bot.workspace.worktrees import Workspace, Workspaces
from config.settings import Settings
from storage import runs
from storage.db import Database
from storage.models import Run


class JobAuth(Protocol):
    """What jobs use of ``bot.github.client.AppAuth``."""

    def installation_client(self, installation_id: int) -> GitHubAPI: ...

    async def installation_token(self, installation_id: int) -> str: ...


@dataclass
class JobContext:
    """One job's world. ``run`` is refreshed from the database on every state change."""

    run: Run
    gh: GitHubAPI
    db: Database
    settings: Settings
    auth: JobAuth
    workspace: Workspace | None = None
    #: The process's mirrors and worktrees (``bot.jobs.workflow`` sets it).
    workspaces: Workspaces | None = None
    #: True once this process stops: a cancelled action then resumes in the next one (its workflow
    #: stays pending), so it leaves its check run in progress (``bot.github.checks.concluded_on_error``).
    process_stopping: Callable[[], bool] = lambda: False

    @cached_property
    def tracker(self) -> Tracker:
        """The run's tracking comment (``bot.github.tracking.Tracker``), built on first use."""
        return Tracker(self.gh, self.db, self.run)

    async def token(self) -> str:
        """The installation token, for git pushes (``bot.workspace.worktrees.push``); never store it."""
        return await self.auth.installation_token(self.run.installation_id)

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
        await self.tracker.update(messages.tracking(self.run, events, note=note, board_url=self.settings.board_url),
                                  final=final)

    async def tracking_comment_url(self) -> str | None:
        """The ``html_url`` of the run's tracking comment ("Get an issue comment",
        https://docs.github.com/rest/issues/comments#get-an-issue-comment), or ``None`` if it has none."""
        if self.run.tracking_comment_id is None:
            return None
        owner, repo = self.run.repository.split("/", 1)
        comment = await self.gh.getitem(checks.COMMENT, url_vars={
            "owner": owner, "repo": repo, "comment_id": str(self.run.tracking_comment_id)})
        return comment["html_url"]

    async def start_check_run(self, name: str, *, output: checks.Output | None = None) -> checks.CheckRun:
        """Start check run ``name`` for the run on its checked-out commit (``workspace.sha``),
        ``details_url`` = the run's board page (``Settings.board_url``) or else the tracking comment,
        ``external_id`` = the run id; saves ``Run.check_run_id``.

        A run that already has a check run (its worker died and the workflow resumed) takes that one
        up again, or concludes it ``cancelled`` and starts another (``bot.github.checks.resume``),
        so that no check run stays ``in_progress`` forever.
        """
        assert self.workspace is not None, "the workflow checks out before the action runs"
        details_url = messages.run_page(self.settings.board_url, self.run.id) or await self.tracking_comment_url()
        options = dict(name=name, head_sha=self.workspace.sha, details_url=details_url,
                       external_id=str(self.run.id), output=output)
        check = await (checks.resume(self.gh, self.run.repository, self.run.check_run_id, **options)
                       if self.run.check_run_id else checks.start(self.gh, self.run.repository, **options))
        async with self.db.session() as session:
            await session.execute(update(Run).where(Run.id == self.run.id).values(check_run_id=check.id)
                                  .execution_options(synchronize_session=False))
        self.run.check_run_id = check.id
        return check


#: A job action: ``async def action(ctx: JobContext) -> None`` (registry: ``bot.actions.ACTIONS``).
Action = Callable[[JobContext], Awaitable[None]]
