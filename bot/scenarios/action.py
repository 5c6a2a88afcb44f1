"""The ``generate`` action: confirmed sources → Codex → validated pack revision → draft PR.

Seed 000 §4.1 and issue 4 ("Rendering and publishing", "Modes"). In order:
repository config and source manifest of the checked-out commit
(``bot.sources.gate``); the trust gate (a blocked run waits for
``/scenarioforge confirm``); the text of the **selected** sources only (their
repository paths are the source ids scenarios cite: stable across commits and
selection edits, so an ``--update`` on a later commit keeps the citations of
the scenarios it keeps; the blob SHAs read are in the ``sources`` run event
and, with the manifest id and hash on the revision, in the manifest); the check run
``ScenarioForge / generate`` in progress on the commit, linked to the tracking
comment; ``bot.scenarios.generation.generate_pack`` (initial, or ``--update`` starting
from the repository's latest revision) whose real transitions become run
events and tracking-comment phases; the revision stored before publishing, so
its number is taken (``storage.packs``; a retried job replaces the revision
its earlier attempt stored rather than storing the next number); ``scenarios/scenarios.md`` and
``scenarios/scenario-pack.json`` committed by the bot on
``scenarioforge/scenarios`` and proposed as one draft pull request
(``bot.github.publish``); the check run completed with the pack overview.

Failures (Codex, an invalid pack, git, GitHub) complete the check run with
``failure`` and are raised unchanged: the run's workflow (``bot.jobs.workflow``)
stores the raw error with the run's context on the run and shows it in the
tracking comment; transient ones are retried by their step (``bot.jobs.steps``).
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.codex.engine import Engine
from bot.codex.prompts import SourceText
from bot.codex.turns import EngineEvent
from bot.domain.cost import cost_text, total_usd
from bot.domain.findings import Finding, generate_findings
from bot.domain.pack import PackDocument
from bot.domain.policy import EffectivePolicy
from bot.github import checks
from bot.github.publish import Published, publish_files
from bot.github.governance import annotations_of, findings_table
from bot.jobs.budget import enforce_budget, price_usage
from bot.jobs.context import JobContext
from bot.jobs.policy import apply_policy, stage_findings
from bot.jobs.steps import step
from bot.scenarios.generation import (
    PACK_JSON,
    PACK_MD,
    generate_pack,
    repository_facts,
)
from bot.scenarios.render import SourceLink, render_pack
from bot.scenarios.validate import change_summary
from bot.sources.gate import current_manifest, gate, load_repo_config, scan_findings_of
from bot.sources.inventory import language_of
from bot.sources.snapshot import list_tree, read_blobs
from config.repo import RepoConfig
from storage import packs
from storage.locks import repository_lock
from storage.models import Manifest, ManifestSource, PackRevision

CHECK_NAME = "ScenarioForge / generate"
BRANCH = "scenarioforge/scenarios"
PACK_DIR = "scenarios"
MD_PATH = f"{PACK_DIR}/{PACK_MD}"
JSON_PATH = f"{PACK_DIR}/{PACK_JSON}"


@contextlib.contextmanager
def timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    """Add the seconds spent in the ``with`` block to ``timings[phase]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = round(timings.get(phase, 0.0) + time.perf_counter() - start, 4)


# ---------------------------------------------------------------- pure parts


def selected_rows(manifest: Manifest) -> list[ManifestSource]:
    """The manifest's selected sources, highest trust score first (the prompt's priority order)."""
    return sorted((row for row in manifest.sources if row.selected), key=lambda row: (-row.score, row.path))


def source_links(paths: Collection[str]) -> SourceLink:
    """Links from ``scenarios/scenarios.md`` to each cited source that is one of ``paths`` (source
    ids are repository paths), relative: the sources are on the same branch."""
    return lambda source_id: (source_id, f"../{quote(source_id)}") if source_id in paths else None


def render_files(document: PackDocument, paths: Collection[str]) -> dict[str, str]:
    """The two published files: repository path → text; ``paths``: the sources to link to."""
    return {
        MD_PATH: render_pack(document, source_link=source_links(paths)),
        JSON_PATH: document.model_dump_json(indent=2) + "\n",
    }


def token_totals(document: PackDocument) -> dict[str, int]:
    """Token counts summed over the revision's turns."""
    totals: Counter[str] = Counter()
    for usage in document.revision.token_usage:
        totals.update({key: value for key, value in usage.items() if isinstance(value, int)})
    return dict(totals)


