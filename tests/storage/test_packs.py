"""Pack revisions in a real (migrated SQLite) database."""
import pytest
from sqlalchemy.exc import IntegrityError

from bot.domain.pack import PackDocument, Revision, ScenarioPack
from bot.domain.sources import ScanResult, Source
from storage import manifests, packs
from storage.models import Run
from tests.support.model_server import sample_pack

REPO = "octo/app"


def document(number: int, *, count: int = 2, manifest_id: int | None = None) -> PackDocument:
    return PackDocument(pack=ScenarioPack.model_validate(sample_pack(count=count)), revision=Revision(
        revision=number, mode="initial" if number == 1 else "update", prompt_version="generate-v1",
        model="scripted", thread_id="thr", turn_ids=["t1", "t2"], manifest_id=str(manifest_id) if manifest_id else None, manifest_hash="f" * 64,
        repository=REPO, branch="main", head_sha="a" * 40,
        token_usage=[{"turn_id": "t1", "total_tokens": 120}], timings_s={"turns": 1.5},
        change_summary={"added": ["SC-001"], "changed": [], "removed": []},
    ))


async def test_revisions_are_numbered_per_repository_and_keep_the_audit_fields(database):
    async with database.session() as session:
        manifest = await manifests.save_manifest(session, REPO, ScanResult(commit_sha="a" * 40))
        assert await packs.latest_revision(session, REPO) is None
        assert await packs.next_number(session, REPO) == 1
        first = await packs.save_revision(session, document(1, manifest_id=manifest.id), repository=REPO,
                                          issue_number=4)
        await packs.save_revision(session, document(1), repository="octo/other")
        await packs.save_revision(session, document(2, count=3), repository=REPO, timings={"scan": 0.1})
    async with database.session() as session:
        latest = await packs.latest_revision(session, REPO)
        assert (latest.revision, latest.mode, await packs.next_number(session, REPO)) == (2, "update", 3)
        assert latest.timings == {"scan": 0.1}
        again = await packs.get_revision(session, REPO, 1)
        assert await packs.get_revision(session, REPO, 9) is None
    assert again.id == first.id
    assert (again.manifest_id, again.manifest_hash, again.thread_id, again.turn_ids) == (
        manifest.id, "f" * 64, "thr", ["t1", "t2"])
    assert (again.head_sha, again.branch, again.prompt_version, again.issue_number) == ("a" * 40, "main", "generate-v1", 4)
    assert again.token_usage == [{"turn_id": "t1", "total_tokens": 120}] and again.timings == {"turns": 1.5}
    assert packs.document_of(latest).pack.scenario_ids() == ["SC-001", "SC-002", "SC-003"]
    assert packs.document_of(again) == document(1, manifest_id=manifest.id)


async def test_a_number_is_stored_once_per_repository(database):
    async with database.session() as session:
        await packs.save_revision(session, document(1), repository=REPO)
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            await packs.save_revision(session, document(1), repository=REPO)


async def test_publishing_records_commit_pr_and_merges_timings(database):
    async with database.session() as session:
        row = await packs.save_revision(session, document(1), repository=REPO)
    async with database.session() as session:
        await packs.mark_published(session, row.id, commit_sha="c" * 40, pr_number=12, timings={"publish": 0.4})
    async with database.session() as session:
        stored = await packs.get_revision(session, REPO, 1)
    assert (stored.commit_sha, stored.pr_number, stored.timings) == ("c" * 40, 12, {"turns": 1.5, "publish": 0.4})


async def test_a_revision_citing_manifest_row_ids_is_loaded_citing_paths(database):
    """Revisions stored before source ids became paths cited ``manifest_sources.id``."""
    sources = [Source(path=path, blob_sha="b" * 40, size=1, type="spec", status="trusted", score=1.0, selected=True)
               for path in ("docs/prd.md", "docs/api.md")]
    async with database.session() as session:
        manifest = await manifests.save_manifest(session, REPO, ScanResult(commit_sha="a" * 40, sources=sources))
        row_id = {row.path: str(row.id) for row in manifest.sources}
        legacy = document(1, manifest_id=manifest.id)
        legacy.pack.feature_areas[0].outcomes[0].scenarios[0].source_ids = [row_id["docs/api.md"], "docs/prd.md"]
        legacy.pack.feature_areas[0].outcomes[0].scenarios[1].source_ids = ["99999"]  # not a row of this manifest
        row = await packs.save_revision(session, legacy, repository=REPO)
        loaded = await packs.load_document(session, row)
        current = await packs.load_document(session, await packs.save_revision(
            session, document(2, manifest_id=manifest.id), repository=REPO))
    assert [s.source_ids for _, _, s in loaded.pack.scenarios()] == [["docs/api.md", "docs/prd.md"], ["99999"]]
    assert loaded.revision == legacy.revision
    assert current == document(2, manifest_id=manifest.id)  # path ids are kept as they are


async def test_a_run_stores_one_revision_a_retry_replaces_it_and_numbers_after_the_others(database):
    async with database.session() as session:
        run = Run(installation_id=1, repository=REPO, issue_number=1, action="generate", requester="ana")
        session.add(run)
        await session.flush()
        await packs.save_revision(session, document(1), repository=REPO)  # another run's revision 1
        await packs.save_revision(session, document(2), repository=REPO, run_id=run.id)
        # the retry: the run's own revision is not the one it updates, and its row is replaced
        previous = await packs.latest_revision(session, REPO, excluding_run=run.id)
        assert previous.revision == 1
        retried = await packs.save_revision(session, document(2, count=3), repository=REPO, run_id=run.id)
    async with database.session() as session:
        latest = await packs.latest_revision(session, REPO)
        assert (latest.id, latest.revision, await packs.next_number(session, REPO)) == (retried.id, 2, 3)
        assert packs.document_of(latest).pack.scenario_ids() == ["SC-001", "SC-002", "SC-003"]
