"""The ``execute`` action: a stored pack revision → the execute loop → check run, fix PR.

Seed 000 §4.2, §9.3, §11 and issue 5. In order: the repository config from
the default branch (``bot.sources.gate.load_repo_config``; ``execute:``
section: default mode, fix attempts, budgets; an invalid file means the
defaults, said in the ``config`` event and in the check run); the chosen pack revision
(``--revision N``; for a run started from a check run's button or "Re-run",
the revision its origin run executed, so "Open fix PR" after "Fix failures"
reruns the loop on the same revision; else the repository's latest;
``storage.packs``) and the stale sources of the manifest it was generated from (``stale-spec``
classification); the check run ``ScenarioForge / execute`` in progress on
the checked-out commit (``external_id`` = run id, ``details_url`` = tracking
comment); ``bot.execution.loop.execute_pack`` in the worktree with the
workspace-write sandbox, its real transitions becoming run events and
tracking-comment phases; the outcome stored (``storage.executions``); in
modes ``pr | full`` with a passing fix, the bot commits the final diff on
``scenarioforge/fix-<root run id>`` on top of the head SHA, pushes it with the
installation token and opens (or updates) a draft pull request against the
head branch (``bot.github.publish``); the remedies of ``stale-spec`` and ``scenario-defect``
failures (``bot.execution.remedies``: a documentation PR, a pack revision proposal). The root run
is the first of the chain of runs started from check-run buttons and "Re-run" (``args.origin_run``,
``handlers.check_run``), so every later run of that chain updates the same branch and pull request
instead of opening another one; the check run completed with the results table, annotations and the
"Fix failures" / "Open fix PR" buttons (``bot.execution.render``); the run ends ``passed | failed |
blocked`` like its outcome, the tracking comment with the table, links, duration and token usage.

Cancellation (``/scenarioforge cancel``) reaches the action as
``CancelledError`` from its preemptible step (``bot.jobs.steps``): leaving the loop stops the
Codex process, the check run is completed ``cancelled`` and the workflow ends
the run ``cancelled``. A cancel that lands as the loop ends is caught by
re-reading the run before publishing and before concluding
(:func:`stopped_by_cancel`): a cancelled run publishes nothing. Any other failure completes the check run with
``failure`` and the raw error, then propagates unchanged: the workflow records
it with the run's context (``ctx.set_state("failed", …, error=record)``) and
its step retries the transient ones.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.codex.engine import Engine
from bot.codex.turns import EngineEvent
from bot.domain.pack import PackDocument
from bot.domain.results import ExecutionOutcome, Mode
from bot.errors import ScenarioForgeError
from bot.execution.selection import Selection, fix_selection, left_out_note
from bot.execution.loop import PR_MODES, Limits, execute_pack
from bot.execution.remedies import apply_remedies
from bot.execution.verify import Rigor
from bot.execution.render import (RERUN_TEMPLATE, budget_stop, check_run_actions, check_run_output, comment_section,
                                  conclusion, no_fix_pr, pr_body)
from bot.execution.resume import checkpoint_for, saver
from bot.github import checks
from bot.github.publish import (
    base_branch,
    co_author,
    commit,
    fork_note,
    fork_pull,
    open_or_update_pull,
    request_review,
)
from bot.domain.findings import Finding, execute_findings, pr_findings
from bot.domain.policy import EffectivePolicy
from bot.github.governance import annotations_of, findings_table
from bot.jobs.budget import enforce_budget, price_turns, record_cost
from bot.jobs.context import JobContext
from bot.jobs.policy import apply_policy, stage_findings
from bot.jobs.steps import step
from bot.sources.gate import code_block, load_repo_config
from bot.workspace.worktrees import push
from config.repo import ExecuteConfig
from storage import executions, packs
from storage.models import ExecutionResult, Manifest, PackRevision, Run

CHECK_NAME = "ScenarioForge / execute"
BRANCH_PREFIX = "scenarioforge/fix-"


@dataclass(frozen=True)
class ChosenPack:
    """The pack revision a run executes and what its manifest says about the sources.

    ``stale_source_ids``: the source ids (repository paths, as scenarios cite
    them) whose status is ``stale`` in the manifest the revision was generated
    from; ``pinned_by``: the origin run whose revision this is, if it was pinned.
    """

    revision: int
    document: PackDocument
    manifest_hash: str | None
    stale_source_ids: frozenset[str]
    pinned_by: int | None = None


# ---------------------------------------------------------------- pure parts


def limits_of(config: ExecuteConfig) -> Limits:
    """The fix loop's stop conditions from the repository config (minutes → seconds)."""
    minutes = config.wall_clock_minutes
    return Limits(max_fix_attempts=config.max_fix_attempts, token_budget=config.token_budget,
                  wall_clock_s=None if minutes is None else minutes * 60)


