"""Source manifests: save a scan, edit its selection, confirm it, ask the trust gate.

Seed 000 §7 and SF-2003: the manifest records the commit, every source (path,
blob SHA, type, status, score, reasons, selected), the manifest hash, who
confirmed what and when. A selection edit creates a child manifest (the
parent stays as it was). A confirmation belongs to one manifest hash of one
repository and never carries over to a different hash. A mark for
re-confirmation (issue 13: a documentation PR showed the document stale)
belongs to the document's content: a later scan carries it while the
document's blob SHA is the one marked (:func:`save_manifest`).

All functions take the caller's ``AsyncSession`` (one transaction, see
``storage.db.Database.session``).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.sources import Reason, ScanResult, Source, manifest_hash
from bot.errors import ScenarioForgeError
from config.repo import matches_any
from storage.models import Manifest, ManifestConfirmation, ManifestSource
from storage.models.base import utcnow

__all__ = [
    "SelectionError", "confirm", "edit_selection", "is_confirmed", "latest_manifest", "manifest_hash",
    "mark_for_reconfirmation", "marks_of", "needs_confirmation", "pending_confirmation", "save_manifest",
    "selected_source_ids", "sources_of",
]


class SelectionError(ScenarioForgeError):
    """A ``--include``/``--exclude`` glob matched no source, or tried to select an excluded one."""


def sources_of(manifest: Manifest) -> list[Source]:
    """The manifest's rows as ``Source`` models (sorted by path), for rendering and hashing."""
    return [
        Source(path=row.path, blob_sha=row.blob_sha, size=row.size, type=row.type, status=row.status,  # type: ignore[arg-type]
               score=row.score, reasons=[Reason.model_validate(r) for r in row.reasons], selected=row.selected)
        for row in sorted(manifest.sources, key=lambda row: row.path)
    ]


async def _create(session: AsyncSession, repository: str, commit_sha: str, sources: Sequence[Source],
                  notes: list[dict], parent_id: int | None) -> Manifest:
    manifest = Manifest(
        repository=repository, commit_sha=commit_sha, manifest_hash=manifest_hash(sources), parent_id=parent_id,
        notes=notes,
        sources=[
            ManifestSource(path=s.path, blob_sha=s.blob_sha, size=s.size, type=s.type, status=s.status, score=s.score,
                           reasons=[r.model_dump(mode="json") for r in s.reasons], selected=s.selected)
            for s in sources
        ],
    )
    session.add(manifest)
    await session.flush()
    return manifest


async def save_manifest(session: AsyncSession, repository: str, result: ScanResult) -> Manifest:
    """Persist a scan of ``repository`` (``owner/name``) as a new root manifest, carrying the marks for
    re-confirmation of its unchanged documents (:func:`carry_marks`).

    Raises ``ValueError`` for the scan of an empty repository (no commit to pin sources to).
    """
    if result.commit_sha is None:
        raise ValueError("an empty repository has no sources to record")
    notes = [n.model_dump(mode="json") for n in result.notes]
    manifest = await _create(session, repository, result.commit_sha, result.sources, notes, None)
    await carry_marks(session, manifest)
    return manifest


async def carry_marks(session: AsyncSession, manifest: Manifest) -> None:
    """Give each source of ``manifest`` the newest mark found on the same path AND blob SHA in another
    manifest of its repository (the document did not change since it was marked), unless a
    confirmation of a manifest marking that document, given after that mark, satisfied it
    (:func:`pending_confirmation`'s rule), or the source holds that mark or a newer one already. A changed
    document (another blob SHA) carries no mark: the new scan alone judges it (issue 13).

    Called for every new root manifest and for a manifest reused for its commit (scanned before
    the mark was set on a later one: ``bot.sources.gate.current_manifest``)."""
    marked = (await session.execute(
        select(ManifestSource, Manifest.manifest_hash).join(Manifest, Manifest.id == ManifestSource.manifest_id)
        .where(Manifest.repository == manifest.repository, Manifest.id != manifest.id,
               ManifestSource.reconfirm_since.is_not(None)))).all()
    newest: dict[tuple[str, str], ManifestSource] = {}
    holders: defaultdict[tuple[str, str], set[str]] = defaultdict(set)  # the hashes of the manifests marking it
    for row, held_by in marked:
        holders[key := (row.path, row.blob_sha)].add(held_by)
        if key not in newest or _utc(newest[key].reconfirm_since) < _utc(row.reconfirm_since):
            newest[key] = row
    if not newest:
        return
    confirmed = (await session.execute(
        select(ManifestConfirmation.manifest_hash, ManifestConfirmation.confirmed_at)
        .join(Manifest, Manifest.id == ManifestConfirmation.manifest_id)
        .where(Manifest.repository == manifest.repository))).all()
    for row in manifest.sources:
        if (mark := newest.get(key := (row.path, row.blob_sha))) is None:
            continue
        if row.reconfirm_since is not None and _utc(row.reconfirm_since) >= _utc(mark.reconfirm_since):
            continue
        if not any(hash_ in holders[key] and _utc(at) > _utc(mark.reconfirm_since) for hash_, at in confirmed):
            row.reconfirm_reason, row.reconfirm_since = mark.reconfirm_reason, mark.reconfirm_since
    await session.flush()


