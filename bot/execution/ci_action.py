"""The ``ci-fix`` action: a failed CI run → its failing step reproduced, fixed, verified → draft fix PR.

Started by ``handlers.ci`` (``ci.on_failure: auto``, or the **Fix CI failure** button) on the
failing head SHA; ``ctx.run.args["ci_failure"]`` is the stored failure
(``storage.models.CIFailure``). In order: the repository config (its budget);
the check run ``ScenarioForge / CI`` in progress on the head SHA; each failed job's log
(``bot.github.ci_runs.job_log``, or a check suite's failed check runs' output), read for the
failing step and its command (``bot.domain.ci.read_log``, capped, the cut stated); the first
failed job with a ``run:`` command is the one fixed. A step that is no ``run:`` step, or whose
command needs the network, stops the run ``blocked`` with the log excerpt; otherwise
``bot.execution.ci_loop.fix_ci`` reproduces it offline (exit 0 → ``blocked``), lets Codex fix
it and reruns it. A fix whose rerun exits 0 is committed by the bot on
``scenarioforge/ci-fix-<failure id>`` on top of the head SHA, pushed to the base repository and
proposed as a draft PR against the pull request's head branch (same repository), else against
its base branch (a fork's pull request: forks never receive pushes) or the default branch. The
check run and the tracking comment carry the log excerpt before and the passing output after.
"""
from __future__ import annotations

from typing import Any

from bot.codex.engine import Engine
from bot.codex.turns import EngineEvent
from bot.domain.ci import needs_network, read_log
from bot.errors import ScenarioForgeError
from bot.execution.ci_loop import CIFixOutcome, fix_ci
from bot.execution.ci_render import FailedStep, check_output, pr_body, result_text
from bot.execution.selection import fix_selection
from bot.github import checks, ci_runs
from bot.github.ci_check import CHECK_NAME, jobs_list, span
from bot.github.publish import co_author, commit, open_or_update_pull, request_review
from bot.jobs.budget import enforce_budget, price_turns, record_cost
from bot.jobs.context import JobContext
from bot.sources.gate import load_repo_config
from bot.workspace.worktrees import push
from storage.models import CIFailure

BRANCH_PREFIX = "scenarioforge/ci-fix-"
CONCLUSIONS = {"passed": "success", "failed": "failure", "blocked": "neutral"}


async def failed_steps(ctx: JobContext, failure: CIFailure) -> list[FailedStep]:
    """Each failed job's failing step, read from its log (a check suite's: its check runs' output)."""
    logs: dict[int, str] = {}
    if failure.kind == "check_suite":
        logs = {job["id"]: job["log"] for job in await ci_runs.failed_suite_runs(ctx.gh, failure.repository,
                                                                                 failure.ci_id)}
    steps = []
    for job in failure.jobs:
        log = logs.get(job["id"], "") if failure.kind == "check_suite" else \
            await ci_runs.job_log(ctx.gh, failure.repository, job["id"])
        steps.append(FailedStep(job["name"], ", ".join(job["steps"]) or job["name"], job.get("html_url") or "",
                                read_log(log)))
    return steps


def blocked_reason(step: FailedStep) -> str | None:
    """Why ``step`` cannot be reproduced offline, or ``None``."""
    if step.command is None:
        return ("the failing step is not a `run:` step (its log shows no command, e.g. a `uses:` action), "
                "so there is nothing to reproduce offline")
    if needs_network(step.command):
        return "the failing command needs the network (it installs or downloads), and the sandbox has none"
    return None


async def ci_fix(ctx: JobContext) -> None:
    """The ``ci-fix`` action (see the module docstring)."""
    assert ctx.workspace is not None, "the worker checks out before the action runs"
    config, _ = await load_repo_config(ctx)
    await enforce_budget(ctx, config.budget)
    async with ctx.db.session() as session:
        failure = await session.get(CIFailure, int(ctx.run.args["ci_failure"]))
    if failure is None:
        raise ScenarioForgeError(f"CI failure {ctx.run.args['ci_failure']} is not stored", error_type="UnknownCIFailure")
    check = await ctx.start_check_run(CHECK_NAME, output=checks.Output(
        "Reading the failed jobs' logs", f"The CI run [{span(failure.workflow)}]({failure.html_url}) failed:\n\n"
        + jobs_list(failure.jobs)))
    async with checks.concluded_on_error(check, "CI fix failed", resumes=ctx.process_stopping):
        await _fix_and_report(ctx, check, failure)


