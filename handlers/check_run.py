"""The buttons and "Re-run" of a ``ScenarioForge / execute`` check run start ``execute`` again.

Webhook ``check_run`` (https://docs.github.com/webhooks/webhook-events-and-payloads#check_run):
``requested_action`` — a person clicked one of the run's buttons; its
``requested_action.identifier`` is the mode it starts (``fix`` or ``pr``,
``bot.execution.render.check_run_actions``); ``rerequested`` — "Re-run":
the same arguments again. Only completed check runs of this App
(``check_run.app.id``) named ``ScenarioForge / execute`` count; their
``external_id`` is the id of the run that made them (``bot.jobs.context.JobContext.start_check_run``),
whose issue or pull request, branch and arguments the new run takes.

The clicking ``sender``'s permission decides, as for comments
(``bot.github.authorize``); a refusal is one short comment on the original run's
issue or pull request, since there is no comment to answer.
"""
from __future__ import annotations

from typing import Any

from gidgethub import routing
from gidgethub.abc import GitHubAPI
from gidgethub.sansio import Event

from bot.execution.action import CHECK_NAME
from bot.execution.render import FIX_ACTION, PR_ACTION
from bot.github import authorize, ci_check, messages
from bot.github.tracking import COMMENTS
from config.settings import Settings
from handlers import ci, payloads
from handlers.intake import start_run
from storage.db import Database
from storage.models import Run

router = routing.Router()

#: Button identifier → the execute mode it starts.
BUTTON_MODES: dict[str, str] = {FIX_ACTION["identifier"]: "fix", PR_ACTION["identifier"]: "pr"}
#: Arguments of the original run that belong to its trigger, not to the command; ``resume`` too: a button
#: or "Re-run" starts a loop of its own, not another continuation of the checkpoint the original resumed.
TRIGGER_ARGS = ("trigger", "label", "check_run_id", "resume")


async def original_run(data: dict[str, Any], db: Database, settings: Settings) -> Run | None:
    """The execute run that made the payload's check run, or ``None`` when the check run is not a
    completed execute check run of this App in this repository."""
    check = data["check_run"]
    external_id = check.get("external_id") or ""
    if (check.get("app") or {}).get("id") != settings.app_id or check["name"] != CHECK_NAME \
            or check["status"] != "completed" or not external_id.isdigit():
        return None
    async with db.session() as session:
        run = await session.get(Run, int(external_id))
    if run is None or run.action != "execute" or run.repository != data["repository"]["full_name"]:
        return None
    return run


async def start_again(data: dict[str, Any], gh: GitHubAPI, original: Run, mode: str | None, *, db: Database,
                      settings: Settings, delivery_id: str) -> None:
    """Start ``execute`` in ``mode`` with ``original``'s arguments for the payload's ``sender``,
    if they may; otherwise say so on the original run's issue or pull request."""
    login = data["sender"]["login"]
    decision = await authorize.check(gh, original.repository, login, settings.min_permission)
    if not decision.allowed:
        owner, repo = original.repository.split("/", 1)
        await gh.post(COMMENTS, url_vars={"owner": owner, "repo": repo, "issue_number": str(original.issue_number)},
                      data={"body": messages.refused(login, decision)})
        return
    args = {key: value for key, value in original.args.items() if key not in TRIGGER_ARGS}
    args.update(mode=mode, trigger="check_run", check_run_id=data["check_run"]["id"], origin_run=original.id)
    await start_run(
        gh, db, delivery_id=delivery_id, verb="execute", installation_id=data["installation"]["id"],
        repository=original.repository, issue_number=original.issue_number,
        is_pull_request=original.is_pull_request, requester=login, args=args,
        ref=None if original.is_pull_request else original.ref, head_sha=data["check_run"]["head_sha"],
    )


@router.register("check_run", action="requested_action")
async def on_button(
    event: Event, gh: GitHubAPI, *args: Any, db: Database, settings: Settings, delivery_id: str,
    **kwargs: Any,
) -> None:
    """"Fix failures" → ``execute --mode fix``, "Open fix PR" → ``execute --mode pr``."""
    payloads.check(event, payloads.CheckRunRequestedAction)
    if event.data["check_run"]["name"] == ci_check.CHECK_NAME:  # "Fix CI failure" (handlers/ci.py)
        await ci.on_fix_click(event.data, gh, db=db, settings=settings, delivery_id=delivery_id)
        return
    mode = BUTTON_MODES.get(event.data["requested_action"]["identifier"])
    original = await original_run(event.data, db, settings) if mode else None
    if original is None:
        return
    await start_again(event.data, gh, original, mode, db=db, settings=settings, delivery_id=delivery_id)


@router.register("check_run", action="rerequested")
async def on_rerun(
    event: Event, gh: GitHubAPI, *args: Any, db: Database, settings: Settings, delivery_id: str,
    **kwargs: Any,
) -> None:
    """"Re-run" → ``execute`` again with the original run's arguments."""
    payloads.check(event, payloads.CheckRunRerequested)
    original = await original_run(event.data, db, settings)
    if original is None:
        return
    await start_again(event.data, gh, original, original.args.get("mode"), db=db, settings=settings,
                      delivery_id=delivery_id)
