"""The ``sources`` and ``confirm`` job actions (issue 3, "On GitHub"; seed 000 §7).

``sources`` shows the manifest of the issue's or pull request's commit in ONE
manifest comment per issue/PR (found again by ``render_manifest.MARKER`` and
edited in place), after applying ``--include``/``--exclude`` as a child
manifest. ``confirm`` records that the requester accepted the manifest of
that commit as it is (its hash) and resumes the runs of the issue/PR that the
gate blocked; they check the gate again, so a confirmation never carries over
to a different hash.

Endpoints: "List issue comments", "Create an issue comment", "Update an issue
comment" (https://docs.github.com/rest/issues/comments) and "Get a repository"
(https://docs.github.com/rest/repos/repos#get-a-repository) for ``html_url``.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.sources import Reason
from bot.github import messages
from bot.github.tracking import Tracker, upsert_comment
from bot.jobs import queue
from bot.jobs.context import JobContext
from bot.jobs.policy import apply_policy
from bot.jobs.steps import step
from bot.sources.gate import GATE_PHASE, current_manifest, load_repo_config, manifest_at, scan_findings_of
from bot.sources.render import MARKER, render_markdown
from storage import manifests, runs
from storage.models import Manifest, Run

REPOSITORY = "/repos/{owner}/{repo}"


def _url_vars(run: Run) -> dict[str, str]:
    owner, repo = run.repository.split("/", 1)
    return {"owner": owner, "repo": repo, "issue_number": str(run.issue_number)}


async def _html_base(ctx: JobContext) -> str:
    """The web root the repository's pages live under (``https://github.com`` or a GHES host):
    the repository's ``html_url`` without its name, else ``Settings.web_url``."""
    html_url = (await ctx.gh.getitem(REPOSITORY, url_vars=_url_vars(ctx.run)))["html_url"]
    suffix = f"/{ctx.run.repository}"
    return html_url[: -len(suffix)] if html_url.endswith(suffix) else ctx.settings.web_url


async def publish_manifest(ctx: JobContext, manifest: Manifest, *, create: bool = True) -> dict[str, Any] | None:
    """Render ``manifest`` and edit the issue's manifest comment in place, or post it
    (unless ``create`` is False); returns the comment (``None`` when none was touched)."""
    async with ctx.db.session() as session:
        confirmation = await manifests.is_confirmed(session, manifest)
    pending = manifests.needs_confirmation(manifest)
    body = render_markdown(
        manifest.repository, manifest.commit_sha, manifest.manifest_hash, manifests.sources_of(manifest),
        html_base=await _html_base(ctx), notes=[Reason.model_validate(note) for note in manifest.notes],
        needs_confirmation=pending, marks=manifests.marks_of(manifest),
        confirmed_by=confirmation.confirmed_by if confirmation and pending else None,
    )
    comment, _ = await upsert_comment(ctx.gh, ctx.run.repository, ctx.run.issue_number, MARKER, body, create=create)
    return comment


def _flags(include: list[str], exclude: list[str]) -> str:
    return " ".join([*(f"--include {g}" for g in include), *(f"--exclude {g}" for g in exclude)])


async def sources(ctx: JobContext) -> None:
    """``/scenarioforge sources [--include PATH…] [--exclude PATH…]``: show (and edit) the manifest.

    The run records the effective policy and reports the scan stage's findings of the manifest
    it shows (``bot.sources.gate.scan_findings_of``).

    Raises ``storage.manifests.SelectionError`` (the run fails with its message,
    which quotes the glob) when a glob matches no source or only excluded ones, and
    ``ScenarioForgeError`` ``PolicyBlocked`` when a scan finding's rule is ``block``.
    One checkpointed step (``bot.jobs.steps``).
    """
    await step("sources", _sources, ctx)


async def _sources(ctx: JobContext) -> None:
    config, error = await load_repo_config(ctx)
    manifest = await current_manifest(ctx, config, error)
    include, exclude = list(ctx.run.args.get("include") or []), list(ctx.run.args.get("exclude") or [])
    if include or exclude:
        await ctx.event("selection", "running", f"applying `{_flags(include, exclude)}`")
        async with ctx.db.session() as session:
            manifest = await manifests.edit_selection(session, manifest, include, exclude)
        await ctx.event("selection", "complete", f"manifest {manifest.id} (child of {manifest.parent_id}) "
                        f"selects {sum(s.selected for s in manifest.sources)} source(s)", {"manifest_id": manifest.id})
    policy = await apply_policy(ctx, config)
    comment = await publish_manifest(ctx, manifest)
    assert comment is not None
    await scan_findings_of(ctx, policy, manifest)  # after the manifest comment: a block rule still shows it
    await ctx.set_state("passed", "published", f"[manifest comment]({comment['html_url']}) · "
                        f"manifest hash `{manifest.manifest_hash}`")
    await ctx.report(final=True)


