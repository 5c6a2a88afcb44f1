"""Three-way triage, three kinds of outcome (issue 13): the remedies that are not a code fix.

After the execute loop (``bot.execution.action``), each failure's cause class
leads to its own remedy; ``code-defect`` is the fix PR and ``environment`` is
``blocked`` already. Here:

- ``stale-spec`` → a **documentation PR**: the docs turn's change of the
  stale documents (``bot.execution.docs_fix``; only those paths, anything
  else reverted) committed by the bot on ``scenarioforge/docs-<root run id>``
  on top of the head SHA, pushed with the installation token and proposed as
  a draft pull request against the base (``bot.github.publish.publish_files``:
  a retried step or a later run of the same chain finds the branch holding the
  same files and updates the ONE pull request); its body quotes the failing
  checkpoints and the code they name at ``file:line``; the documents are then
  marked for re-confirmation in the manifest the pack was generated from and
  in the repository's latest one, which the gate reads next
  (``storage.manifests.mark_for_reconfirmation``).
- ``scenario-defect`` → a **pack revision proposal**: ONE comment on the pack
  PR (``PackRevision.pr_number``), found again by its marker and edited in
  place (``bot.github.tracking.upsert_comment``); no code change, no fix turn.
  A revision without a pack PR gets the proposal in the run's notes.

:func:`apply_remedies` returns the sentences the tracking comment and the
check run show.
"""
from __future__ import annotations

from bot.domain.pack import ScenarioPack
from bot.domain.results import DocumentRevision, ExecutionOutcome, ScenarioOutcome
from bot.execution.evidence import committed_texts
from bot.execution.render_remedies import PROPOSAL_MARKER, code_locations, docs_pr_body, excerpt, proposal_body
from bot.github.publish import publish_files
from bot.github.tracking import upsert_comment
from bot.jobs.context import JobContext
from storage import manifests, packs
from storage.models import Manifest, PackRevision

DOCS_PREFIX = "scenarioforge/docs-"


def docs_branch(root_run_id: int) -> str:
    """``scenarioforge/docs-<root run id>``: one branch (and one pull request) per chain of runs, as for fixes."""
    return f"{DOCS_PREFIX}{root_run_id}"


def scenario_defects(outcome: ExecutionOutcome) -> list[ScenarioOutcome]:
    """The failed scenarios classified ``scenario-defect``."""
    return [r for r in outcome.results if r.status == "failed" and r.classification
            and r.classification.cause == "scenario-defect"]


async def _pack_row(ctx: JobContext, revision: int) -> tuple[PackRevision | None, Manifest | None]:
    async with ctx.db.session() as session:
        row = await packs.get_revision(session, ctx.run.repository, revision)
        manifest = await session.get(Manifest, row.manifest_id) if row is not None and row.manifest_id else None
    return row, manifest


async def apply_remedies(ctx: JobContext, outcome: ExecutionOutcome, pack: ScenarioPack, *, revision: int,
                         manifest_hash: str | None, root_run_id: int) -> list[str]:
    """The documentation PR and the pack revision proposal of ``outcome`` (executed on pack ``revision``),
    as the module docstring says; returns what happened, one Markdown sentence each.

    Raises:
        GitError: commit or push failed (git's stderr unchanged).
        gidgethub.GitHubException: GitHub refused the pull request or the comment.
    """
    notes = []
    if outcome.documentation is not None:
        notes.append(await publish_documentation(ctx, outcome, outcome.documentation, pack, revision=revision,
                                                 manifest_hash=manifest_hash, branch=docs_branch(root_run_id)))
    if defects := scenario_defects(outcome):
        notes.append(await propose_revision(ctx, outcome, defects, pack, revision=revision))
    return notes


