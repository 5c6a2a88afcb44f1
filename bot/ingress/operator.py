"""``scenarioforge runs list|show|cancel|resume``: the operator's view of runs and their workflows.

Reads our ``runs`` and ``run_events`` tables and DBOS's workflow and step
records (the same database the workers use, ``SCENARIOFORGE_DATABASE_URL``);
DBOS is launched enqueue-only (``workers=0``), so the command never runs a
workflow itself.

- ``list``: the newest runs (``--state``, ``--limit``), one line each: run,
  lane, action, state, phase, workflow status and executor;
- ``show RUN_ID``: the run, its error record, its events and each workflow's
  finished steps (what a resumed run will not do again);
- ``cancel RUN_ID``: as ``/scenarioforge cancel`` for one run: the run is
  marked cancelled by ``operator``, its workflow is cancelled (a running action
  stops within a second) and its tracking comment says so;
- ``resume RUN_ID``: a run still queued or running whose workflow stopped
  without ending it (an escaped error, or too many recovery attempts) is put
  back on the queue and continues after its last finished step
  (``DBOS.resume_workflow``). A cancelled or finished run is not resumed.

Exit codes: 0 done, 1 the run cannot be cancelled or resumed (said why), 2
bad settings or an unknown run.
"""
from __future__ import annotations

import asyncio
import os
import socket
import sys
from datetime import datetime

import aiohttp
from dbos import DBOS
from sqlalchemy import select

from bot.github import messages
from bot.github.client import AppAuth
from bot.github.tracking import Tracker
from bot.jobs import queue
from bot.jobs.runtime import Runtime
from config.settings import Settings
from storage import runs as run_store
from storage.db import Database
from storage.models import Run

#: DBOS workflow states ``resume`` restarts.
RESUMABLE = ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")


def runs_command(settings: Settings, command: str, run_id: int | None = None, *, state: str | None = None,
                 limit: int = 20) -> int:
    """Run ``command`` (``list``, ``show``, ``cancel``, ``resume``) and print to standard output;
    returns the exit code (see the module docstring)."""
    own_id = f"{socket.gethostname()}-operator-{os.getpid()}"  # never a worker's: DBOS would resume its runs here
    return asyncio.run(_main(settings.model_copy(update={"workers": 0, "executor_id": own_id}),
                             command, run_id, state, limit))


async def _main(settings: Settings, command: str, run_id: int | None, state: str | None, limit: int) -> int:
    database = Database(settings.database_url)
    runtime = Runtime(database, settings, auth=None, actions={})
    try:
        await database.upgrade()
        await runtime.start()
        if command == "list":
            print(await listing(database, state=state, limit=limit))
            return 0
        async with database.session() as session:
            run = await session.get(Run, run_id)
        if run is None:
            print(f"no run {run_id} in {database.url.split('@')[-1]}", file=sys.stderr)
            return 2
        if command == "show":
            print(await details(database, run))
            return 0
        done = await (cancel(database, settings, run) if command == "cancel" else resume(database, run))
        print(done[1], file=sys.stdout if done[0] else sys.stderr)
        return 0 if done[0] else 1
    finally:
        await runtime.stop()
        await database.dispose()


def _when(value: datetime | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):  # DBOS: epoch milliseconds
        value = datetime.fromtimestamp(value / 1000)
    return value.strftime("%Y-%m-%d %H:%M:%S")


async def listing(database: Database, *, state: str | None = None, limit: int = 20) -> str:
    """The newest ``limit`` runs (of ``state`` when given) as a text table."""
    query = select(Run).order_by(Run.id.desc()).limit(limit)
    if state:
        query = query.where(Run.state == state)
    async with database.session() as session:
        rows = list((await session.scalars(query)).all())
    lines = [f"{'RUN':>6}  {'LANE':<32} {'ACTION':<9} {'STATE':<9} {'PHASE':<12} {'WORKFLOW':<10} "
             f"{'EXECUTOR':<20} CREATED"]
    for run in rows:
        workflows = await queue.workflows_of(run.id)
        last = workflows[-1] if workflows else None
        lines.append(f"{run.id:>6}  {queue.lane_of(run):<32} {run.action:<9} {run.state:<9} {run.phase:<12} "
                     f"{last.status if last else '-':<10} {(last.executor_id if last else None) or '-':<20} "
                     f"{_when(run.created_at)}")
    return "\n".join(lines) if rows else "no runs"


async def details(database: Database, run: Run) -> str:
    """Run ``run``: its fields, error, events and its workflows' finished steps, as text."""
    lines = [f"run {run.id}: {run.action} on {queue.lane_of(run)} — {run.state} ({run.phase})",
             f"  delivery {run.delivery_id}, head {run.head_sha or '-'}, created {_when(run.created_at)}, "
             f"started {_when(run.started_at)}, finished {_when(run.finished_at)}"]
    if run.error:
        lines.append(f"  error: {run.error.get('type', '')}: {run.error.get('message', '')}")
    async with database.session() as session:
        events = await run_store.events_of(session, run.id)
    lines.append("events:")
    lines += [f"  {_when(e.timestamp)}  {e.phase:<12} {e.status:<9} {e.message}" for e in events]
    for workflow in await queue.workflows_of(run.id):
        lines.append(f"workflow {workflow.workflow_id}: {workflow.status} on {workflow.executor_id or '-'} "
                     f"(version {workflow.app_version or '-'})")
        for step_ in await DBOS.list_workflow_steps_async(workflow.workflow_id, load_output=False):
            outcome = "failed: " + str(step_["error"]) if step_["error"] is not None else "done"
            lines.append(f"  step {step_['function_id']:>3} {step_['function_name']:<24} {outcome}")
    return "\n".join(lines)


async def cancel(database: Database, settings: Settings, run: Run) -> tuple[bool, str]:
    """Cancel ``run`` (see the module docstring); ``(done, what to print)``."""
    if run.state not in run_store.ACTIVE_STATES:
        return False, f"run {run.id} is {run.state}: only a queued or running run can be cancelled"
    async with database.session() as session:
        run = await session.get(Run, run.id)
        await run_store.cancel_run(session, run, by="operator")
        events = await run_store.events_of(session, run.id)
    cancelled = await queue.cancel([run.id])
    if run.tracking_comment_id is not None and settings.has_app_credentials:
        async with aiohttp.ClientSession() as http:
            gh = AppAuth(http, settings).installation_client(run.installation_id)
            await Tracker(gh, database, run).update(messages.tracking(run, events), final=True)
    return True, f"run {run.id} cancelled (workflow {', '.join(cancelled) or 'none open'})"


async def resume(database: Database, run: Run) -> tuple[bool, str]:
    """Resume ``run``'s stopped workflow (see the module docstring); ``(done, what to print)``."""
    if run.state not in run_store.ACTIVE_STATES:
        return False, f"run {run.id} is {run.state}: only a queued or running run can be resumed"
    workflows = await queue.workflows_of(run.id)
    stopped = [w for w in workflows if w.status in RESUMABLE]
    if not stopped:
        states = ", ".join(f"{w.workflow_id} {w.status}" for w in workflows) or "no workflow"
        return False, f"run {run.id} has nothing to resume ({states}): a pending workflow resumes by itself"
    for workflow in stopped:
        await DBOS.resume_workflow_async(workflow.workflow_id)
    return True, f"run {run.id} resumed after its last finished step ({', '.join(w.workflow_id for w in stopped)})"