async def _resume_blocked(session: AsyncSession, run: Run, note: str) -> list[Run]:
    """Queue again (``blocked → queued``) the runs of ``run``'s issue/PR that the gate
    blocked (the caller enqueues their workflows); ``note`` goes in their ``needs-confirmation`` event."""
    blocked = (await session.scalars(
        select(Run).where(Run.repository == run.repository, Run.issue_number == run.issue_number,
                          Run.state == "blocked", Run.phase == GATE_PHASE).order_by(Run.id)
    )).all()
    for other in blocked:
        await runs.add_event(session, other, GATE_PHASE, "complete", note)
        await runs.set_state(session, other, "queued", "queued", f"resumed by run {run.id}")
    return list(blocked)


async def _record_confirmation(session: AsyncSession, manifest: Manifest | None, sha: str, login: str) -> str:
    """Confirm ``manifest`` for ``login`` when it selects stale or suspect sources that nobody
    confirmed yet; returns what happened, in words."""
    if manifest is None:
        return f"nothing to confirm: no manifest of `{sha[:12]}` yet (`/scenarioforge sources` shows the sources)"
    short = manifest.manifest_hash[:12]
    pending = manifests.needs_confirmation(manifest)
    if not pending:
        return f"nothing to confirm: manifest hash `{short}` selects no stale or suspect source"
    earlier = await manifests.is_confirmed(session, manifest)
    if earlier is not None and not await manifests.pending_confirmation(session, manifest):
        return f"manifest hash `{short}` was already confirmed by @{earlier.confirmed_by}"
    await manifests.confirm(session, manifest, login)
    return f"@{login} confirmed manifest hash `{short}` with " + ", ".join(f"`{s.path}` ({s.status})" for s in pending)


async def _confirm(ctx: JobContext) -> tuple[str, int | None, list[int]]:
    """The confirmation and the resumed runs, in one transaction: ``(outcome, manifest id, run ids)``."""
    login = ctx.run.requester
    async with ctx.db.session() as session:
        manifest = await manifest_at(session, ctx.run.repository, ctx.workspace.sha)
        outcome = await _record_confirmation(session, manifest, ctx.workspace.sha, login)
        resumed = await _resume_blocked(
            session, ctx.run, f"@{login} answered with `/scenarioforge confirm` (run {ctx.run.id}); resumed")
    return outcome, manifest.id if manifest else None, [run.id for run in resumed]


async def confirm(ctx: JobContext) -> None:
    """``/scenarioforge confirm``: record the requester's confirmation of the manifest at this
    commit (its hash) and resume the runs of this issue/PR blocked by the gate.

    The requester's permission was checked by the handler (``MIN_PERMISSION``).
    The confirmed manifest is the newest one of the worktree's commit — the one
    the blocked runs and the manifest comment showed; with none, or nothing
    stale or suspect selected, there is nothing to confirm and the run says so.
    Blocked runs are resumed in every case: they check the gate again.
    """
    assert ctx.workspace is not None, "actions run after the checkout"
    outcome, manifest_id, resumed_ids = await step("confirm", _confirm, ctx)
    async with ctx.db.session() as session:
        manifest = await session.get(Manifest, manifest_id) if manifest_id is not None else None
        resumed = [await session.get(Run, run_id) for run_id in resumed_ids]
    for other in resumed:
        await queue.enqueue(other, resumed_by=ctx.run.id)
    await ctx.event("confirm", "complete", outcome, {"manifest_id": manifest_id, "resumed": resumed_ids})
    for other in resumed:
        async with ctx.db.session() as session:
            events = await runs.events_of(session, other.id)
        await Tracker(ctx.gh, ctx.db, other).update(messages.tracking(other, events), final=True)
    if manifest is not None and manifests.needs_confirmation(manifest):
        await publish_manifest(ctx, manifest, create=False)
    await ctx.set_state("passed", "resumed", "resumed " + ", ".join(f"run {r.id} (`{r.action}`)" for r in resumed)
                        if resumed else "no run here was waiting for a confirmation")
    await ctx.report(final=True)
