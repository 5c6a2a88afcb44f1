"""A run is one DBOS workflow; its phases are checkpointed steps (``bot.jobs.steps``).

``run_workflow(run_id)`` (workflow id = the run id, ``bot.jobs.queue``):

1. step ``start``: the run ``running`` in phase ``workspace``, the tracking
   comment updated, the trigger label removed;
2. step ``workspace``: the run's worktree (``checkout``); when the workflow
   resumes after a crash the step's checkpoint names the commit and a fresh
   worktree of that same commit is made (the dead process's one is removed);
3. ``actions[run.action](ctx)``: the stage's action, whose own phases are steps
   (``bot.scenarios.action``: scan, check run, each generation, publish;
   ``bot.execution.action``: one step that goes on from the loop's last
   checkpoint, ``bot.execution.checkpoint``);
4. step ``finish``: ``passed`` unless the action ended the run itself, or step
   ``fail`` with the raw error record (``bot.jobs.steps.error_record``).

A cancelled run (``/scenarioforge cancel``) ends ``cancelled`` and its
tracking comment says so: its action is cancelled (``CancelledError``) as soon
as the workflow's status says so, polled beside it; a process that stops (``Runtime.stop``) or dies
leaves the workflow pending: DBOS resumes it after the last finished step when
an executor with the same id starts again, or another worker takes it over
(``bot.jobs.takeover``). The process's services are bound once by
``bot.jobs.runtime`` (DBOS is one per process).
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
import gidgethub
from dbos import DBOS
from dbos._error import DBOSWorkflowCancelledError

from bot import logs, metrics
from bot.errors import GitError, ScenarioForgeError
from bot.github.tracking import remove_trigger_label
from bot.jobs.context import Action, JobAuth, JobContext
from bot.jobs.steps import error_record, step
from bot.workspace.worktrees import Workspace, Workspaces
from config.settings import Settings
from storage import runs
from storage.db import Database
from storage.models import Run

log = logging.getLogger(__name__)

REPOSITORY = "/repos/{owner}/{repo}"
PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"


@dataclass
class Bound:
    """The services workflows of this process use, and the workflow tasks running now."""

    db: Database
    settings: Settings
    auth: JobAuth
    actions: Mapping[str, Action]
    workspaces: Workspaces
    tasks: set[asyncio.Task] = field(default_factory=set)
    stopping: bool = False


_bound: list[Bound] = []


def bind(services: Bound) -> None:
    """Make ``services`` the ones this process's workflows use (``Runtime.start``)."""
    _bound[:] = [services]


def unbind() -> None:
    _bound.clear()


def bound() -> Bound:
    """The bound services. Raises ``RuntimeError`` before ``bind``."""
    if not _bound:
        raise RuntimeError("no runtime is bound: bot.jobs.runtime.Runtime.start() first")
    return _bound[0]


@DBOS.workflow(name="scenarioforge.run")
async def run_workflow(run_id: int) -> str:
    """Run ``run_id`` to its end (see the module docstring); returns the outcome
    (``done``, ``failed``, ``skipped``). Raises ``DBOSWorkflowCancelledError`` when cancelled."""
    services = bound()
    task = asyncio.current_task()
    services.tasks.add(task)
    try:
        async with services.db.session() as session:
            run = await session.get(Run, run_id)
        ctx = JobContext(run=run, gh=services.auth.installation_client(run.installation_id), db=services.db,
                         settings=services.settings, auth=services.auth, workspaces=services.workspaces,
                         process_stopping=lambda: services.stopping)
        with logs.bound(run_id=run.id, delivery_id=run.delivery_id):
            started = time.monotonic()
            outcome = "cancelled"
            try:
                outcome = await _run(services, ctx)
            finally:
                metrics.JOB_DURATION.labels(run.action, outcome).observe(time.monotonic() - started)
                log.info("workflow %s ended: %s", DBOS.workflow_id, outcome)
            return outcome
    finally:
        services.tasks.discard(task)


async def _run(services: Bound, ctx: JobContext) -> str:
    if ctx.run.state in runs.TERMINAL_STATES:  # cancelled while it waited in the queue
        return "skipped"
    try:
        await _perform(services, ctx)
    except (DBOSWorkflowCancelledError, asyncio.CancelledError):
        if services.stopping:  # this process stops: the workflow resumes at the next start
            raise
        await _settle(ctx, "cancelled", "cancelled", "cancelled")
        raise DBOSWorkflowCancelledError(DBOS.workflow_id) from None
    except Exception as exc:
        record = error_record(exc, ctx.run)
        log.error("run %s failed: %s", ctx.run.id, record)
        await step("fail", _settle, ctx, "failed", ctx.run.phase, record["message"], record)
        return "failed"
    await step("finish", _settle, ctx, "passed", "complete", "done")
    return "done"


