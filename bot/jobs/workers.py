"""In-process workers that take durable jobs (``storage.jobs``) and run their actions.

Each of ``count`` workers loops: claim a job with a lease → run state
``running`` → check out the repository (``bot.workspace.worktrees``) → call
``actions[run.action](ctx)`` → complete. While the action runs, a keeper
renews the lease every ``lease_s / 3`` seconds; when the job was cancelled
(``/scenarioforge cancel``) the action's task is cancelled (it sees
``CancelledError``) and the run ends ``cancelled``; the job's lease (which
keeps its lane busy, ``storage.jobs``) is dropped once the action has stopped.
When the lease was lost to another worker, this worker stops and writes
nothing more.

Failures: a transient one (``is_transient``: network, GitHub 5xx or rate
limit, git network errors) re-queues the job with exponential backoff until
``max_attempts``; anything else fails the job and the run with the raw error
record (``ScenarioForgeError.as_record()``). A process that dies leaves its
lease to expire; the job is then claimed again (``storage.jobs.claim``).

``stop()`` is graceful: running actions are cancelled, their worktrees
removed, and their jobs *released* (queued again at once, the attempt not
counted) so that the next process resumes them without waiting for the lease.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime

import aiohttp
import gidgethub

from bot import logs, metrics
from bot.errors import GitError, ScenarioForgeError
from bot.github.tracking import remove_trigger_label
from bot.jobs.context import Action, JobAuth, JobContext
from bot.workspace.worktrees import Workspace, Workspaces
from config.settings import Settings
from storage import jobs, runs
from storage.db import Database
from storage.models import Job, Run, utcnow

log = logging.getLogger(__name__)

#: Substrings of git's stderr that mean the network, not the request, failed.
GIT_NETWORK_ERRORS = (
    "Could not resolve host", "Failed to connect", "Connection timed out", "Connection reset",
    "Operation timed out", "The requested URL returned error: 5", "RPC failed", "early EOF",
)

REPOSITORY = "/repos/{owner}/{repo}"
PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying later: the network, GitHub's 5xx
    (``GitHubBroken``) or exhausted rate limit, and git's network errors."""
    if isinstance(exc, (aiohttp.ClientError, TimeoutError, gidgethub.GitHubBroken, gidgethub.RateLimitExceeded)):
        return True
    return isinstance(exc, GitError) and any(marker in exc.message for marker in GIT_NETWORK_ERRORS)


def error_record(exc: BaseException, ctx: JobContext) -> dict:
    """The raw error (type and message unchanged) with the run's context added."""
    ours = {"repository": ctx.run.repository, "action": ctx.run.action, "run_id": ctx.run.id,
            "delivery_id": ctx.run.delivery_id, "attempt": ctx.job.attempts}
    if not isinstance(exc, ScenarioForgeError):
        exc = ScenarioForgeError(str(exc), error_type=type(exc).__name__)
    record = exc.as_record()
    record["context"] = {**{k: v for k, v in ours.items() if v is not None}, **record["context"]}
    return record