def rigor_of(args: Mapping[str, Any], config: ExecuteConfig) -> Rigor:
    """``--repeat N`` of the command, else ``execute.repeat``; ``--allow-test-changes`` of the command."""
    return Rigor(repeat=args.get("repeat") or config.repeat, allow_test_changes=bool(args.get("allow_test_changes")))


def mode_of(args: Mapping[str, Any], config: ExecuteConfig) -> Mode:
    """``--mode`` of the command or button, else the repository's ``execute.mode``."""
    return args.get("mode") or config.mode


def fix_branch(root_run_id: int) -> str:
    """``scenarioforge/fix-<root run id>``: one branch (and one pull request) per chain of runs
    (:func:`origins_of`)."""
    return f"{BRANCH_PREFIX}{root_run_id}"


def rerun_template(revision: int) -> str:
    """The command that reruns one scenario of this pack revision (``{scenario_id}`` left to fill)."""
    return f"{RERUN_TEMPLATE} --revision {revision}"


def fixed_ids(outcome: ExecutionOutcome) -> list[str]:
    """Scenarios that failed in the first run and pass at the end."""
    before = {result.scenario_id: result.status for result in outcome.initial}
    return [r.scenario_id for r in outcome.results if before.get(r.scenario_id) == "failed" and r.status == "passed"]


def publishes(outcome: ExecutionOutcome) -> bool:
    """True when the run must propose its fix: mode ``pr | full``, the fix loop ended
    with the fixed scenarios passing, and the worktree holds a change."""
    return outcome.mode in PR_MODES and outcome.stop_reason == "passed" and bool(outcome.diff)


def advice(outcome: ExecutionOutcome) -> str:
    """What a person should do per failing scenario (cause → action; stale documents named by path)."""
    lines = []
    for result in outcome.results:
        cause = result.classification
        if result.status != "failed" or cause is None:
            continue
        documents = ", ".join(f"`{sid}`" for sid in cause.source_ids)
        lines.append(f"- **{result.scenario_id}** — {cause.cause}: {cause.action}"
                     + (f" ({documents})" if documents else ""))
    return "\n".join(lines)


def commit_message(outcome: ExecutionOutcome, *, run_id: int, run_url: str | None, chosen: ChosenPack,
                   requester: str) -> str:
    """The bot's fix commit: subject, what each attempt changed, the run link, the co-author trailer."""
    summaries = "\n".join(f"- attempt {a.number}: {a.summary}" for a in outcome.attempts if a.summary)
    link = f"ScenarioForge run {run_id}" + (f": {run_url}" if run_url else "")
    return (f"ScenarioForge: fix {', '.join(fixed_ids(outcome))}\n\n"
            + (f"{summaries}\n\n" if summaries else "")
            + f"{link}\nPack revision {chosen.revision}, manifest {chosen.manifest_hash or 'unknown'}.\n\n"
            + co_author(requester))


def final_message(outcome: ExecutionOutcome, chosen: ChosenPack, *, check_url: str,
                  pull: Mapping[str, Any] | None, notes: Collection[str] = ()) -> str:
    """The ``complete`` phase of the tracking comment: the results, links, what to do, audit."""
    parts = [comment_section(outcome, check_run_url=check_url, pr_url=pull["html_url"] if pull else None,
                             rerun_template=rerun_template(chosen.revision))]
    if todo := advice(outcome):
        parts.append(todo)
    parts += list(notes)
    parts.append(f"Pack revision {chosen.revision} · manifest `{chosen.manifest_hash or 'unknown'}`")
    return "\n\n".join(parts)


