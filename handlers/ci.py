"""A CI run that failed on a pull request's head or on the default branch becomes a fix run (issue 13).

Webhooks ``workflow_run`` ``completed``
(https://docs.github.com/webhooks/webhook-events-and-payloads#workflow_run) and ``check_suite``
``completed`` (#check_suite) of another CI app (GitHub Actions' own suites arrive as workflow
runs too, so they are left to ``workflow_run``). A failure (``bot.github.ci_runs.FAILED``) is
recorded once per head SHA and CI run (``storage.ci_failures``); then the repository's
``ci.on_failure`` decides: ``off`` nothing; ``button`` the check run ``ScenarioForge / CI`` with
**Fix CI failure** (``bot.github.ci_check``); ``auto`` the fix run at once, once — never for a
pull request from a fork, which gets the button (a person decides to run a fork's code).

Where: ``workflow_run.pull_requests`` names same-repository pull requests; a fork's head
(``head_repository`` ≠ the repository) is looked up among the open pull requests by
``owner:branch``; a head on the default branch has no pull request, and its fix run's tracking
comment goes on an issue the bot opens ("Create an issue",
https://docs.github.com/rest/issues/issues#create-an-issue). Any other branch is ignored.

A success on a head SHA with a queued or running ``execute`` run is recorded on that run as a
``ci`` event: "QA on CI success" (seed 003, Phase 5).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gidgethub import routing
from gidgethub.abc import GitHubAPI
from gidgethub.sansio import Event
from sqlalchemy import select

from bot.github import authorize, ci_check, ci_runs, messages
from bot.github.config_files import load_effective
from bot.github.tracking import COMMENTS
from config.settings import Settings
from handlers import payloads
from handlers.intake import start_run
from storage import ci_failures, runs
from storage.db import Database
from storage.models import Run
from storage.models import CIFailure

router = routing.Router()

PULLS = "/repos/{owner}/{repo}/pulls{?head,state}"
ISSUES = "/repos/{owner}/{repo}/issues"
ACTIONS_SLUG = "github-actions"
FIX_VERB = "ci-fix"
FORK_NOTE = ("`ci.on_failure: auto` does not start runs for a pull request from a fork: the fix would run the "
             "fork's code, so a person with write access decides with the button.")


async def _target(gh: GitHubAPI, data: dict[str, Any], run: dict[str, Any]) -> dict[str, Any] | None:
    """``pull_number``, ``base_ref``, ``fork`` and ``head_repository`` of the failing head, or
    ``None`` for a branch that is neither a pull request's head nor the default branch."""
    repository = data["repository"]
    head_repo = (run.get("head_repository") or {}).get("full_name") or repository["full_name"]
    fork = head_repo != repository["full_name"]
    found = {"fork": fork, "head_repository": head_repo}
    if run.get("pull_requests"):
        pull = run["pull_requests"][0]
        return {**found, "pull_number": pull["number"], "base_ref": pull["base"]["ref"]}
    if fork and run.get("head_branch"):
        owner, repo = repository["full_name"].split("/", 1)
        head = f"{head_repo.split('/', 1)[0]}:{run['head_branch']}"
        async for pull in gh.getiter(PULLS, url_vars={"owner": owner, "repo": repo, "head": head, "state": "open"}):
            return {**found, "pull_number": pull["number"], "base_ref": pull["base"]["ref"]}
        return None
    if run.get("head_branch") == repository["default_branch"]:
        return {**found, "pull_number": None, "base_ref": repository["default_branch"]}
    return None


async def _passed(db: Database, repository: str, head_sha: str, name: str, url: str) -> None:
    """Record a CI success as a ``ci`` event of every pending ``execute`` run on ``head_sha``."""
    async with db.session() as session:
        pending = (await session.scalars(select(Run).where(
            Run.repository == repository, Run.head_sha == head_sha, Run.action == "execute",
            Run.state.in_(runs.ACTIVE_STATES)))).all()
        for run in pending:
            await runs.add_event(session, run, "ci", "passed", f"CI passed on `{head_sha[:12]}`: [{name}]({url})",
                                 {"head_sha": head_sha, "url": url, "workflow": name})


@router.register("workflow_run", action="completed")
async def on_workflow_run(event: Event, gh: GitHubAPI, *args: Any, db: Database, settings: Settings,
                          delivery_id: str, **kwargs: Any) -> None:
    """A failed workflow run → button or fix run; a passed one → evidence for a pending execute run."""
    payloads.check(event, payloads.WorkflowRunCompleted)
    run, repository = event.data["workflow_run"], event.data["repository"]["full_name"]
    name = run.get("name") or "workflow run"
    if run.get("conclusion") == "success":
        await _passed(db, repository, run["head_sha"], name, run["html_url"])
    elif run.get("conclusion") in ci_runs.FAILED:
        await _failed(event.data, gh, db, kind="workflow_run", ci=run, name=name, delivery_id=delivery_id, jobs=lambda: ci_runs.failed_jobs(gh, repository, run["id"]))


