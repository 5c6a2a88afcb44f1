"""Manifests in a real SQLite database: hash, selection edits, confirmation, the gate; and their rendering."""
from __future__ import annotations

import hashlib
import json
import re

import pytest
from sqlalchemy import inspect

from bot.domain.sources import Reason, Source
from bot.sources.render import COMMENT_LIMIT, MARKER, render_markdown
from bot.sources.scan import scan
from storage import manifests
from storage.manifests import SelectionError

REPO = "octo/shop"
WEB = "https://ghe.example.com"


@pytest.fixture(scope="module")
def shop_scan(shop_repo):
    return scan(shop_repo.path)


async def test_migration_creates_the_manifest_tables(database):
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {"manifests", "manifest_sources", "manifest_confirmations"} <= tables


def test_hash_is_stable_and_follows_the_canonical_rule(shop_repo, shop_scan):
    assert scan(shop_repo.path).manifest_hash == shop_scan.manifest_hash
    rows = sorted([s.path, s.blob_sha, s.status, s.selected] for s in shop_scan.sources)
    expected = hashlib.sha256(json.dumps(rows, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert shop_scan.manifest_hash == expected


def test_hash_changes_with_content(shop_repo, new_repo):
    repo = new_repo()
    repo.write("docs/spec.md", "# Spec\n")
    repo.commit("one", "2025-01-01T00:00:00+00:00")
    before = scan(repo.path).manifest_hash
    repo.write("docs/spec.md", "# Spec\n\nMore.\n")
    repo.commit("two", "2025-01-02T00:00:00+00:00")
    assert scan(repo.path).manifest_hash != before


async def test_saved_manifest_round_trips(database, shop_scan):
    async with database.session() as session:
        saved = await manifests.save_manifest(session, REPO, shop_scan)
    async with database.session() as session:
        latest = await manifests.latest_manifest(session, REPO)
        assert latest is not None and latest.id == saved.id
        assert latest.manifest_hash == shop_scan.manifest_hash == manifests.manifest_hash(manifests.sources_of(latest))
        assert manifests.sources_of(latest) == shop_scan.sources
        assert await manifests.latest_manifest(session, "octo/other") is None


async def test_selection_edit_creates_a_child_with_a_new_hash(database, shop_scan):
    async with database.session() as session:
        root = await manifests.save_manifest(session, REPO, shop_scan)
        child = await manifests.edit_selection(session, root, include=["docs/adr/*"], exclude=["docs/api-guide.md"])
    async with database.session() as session:
        latest = await manifests.latest_manifest(session, REPO)
    assert latest.id == child.id and child.parent_id == root.id
    assert child.manifest_hash != root.manifest_hash
    selected = {s.path for s in manifests.sources_of(latest) if s.selected}
    assert "docs/adr/0001-use-sqlite.md" in selected and "docs/api-guide.md" not in selected
    assert {s.path for s in manifests.sources_of(root) if s.selected} == {s.path for s in shop_scan.sources if s.selected}
    ids = manifests.selected_source_ids(child)
    assert len(ids) == sum(s.selected for s in manifests.sources_of(child))
    assert not set(ids) & {row.id for row in root.sources}


async def test_selection_errors(database, shop_scan):
    async with database.session() as session:
        root = await manifests.save_manifest(session, REPO, shop_scan)
        with pytest.raises(SelectionError, match="no source matches 'docs/nothing.md'"):
            await manifests.edit_selection(session, root, exclude=["docs/nothing.md"])
        with pytest.raises(SelectionError, match="only excluded sources: docs/big.md"):
            await manifests.edit_selection(session, root, include=["docs/big.md"])


async def test_gate_blocks_until_confirmed_and_confirmation_does_not_carry_over(database, shop_scan):
    async with database.session() as session:
        root = await manifests.save_manifest(session, REPO, shop_scan)
        pending = await manifests.pending_confirmation(session, root)
        # docs/prd.md is stale by drift since issue 10 (its module is gone), so not selected
        assert {s.path for s in pending} == {"docs/api-guide.md", "docs/invoices-spec.md", "docs/orders-howto.md"}
        assert await manifests.is_confirmed(session, root) is None
        confirmation = await manifests.confirm(session, root, "ann")
        assert (confirmation.confirmed_by, confirmation.manifest_hash) == ("ann", root.manifest_hash)
        assert await manifests.pending_confirmation(session, root) == []
        # a rescan with the same content has the same hash: still confirmed
        same = await manifests.save_manifest(session, REPO, shop_scan)
        assert (await manifests.is_confirmed(session, same)).confirmed_by == "ann"
        # any selection change is a new hash: the confirmation does not carry over
        child = await manifests.edit_selection(session, root, include=["docs/architecture.md"])
        assert await manifests.is_confirmed(session, child) is None
        assert "docs/architecture.md" in {s.path for s in await manifests.pending_confirmation(session, child)}
        # the same hash in another repository is not confirmed either
        other = await manifests.save_manifest(session, "octo/other", shop_scan)
        assert await manifests.is_confirmed(session, other) is None


async def test_nothing_to_confirm_when_only_trusted_sources_are_selected(database, shop_scan):
    async with database.session() as session:
        root = await manifests.save_manifest(session, REPO, shop_scan)
        clean = await manifests.edit_selection(
            session, root, exclude=["docs/api-guide.md", "docs/orders-howto.md", "docs/prd.md", "docs/invoices-spec.md"]
        )
        assert manifests.needs_confirmation(clean) == []
        assert await manifests.pending_confirmation(session, clean) == []


async def test_a_source_marked_for_reconfirmation_needs_a_confirmation_newer_than_the_mark(database, shop_scan):
    async with database.session() as session:
        root = await manifests.save_manifest(session, REPO, shop_scan)
        clean = await manifests.edit_selection(
            session, root, exclude=["docs/api-guide.md", "docs/orders-howto.md", "docs/prd.md", "docs/invoices-spec.md"]
        )
        trusted = next(s.path for s in manifests.sources_of(clean) if s.selected)
        await manifests.confirm(session, clean, "ann")  # confirmed before the mark: does not cover it
        assert await manifests.mark_for_reconfirmation(session, clean, [trusted, "not/a/source.md"],
                                                       "documentation PR #7 rewrites it") == [trusted]
        assert [s.path for s in manifests.needs_confirmation(clean)] == [trusted]
        assert [s.path for s in await manifests.pending_confirmation(session, clean)] == [trusted]
        child = await manifests.edit_selection(session, clean, include=[trusted])  # the mark outlives an edit
        assert [s.path for s in await manifests.pending_confirmation(session, child)] == [trusted]
        await manifests.confirm(session, clean, "bob")
        assert await manifests.pending_confirmation(session, clean) == []


async def test_a_later_scan_carries_a_mark_while_the_document_is_unchanged(database, shop_scan):
    """Issue 13: a new commit that leaves a marked document as it was (same blob SHA) is asked about again."""
    trusted = next(s for s in shop_scan.sources if s.selected and s.status == "trusted")
    later = shop_scan.model_copy(update={"commit_sha": "b" * 40})  # a new commit touching no document
    edited = later.model_copy(update={"sources": [s.model_copy(update={"blob_sha": "e" * 40}) if s == trusted else s
                                                  for s in later.sources]})
    reason = "documentation PR #7 (run 3) rewrites it to match the code"
    async with database.session() as session:
        root = await manifests.save_manifest(session, REPO, shop_scan)
        await manifests.confirm(session, root, "ann")  # before the mark: does not cover it
        await manifests.mark_for_reconfirmation(session, root, [trusted.path], reason)
        again = await manifests.save_manifest(session, REPO, later)
        assert manifests.marks_of(again) == {trusted.path: reason}
        assert trusted.path in {s.path for s in await manifests.pending_confirmation(session, again)}
        changed = await manifests.save_manifest(session, REPO, edited)  # the document changed: the scan judges it
        assert manifests.marks_of(changed) == {}
        assert trusted.path not in {s.path for s in await manifests.pending_confirmation(session, changed)}
        assert manifests.marks_of(await manifests.save_manifest(session, "octo/other", later)) == {}
        await manifests.confirm(session, again, "bob")  # after the mark: satisfies it, in later scans too
        assert await manifests.pending_confirmation(session, again) == []
        assert manifests.marks_of(await manifests.save_manifest(session, REPO, later)) == {}


async def test_a_manifest_reused_for_its_commit_takes_up_a_mark_set_since_on_a_later_one(database, shop_scan):
    """A commit scanned before the documentation PR was opened keeps its manifest; reusing it, the gate
    must still see the mark a later manifest got for the same document (same blob SHA)."""
    trusted = next(s for s in shop_scan.sources if s.selected and s.status == "trusted")
    later = shop_scan.model_copy(update={"commit_sha": "b" * 40})
    reason = "documentation PR #7 (run 3) rewrites it to match the code"
    async with database.session() as session:
        earlier = await manifests.save_manifest(session, REPO, shop_scan)
        newer = await manifests.save_manifest(session, REPO, later)
        await manifests.mark_for_reconfirmation(session, newer, [trusted.path], reason)
        assert manifests.marks_of(earlier) == {}
        await manifests.carry_marks(session, earlier)
        assert manifests.marks_of(earlier) == {trusted.path: reason}
        assert trusted.path in {s.path for s in await manifests.pending_confirmation(session, earlier)}
        await manifests.mark_for_reconfirmation(session, earlier, [trusted.path], "its own, newer mark")
        await manifests.carry_marks(session, earlier)  # an older mark elsewhere does not replace it
        assert manifests.marks_of(earlier) == {trusted.path: "its own, newer mark"}


async def test_empty_repository_cannot_be_saved(database, new_repo):
    empty = scan(new_repo().path)
    async with database.session() as session:
        with pytest.raises(ValueError, match="empty repository"):
            await manifests.save_manifest(session, REPO, empty)


def test_markdown_comment(shop_scan):
    sha = shop_scan.commit_sha
    pending = [s for s in shop_scan.sources if s.selected and s.status in ("stale", "suspect")]
    body = render_markdown(REPO, sha, shop_scan.manifest_hash, shop_scan.sources, html_base="http://127.0.0.1:1",
                           needs_confirmation=pending)
    assert body.startswith(MARKER + "\n")
    assert (f"| 🔴 | [docs/adr/0001-use-sqlite.md](http://127.0.0.1:1/{REPO}/blob/{sha}/docs/adr/0001-use-sqlite.md) "
            "| adr | stale | 0.40 | Declares itself superseded, succeeded by ADR 2. (line 5: Status section: "
            "Superseded by ADR 2; successor: ADR 2) | ☐ |") in body
    assert "| 🟢 | [docs/orders-spec.md]" in body and "| spec | trusted | 1.00 |  | ☑ |" in body  # no reason needed
    assert body.count("☑") == 6 and body.count("☐") == 8
    assert "**14 sources: 3 trusted, 3 suspect, 3 stale, 5 excluded; 6 selected**" in body
    assert f"Manifest hash: `{shop_scan.manifest_hash}`" in body
    # the comment leads with what needs a look, before the table
    look = body.index("- `docs/api-guide.md` (suspect): Another document gives POST /api/orders")
    assert body.index("need a look before generation") < look < body.index("| | path |")
    assert "/scenarioforge confirm" in body
    confirmed = render_markdown(REPO, sha, shop_scan.manifest_hash, shop_scan.sources, html_base=WEB, needs_confirmation=pending,
                                confirmed_by="ann")
    assert "Confirmed by @ann" in confirmed and "/scenarioforge confirm" not in confirmed
    noted = render_markdown(REPO, sha, "h", [], html_base=WEB, notes=[Reason(code="config-invalid", severity="info",
                            message="Invalid config.", evidence=["line one\nline two"])])
    assert "> Invalid config. line one\n> line two" in noted and "**0 sources: none; 0 selected**" in noted


def test_markdown_comment_says_why_a_marked_source_needs_a_look(shop_scan):
    spec = next(s for s in shop_scan.sources if s.path == "docs/orders-spec.md")  # trusted and selected
    stale = next(s for s in shop_scan.sources if s.status == "stale")
    body = render_markdown(REPO, shop_scan.commit_sha, shop_scan.manifest_hash, shop_scan.sources, html_base=WEB,
                           needs_confirmation=[spec, stale], marks={spec.path: "documentation PR #7 rewrites it",
                                                                     stale.path: "documentation PR #8 rewrites it"})
    assert "These selected sources are stale, suspect or marked for re-confirmation and need a look" in body
    assert "\n- `docs/orders-spec.md` (trusted): marked for re-confirmation: documentation PR #7 rewrites it\n" in body
    assert (f"\n- `{stale.path}` (stale): marked for re-confirmation: documentation PR #8 rewrites it; "
            f"{stale.strongest_reason().message}") in body


def _many(n):
    reason = Reason(code="missing-path", severity="warn", penalty=0.15, message="References 1 file path(s) that do not "
                    "exist at this commit.", evidence=["src/" + "deep/" * 30 + "gone.py"])
    return [Source(path=f"docs/area-{i:03d}/" + "nested/" * 8 + f"spec-{i:03d}.md", blob_sha=f"{i:040x}", size=100,
                   type="spec", status="suspect" if i % 4 == 0 else "trusted", score=0.85 if i % 4 == 0 else 1.0,
                   reasons=[reason] if i % 4 == 0 else [], selected=True) for i in range(n)]


def test_markdown_comment_of_400_sources_stays_under_githubs_limit():
    sources = _many(400)
    pending = [s for s in sources if s.status == "suspect"]
    body = render_markdown(REPO, "a" * 40, "h" * 64, sources, html_base=WEB, needs_confirmation=pending)
    assert len(body) <= COMMENT_LIMIT < 65_536
    assert "**400 sources: 300 trusted, 100 suspect; 400 selected**" in body and f"Manifest hash: `{'h' * 64}`" in body
    shown = body.count("| 🟢 |") + body.count("| 🟡 |")
    more = re.search(r"_… and (\d+) more sources", body)
    assert more and shown + int(more.group(1)) == 400
    assert f"spec-{shown - 1:03d}.md" in body.split("_… and")[0] and f"spec-{shown:03d}.md]" not in body  # top rows
    assert body.count("\n- `docs/area-") == 100  # every source needing a look is listed
    assert "/scenarioforge confirm" in body
    everything = [s.model_copy(update={"status": "suspect", "reasons": pending[0].reasons}) for s in sources]
    crowded = render_markdown(REPO, "a" * 40, "h" * 64, everything, html_base=WEB, needs_confirmation=everything)
    listed = crowded.count("\n- `docs/area-")
    assert len(crowded) <= COMMENT_LIMIT and f"\n- … and {400 - listed} more\n" in crowded and 0 < listed < 400
    small = render_markdown(REPO, "a" * 40, "h" * 64, sources[:10], html_base=WEB)
    assert "more sources" not in small and small.count("| 🟢 |") + small.count("| 🟡 |") == 10