def config_note(config_error: str | None) -> str:
    """What the results say when the repository config was invalid (its defaults were used), or ``""``."""
    if config_error is None:
        return ""
    return "A config file is invalid and was left out; the defaults and the valid files were used:\n\n" + code_block(
        config_error, indent="")


def check_output(outcome: ExecutionOutcome, chosen: ChosenPack, *, root: str, pull: Mapping[str, Any] | None,
                 config_error: str | None = None, findings: Sequence[Finding] = (),
                 notes: Sequence[str] = ()) -> checks.Output:
    """The completed check run's output: table, attempts, annotations, what to do, the fix PR, ``notes`` (the
    remedies), the config's error if a file was left out, and the policy's findings (table and annotations)."""
    output = check_run_output(outcome, root=root, rerun_template=rerun_template(chosen.revision))
    extra = [text for text in (advice(outcome), f"Fix PR: [#{pull['number']}]({pull['html_url']})" if pull else "",
                               *notes, config_note(config_error), findings_table(findings)) if text]
    summary = "\n\n".join([output["summary"], *extra])
    return checks.Output(output["title"], summary, annotations=[*output["annotations"], *annotations_of(findings)])


# ---------------------------------------------------------------- the action


async def origins_of(ctx: JobContext) -> list[Run]:
    """The runs ``ctx.run`` was started from, nearest first (empty for a command or a label).

    A check run's "Fix failures" / "Open fix PR" buttons and "Re-run" start a new
    run whose ``args.origin_run`` is the run that made the check run
    (``handlers.check_run``); the last one returned is the root of the chain.
    """
    chain: list[Run] = []
    seen = {ctx.run.id}
    origin = ctx.run.args.get("origin_run")
    async with ctx.db.session() as session:
        while origin is not None and origin not in seen and (row := await session.get(Run, origin)) is not None:
            chain.append(row)
            seen.add(origin)
            origin = row.args.get("origin_run")
    return chain


async def pinned_revision(session: AsyncSession, origins: Sequence[Run]) -> tuple[int | None, int | None]:
    """``(pack revision, run id)`` of the nearest of ``origins`` whose outcome is stored, or ``(None, None)``."""
    for origin in origins:
        result = await session.get(ExecutionResult, origin.id)
        if result is not None and result.pack_revision is not None:
            return result.pack_revision, origin.id
    return None, None


async def choose_pack(ctx: JobContext, origins: Sequence[Run] = ()) -> ChosenPack:
    """The revision ``ctx.run.args["revision"]``, else the one the nearest of ``origins``
    (:func:`origins_of`) executed, else the latest one, with its manifest's stale sources
    (source ids are paths; ``storage.packs.load_document``).

    Raises:
        ScenarioForgeError: no revision stored (type ``NoScenarioPack``) or not
            that number (type ``UnknownRevision``).
    """
    repository, number, pinned_by = ctx.run.repository, ctx.run.args.get("revision"), None
    async with ctx.db.session() as session:
        if not number:
            number, pinned_by = await pinned_revision(session, origins)
        row: PackRevision | None = (await packs.get_revision(session, repository, number) if number
                                    else await packs.latest_revision(session, repository))
        if row is None and number:
            latest = await packs.latest_revision(session, repository)
            raise ScenarioForgeError(
                f"{repository} has no scenario pack revision {number}"
                + (f" (the latest is {latest.revision})" if latest else "; run `/scenarioforge generate` first"),
                error_type="UnknownRevision", repository=repository)
        if row is None:
            raise ScenarioForgeError(
                f"{repository} has no scenario pack yet: run `/scenarioforge generate` first, then execute it",
                error_type="NoScenarioPack", repository=repository)
        document = await packs.load_document(session, row)
        manifest = await session.get(Manifest, row.manifest_id) if row.manifest_id else None
        stale = frozenset(s.path for s in manifest.sources if s.status == "stale") if manifest else frozenset()
    return ChosenPack(revision=row.revision, document=document, manifest_hash=row.manifest_hash,
                      stale_source_ids=stale, pinned_by=pinned_by)