async def _fix_and_report(ctx: JobContext, check: checks.CheckRun, failure: CIFailure) -> None:
    workspace = ctx.workspace
    assert workspace is not None
    steps = await failed_steps(ctx, failure)
    if not steps:
        raise ScenarioForgeError(f"GitHub lists no failed job for {failure.html_url}", error_type="NoFailedJob")
    step = next((s for s in steps if s.command), steps[0])
    await ctx.event("logs", "complete", f"{len(steps)} failed job log(s) read; failing step {span(step.step)} of job "
                    f"{span(step.job)}" + (f": {span(step.command)}" if step.command else ""),
                    {"jobs": [s.job for s in steps], "command": step.command, "log_cut": step.reading.log_cut})
    await ctx.report()
    outcome: CIFixOutcome | None = None
    reason = blocked_reason(step)
    if reason is None:
        async def on_event(event: EngineEvent) -> None:
            await ctx.event(event.phase, event.status, event.message, event.payload)
            await ctx.report()

        assert step.command is not None
        outcome = await fix_ci(Engine(ctx.settings), worktree=workspace.path, command=step.command, job=step.job,
                               step=step.step, ci_log=step.reading.excerpt, on_event=on_event)
        reason = outcome.reason
        await record_cost(ctx, price_turns(ctx, outcome.turns))
    pull = await publish(ctx, failure, step, outcome) if outcome and outcome.status == "passed" else None
    status = outcome.status if outcome else "blocked"
    await check.complete(CONCLUSIONS[status], check_output(step, outcome, reason=reason, pull=pull))
    await ctx.set_state(status, "complete", result_text(step, outcome, reason=reason, pull=pull))
    await ctx.report(final=True)


async def publish(ctx: JobContext, failure: CIFailure, step: FailedStep, outcome: CIFixOutcome) -> dict[str, Any]:
    """Commit the fix as the bot on ``scenarioforge/ci-fix-<failure id>``, push it to the base
    repository and open (or update) its draft PR; returns the pull request (GitHub's JSON).

    Raises:
        GitError: commit or push failed (git's stderr unchanged).
        gidgethub.GitHubException: GitHub refused the pull request.
    """
    run, workspace = ctx.run, ctx.workspace
    assert workspace is not None
    branch = f"{BRANCH_PREFIX}{failure.id}"
    same_repo_pull = failure.pull_number is not None and not failure.fork
    base = failure.head_branch if same_repo_pull and failure.head_branch else failure.base_ref
    target = (f"for #{failure.pull_number}" if failure.pull_number else f"on `{failure.base_ref}`")
    await ctx.event("publish", "running", f"committing the fix on `{branch}`")
    selection = await fix_selection(workspace.path, workspace.pinned)
    run_url = await ctx.tracking_comment_url()
    sha = await commit(workspace, selection.paths, message=(
        f"ScenarioForge: fix CI step {step.step} ({failure.workflow})\n\n"
        f"{outcome.report.summary if outcome.report else ''}\n\nCI run {failure.html_url}, ScenarioForge run {run.id}."
        f"\n\n{co_author(run.requester)}"))
    await push(workspace, branch, await ctx.token(), force=True)  # the base repository, never a fork
    notes = [f"The head of #{failure.pull_number} is in the fork `{failure.head_repository}`: the App never pushes "
             f"to a fork, so this fix is on `{branch}` of this repository, against `{base}`."] if failure.fork else []
    pull, created = await open_or_update_pull(
        ctx.gh, run.repository, branch=branch, base=base or "", title=f"ScenarioForge: fix CI step {step.step} "
        f"({failure.workflow}, {failure.head_sha[:7]})", body=pr_body(
            step, outcome, workflow=failure.workflow, url=failure.html_url, head_sha=failure.head_sha,
            run_id=run.id, run_url=run_url, target=target, notes=notes))
    await request_review(ctx.gh, run.repository, pull, run.requester)
    await ctx.event("publish", "complete", f"draft PR [#{pull['number']}]({pull['html_url']}) "
                    f"{'opened' if created else 'updated'} at `{sha[:12]}` on `{branch}`",
                    {"commit_sha": sha, "pr_number": pull["number"], "branch": branch})
    return pull
