"""The ``review`` action: after a push to the default branch, flag the scenarios whose sources changed.

Started by ``handlers.push`` on the pushed commit, on the pack PR (its tracking comment is the
PR's one source-review comment). In order: the repository config; the latest pack revision and
the manifest it was generated from; the manifest of the pushed commit
(``bot.sources.gate.current_manifest``: an incremental rescan through the blob-SHA scan cache);
each source a scenario cites whose blob changed, which is no longer a source, or which turned
``stale`` (:func:`changed_sources`); its scenarios stored ``needs review``
(``storage.reviews``, shown in ``/scenarioforge status`` and on the board) and listed in the
comment. With ``generate.on_source_change: update`` a change then runs ``generate --update``
in the same run, its instruction and the revision's change summary naming the changed sources
(revision n + 1, which starts with no flags).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from bot.domain.pack import ScenarioPack
from bot.domain.sources import Source
from bot.jobs.context import JobContext
from bot.scenarios.action import generate
from bot.sources.gate import current_manifest, load_repo_config, strongest_reason
from storage import packs, reviews
from storage.models import Manifest, ManifestSource
from storage.models import ScenarioReview


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _cell(text: str) -> str:
    """``text`` safe in a Markdown table cell: its pipes escaped (those of code spans already are)."""
    return _UNESCAPED_PIPE.sub(r"\\|", text)


def _span(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def changed_sources(before: Iterable[ManifestSource], after: Iterable[ManifestSource],
                    cited: Iterable[str]) -> dict[str, str]:
    """Cited source path → why it changed between the manifest a pack was generated from
    (``before``) and the pushed commit's (``after``): another blob, gone, or turned stale."""
    old = {row.path: row for row in before}
    new = {row.path: row for row in after}
    changed = {}
    for path in sorted(set(cited)):
        was, now = old.get(path), new.get(path)
        if now is None:
            changed[path] = f"{_span(path)} is no longer a source (deleted or excluded)"
        elif was is not None and now.blob_sha != was.blob_sha:
            changed[path] = f"{_span(path)} changed (blob `{was.blob_sha[:7]}` → `{now.blob_sha[:7]}`)"
        elif now.status == "stale" and (was is None or was.status != "stale"):
            reason = strongest_reason(Source.model_validate(_source_fields(now)))
            changed[path] = f"{_span(path)} turned stale: {reason}"
    return changed


def _source_fields(row: ManifestSource) -> dict[str, object]:
    return {"path": row.path, "blob_sha": row.blob_sha, "size": row.size, "type": row.type, "status": row.status,
            "score": row.score, "reasons": row.reasons, "selected": row.selected}


def flags_of(pack: ScenarioPack, changed: Mapping[str, str]) -> dict[str, tuple[list[str], list[str]]]:
    """Scenario id → (its changed source ids, the reasons) for every scenario citing a changed source."""
    flags = {}
    for _, _, scenario in pack.scenarios():
        if touched := sorted(set(scenario.source_ids) & set(changed)):
            flags[scenario.id] = (touched, [changed[path] for path in touched])
    return flags


def review_message(revision: int, sha: str, changed: Mapping[str, str], flagged: Sequence[ScenarioReview]) -> str:
    """The comment's result: what changed in this push, every scenario of the revision needing review."""
    head = (f"Pushed `{sha[:12]}`: " + (f"{len(changed)} source(s) of pack revision {revision} changed: "
                                        + "; ".join(changed.values()) if changed
                                        else f"no source of pack revision {revision} changed."))
    if not flagged:
        return head + "\n\n  No scenario needs review."
    rows = "\n".join(f"  | {_span(row.scenario_id)} | {', '.join(_span(p) for p in row.source_ids)} | "
                     f"{_cell('; '.join(row.reasons))} | `{row.commit_sha[:12]}` |" for row in flagged)
    return (f"{head}\n\n  **{len(flagged)} scenario(s) need review** (pack revision {revision}):\n\n"
            "  | scenario | sources | why | since |\n  |---|---|---|---|\n" + rows
            + "\n\n  `/scenarioforge generate --update` proposes a revision from the changed sources.")


def update_instruction(changed: Mapping[str, str]) -> str:
    """The instruction of the ``generate --update`` a change starts (``on_source_change: update``)."""
    return ("The source documents changed: " + "; ".join(changed.values())
            + ". Update the scenarios that cite them to match the documents as they are now; keep the others.")


async def review(ctx: JobContext) -> None:
    """The ``review`` action (see the module docstring). ``ctx.run.args``: ``on_source_change``
    (``comment | update``), ``changed`` (the pushed paths)."""
    assert ctx.workspace is not None, "the worker checks out before the action runs"
    config, config_error = await load_repo_config(ctx)
    repository = ctx.run.repository
    async with ctx.db.session() as session:
        latest = await packs.latest_revision(session, repository)
        document = await packs.load_document(session, latest) if latest else None
        before = await session.get(Manifest, latest.manifest_id) if latest and latest.manifest_id else None
    if latest is None or document is None:
        await ctx.set_state("passed", "complete", "no scenario pack to review")
        return
    manifest = await current_manifest(ctx, config, config_error)
    cited = {source_id for _, _, scenario in document.pack.scenarios() for source_id in scenario.source_ids}
    changed = changed_sources(before.sources if before else [], manifest.sources, cited)
    flags = flags_of(document.pack, changed)
    async with ctx.db.session() as session:
        await reviews.flag(session, repository, latest.revision, flags, commit_sha=ctx.workspace.sha,
                           run_id=ctx.run.id)
        flagged = await reviews.needing_review(session, repository)
    message = review_message(latest.revision, ctx.workspace.sha, changed, flagged)
    await ctx.event("review", "complete", message, {"changed": sorted(changed), "flagged": sorted(flags)})
    if changed and ctx.run.args.get("on_source_change") == "update":
        await ctx.set_state("running", "generate", "generating the next revision from the changed sources",
                            args={**ctx.run.args, "update": True, "text": update_instruction(changed),
                                  "changed_sources": sorted(changed)})
        await generate(ctx)
        return
    await ctx.set_state("passed", "complete", f"{len(flagged)} scenario(s) need review" if flagged
                        else "no scenario needs review")