async def execute(ctx: JobContext) -> None:
    """The ``execute`` action (see the module docstring). ``ctx.run.args``: ``mode`` (``run | fix |
    pr | full`` or ``None`` = config), ``scenarios`` (ids; empty = all), ``revision`` (``None`` = latest).

    One checkpointed step (``bot.jobs.steps``): a resumed or retried run, or a ``--resume`` one, goes on
    from the loop's last checkpoint on the clean checkout (``bot.execution.resume``)."""
    await step("execute", _execute, ctx)


async def _execute(ctx: JobContext) -> None:
    assert ctx.workspace is not None, "the workflow checks out before the action runs"
    await ctx.workspace.reset()
    if ctx.workspaces is not None:  # the mirror sees what an earlier attempt pushed
        await ctx.workspaces.refresh(ctx.workspace, await ctx.token())
    config, config_error = await load_repo_config(ctx)  # an error is a ``config`` event already
    await enforce_budget(ctx, config.budget)
    policy = await apply_policy(ctx, config)
    origins = await origins_of(ctx)
    chosen = await choose_pack(ctx, origins)
    mode = mode_of(ctx.run.args, config.execute)
    scenario_ids = list(ctx.run.args.get("scenarios") or [])
    pinned = f", as run {chosen.pinned_by} executed" if chosen.pinned_by else ""
    await ctx.event("pack", "complete", f"pack revision {chosen.revision}{pinned} "
                    f"({len(chosen.document.pack.scenario_ids())} scenarios, manifest "
                    f"`{(chosen.manifest_hash or 'unknown')[:12]}`), mode `{mode}`",
                    {"revision": chosen.revision, "mode": mode, "scenario_ids": scenario_ids,
                     "pinned_by": chosen.pinned_by})
    await ctx.report()
    check = await ctx.start_check_run(CHECK_NAME)
    root = (origins[-1] if origins else ctx.run).id
    async with checks.concluded_on_error(check, "Execution failed", resumes=ctx.process_stopping):
        await _execute_and_report(ctx, check, chosen, mode, scenario_ids, limits_of(config.execute), root,
                                  config_error=config_error, policy=policy,
                                  rigor=rigor_of(ctx.run.args, config.execute))


async def _execute_and_report(ctx: JobContext, check: checks.CheckRun, chosen: ChosenPack, mode: Mode,
                              scenario_ids: list[str], limits: Limits, root_run_id: int, *,
                              config_error: str | None, policy: EffectivePolicy, rigor: Rigor) -> None:
    run, workspace = ctx.run, ctx.workspace
    assert workspace is not None

    async def on_event(event: EngineEvent) -> None:
        await ctx.event(event.phase, event.status, event.message, event.payload)
        await ctx.report()

    resume = await checkpoint_for(ctx)
    outcome = await execute_pack(
        Engine(ctx.settings), worktree=workspace.path, pack=chosen.document.pack,
        scenario_ids=scenario_ids or None, mode=mode, limits=limits, rigor=rigor,
        stale_source_ids=chosen.stale_source_ids, on_event=on_event, resume=resume, save=saver(ctx, chosen.revision),
    )
    cost_usd = price_turns(ctx, outcome.turns[resume.paid_turns if resume else 0:])  # the rest: paid by its origin
    async with ctx.db.session() as session:
        await executions.save_outcome(session, run.id, outcome, pack_revision=chosen.revision,
                                      manifest_hash=chosen.manifest_hash)
    await record_cost(ctx, cost_usd)
    if await stopped_by_cancel(ctx, check):
        return
    pull, notes = None, []
    findings = await stage_findings(ctx, "execute", execute_findings(policy, outcome.results))
    selection = await fix_selection(workspace.path, workspace.pinned) if publishes(outcome) else None
    documents = sorted(outcome.documentation.files) if outcome.documentation else []  # the documentation PR's
    findings += await stage_findings(ctx, "pr", pr_findings(policy, selection.paths if selection else [])
                                     + pr_findings(policy, documents, pull="documentation PR"))  # before either PR
    if selection is not None:
        pull, note = await publish_fix(ctx, outcome, chosen, fix_branch(root_run_id), selection)
        notes += [note] if note else []
    elif outcome.mode in PR_MODES:
        notes.append(no_fix_pr(outcome))
    notes += [stop] if (stop := budget_stop(outcome, run.id)) else []
    notes += await apply_remedies(ctx, outcome, chosen.document.pack, revision=chosen.revision,
                                  manifest_hash=chosen.manifest_hash, root_run_id=root_run_id)
    if await stopped_by_cancel(ctx, check, pull):
        return
    output = check_output(outcome, chosen, root=str(workspace.path), pull=pull, config_error=config_error,
                          findings=findings, notes=notes)
    await check.complete(conclusion(outcome), output, actions=check_run_actions(outcome))
    await ctx.set_state(outcome.status, "complete", final_message(outcome, chosen, check_url=check.html_url,
                                                                  pull=pull, notes=notes))
    await ctx.report(final=True)