def tokens_line(document: PackDocument) -> str:
    """``1,234 tokens (input 1,000, cached 0, output 234) over 2 turn(s) · est. $0.0034``."""
    t = token_totals(document)
    cost = total_usd(usage.get("cost_usd") for usage in document.revision.token_usage)
    return (f"{t.get('total_tokens', 0):,} tokens (input {t.get('input_tokens', 0):,}, cached "
            f"{t.get('cached_input_tokens', 0):,}, output {t.get('output_tokens', 0):,}) over "
            f"{len(document.revision.turn_ids)} turn(s)" + cost_text(cost))


def changes_line(summary: dict[str, list[str]]) -> str:
    """``+1 added (SC-003), 0 changed, -1 removed (SC-001)``, then ``after changes to `docs/spec.md```
    when a push's review started the revision."""
    parts = []
    for key, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
        ids = summary.get(key, [])
        parts.append(f"{sign}{len(ids)} {key}" + (f" ({', '.join(ids)})" if ids else ""))
    if sources := summary.get("sources_changed"):  # a ``review`` run's update (bot.scenarios.review)
        parts.append(f"after changes to {', '.join(f'`{path}`' for path in sources)}")
    return ", ".join(parts)


def headline(document: PackDocument) -> str:
    """``revision 2 (update): 5 scenarios in 2 feature areas``."""
    pack, meta = document.pack, document.revision
    return (f"revision {meta.revision} ({meta.mode}): {len(pack.scenario_ids())} scenarios in "
            f"{len(pack.feature_areas)} feature area(s)")


def overview(document: PackDocument) -> str:
    """Markdown overview of a revision: counts per feature area, changes, manifest, tokens."""
    meta = document.revision
    rows = ["| Feature area | Outcomes | Scenarios |", "|---|---|---|"]
    for area in document.pack.feature_areas:
        count = sum(len(outcome.scenarios) for outcome in area.outcomes)
        rows.append(f"| {area.name.replace('|', chr(92) + '|')} | {len(area.outcomes)} | {count} |")
    facts = [
        f"**{headline(document)}**",
        "",
        *rows,
        "",
        f"- Changes: {changes_line(meta.change_summary)}",
        f"- Manifest: `{meta.manifest_hash or 'n/a'}`" + (f" (id {meta.manifest_id})" if meta.manifest_id else ""),
        f"- Commit: `{meta.head_sha or 'n/a'}`" + (f" on `{meta.branch}`" if meta.branch else ""),
        f"- Model `{meta.model}`, prompt `{meta.prompt_version}`, thread `{meta.thread_id}`",
        f"- Tokens: {tokens_line(document)}",
    ]
    if meta.cut_sources:
        cut = ", ".join(f"`{cut['path']}`" for cut in meta.cut_sources)
        facts.append(f"- Cut to fit the token budget: {cut}")
    return "\n".join(facts)


def pr_body(document: PackDocument, *, run_id: int, issue_number: int, requester: str) -> str:
    """The draft pull request's description (rewritten on every revision)."""
    return (
        f"Scenario pack generated by ScenarioForge for #{issue_number} (requested by @{requester}, run {run_id}).\n\n"
        f"{overview(document)}\n\n"
        f"- `{MD_PATH}`: the scenarios to read and review\n"
        f"- `{JSON_PATH}`: the same pack for `/scenarioforge execute`\n\n"
        "Ask for changes with `/scenarioforge generate --update WHAT TO CHANGE`; "
        "each revision is a new commit on this branch."
    )


def commit_message(document: PackDocument, *, run_id: int) -> str:
    """Subject and body of the bot's commit (the caller adds the co-author trailer)."""
    meta = document.revision
    return (f"ScenarioForge: scenario pack revision {meta.revision}\n\n{headline(document)}; "
            f"{changes_line(meta.change_summary)}.\nManifest {meta.manifest_hash}, run {run_id}, "
            f"prompt {meta.prompt_version}, model {meta.model}.")


