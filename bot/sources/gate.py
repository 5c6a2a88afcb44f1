"""The source trust gate of a job: repository config, the manifest at the job's commit, the gate.

Seed 000 §7 and issue 3 ("On GitHub"): scenarios are built only from sources
a person has seen and accepted. An action that reads sources calls, in order,

1. ``load_repo_config`` — ``.github/scenarioforge.yml`` of the org's ``.github``
   repository and of the repository, from their DEFAULT branches (never the
   pull request's head, which anyone who opens a PR controls);
2. ``current_manifest`` — the scan of the job's worktree at its exact SHA,
   reusing the newest manifest of that commit so that selection edits
   (``/scenarioforge sources --include/--exclude``) and confirmations survive;
3. ``scan_findings_of`` — the scan stage's policy findings of that manifest
   (``bot.domain.findings.scan_findings``), reported as a ``findings:scan`` event;
4. ``gate`` — when a selected source is stale or suspect and nobody confirmed
   this manifest hash, the run stops ``blocked`` in phase
   ``needs-confirmation`` saying which sources need a look and how to go on.

Each real step is a run event (phases ``config``, ``scan``, ``manifest``,
``gate``); what the user must read is in the event messages, because the
tracking comment is re-rendered from the events (``bot.github.messages.tracking``).
"""
from __future__ import annotations

import asyncio
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.findings import Finding, scan_findings
from bot.domain.policy import EffectivePolicy
from bot.domain.sources import Source
from bot.github.config_files import load_effective
from bot.jobs.context import JobContext
from bot.jobs.policy import stage_findings
from bot.sources.render import look_kinds, look_reason, totals
from bot.sources.cache import CACHE_FOLDER, open_cache
from bot.sources.scan import scan
from config.org import DEFAULT_SOURCE
from config.repo import CONFIG_PATH, RepoConfig
from storage import manifests
from storage.models import Manifest

#: The phase a run is blocked in until ``/scenarioforge confirm``.
GATE_PHASE = "needs-confirmation"


def code_block(text: str, indent: str = "  ") -> str:
    """``text`` as a fenced block indented under a Markdown list item (fence longer than any backtick run)."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return "\n".join(indent + line if line else line for line in [fence, *text.splitlines(), fence])


async def load_repo_config(ctx: JobContext) -> tuple[RepoConfig, str | None]:
    """The effective config of the run's repository (``bot.github.config_files.load_effective``:
    defaults ← org file ← the repository's file, each read from its default branch).

    Returns ``(config, error)``: ``error`` joins the errors of the files left out (an invalid
    org or repository file: bad YAML, unknown key, wrong type, not UTF-8, bad ``_extends``), which
    the ``config`` event (``failed``) shows in the tracking comment; the other files still apply.
    The ``config`` event's payload holds each key's source. GitHub errors other than 404 propagate
    (``gidgethub.BadRequest``/``GitHubBroken``; the worker retries transient ones).
    """
    found = await load_effective(ctx.gh, ctx.run.repository)
    files = sorted({source for source in found.sources.values() if source != DEFAULT_SOURCE})
    payload = {"sources": found.sources, "files": files}
    used = ", ".join(f"`{name}`" for name in files) or f"no `{CONFIG_PATH}` in the repository or its org: defaults"
    if found.errors:
        error = "\n\n".join(found.errors)
        await ctx.event("config", "failed", f"a config file is invalid and left out; the defaults and "
                        f"the valid files are used ({used}):\n\n{code_block(error)}", {**payload, "error": error})
        return found.config, error
    await ctx.event("config", "complete", f"config from {used}" if files else used, payload)
    return found.config, None


async def manifest_at(session: AsyncSession, repository: str, commit_sha: str) -> Manifest | None:
    """The newest manifest (scan or selection edit) of ``repository`` built for ``commit_sha``."""
    query = (select(Manifest).where(Manifest.repository == repository, Manifest.commit_sha == commit_sha)
             .order_by(Manifest.created_at.desc(), Manifest.id.desc()).limit(1))
    return (await session.scalars(query)).first()


async def current_manifest(ctx: JobContext, config: RepoConfig, config_error: str | None) -> Manifest:
    """The manifest of the job's worktree at ``ctx.workspace.sha``.

    The newest manifest of that commit is reused (its selection and confirmations
    stand), taking up the marks for re-confirmation set since on its unchanged documents
    (``storage.manifests.carry_marks``); otherwise the worktree is scanned in a thread
    (``bot.sources.scan.scan``, with ``config``, ``config_error`` and the scan cache under
    ``WORKDIR/scan-cache``) and saved as a
    new root manifest, which keeps the marks for re-confirmation of the documents unchanged
    since they were marked (``storage.manifests.save_manifest``; issue 13): the event says which.
    Raises ``GitError`` when the scan's git commands fail.
    """
    assert ctx.workspace is not None, "actions run after the checkout"
    sha, repository = ctx.workspace.sha, ctx.run.repository
    async with ctx.db.session() as session:
        manifest = await manifest_at(session, repository, sha)
        if manifest is not None:
            await manifests.carry_marks(session, manifest)
    if manifest is not None:
        await ctx.event("manifest", "complete", f"manifest {manifest.id} of `{sha[:12]}` reused "
                        f"(hash `{manifest.manifest_hash[:12]}`)", {"manifest_id": manifest.id})
        return manifest
    await ctx.event("scan", "running", f"scanning the sources at `{sha[:12]}`")
    await ctx.report()
    cache = open_cache(ctx.settings.workdir / CACHE_FOLDER)
    try:
        result = await asyncio.to_thread(scan, ctx.workspace.path, sha, config, config_error, cache)
    finally:
        if cache is not None:
            cache.close()
    await ctx.event("scan", "complete", totals(result.sources))
    async with ctx.db.session() as session:
        manifest = await manifests.save_manifest(session, repository, result)
    marked = ", ".join(f"`{path}`" for path in manifests.marks_of(manifest))
    carried = f"; unchanged since marked for re-confirmation: {marked}" if marked else ""
    await ctx.event("manifest", "complete", f"manifest {manifest.id} saved (hash `{manifest.manifest_hash[:12]}`)"
                    f"{carried}", {"manifest_id": manifest.id})
    return manifest


async def scan_findings_of(ctx: JobContext, policy: EffectivePolicy, manifest: Manifest) -> list[Finding]:
    """The scan stage's findings of ``manifest``'s sources under ``policy``, reported (none: no event).

    Raises:
        ScenarioForgeError: type ``PolicyBlocked`` when the policy marks one of them ``block``.
    """
    return await stage_findings(ctx, "scan", scan_findings(
        policy, [(source.path, source.status, source.selected) for source in manifest.sources]))


def strongest_reason(source: Source) -> str:
    """The source's strongest reason with up to two pieces of evidence, on one line."""
    reason = source.strongest_reason()
    if reason is None:
        return "no reason recorded"
    evidence = f" ({'; '.join(reason.evidence[:2])})" if reason.evidence else ""
    return f"{reason.message}{evidence}".replace("\n", " ")


