"""Labels `scenarioforge:generate` and `scenarioforge:execute` start the command with its defaults.

Webhooks: ``issues`` and ``pull_request`` ``labeled``
(https://docs.github.com/webhooks/webhook-events-and-payloads#issues). The
sender's permission decides; a bot sender (``sender.type`` ``Bot``, this App included) not in
``ALLOWED_BOTS`` is ignored, as its comments are (``handlers.intake.is_ignored_bot``). The run records ``{"trigger": "label", "label":
name}`` so the worker removes the label when it picks the job up
(``bot.github.tracking.remove_trigger_label``).
"""
from __future__ import annotations

from typing import Any

from gidgethub import routing
from gidgethub.abc import GitHubAPI
from gidgethub.sansio import Event

from bot.github import authorize, messages
from config.settings import Settings
from handlers import commands, payloads
from handlers.intake import is_ignored_bot, reply, start_run
from storage.db import Database

router = routing.Router()


@router.register("issues", action="labeled")
@router.register("pull_request", action="labeled")
async def on_labeled(
    event: Event, gh: GitHubAPI, *args: Any, db: Database, settings: Settings, delivery_id: str,
    **kwargs: Any,
) -> None:
    """Queue the labelled command if the sender may run it."""
    payloads.check(event, payloads.IssueLabeled if event.event == "issues" else payloads.PullRequestLabeled)
    label = event.data["label"]["name"]
    verb = messages.LABELS.get(label)
    if verb is None:
        return
    if is_ignored_bot(event.data["sender"], settings):
        return
    target = event.data.get("issue") or event.data["pull_request"]
    repository, login = event.data["repository"]["full_name"], event.data["sender"]["login"]
    decision = await authorize.check(gh, repository, login, settings.min_permission)
    if not decision.allowed:
        await reply(gh, repository, target, messages.refused(login, decision))
        return
    is_pull_request = event.event == "pull_request" or bool(target.get("pull_request"))
    command = commands.Command(verb=verb, line=f"{commands.PREFIX} {verb}")
    await start_run(
        gh, db, delivery_id=delivery_id, verb=verb, installation_id=event.data["installation"]["id"],
        repository=repository, issue_number=target["number"], is_pull_request=is_pull_request,
        requester=login, args={**command.args(), "trigger": "label", "label": label},
        head_sha=target["head"]["sha"] if event.event == "pull_request" else None,
    )