@router.register("check_suite", action="completed")
async def on_check_suite(event: Event, gh: GitHubAPI, *args: Any, db: Database, settings: Settings,
                         delivery_id: str, **kwargs: Any) -> None:
    """The same for another CI app's check suite (never this App's own, nor GitHub Actions')."""
    payloads.check(event, payloads.CheckSuiteCompleted)
    suite, repository = event.data["check_suite"], event.data["repository"]["full_name"]
    app = suite.get("app") or {}
    if app.get("id") == settings.app_id or app.get("slug") == ACTIONS_SLUG:
        return
    name = f"{app.get('slug') or 'check suite'} check suite"
    url = f"{settings.web_url}/{repository}/commit/{suite['head_sha']}/checks"
    if suite.get("conclusion") == "success":
        await _passed(db, repository, suite["head_sha"], name, url)
    elif suite.get("conclusion") in ci_runs.FAILED:
        await _failed(event.data, gh, db, kind="check_suite", ci={**suite, "html_url": url}, name=name,
                      delivery_id=delivery_id,
                      jobs=lambda: ci_runs.failed_suite_runs(gh, repository, suite["id"]))


async def _failed(data: dict[str, Any], gh: GitHubAPI, db: Database, *, kind: str, ci: dict[str, Any], name: str,
                  delivery_id: str, jobs: Callable[[], Any]) -> None:
    repository = data["repository"]["full_name"]
    target = await _target(gh, data, ci)
    if target is None:
        return
    mode = (await load_effective(gh, repository)).config.ci.on_failure
    if mode == "off":
        return
    async with db.session() as session:
        failure, created = await ci_failures.record(
            session, repository=repository, head_sha=ci["head_sha"], kind=kind, ci_id=ci["id"],
            installation_id=data["installation"]["id"], head_branch=ci.get("head_branch"), workflow=name,
            html_url=ci["html_url"], **target)
    if created or not failure.jobs:
        failure.jobs = [{k: v for k, v in job.items() if k != "log"} for job in await jobs()]
        async with db.session() as session:
            await ci_failures.set_columns(session, failure.id, jobs=failure.jobs)
    if mode == "auto" and not failure.fork:
        async with db.session() as session:
            claimed = await ci_failures.claim(session, failure.id, delivery_id)
        if claimed:
            await start_fix(gh, db, failure, requester=data["sender"]["login"], delivery_id=delivery_id, trigger="ci")
        return
    if failure.check_run_id is None:
        check = await ci_check.post_button(gh, repository, failure_id=failure.id, head_sha=failure.head_sha,
                                           workflow=name, url=failure.html_url, jobs=failure.jobs,
                                           note=FORK_NOTE if mode == "auto" else None)
        async with db.session() as session:
            await ci_failures.set_columns(session, failure.id, check_run_id=check.id)


async def start_fix(gh: GitHubAPI, db: Database, failure: CIFailure, *, requester: str, delivery_id: str,
                    trigger: str, check_run_id: int | None = None) -> Run:
    """Start the ``ci-fix`` run of ``failure`` (``bot.execution.ci_action``) for ``requester`` through
    ``handlers.intake.start_run``, on the failing head SHA; its tracking comment goes on the pull
    request, or on an issue opened once for a failure on the default branch."""
    issue_number = failure.issue_number or failure.pull_number
    if issue_number is None:
        owner, repo = failure.repository.split("/", 1)
        issue = await gh.post(ISSUES, url_vars={"owner": owner, "repo": repo}, data={
            "title": f"CI failed on {failure.base_ref} at {failure.head_sha[:12]}: {failure.workflow}",
            "body": f"ScenarioForge is fixing the failed CI run {failure.html_url} (commit `{failure.head_sha}`)."})
        issue_number = issue["number"]
        async with db.session() as session:
            await ci_failures.set_columns(session, failure.id, issue_number=issue_number)
    args: dict[str, Any] = {"ci_failure": failure.id, "trigger": trigger}
    if check_run_id is not None:
        args["check_run_id"] = check_run_id
    run = await start_run(
        gh, db, delivery_id=delivery_id, verb=FIX_VERB, installation_id=failure.installation_id,
        repository=failure.repository, issue_number=issue_number, is_pull_request=failure.pull_number is not None,
        requester=requester, args=args, head_sha=failure.head_sha,
        ref=None if failure.pull_number is not None else failure.base_ref,
    )
    async with db.session() as session:
        await ci_failures.set_columns(session, failure.id, run_id=run.id)
    return run


async def on_fix_click(data: dict[str, Any], gh: GitHubAPI, *, db: Database, settings: Settings,
                       delivery_id: str) -> None:
    """**Fix CI failure** on a ``ScenarioForge / CI`` check run of this App: start the fix run of the
    failure it names if the clicking ``sender`` may (``bot.github.authorize``), else say so on the
    pull request (a failure on the default branch has no thread to answer in)."""
    check, repository = data["check_run"], data["repository"]["full_name"]
    failure_id = ci_check.failure_id_of(check.get("external_id"))
    if (check.get("app") or {}).get("id") != settings.app_id or failure_id is None \
            or data["requested_action"]["identifier"] != ci_check.FIX_CI_ACTION["identifier"]:
        return
    async with db.session() as session:
        failure = await session.get(CIFailure, failure_id)
    if failure is None or failure.repository != repository:
        return
    login = data["sender"]["login"]
    decision = await authorize.check(gh, repository, login, settings.min_permission)
    if not decision.allowed:
        number = failure.issue_number or failure.pull_number
        if number is not None:
            owner, repo = repository.split("/", 1)
            await gh.post(COMMENTS, url_vars={"owner": owner, "repo": repo, "issue_number": str(number)},
                          data={"body": messages.refused(login, decision)})
        return
    await start_fix(gh, db, failure, requester=login, delivery_id=delivery_id, trigger="check_run",
                    check_run_id=check["id"])
