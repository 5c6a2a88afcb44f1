"""React to `/scenarioforge …` commands in new issue and pull request comments.

Webhook: ``issue_comment`` ``created``
(https://docs.github.com/webhooks/webhook-events-and-payloads#issue_comment);
``issue.pull_request`` is present when the comment is on a pull request.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gidgethub import routing
from gidgethub.abc import GitHubAPI
from gidgethub.sansio import Event

from bot.execution.resume import resumed_run
from bot.github import authorize, governance, messages
from bot.github.config_files import load_effective
from bot.github.tracking import Tracker
from bot.jobs import queue
from config.settings import Settings
from handlers import commands, payloads
from handlers.intake import is_ignored_bot, react, reply, start_run
from storage import reviews, runs, spend
from storage.db import Database

router = routing.Router()


def is_ignored_author(comment: dict[str, Any], settings: Settings) -> bool:
    """True for comments by this App itself or by a bot not in ``ALLOWED_BOTS``.

    The App's own comments carry ``performed_via_github_app.id``; its login
    is ``<slug>[bot]`` with ``user.type == "Bot"``, so the bot rule covers it too
    without an API call.
    """
    app = comment.get("performed_via_github_app") or {}
    if settings.app_id is not None and app.get("id") == settings.app_id:
        return True
    return is_ignored_bot(comment["user"], settings)


@router.register("issue_comment", action="created")
async def on_comment(
    event: Event, gh: GitHubAPI, *args: Any, db: Database, settings: Settings, delivery_id: str,
    **kwargs: Any,
) -> None:
    """Answer or queue the command in a comment if its author may run it; ``execute --resume RUN_ID`` only
    when RUN_ID may be continued (``bot.execution.resume.resumed_run``: else the reply says why)."""
    payloads.check(event, payloads.IssueComment)
    comment, issue = event.data["comment"], event.data["issue"]
    command = commands.parse(comment.get("body") or "")
    if command is None or is_ignored_author(comment, settings):
        return
    repository, login = event.data["repository"]["full_name"], comment["user"]["login"]
    decision = await authorize.check(gh, repository, login, settings.min_permission)
    if not decision.allowed:
        await reply(gh, repository, issue, messages.refused(login, decision))
        return
    if isinstance(command, commands.CommandError):
        await reply(gh, repository, issue, messages.command_error(command.line, command.problem, command.verb))
        return
    await react(gh, repository, comment)
    if command.verb == "help":
        await reply(gh, repository, issue, messages.help_text(settings.min_permission))
    elif command.verb == "status":
        await reply(gh, repository, issue, await status(gh, db, repository, config=command.config))
    elif command.verb == "cancel":
        await cancel(gh, db, issue, repository, login)
    else:
        args, head_sha = command.args(), None
        if command.resume is not None:  # the stopped run's mode, scenarios, revision and commit
            resumed = await resumed_run(db, command.resume, repository=repository, issue_number=issue["number"])
            if isinstance(resumed, str):
                await reply(gh, repository, issue, messages.command_error(
                    command.line, f"--resume {command.resume}: {resumed}", command.verb))
                return
            args, head_sha = {**args, **resumed.args}, resumed.head_sha
        await start_run(
            gh, db, delivery_id=delivery_id, verb=command.verb,
            installation_id=event.data["installation"]["id"], repository=repository,
            issue_number=issue["number"], is_pull_request=bool(issue.get("pull_request")),
            requester=login, args=args, ref=command.branch, head_sha=head_sha,
        )


async def status(gh: GitHubAPI, db: Database, repository: str, *, config: bool) -> str:
    """``status``: the latest runs and the month-to-date spend against the repository's ceiling,
    or with ``--config`` the effective config and each key's source
    (``bot.github.config_files.load_effective``)."""
    found = await load_effective(gh, repository)
    if config:
        return governance.effective_config(found)
    start, _ = spend.month_bounds(datetime.now(UTC))
    async with db.session() as session:
        latest = await runs.latest_runs(session, repository)
        spent = await spend.month_spend(session, start, repository=repository)
        flagged = await reviews.needing_review(session, repository)
    return "\n\n".join(part for part in (
        messages.status_table(latest), messages.needs_review(flagged),
        governance.spend_line(repository, f"{start:%Y-%m}", spent, found.config.budget.monthly_usd)) if part)


async def cancel(
    gh: GitHubAPI, db: Database, issue: dict[str, Any], repository: str, login: str
) -> None:
    """Cancel every queued or running run of this issue/PR and its workflow (a running
    action stops within a second, ``bot.jobs.queue.cancel``), show each run cancelled in its tracking comment and say how many."""
    async with db.session() as session:
        cancelled = await runs.cancel_active_runs(session, repository, issue["number"], by=login)
        events = [await runs.events_of(session, run.id) for run in cancelled]
    if not cancelled:
        await reply(gh, repository, issue, messages.nothing_to_cancel(issue["number"]))
        return
    await queue.cancel(run.id for run in cancelled)
    for run, run_events in zip(cancelled, events, strict=True):
        await Tracker(gh, db, run).update(messages.tracking(run, run_events), final=True)
    await reply(gh, repository, issue, messages.cancelled(cancelled))