async def stopped_by_cancel(ctx: JobContext, check: checks.CheckRun, pull: Mapping[str, Any] | None = None) -> bool:
    """True when the run was cancelled meanwhile, after completing ``check`` as ``cancelled`` and
    showing the run; the caller then publishes and concludes nothing more.

    ``/scenarioforge cancel`` marks the run ``cancelled`` before its workflow is cancelled
    (``storage.runs.cancel_run``, ``bot.jobs.queue.cancel``), so a loop that has just ended re-reads
    the run before it commits, pushes, opens a pull request or reports a result.
    """
    if (await ctx.refresh()).state != "cancelled":
        return False
    done = f" after opening the fix PR [#{pull['number']}]({pull['html_url']})" if pull else \
        ": nothing was committed, pushed or proposed"
    await check.complete("cancelled", checks.Output("Cancelled", f"The run was cancelled{done}."))
    await ctx.report(final=True)
    return True


async def publish_fix(ctx: JobContext, outcome: ExecutionOutcome, chosen: ChosenPack, branch: str,
                      selection: Selection) -> tuple[dict[str, Any], str | None]:
    """Commit ``selection`` (the fix, not its build artefacts: ``bot.execution.selection.fix_selection``) as the
    bot on ``branch`` (:func:`fix_branch`; head SHA + one commit, so a later run of the same chain replaces it),
    push with the installation token to the base repository, open or update the branch's draft pull request
    against the head branch (a fork's pull request: against its base branch, naming the fork's author,
    ``bot.github.publish.fork_pull``), ask the requester to review, link this run ↔ PR.

    Returns the pull request (GitHub's JSON) and why review could not be requested, if so.

    Raises:
        GitError: commit or push failed (git's stderr unchanged).
        gidgethub.GitHubException: GitHub refused the pull request.
    """
    run, workspace = ctx.run, ctx.workspace
    assert workspace is not None
    await ctx.event("publish", "running", f"committing the fix on `{branch}`")
    await ctx.report()
    run_url = await ctx.tracking_comment_url()
    sha = await commit(workspace, selection.paths, message=commit_message(
        outcome, run_id=run.id, run_url=run_url, chosen=chosen, requester=run.requester))
    await push(workspace, branch, await ctx.token(), force=True)  # the base repository, never a fork
    fork = await fork_pull(ctx.gh, run.repository, run.issue_number) if run.is_pull_request else None
    base = fork["base"]["ref"] if fork else await base_branch(workspace, head=branch)
    body = "\n\n".join(part for part in (pr_body(
        outcome, run_id=run.id, manifest_hash=chosen.manifest_hash, pack_revision=chosen.revision, run_url=run_url,
    ), left_out_note(selection), fork_note(fork, branch) if fork else "") if part)
    pull, created = await open_or_update_pull(
        ctx.gh, run.repository, branch=branch, base=base, body=body,
        title=f"ScenarioForge fix: {', '.join(fixed_ids(outcome))} (run {run.id})")
    note = await request_review(ctx.gh, run.repository, pull, run.requester)
    async with ctx.db.session() as session:
        await executions.link_pull_request(session, run.id, repository=run.repository, number=pull["number"],
                                           url=pull["html_url"], branch=branch, scenario_ids=fixed_ids(outcome))
    await ctx.event("publish", "complete", f"draft PR [#{pull['number']}]({pull['html_url']}) "
                    f"{'opened' if created else 'updated'} at `{sha[:12]}` on `{branch}`",
                    {"commit_sha": sha, "pr_number": pull["number"], "branch": branch})
    return pull, note