class _Signals:
    """Events that ``wake()`` sets: one per waiting loop, so no wake-up is lost."""

    def __init__(self) -> None:
        self._events: set[asyncio.Event] = set()

    def new(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.add(event)
        return event

    def drop(self, event: asyncio.Event) -> None:
        self._events.discard(event)

    def set_all(self) -> None:
        for event in self._events:
            event.set()


async def _pause(event: asyncio.Event, timeout: float) -> None:
    """Wait until ``event`` is set or ``timeout`` seconds pass, then clear it.

    ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` swallows a
    cancellation that arrives together with the event (python/cpython#86296), and
    a lease keeper cancelled right after a ``wake()`` then never ends.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass
    event.clear()


class Workers:
    """``count`` asyncio workers sharing the job table with any other process.

    ``auth`` is a ``bot.github.client.AppAuth`` (``installation_client``,
    ``installation_token``); ``actions`` maps a run's action name to its coroutine
    (``bot.actions.ACTIONS`` in the product: the registry sits above this layer);
    ``clock`` returns aware UTC datetimes and decides leases and backoff;
    ``poll_s`` is the idle wait between claims when nobody calls ``wake()``.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        auth: JobAuth,
        *,
        actions: Mapping[str, Action],
        count: int | None = None,
        lease_s: float = 60.0,
        poll_s: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.settings, self.auth = db, settings, auth
        self.actions = actions
        self.count = settings.workers if count is None else count
        self.lease_s, self.poll_s, self.clock = lease_s, poll_s, clock
        self.workspaces = Workspaces(settings.workdir)
        self.owner_prefix = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._signals = _Signals()
        self._loops: list[asyncio.Task] = []
        self._running: dict[int, tuple[asyncio.Task, dict]] = {}
        self._stopping = False

    def start(self) -> None:
        """Start the worker loops on the running event loop."""
        self._stopping = False
        self._loops = [asyncio.create_task(self._loop(f"{self.owner_prefix}:{i}")) for i in range(self.count)]

    def wake(self) -> None:
        """Make idle workers claim now and keepers heartbeat now (call after enqueue or cancel)."""
        self._signals.set_all()

    async def stop(self) -> None:
        """Cancel running actions, release their jobs (see module docstring) and end the loops."""
        self._stopping = True
        for task, flags in self._running.values():
            flags["why"] = "stopped"
            task.cancel()
        self.wake()
        await asyncio.gather(*self._loops)
        self._loops = []

    async def _loop(self, owner: str) -> None:
        signal = self._signals.new()
        try:
            while not self._stopping:
                signal.clear()
                try:
                    if await self.run_once(owner) is not None:
                        continue
                except Exception:  # the database or GitHub failed outside any job; try again later
                    log.exception("worker %s: bookkeeping failed", owner)
                await _pause(signal, self.poll_s)
        finally:
            self._signals.drop(signal)

    async def run_once(self, owner: str | None = None) -> Job | None:
        """Claim one job and run it to its end in the caller's task.

        Returns the job as claimed, or ``None`` when nothing was claimable.
        ``owner`` (the lease holder's name) defaults to this process's prefix.
        """
        owner = owner or f"{self.owner_prefix}:once"
        job = await jobs.claim(self.db, owner, self.lease_s, self.clock())
        if job is not None:
            await self._run(job, owner)
        return job

    async def _run(self, job: Job, owner: str) -> None:
        """Run one claimed job to its end (done, retried, failed, cancelled, released or lost)."""
        async with self.db.session() as session:
            run = await session.get(Run, job.run_id)
        ctx = JobContext(run=run, job=job, gh=self.auth.installation_client(job.installation_id),
                         db=self.db, settings=self.settings, auth=self.auth)
        started = time.monotonic()
        with logs.bound(run_id=run.id, delivery_id=run.delivery_id):
            log.info("job %s claimed (attempt %s/%s)", job.id, job.attempts, job.max_attempts)
            flags: dict = {}
            task = asyncio.create_task(self._perform(ctx))
            self._running[job.id] = (task, flags)
            keeper = asyncio.create_task(self._keep_lease(job, owner, task, flags))
            error: Exception | None = None
            try:
                await task
            except asyncio.CancelledError:
                if "why" not in flags:  # this worker itself is being cancelled
                    raise
            except Exception as exc:
                error = exc
            finally:
                keeper.cancel()
                await asyncio.wait([keeper])
                del self._running[job.id]
            if "why" in flags:
                outcome = await self._interrupted(ctx, owner, flags["why"])
            elif error is not None:
                outcome = await self._failed(ctx, owner, error)
            else:
                outcome = await self._succeeded(ctx, owner)
            if outcome in ("cancelled", "lost"):  # the action has stopped: a cancelled job frees its lane
                await jobs.end_cancelled(self.db, job.id, owner, self.clock())
            metrics.JOB_DURATION.labels(run.action, outcome).observe(time.monotonic() - started)
            log.info("job %s ended: %s", job.id, outcome)

    async def _perform(self, ctx: JobContext) -> None:
        """Mark the run running, check out, run the action; the worktree goes in any case."""
        if ctx.job.attempts > ctx.job.max_attempts:
            raise ScenarioForgeError(f"the job's worker stopped {ctx.job.max_attempts} times without finishing")
        action = self.actions.get(ctx.run.action)
        if action is None:
            raise ScenarioForgeError(f"no action is registered for {ctx.run.action!r}")
        await ctx.set_state("running", "workspace", "checking out the repository")
        await ctx.report()
        await remove_trigger_label(ctx.gh, ctx.run)
        ctx.workspace = await self._checkout(ctx)
        try:
            await ctx.set_state("running", "workspace", head_sha=ctx.workspace.sha, ref=ctx.workspace.ref)
            await ctx.event("workspace", "complete", f"checked out `{ctx.workspace.sha[:12]}`"
                            + (f" ({ctx.workspace.ref})" if ctx.workspace.ref else ""))
            await action(ctx)
        finally:
            try:
                await self.workspaces.remove(ctx.workspace)
            except GitError:  # keep the action's own outcome; the next attempt of this run clears it
                log.exception("run %s: could not remove worktree %s", ctx.run.id, ctx.workspace.path)

    async def _checkout(self, ctx: JobContext) -> Workspace:
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
        template = self.settings.clone_url_template
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
        return await self.workspaces.prepare(
            repository=run.repository, clone_url=clone_url, token=await ctx.token(),
            sha=sha, ref=ref, pull_number=pull_number, label=f"run-{run.id}",
        )

    async def _keep_lease(self, job: Job, owner: str, task: asyncio.Task, flags: dict) -> None:
        """Renew the lease every ``lease_s / 3`` s (or on ``wake()``); cancel ``task``
        when the job was cancelled or the lease lost."""
        signal = self._signals.new()
        try:
            while True:
                await _pause(signal, self.lease_s / 3)
                try:
                    status = await jobs.heartbeat(self.db, job.id, owner, self.lease_s, self.clock())
                except Exception:  # the database hiccuped; the lease still has two thirds left
                    log.exception("job %s: heartbeat failed", job.id)
                    continue
                if status != "held":
                    flags.setdefault("why", status)
                    task.cancel()
                    return
        finally:
            self._signals.drop(signal)

    async def _succeeded(self, ctx: JobContext, owner: str) -> str:
        if not await jobs.complete(self.db, ctx.job.id, owner, self.clock()):
            return "lost"
        await self._settle(ctx, "passed", "complete", "done")  # unless the action ended the run itself
        return "done"

    async def _interrupted(self, ctx: JobContext, owner: str, why: str) -> str:
        """The action was cancelled: by a person (``cancelled``), by ``stop()`` or by a lost lease."""
        if why == "stopped":
            await jobs.release(self.db, ctx.job, owner, self.clock())
            await self._settle(ctx, "queued", "queued", "worker stopped; the job resumes after restart", tell=False)
            return "released"
        if why == "cancelled":
            await self._settle(ctx, "cancelled", "cancelled", "cancelled")
        return why

    async def _failed(self, ctx: JobContext, owner: str, exc: Exception) -> str:
        record = error_record(exc, ctx)
        now = self.clock()
        if is_transient(exc) and ctx.job.attempts < ctx.job.max_attempts:
            run_after = await jobs.retry_later(self.db, ctx.job, owner, json.dumps(record), now)
            if run_after is None:
                return "lost"
            log.warning("job %s: transient failure, retry at %s: %s", ctx.job.id, run_after.isoformat(), exc)
            await self._settle(ctx, "queued", "retry", f"{record['type']}: {record['message']} "
                               f"(attempt {ctx.job.attempts + 1}/{ctx.job.max_attempts} at {run_after:%H:%M:%S} UTC)")
            return "retry"
        log.error("job %s failed: %s", ctx.job.id, record)
        if not await jobs.fail(self.db, ctx.job.id, owner, json.dumps(record), now):
            return "lost"
        await self._settle(ctx, "failed", ctx.run.phase, record["message"], error=record)
        return "failed"

    async def _settle(self, ctx: JobContext, state: str, phase: str, message: str, *,
                      tell: bool = True, **columns) -> None:
        """Move the run to ``state`` unless it already left the states that allow it
        (e.g. the action ended it ``blocked``, or ``/scenarioforge cancel`` ended it),
        then show it in the tracking comment."""
        await ctx.refresh()
        if state in runs.TRANSITIONS[ctx.run.state] and ctx.run.state != state:
            await ctx.set_state(state, phase, message, **columns)
        if tell:
            await self._tell(ctx)

    async def _tell(self, ctx: JobContext) -> None:
        """Show the run's state in its tracking comment; GitHub being down must not undo the bookkeeping."""
        try:
            await ctx.report(final=True)
        except (gidgethub.GitHubException, aiohttp.ClientError, ScenarioForgeError):
            log.exception("run %s: could not update the tracking comment", ctx.run.id)