async def _perform(services: Bound, ctx: JobContext) -> None:
    """Start, check out, run the action; the worktree goes in any case."""
    action = services.actions.get(ctx.run.action)
    if action is None:
        raise ScenarioForgeError(f"no action is registered for {ctx.run.action!r}")
    await step("start", _start, ctx)
    fresh: list[Workspace] = []

    async def prepare() -> Workspace:
        fresh.append(await checkout(services.workspaces, ctx))
        return fresh[-1]

    workspace = await step("workspace", prepare)
    if not fresh:  # resumed from the checkpoint: a new worktree of the same commit
        workspace = await services.workspaces.prepare(
            repository=workspace.repository, clone_url=workspace.clone_url, token=await ctx.token(),
            sha=workspace.sha, ref=workspace.ref, label=f"run-{ctx.run.id}")
    ctx.workspace = workspace
    try:
        await ctx.set_state("running", "workspace", head_sha=workspace.sha, ref=workspace.ref)
        await ctx.event("workspace", "complete", f"checked out `{workspace.sha[:12]}`"
                        + (f" ({workspace.ref})" if workspace.ref else ""))
        action_task = asyncio.create_task(action(ctx))
        # Outside the workflow's context: a status read inside it would be recorded as one of its steps.
        watcher = asyncio.create_task(_cancel_when_cancelled(action_task, DBOS.workflow_id, ctx.settings.queue_poll_s),
                                      context=contextvars.Context())
        try:
            await action_task
        finally:
            watcher.cancel()
    finally:
        try:
            await services.workspaces.remove(workspace)
        except GitError:  # keep the action's own outcome; the cleanup schedule clears it later
            log.exception("run %s: could not remove worktree %s", ctx.run.id, workspace.path)


async def _cancel_when_cancelled(task: asyncio.Task, workflow_id: str, poll_s: float) -> None:
    """Cancel ``task`` (the action) once workflow ``workflow_id`` is cancelled, from any process
    (``bot.jobs.queue.cancel``); its status is read every ``min(poll_s, 1)`` seconds."""
    while not task.done():
        await asyncio.sleep(min(poll_s, 1.0))
        status = await DBOS.get_workflow_status_async(workflow_id)
        if status is not None and status.status == "CANCELLED":
            task.cancel()
            return


async def _start(ctx: JobContext) -> None:
    await ctx.set_state("running", "workspace", "checking out the repository")
    await ctx.report()
    await remove_trigger_label(ctx.gh, ctx.run)


async def checkout(workspaces: Workspaces, ctx: JobContext) -> Workspace:
    """The run's worktree: the head SHA the trigger named (``run.head_sha``: a
    ``pull_request`` label event's or a check run's), else an explicit ``--branch``
    (``run.args["branch"]``, or ``run.ref`` on an issue), else the pull
    request's ``head.sha`` (GET /repos/{o}/{r}/pulls/{n},
    https://docs.github.com/rest/pulls/pulls#get-a-pull-request; the mirror holds
    ``refs/pull/N/head``, so fork PRs work), else the default branch. The clone URL
    comes from ``clone_url_template`` or GET /repos/{o}/{r} ``clone_url``
    (https://docs.github.com/rest/repos/repos#get-a-repository)."""
    run = ctx.run
    owner, repo = run.repository.split("/", 1)
    names = {"owner": owner, "repo": repo}
    template = ctx.settings.clone_url_template
    if template:
        clone_url = template.format(full_name=run.repository, owner=owner, repo=repo)
    else:
        clone_url = (await ctx.gh.getitem(REPOSITORY, url_vars=names))["clone_url"]
    sha, pull_number = run.head_sha, None
    ref = run.args.get("branch") or (None if run.is_pull_request else run.ref)
    if ref is None and run.is_pull_request:
        pull = await ctx.gh.getitem(PULL, url_vars={**names, "pull_number": str(run.issue_number)})
        ref, pull_number = pull["head"]["ref"], run.issue_number
        sha = sha or pull["head"]["sha"]
    return await workspaces.prepare(
        repository=run.repository, clone_url=clone_url, token=await ctx.token(),
        sha=sha, ref=ref, pull_number=pull_number, label=f"run-{run.id}",
    )


async def _settle(ctx: JobContext, state: str, phase: str, message: str, error: dict | None = None) -> None:
    """Move the run to ``state`` unless it already left the states that allow it
    (e.g. the action ended it ``blocked``, or ``/scenarioforge cancel`` ended it),
    then show it in the tracking comment; GitHub being down must not undo the bookkeeping."""
    await ctx.refresh()
    if state in runs.TRANSITIONS[ctx.run.state] and ctx.run.state != state:
        await ctx.set_state(state, phase, message, **({"error": error} if error else {}))
    try:
        await ctx.report(final=True)
    except (gidgethub.GitHubException, aiohttp.ClientError, ScenarioForgeError):
        log.exception("run %s: could not update the tracking comment", ctx.run.id)
