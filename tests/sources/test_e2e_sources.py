"""``/scenarioforge sources`` and ``confirm`` over real webhooks (issue 3, "On GitHub" and "Tests").

The world's repository holds a superseded ADR (stale), a spec naming a route
the code does not serve (suspect), an accepted ADR and a fresh spec (trusted).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.github import messages
from bot.sources.render import MARKER
from storage.models import Manifest, ManifestConfirmation
from tests.support.repos import RepoBuilder
from tests.support.world import FLASK_APP, READER

CONFIG = ".github/scenarioforge.yml"
CONTENTS = "GET /repos/{owner}/{repo}/contents/{path}"
SPEC_OLD = "docs/spec-old.md"


def write_documents(repo: RepoBuilder) -> None:
    repo.write("app/main.py", FLASK_APP)
    repo.write("docs/adr/0001-use-sqlite.md", "# ADR 1: Use SQLite\n\n## Status\n\n"
               "Superseded by [ADR 2](0002-use-postgres.md)\n\n## Decision\n\nSQLite for items.\n")
    repo.write("docs/adr/0002-use-postgres.md", "# ADR 2: Use Postgres\n\n## Status\n\nAccepted\n\n"
               "## Decision\n\nPostgres for items, see `app/main.py`.\n")
    repo.write(SPEC_OLD, "# Items API, first draft\n\n- `GET /api/items/export` exports every item as CSV.\n")
    repo.write("docs/spec.md", "# Items API specification\n\n- `GET /api/items` lists items, served by "
               "`list_items` in [app/main.py](../app/main.py).\n")


def documents(repo: RepoBuilder) -> None:
    write_documents(repo)
    repo.commit("Items app and its documents", "2025-06-01T12:00:00+00:00")


def documents_with_invalid_config(repo: RepoBuilder) -> None:
    write_documents(repo)
    repo.write(CONFIG, "sources:\n  exclude: ['docs/**']\n  stale_days: 30\n")  # stale_days: not a key
    repo.commit("Items app, its documents and a config", "2025-06-01T12:00:00+00:00")


@pytest.fixture
def world_repo(request):
    return getattr(request, "param", documents)


async def manifests_of(world) -> list[Manifest]:
    async with world.database.session() as session:
        return list((await session.scalars(select(Manifest).order_by(Manifest.id))).all())


def manifest_comments(world, issue_number: int = 1) -> list[dict]:
    return [c for c in world.github.comments(world.repository, issue_number) if MARKER in c["body"]]


def row(body: str, path: str) -> str:
    (line,) = [line for line in body.splitlines() if f"[{path}]" in line]
    return line


async def test_sources_then_exclude_edit_the_one_manifest_comment(world):
    await world.comment("/scenarioforge sources")
    await world.settle()

    (run,) = await world.runs()
    assert (run.state, run.phase) == ("passed", "published")
    (first,) = await manifests_of(world)
    (comment,) = manifest_comments(world)
    sha = world.remote.sha()
    assert first.commit_sha == sha
    body = comment["body"]
    assert f"[{SPEC_OLD}](https://github.com/{world.repository}/blob/{sha}/{SPEC_OLD})" in body
    assert "| spec | suspect |" in row(body, SPEC_OLD) and "GET /api/items/export" in row(body, SPEC_OLD)
    assert row(body, SPEC_OLD).endswith("| ☑ |")
    assert "| adr | stale |" in row(body, "docs/adr/0001-use-sqlite.md") and "superseded" in body
    assert row(body, "docs/adr/0001-use-sqlite.md").endswith("| ☐ |")
    assert "**4 sources: 2 trusted, 1 suspect, 1 stale; 3 selected**" in body
    assert f"Manifest hash: `{first.manifest_hash}`" in body
    tracking = await world.tracking(run.id)
    assert tracking.rstrip().endswith(f"[manifest comment]({comment['html_url']}) · "
                                      f"manifest hash `{first.manifest_hash}`")
    assert "no `.github/scenarioforge.yml` in the repository or its org: defaults" in tracking

    await world.comment(f"/scenarioforge sources --exclude {SPEC_OLD}")
    await world.settle()

    first_again, child = await manifests_of(world)
    (edited,) = manifest_comments(world)
    assert edited["id"] == comment["id"]
    assert (child.parent_id, child.commit_sha) == (first.id, sha)
    assert child.manifest_hash != first.manifest_hash
    assert row(edited["body"], SPEC_OLD).endswith("| ☐ |")
    assert "2 selected**" in edited["body"] and f"Manifest hash: `{child.manifest_hash}`" in edited["body"]
    assert f"manifest {first.id} of `{sha[:12]}` reused" in await world.tracking((await world.runs())[1].id)


async def test_a_glob_that_matches_nothing_fails_the_run_quoting_it(world):
    await world.comment("/scenarioforge sources --include 'docs/nope*.md'")
    await world.settle()

    (run,) = await world.runs()
    assert (run.state, run.phase, run.error["type"]) == ("failed", "selection", "SelectionError")
    assert "no source matches 'docs/nope*.md'" in await world.tracking(run.id)
    assert manifest_comments(world) == []


async def test_confirm_from_a_read_only_user_is_refused(world):
    await world.comment("/scenarioforge sources")
    await world.settle()
    await world.comment("/scenarioforge confirm", user=READER)
    await world.settle()

    refusals = [body for body in world.comments() if body.startswith(f"@{READER}")]
    assert len(refusals) == 1 and "Nothing was run" in refusals[0]
    assert [run.action for run in await world.runs()] == ["sources"]
    async with world.database.session() as session:
        assert (await session.scalars(select(ManifestConfirmation))).all() == []


async def test_confirm_records_the_manifest_hash_and_updates_the_manifest_comment(world):
    await world.comment("/scenarioforge sources")
    await world.settle()
    await world.comment("/scenarioforge confirm")
    await world.settle()
    await world.comment("/scenarioforge confirm")
    await world.settle()

    (manifest,) = await manifests_of(world)
    async with world.database.session() as session:
        (confirmation,) = (await session.scalars(select(ManifestConfirmation))).all()
    assert (confirmation.manifest_id, confirmation.manifest_hash) == (manifest.id, manifest.manifest_hash)
    first, second = [run for run in await world.runs() if run.action == "confirm"]
    assert (first.state, second.state) == ("passed", "passed")
    assert f"confirmed manifest hash `{manifest.manifest_hash[:12]}` with `{SPEC_OLD}` (suspect)" \
        in await world.tracking(first.id)
    assert "was already confirmed by @writer-login" in await world.tracking(second.id)
    (comment,) = manifest_comments(world)
    assert "Confirmed by @writer-login for this manifest hash." in comment["body"]


async def test_confirm_without_a_manifest_says_there_is_nothing_to_confirm(world):
    await world.comment("/scenarioforge confirm")
    await world.settle()

    (run,) = await world.runs()
    assert run.state == "passed"
    tracking = await world.tracking(run.id)
    assert f"nothing to confirm: no manifest of `{world.remote.sha()[:12]}` yet" in tracking
    assert "no run here was waiting for a confirmation" in tracking


@pytest.mark.parametrize("world_repo", [documents_with_invalid_config], indirect=True)
async def test_an_invalid_config_on_the_default_branch_is_shown_and_defaults_used(world):
    await world.comment("/scenarioforge sources")
    await world.settle()

    (run,) = await world.runs()
    assert run.state == "passed"
    tracking = await world.tracking(run.id)
    assert "❌ **config** — a config file is invalid and left out; the defaults and the valid files are used" in tracking
    assert "sources.stale_days\n    Extra inputs are not permitted" in tracking
    (manifest,) = await manifests_of(world)
    assert SPEC_OLD in {source.path for source in manifest.sources}  # the file's exclude was not applied
    assert [note["code"] for note in manifest.notes] == ["config-invalid", "discovery"]
    (comment,) = manifest_comments(world)
    assert "The repository config is invalid; defaults are used." in comment["body"]


async def test_a_config_only_on_the_pull_request_head_is_not_used(world):
    pull = world.open_pull(5, {CONFIG: "sources:\n  exclude: ['docs/**']\n"})
    await world.comment("/scenarioforge sources", on_pr=True, issue_number=5)
    await world.settle()

    (run,) = await world.runs()
    assert (run.state, run.head_sha) == ("passed", pull["head"]["sha"])
    (manifest,) = await manifests_of(world)
    assert manifest.commit_sha == pull["head"]["sha"]
    assert SPEC_OLD in {source.path for source in manifest.sources}
    assert "no `.github/scenarioforge.yml` in the repository or its org: defaults" in await world.tracking(run.id)
    org, read = world.github.calls(CONTENTS)  # the org's .github repository, then the repository; no ref
    owner = world.repository.split("/")[0]
    assert (org.path, org.query, org.status) == (f"/repos/{owner}/.github/contents/{CONFIG}", {}, 404)
    assert (read.path, read.query) == (f"/repos/{world.repository}/contents/{CONFIG}", {})
    (comment,) = manifest_comments(world, 5)
    assert f"/blob/{pull['head']['sha']}/" in comment["body"]
    assert messages.marker(run.id) not in comment["body"]


TRUSTED = ("docs/spec.md", "docs/adr/0002-use-postgres.md")


async def test_sources_reports_the_scan_findings_of_the_manifest_it_shows(world):
    await world.comment("/scenarioforge sources " + " ".join(f"--exclude {path}" for path in TRUSTED))
    await world.settle()

    (run,) = await world.runs()
    assert (run.state, run.policy_key) == ("passed", "default@1") and run.policy_effective_hash
    [event] = [e for e in await world.events(run.id) if e.phase == "findings:scan"]
    assert [(f["code"], f["scope"], f["severity"]) for f in event.payload["findings"]] == [
        ("scan.area-without-trusted-source", "docs", "warning")]
    assert "no selected source of `docs` is trusted (suspect)" in await world.tracking(run.id)


async def test_a_block_rule_on_a_scan_finding_fails_sources_after_showing_the_manifest(world):
    world.remote.commit({CONFIG: "policy:\n  rules:\n    scan.area-without-trusted-source: block\n"})
    await world.comment("/scenarioforge sources " + " ".join(f"--exclude {path}" for path in TRUSTED))
    await world.settle()

    (run,) = await world.runs()
    assert (run.state, run.error["type"]) == ("failed", "PolicyBlocked")
    assert run.error["message"] == ("stopped by policy `default@1` at scan: [scan.area-without-trusted-source] "
                                    "no selected source of `docs` is trusted (suspect)")
    (comment,) = manifest_comments(world)  # the manifest is still shown
    assert "1 selected**" in comment["body"]