async def publish_documentation(ctx: JobContext, outcome: ExecutionOutcome, change: DocumentRevision,
                                pack: ScenarioPack, *, revision: int, manifest_hash: str | None, branch: str) -> str:
    """Commit the documents' new text on ``branch``, open or update its draft pull request, mark the
    documents for re-confirmation; what happened, in one sentence."""
    run, workspace = ctx.run, ctx.workspace
    assert workspace is not None
    reverted = f" (reverted {', '.join(f'`{p}`' for p in change.reverted_paths)})" if change.reverted_paths else ""
    if not change.files:
        return (f"No documentation PR: the docs turn changed none of "
                f"{', '.join(f'`{p}`' for p in change.documents)}{reverted}.")
    await ctx.event("docs", "running", f"committing the document change on `{branch}`")
    await ctx.report()
    _, manifest = await _pack_row(ctx, revision)
    places = code_locations(outcome.results, outcome.evidence, root=str(workspace.path), exclude=change.documents)
    texts = await committed_texts(workspace.path, {path for path, _ in places}, commit=workspace.sha)
    code = {(path, line): text for path, line in places
            if path in texts and (text := excerpt(texts[path], line)) is not None}
    run_url = await ctx.tracking_comment_url()
    documents = ", ".join(sorted(change.files))
    published = await publish_files(
        ctx.gh, workspace, await ctx.token(), files=change.files, branch=branch, requester=run.requester,
        message=f"ScenarioForge: update {documents} to match the code\n\n{change.summary}\n\n"
                f"ScenarioForge run {run.id}" + (f": {run_url}" if run_url else ""),
        title=f"ScenarioForge docs: {documents} ({', '.join(change.scenario_ids)}, run {run.id})",
        body=docs_pr_body(outcome, change, pack, run_id=run.id, run_url=run_url,
                          manifest_hash=manifest_hash, pack_revision=revision, base_sha=workspace.sha, code=code))
    pull = published.pull
    async with ctx.db.session() as session:  # the pack's manifest, and the latest one the gate reads next
        latest = await manifests.latest_manifest(session, run.repository)
        marked = {row.id: row for row in (await session.get(Manifest, manifest.id) if manifest else None, latest) if row}
        for row in marked.values():
            await manifests.mark_for_reconfirmation(session, row, list(change.files), reason=(
                f"documentation PR #{pull['number']} (run {run.id}) rewrites it to match the code"))
    await ctx.event("docs", "complete", f"documentation PR [#{pull['number']}]({pull['html_url']}) "
                    f"{'opened' if published.created else 'updated'} at `{published.commit_sha[:12]}` on `{branch}`",
                    {"commit_sha": published.commit_sha, "pr_number": pull["number"], "branch": branch,
                     "files": sorted(change.files)})
    return (f"Documentation PR: [#{pull['number']}]({pull['html_url']}) on `{branch}` changes only "
            f"{', '.join(f'`{p}`' for p in sorted(change.files))} to match the code{reverted}; "
            "the manifest marks it for re-confirmation.")


async def propose_revision(ctx: JobContext, outcome: ExecutionOutcome, defects: list[ScenarioOutcome],
                           pack: ScenarioPack, *, revision: int) -> str:
    """Post or update the pack PR's revision proposal for ``defects``; what happened, in one sentence
    (the proposal itself when the revision has no pack PR)."""
    row, _ = await _pack_row(ctx, revision)
    ids = ", ".join(r.scenario_id for r in defects)
    run_url = await ctx.tracking_comment_url()
    body = proposal_body(defects, pack, run_id=ctx.run.id, run_url=run_url,
                         pack_revision=revision, evidence=outcome.evidence)
    if row is None or row.pr_number is None:
        return f"Pack revision proposal for {ids} (pack revision {revision} has no pack PR to post it on):\n\n{body}"
    comment, created = await upsert_comment(ctx.gh, ctx.run.repository, row.pr_number, PROPOSAL_MARKER, body)
    await ctx.event("proposal", "complete", f"pack revision proposal for {ids} {'posted' if created else 'updated'} "
                    f"on the pack PR #{row.pr_number}", {"comment_id": comment["id"], "pr_number": row.pr_number})
    return (f"Pack revision proposal: [comment]({comment['html_url']}) on the pack PR #{row.pr_number} proposes to "
            f"revise {ids}, which misread their source; no code is changed.")
