"""Scenario pack revisions: store one per generation, find the latest or a numbered one.

Revisions are numbered 1, 2, … per repository (issue 4, "Modes"; a unique
constraint keeps two runs from storing the same number). A run stores at most
one revision: a retried job replaces the row its earlier attempt stored (the
earlier attempt stays in the run's events and the job's last error). Each row keeps the
audit fields of seed 000 §9.3 (manifest id and hash, model, thread and turn
ids, repository, branch, head SHA, prompt version, token usage, timings) and
the whole ``PackDocument``, so any revision can be rendered or executed again.
Scenarios cite their sources by repository path (stable across commits and
selection edits); :func:`load_document` also reads revisions stored when they
cited manifest row ids.

All functions take the caller's ``AsyncSession`` (one transaction, see
``storage.db.Database.session``).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.pack import PackDocument
from storage.models import ManifestSource, PackRevision


async def latest_revision(session: AsyncSession, repository: str, *,
                          excluding_run: int | None = None) -> PackRevision | None:
    """The highest-numbered revision of ``repository`` (``owner/name``), or ``None``;
    ``excluding_run``: ignore the revision that run stored (its own, on a retry)."""
    query = select(PackRevision).where(PackRevision.repository == repository)
    if excluding_run is not None:
        query = query.where((PackRevision.run_id != excluding_run) | PackRevision.run_id.is_(None))
    return (await session.scalars(query.order_by(PackRevision.revision.desc()).limit(1))).first()


async def get_revision(session: AsyncSession, repository: str, revision: int) -> PackRevision | None:
    """Revision number ``revision`` of ``repository``, or ``None``."""
    return await session.scalar(
        select(PackRevision).where(PackRevision.repository == repository, PackRevision.revision == revision))


async def next_number(session: AsyncSession, repository: str) -> int:
    """The number the next revision of ``repository`` gets (1 for the first)."""
    highest = await session.scalar(
        select(func.max(PackRevision.revision)).where(PackRevision.repository == repository))
    return (highest or 0) + 1


def document_of(row: PackRevision) -> PackDocument:
    """The stored ``PackDocument`` (revision metadata and pack), as stored."""
    return PackDocument.model_validate(row.document)


async def load_document(session: AsyncSession, row: PackRevision) -> PackDocument:
    """The stored ``PackDocument`` with every source id a repository path.

    Revisions stored before source ids became paths cite the row ids of their
    manifest's sources (``manifest_sources.id``, as decimal strings); those are
    replaced by the sources' paths, so that ``--update`` and ``execute`` compare
    and classify them like new ones. Ids that are not such row ids stay as they are.
    """
    document = document_of(row)
    if row.manifest_id is None:
        return document
    rows = (await session.execute(select(ManifestSource.id, ManifestSource.path)
                                  .where(ManifestSource.manifest_id == row.manifest_id))).all()
    paths = {path for _, path in rows}
    legacy = {str(row_id): path for row_id, path in rows if str(row_id) not in paths}
    for _, _, scenario in document.pack.scenarios():
        scenario.source_ids = [legacy.get(source_id, source_id) for source_id in scenario.source_ids]
    return document


async def save_revision(
    session: AsyncSession,
    document: PackDocument,
    *,
    repository: str,
    run_id: int | None = None,
    issue_number: int | None = None,
    timings: dict[str, float] | None = None,
) -> PackRevision:
    """Store ``document`` as revision ``document.revision.revision`` of ``repository``.

    When ``run_id`` already stored a revision (a retried job), that row is
    replaced instead of adding another.
    ``timings`` (phase → seconds) defaults to the document's own ``timings_s``.

    Raises:
        sqlalchemy.exc.IntegrityError: that number is already stored for the repository by another run.
    """
    meta = document.revision
    if run_id is not None:
        await session.execute(delete(PackRevision).where(PackRevision.run_id == run_id))
    row = PackRevision(
        repository=repository, revision=meta.revision, mode=meta.mode, issue_number=issue_number,
        run_id=run_id, manifest_id=int(meta.manifest_id) if meta.manifest_id else None,
        manifest_hash=meta.manifest_hash, model=meta.model, thread_id=meta.thread_id,
        turn_ids=list(meta.turn_ids), branch=meta.branch, head_sha=meta.head_sha,
        prompt_version=meta.prompt_version, token_usage=list(meta.token_usage),
        timings=dict(timings if timings is not None else meta.timings_s),
        document=document.model_dump(mode="json"), change_summary=dict(meta.change_summary),
    )
    session.add(row)
    await session.flush()
    return row


async def mark_published(
    session: AsyncSession, revision_id: int, *, commit_sha: str, pr_number: int,
    timings: dict[str, Any] | None = None,
) -> PackRevision:
    """Record where revision ``revision_id`` was published; ``timings`` are merged in."""
    row = await session.get(PackRevision, revision_id, populate_existing=True)
    if row is None:
        raise LookupError(f"pack revision {revision_id} does not exist")
    row.commit_sha, row.pr_number = commit_sha, pr_number
    if timings:
        row.timings = {**row.timings, **timings}
    await session.flush()
    return row