def needs_look(pending: list[Source], manifest_hash: str, marks: dict[str, str]) -> str:
    """What a blocked run says: each source to look at (path, status, why: ``render.look_reason`` with
    ``marks``, ``{path: reason}`` of ``storage.manifests.marks_of``) and how to go on."""
    rows = "\n".join(f"  - `{s.path}` ({s.status}): {look_reason(s, marks.get(s.path)) or 'no reason recorded'}"
                     for s in pending)
    return (
        f"{len(pending)} selected source(s) are {look_kinds(pending, marks)} and need a look before generation "
        f"(manifest hash `{manifest_hash[:12]}`):\n{rows}\n\n"
        "  Reply `/scenarioforge confirm` to accept them as they are and resume this run; to leave them out, "
        f"first change the selection (`/scenarioforge sources --exclude {pending[0].path}`, globs allowed), "
        "then confirm."
    )


async def gate(ctx: JobContext, manifest: Manifest) -> bool:
    """True when generation may read ``manifest``'s selected sources.

    False after blocking the run (state ``blocked``, phase ``needs-confirmation``,
    message ``needs_look``) when a selected source is stale or suspect and this
    manifest hash of the repository has no confirmation, or is marked for
    re-confirmation since the latest one (``storage.manifests.pending_confirmation``;
    seed 000 §7, issues 3 and 13).
    """
    async with ctx.db.session() as session:
        pending = await manifests.pending_confirmation(session, manifest)
        confirmation = await manifests.is_confirmed(session, manifest) if not pending else None
    payload = {"manifest_id": manifest.id, "manifest_hash": manifest.manifest_hash}
    if pending:
        message = needs_look(pending, manifest.manifest_hash, manifests.marks_of(manifest))
        await ctx.event(GATE_PHASE, "blocked", message, {**payload, "paths": [s.path for s in pending]})
        await ctx.set_state("blocked", GATE_PHASE)
        await ctx.report(final=True)
        return False
    if confirmation is not None and manifests.needs_confirmation(manifest):
        message = f"confirmed by @{confirmation.confirmed_by} for hash `{manifest.manifest_hash[:12]}`"
    else:
        message = "no stale or suspect source is selected"
    await ctx.event("gate", "passed", message, payload)
    return True