async def latest_manifest(session: AsyncSession, repository: str) -> Manifest | None:
    """The most recent manifest of ``repository`` (a scan or a selection edit), or ``None``."""
    query = (select(Manifest).where(Manifest.repository == repository)
             .order_by(Manifest.created_at.desc(), Manifest.id.desc()).limit(1))
    return (await session.scalars(query)).first()


async def edit_selection(session: AsyncSession, manifest: Manifest, include: Sequence[str] = (),
                         exclude: Sequence[str] = ()) -> Manifest:
    """A child manifest with sources matching ``include`` globs selected, then ``exclude`` globs deselected.

    Globs follow ``config.repo.matches_any`` (``*`` crosses ``/``; ``dir/`` is a
    folder). Marks for re-confirmation are carried over. Raises ``SelectionError`` when a glob matches no source, or an
    include matches only ``excluded`` sources (those are never selectable).
    """
    sources = sources_of(manifest)
    for glob in [*include, *exclude]:
        if not any(matches_any(s.path, [glob]) for s in sources):
            raise SelectionError(f"no source matches {glob!r}", manifest_id=manifest.id)
    for glob in include:
        matched = [s for s in sources if matches_any(s.path, [glob])]
        if all(s.status == "excluded" for s in matched):
            raise SelectionError(f"{glob!r} matches only excluded sources: {', '.join(s.path for s in matched)}",
                                 manifest_id=manifest.id)
    edited = [
        s.model_copy(update={"selected": s.status != "excluded" and (
            (s.selected or matches_any(s.path, list(include))) and not matches_any(s.path, list(exclude)))})
        for s in sources
    ]
    child = await _create(session, manifest.repository, manifest.commit_sha, edited, manifest.notes, manifest.id)
    marks = {row.path: row for row in manifest.sources if row.reconfirm_since is not None}
    for row in child.sources:  # a mark for re-confirmation outlives a selection edit
        if (mark := marks.get(row.path)) is not None:
            row.reconfirm_reason, row.reconfirm_since = mark.reconfirm_reason, mark.reconfirm_since
    await session.flush()
    return child


def selected_source_ids(manifest: Manifest) -> list[int]:
    """The ids of the selected ``ManifestSource`` rows: what generation may read (seed 000 §7 step 5)."""
    return sorted(row.id for row in manifest.sources if row.selected)


def marks_of(manifest: Manifest) -> dict[str, str]:
    """``{path: reason}`` of the manifest's sources marked for re-confirmation (:func:`mark_for_reconfirmation`)."""
    return {row.path: row.reconfirm_reason or "" for row in manifest.sources if row.reconfirm_since is not None}


def needs_confirmation(manifest: Manifest) -> list[Source]:
    """Selected sources whose status is ``stale`` or ``suspect``, or that are marked for re-confirmation
    (:func:`mark_for_reconfirmation`): the trust gate's question."""
    marked = marks_of(manifest)
    return [s for s in sources_of(manifest) if s.selected and (s.status in ("stale", "suspect") or s.path in marked)]


def _utc(moment: datetime) -> datetime:
    """``moment`` as aware UTC (SQLite hands timezone-aware columns back naive, in UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


async def mark_for_reconfirmation(session: AsyncSession, manifest: Manifest, paths: Sequence[str],
                                  reason: str) -> list[str]:
    """Mark the sources ``paths`` of ``manifest`` for re-confirmation from now on, with ``reason``
    (e.g. "documentation PR #7 rewrites it"); a confirmation given before does not cover them
    (:func:`pending_confirmation`). Returns the paths marked (those the manifest has)."""
    marked = []
    for row in manifest.sources:
        if row.path in paths:
            row.reconfirm_reason, row.reconfirm_since = reason, utcnow()
            marked.append(row.path)
    await session.flush()
    return marked


async def confirm(session: AsyncSession, manifest: Manifest, login: str) -> ManifestConfirmation:
    """Record that ``login`` accepted ``manifest`` as it is (its hash)."""
    confirmation = ManifestConfirmation(manifest_id=manifest.id, manifest_hash=manifest.manifest_hash, confirmed_by=login)
    session.add(confirmation)
    await session.flush()
    return confirmation


async def is_confirmed(session: AsyncSession, manifest: Manifest) -> ManifestConfirmation | None:
    """The latest confirmation of this repository for exactly this manifest hash, or ``None``."""
    query = (
        select(ManifestConfirmation)
        .join(Manifest, Manifest.id == ManifestConfirmation.manifest_id)
        .where(Manifest.repository == manifest.repository, ManifestConfirmation.manifest_hash == manifest.manifest_hash)
        .order_by(ManifestConfirmation.confirmed_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def pending_confirmation(session: AsyncSession, manifest: Manifest) -> list[Source]:
    """The gate: sources that still need a person's look (empty when none or when confirmed; a source
    marked for re-confirmation after the latest confirmation still needs one)."""
    pending = needs_confirmation(manifest)
    confirmation = await is_confirmed(session, manifest) if pending else None
    if confirmation is None:
        return pending
    since = {row.path: _utc(row.reconfirm_since) for row in manifest.sources if row.reconfirm_since is not None}
    return [s for s in pending if s.path in since and since[s.path] > _utc(confirmation.confirmed_at)]