def final_message(document: PackDocument, published: Published, check_url: str) -> str:
    """The ``complete`` phase line of the tracking comment: counts, links, manifest, tokens."""
    pull = published.pull
    lines = [
        f"{headline(document)} ({changes_line(document.revision.change_summary)})",
        (f"  - Draft PR [#{pull['number']}]({pull['html_url']}) · check run [{CHECK_NAME}]({check_url}) · "
         f"files [{MD_PATH}]({published.file_url(MD_PATH)}), [{JSON_PATH}]({published.file_url(JSON_PATH)})"),
        f"  - Manifest `{document.revision.manifest_hash}` · {tokens_line(document)}",
    ]
    if published.review_note:
        lines.append(f"  - {published.review_note}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the action


async def read_sources(worktree: Path, rows: list[ManifestSource]) -> list[SourceText]:
    """The selected sources' text as the manifest hashed it (their blobs, one ``git cat-file``),
    each under its path as source id."""
    blobs = await asyncio.to_thread(read_blobs, worktree, [row.blob_sha for row in rows])
    return [SourceText(row.path, row.path, blobs[row.blob_sha].decode("utf-8", "replace")) for row in rows]


async def inventory_facts(worktree: Path, sha: str) -> dict[str, Any]:
    """Languages (files per language at ``sha``) and the test commands the repository declares."""
    entries = await asyncio.to_thread(list_tree, worktree, sha)
    languages = Counter(language for e in entries if not (e.is_symlink or e.is_submodule)
                        and (language := language_of(e.path)))
    return await asyncio.to_thread(repository_facts, worktree, dict(languages))


async def generate(ctx: JobContext) -> None:
    """The ``generate`` action (see the module docstring). ``ctx.run.args``: ``update``
    (bool), ``text`` (the instruction), ``branch``.

    Its phases are checkpointed steps (``bot.jobs.steps``): ``scan`` (config,
    manifest, gate), ``check_run``, ``codex_thread`` and one ``turn N`` per Codex
    turn (``bot.scenarios.generation``: a resumed run never pays for a finished
    turn again), ``price``, ``findings``, ``publish``
    (numbered, stored and pushed under the repository's lock, ``storage.locks``,
    so runs of several issues at once get distinct revisions on one branch and
    one pull request) and ``complete``.
    """
    assert ctx.workspace is not None, "the workflow checks out before the action runs"
    run, workspace = ctx.run, ctx.workspace
    timings: dict[str, float] = {}
    config, manifest_id, allowed, policy = await step("scan", _scan, ctx, timings)
    if not allowed:
        return
    async with ctx.db.session() as session:
        manifest = await session.get(Manifest, manifest_id)
    with timed(timings, "sources"):
        rows = selected_rows(manifest)
        sources = await read_sources(workspace.path, rows)
        facts = await inventory_facts(workspace.path, workspace.sha)
        async with ctx.db.session() as session:
            latest = await packs.latest_revision(session, run.repository, excluding_run=run.id)
            previous = await packs.load_document(session, latest) if latest else None
    update = bool(run.args.get("update"))
    if update and previous is None:
        await ctx.event("generate", "running", "no earlier revision to update: generating revision 1")
    with timed(timings, "check_run"):
        check_id, check_url = await step("check_run", _start_check, ctx)
    check = checks.CheckRun(ctx.gh, run.repository, check_id, check_url)
    async with checks.concluded_on_error(check, "Generation failed", resumes=ctx.process_stopping):
        generated = await _generate(ctx, manifest, sources, facts, previous if update else None, config)
        findings = await step("findings", stage_findings, ctx, "generate", generate_findings(
            policy, generated.pack, [source.path for source in sources]))
        async with repository_lock(ctx.db, run.repository):  # the revision number and the pack branch
            revision_id, published = await step("publish", _store_and_publish, ctx, generated, manifest, timings)
        async with ctx.db.session() as session:
            document = await packs.load_document(session, await session.get(PackRevision, revision_id))
        await step("complete", _complete, ctx, check, document, published, revision_id, timings, findings)


async def _scan(ctx: JobContext, timings: dict[str, float]) -> tuple[RepoConfig, int, bool, EffectivePolicy]:
    """Config, budget (``bot.jobs.budget``: refused before any Codex turn), policy, manifest,
    scan findings and trust gate: ``(config, manifest id, may generate, effective policy)``."""
    with timed(timings, "config"):
        config, config_error = await load_repo_config(ctx)
    await enforce_budget(ctx, config.budget)
    policy = await apply_policy(ctx, config)
    with timed(timings, "scan"):
        manifest = await current_manifest(ctx, config, config_error)
    await scan_findings_of(ctx, policy, manifest)
    return config, manifest.id, await gate(ctx, manifest), policy


async def _start_check(ctx: JobContext) -> tuple[int, str]:
    check = await ctx.start_check_run(CHECK_NAME)
    return check.id, check.html_url


async def _generate(ctx: JobContext, manifest: Manifest, sources: list[SourceText], facts: dict[str, Any],
                    base: PackDocument | None, config: RepoConfig) -> PackDocument:
    """The Codex turns (``base``: the pack to update); returns the accepted pack and its
    revision metadata, numbered after ``base`` (renumbered when stored)."""
    run, workspace = ctx.run, ctx.workspace
    assert workspace is not None

    async def on_event(event: EngineEvent) -> None:
        await ctx.event(event.phase, event.status, event.message, event.payload)
        await ctx.report()

    await ctx.event("sources", "complete",
                    f"{len(sources)} selected source(s) read, manifest `{manifest.manifest_hash[:12]}`",
                    {"manifest_id": manifest.id, "manifest_hash": manifest.manifest_hash,
                     "blob_shas": {row.path: row.blob_sha for row in selected_rows(manifest)}})
    await ctx.report()
    result = await generate_pack(
        Engine(ctx.settings), worktree=workspace.path, sources=sources, inventory_facts=facts,
        instruction=run.args.get("text") or "", previous=base,
        refine_rounds=config.generate.refine_rounds, token_budget=config.generate.token_budget,
        on_event=on_event, repository=run.repository, branch=workspace.ref, head_sha=workspace.sha,
        manifest_id=str(manifest.id), manifest_hash=manifest.manifest_hash,
    )
    document = result.document()
    await step("price", price_usage, ctx, document.revision.token_usage)
    return document


async def _store_and_publish(ctx: JobContext, generated: PackDocument, manifest: Manifest,
                             timings: dict[str, float]) -> tuple[int, Published]:
    """Under the repository's lock: number the pack after the repository's latest revision,
    store it, publish it; returns ``(revision row id, where it went)``."""
    run = ctx.run
    with timed(timings, "store"):
        async with ctx.db.session() as session:
            latest = await packs.latest_revision(session, run.repository, excluding_run=run.id)
            document = numbered(generated, await packs.load_document(session, latest) if latest else None)
            if changed := run.args.get("changed_sources"):  # started by a push (bot.scenarios.review)
                document.revision = document.revision.model_copy(update={"change_summary": {
                    **document.revision.change_summary, "sources_changed": list(changed)}})
            row = await packs.save_revision(
                session, document, repository=run.repository, run_id=run.id, issue_number=run.issue_number,
                timings={**document.revision.timings_s, **timings})
    await ctx.event("store", "complete", f"{headline(document)} stored")
    if ctx.workspaces is not None:  # the pack branch as other issues' runs left it
        await ctx.workspaces.refresh(ctx.workspace, await ctx.token())
    return row.id, await _publish(ctx, document, manifest, timings)


async def _complete(ctx: JobContext, check: checks.CheckRun, document: PackDocument, published: Published,
                    revision_id: int, timings: dict[str, float], findings: list[Finding]) -> None:
    async with ctx.db.session() as session:
        await packs.mark_published(session, revision_id, commit_sha=published.commit_sha,
                                   pr_number=published.pull["number"], timings=timings)
    title = headline(document)
    await check.complete("success", checks.Output(
        title[0].upper() + title[1:], "\n\n".join(filter(None, [overview(document), findings_table(findings)])),
        annotations=annotations_of(findings)))
    await ctx.set_state("passed", "complete", final_message(document, published, check.html_url))
    await ctx.report(final=True)


async def _publish(ctx: JobContext, document: PackDocument, manifest: Manifest,
                   timings: dict[str, float]) -> Published:
    """Commit both files on ``BRANCH`` as the bot, push, open or update the draft PR."""
    run, workspace = ctx.run, ctx.workspace
    assert workspace is not None
    await ctx.event("publish", "running", f"committing `{MD_PATH}` and `{JSON_PATH}` on `{BRANCH}`")
    await ctx.report()
    with timed(timings, "publish"):
        published = await publish_files(
            ctx.gh, workspace, await ctx.token(), branch=BRANCH,
            files=render_files(document, {source.path for source in manifest.sources}),
            message=commit_message(document, run_id=run.id),
            title=f"ScenarioForge: scenario pack (revision {document.revision.revision})",
            body=pr_body(document, run_id=run.id, issue_number=run.issue_number, requester=run.requester),
            requester=run.requester,
        )
    pull = published.pull
    await ctx.event("publish", "complete", f"draft PR [#{pull['number']}]({pull['html_url']}) "
                    f"{'opened' if published.created else 'updated'} at `{published.commit_sha[:12]}`",
                    {"commit_sha": published.commit_sha, "pr_number": pull["number"]})
    return published


def numbered(document: PackDocument, previous: PackDocument | None) -> PackDocument:
    """The document to store: a generation numbered at or below the repository's latest
    revision (an initial one, or one that another issue's run overtook) becomes the next
    revision (numbers are per repository) with its changes counted against the latest one."""
    if previous is None or document.revision.revision > previous.revision.revision:
        return document
    changes = change_summary(previous.pack, document.pack)
    document.revision = document.revision.model_copy(update={
        "revision": previous.revision.revision + 1, "change_summary": changes.as_dict()})
    return document
