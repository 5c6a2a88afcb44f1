"""The scanner on real git repositories with dated history (issue 3 fixtures), and ``scenarioforge scan``."""
from __future__ import annotations

import json
import os

import pytest

from bot.cli import main
from bot.errors import GitError
from bot.sources.scan import scan, scan_checkout
from config.repo import load_repo_config
from tests.sources.verdicts import by_path, codes
from tests.support.repos import Commit


@pytest.fixture(scope="module")
def shop(shop_repo):
    result = scan(shop_repo.path)
    return result, {s.path: s for s in result.sources}


def test_prd_referencing_a_removed_module_is_stale_by_drift(shop):
    # issue 10: the module existed in the history and is gone (drift, stale); the PRD is not compared with
    # docs/conf.py or "the code overall" any more (that "lagging" reason was a false positive)
    prd = shop[1]["docs/prd.md"]
    assert (prd.type, prd.status, prd.selected) == ("prd", "stale", False)
    assert codes(prd) == {"drift-path", "drift-symbol"}
    by_code = {r.code: r for r in prd.reasons}
    assert by_code["drift-path"].evidence[0].startswith("`src/legacy/payments.py` (docs/prd.md line 3) was removed in ")
    assert by_code["drift-symbol"].evidence == ["`charge_card` (docs/prd.md line 3)"]
    assert prd.score == pytest.approx(0.65)


def test_superseded_adr_is_stale_and_not_selected(shop):
    adr = shop[1]["docs/adr/0001-use-sqlite.md"]
    assert (adr.type, adr.status, adr.selected) == ("adr", "stale", False)
    superseded = next(r for r in adr.reasons if r.code == "lifecycle-superseded")
    assert superseded.severity == "stale"
    assert superseded.evidence == ["line 5: Status section: Superseded by ADR 2", "successor: ADR 2"]
    accepted = shop[1]["docs/adr/0002-use-postgres.md"]
    assert (accepted.status, codes(accepted)) == ("trusted", {"lifecycle-in-force"})


def test_doc_older_than_the_code_it_references_is_stale(shop):
    arch = shop[1]["docs/architecture.md"]
    assert (arch.type, arch.status) == ("architecture", "stale")
    assert codes(arch) == {"outdated"}
    assert arch.reasons[0].evidence[1].startswith("app/orders.py changed 2025-06-01 in ")


def test_spec_naming_a_route_the_code_no_longer_serves(shop):
    spec = shop[1]["docs/invoices-spec.md"]
    assert (spec.type, spec.status) == ("spec", "suspect")
    assert [(r.code, r.evidence) for r in spec.reasons] == [("missing-route", ["GET /api/legacy/invoices/{id}"])]


def test_two_docs_contradicting_each_other_on_one_route(shop):
    guide, howto = shop[1]["docs/api-guide.md"], shop[1]["docs/orders-howto.md"]
    for doc, mine, other in ((guide, "201", "200"), (howto, "200", "201")):
        assert doc.status == "suspect"
        route = next(r for r in doc.reasons if r.code == "contradiction-route")
        assert route.evidence[0].endswith(f"POST /api/orders → {mine}")
        assert route.evidence[1].endswith(f"POST /api/orders → {other}")
        assert {"contradiction-route", "contradiction-setting"} == codes(doc)
    assert "docs/orders-howto.md line 5: PAGE_SIZE = 20" in next(  # line 5 of the file
        r for r in guide.reasons if r.code == "contradiction-setting").evidence


def test_fresh_consistent_spec_and_readme_are_trusted(shop):
    spec, readme = shop[1]["docs/orders-spec.md"], shop[1]["README.md"]
    assert (spec.type, spec.status, spec.score, spec.reasons, spec.selected) == ("spec", "trusted", 1.0, [], True)
    assert (readme.type, readme.status) == ("readme", "trusted")


@pytest.mark.parametrize(
    "path, code, evidence",
    [
        ("docs/requirements.pdf", "binary", "NUL byte at offset 22"),
        ("docs/big.md", "oversized", f"{5 * 1024 * 1024 + 7} bytes"),
        ("docs/latin1.md", "not-utf8", "byte 0xe9 at offset 5"),
        ("docs/passwd.md", "symlink-outside", "docs/passwd.md → /etc/passwd"),
    ],
)
def test_unreadable_files_are_excluded_with_the_reason(shop, path, code, evidence):
    source = shop[1][path]
    assert (source.status, source.score, source.selected) == ("excluded", 0.0, False)
    assert [(r.code, r.evidence) for r in source.reasons] == [(code, [evidence])]


def test_submodule_is_excluded_not_entered(shop):
    theme = shop[1]["docs/theme"]
    assert (theme.status, codes(theme)) == ("excluded", {"submodule"})


def test_inventory_baseline(shop):
    inventory = shop[0].inventory
    assert inventory.languages == {"Python": 3}
    assert [(r.method, r.path) for r in inventory.routes] == [("GET", "/api/orders"), ("POST", "/api/orders")]


def test_scan_reads_git_objects_not_the_working_tree(shop_repo, shop):
    (shop_repo.path / "docs" / "orders-spec.md").write_text("status: withdrawn\n")
    try:
        again = scan(shop_repo.path)
    finally:
        shop_repo.git("checkout", "--", "docs/orders-spec.md")
    assert again.model_dump() == shop[0].model_dump()


def test_older_ref_is_scanned_as_it_was(shop_repo):
    first = shop_repo.git("rev-list", "--max-parents=0", "HEAD")
    result = scan(shop_repo.path, first)
    assert result.commit_sha == first
    assert [s.path for s in result.sources] == ["docs/adr/0001-use-sqlite.md", "docs/architecture.md", "docs/prd.md"]
    assert {s.path: s.status for s in result.sources}["docs/prd.md"] == "trusted"


def test_shallow_clone_degrades_recency_with_a_reason(shop_repo, tmp_path):
    result = scan(shop_repo.clone(tmp_path / "shallow", depth=1).path)
    assert result.shallow and [n.code for n in result.notes] == ["shallow-clone", "discovery"]
    prd = next(s for s in result.sources if s.path == "docs/prd.md")
    assert codes(prd) == {"unresolved", "recency-unavailable"}  # one commit of history: drift cannot be told
    arch = next(s for s in result.sources if s.path == "docs/architecture.md")
    assert (arch.status, codes(arch)) == ("trusted", {"recency-unavailable"})


def test_empty_repository_gives_an_empty_result_with_a_note(new_repo):
    repo = new_repo()
    result = scan(repo.path)
    assert (result.commit_sha, result.sources) == (None, [])
    assert [n.code for n in result.notes] == ["empty-repository"]


def test_not_a_repository_and_bad_ref_raise_git_errors(tmp_path, shop_repo):
    with pytest.raises(GitError, match="not a git repository"):
        scan(tmp_path)
    with pytest.raises(GitError, match="no such commit"):
        scan(shop_repo.path, "no-such-branch")


def test_config_overrides_and_errors(new_repo):
    repo = new_repo().history(
        Commit("one", "2024-01-01T00:00:00+00:00", {
            "app/main.py": "def run():\n    pass\n",
            "docs/architecture.md": "# Architecture\n\nSee [main](../app/main.py).\n",
            "docs/private/notes.md": "# Notes\n",
        }),
        Commit("two", "2025-06-01T00:00:00+00:00", {
            "app/main.py": "def run():\n    return 1\n",
            "notes/meeting.md": "We talked.\n",
            "notes/long.md": "# Long\n\n" + "words " * 400,  # 2.4 KB: over max_file_kb 2
            "node_modules/left-pad/README.md": "# left-pad\n",  # vendored: excluded whatever exclude says
            ".github/scenarioforge.yml": "sources:\n  exclude: ['docs/private/**']\n  include: ['notes/*.md']\n"
                                         "  max_file_kb: 2\n  types:\n    architecture: {stale_after_days: 1000}\n",
        }),
    )
    result = scan_checkout(repo.path)
    assert {s.path: (s.type, s.status) for s in result.sources} == {
        "docs/architecture.md": ("architecture", "trusted"), "notes/meeting.md": ("other", "trusted"),
        "notes/long.md": ("other", "excluded")}
    long = next(s for s in result.sources if s.path == "notes/long.md")
    assert [(r.code, r.message) for r in long.reasons] == [("oversized", "Larger than max_file_kb (2 KiB).")]
    assert [n.code for n in result.notes] == ["discovery"]
    config, error = load_repo_config("sources:\n  colour: blue\n")
    broken = scan(repo.path, config=config, config_error=error)
    assert [n.code for n in broken.notes] == ["config-invalid", "discovery"]
    assert "colour" in broken.notes[0].evidence[0]
    assert {s.path: s.status for s in broken.sources}["docs/architecture.md"] == "stale"


def test_cli_prints_a_table(shop_repo, capsys):
    assert main(["scan", str(shop_repo.path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["STATUS", "SCORE", "TYPE", "SEL", "PATH", "STRONGEST", "REASON"]
    assert "stale     0.40   adr           -    docs/adr/0001-use-sqlite.md" in out
    assert "14 sources: 3 trusted, 3 suspect, 3 stale, 5 excluded; 6 selected" in out


def test_cli_takes_the_checkout_as_repo_too_but_only_once(shop_repo, capsys):
    assert main(["scan", "--repo", str(shop_repo.path)]) == 0
    assert "14 sources: 3 trusted, 3 suspect, 3 stale, 5 excluded; 6 selected" in capsys.readouterr().out
    for argv in (["scan"], ["scan", str(shop_repo.path), "--repo", str(shop_repo.path)]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2 and "give the checkout once, as PATH or as --repo PATH" in capsys.readouterr().err


def test_cli_json_has_the_manifest_fields(shop_repo, shop, capsys):
    assert main(["scan", str(shop_repo.path), "--json", "--ref", "main"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["manifest_hash"] == shop[0].manifest_hash
    assert data["commit_sha"] == shop[0].commit_sha
    assert set(data["sources"][0]) == {"path", "blob_sha", "size", "type", "status", "score", "reasons", "selected"}


def test_cli_errors_are_clear_and_non_zero(tmp_path, shop_repo, capsys):
    assert main(["scan", str(tmp_path)]) == 2
    assert "not a git repository" in capsys.readouterr().err
    assert main(["scan", str(shop_repo.path), "--ref", "nope"]) == 2
    assert capsys.readouterr().err == "scenarioforge scan: unknown revision 'nope': no such commit\n"


def test_paths_relative_to_the_document_and_changelogs_are_not_drift(new_repo):
    repo = new_repo().history(Commit("one", "2025-01-01T00:00:00+00:00", {
        "plugins/build/share/defs/3.12": "x\n",
        "plugins/build/README.md": "# Build\n\nDefinitions live in `share/defs/`.\n",
        "CHANGELOG.md": "# Changelog\n\n- Removed `src/old.py` and `old_helper()`.\n",
    }))
    result = by_path(repo.path)
    assert (result["plugins/build/README.md"].status, result["plugins/build/README.md"].reasons) == ("trusted", [])
    assert (result["CHANGELOG.md"].type, result["CHANGELOG.md"].status) == ("changelog", "trusted")


def test_file_names_that_are_not_utf8_or_have_spaces(new_repo):
    repo = new_repo().history(Commit("one", "2025-01-01T00:00:00+00:00", {
        os.fsdecode(b"docs/caf\xe9 notes.md"): "# Notes\n",
        "app/main.py": "def run():\n    pass\n",
    }))
    result = scan(repo.path)
    assert [s.path for s in result.sources] == ["docs/caf\ufffd notes.md"]
    assert json.loads(result.model_dump_json())["sources"][0]["status"] == "trusted"


def test_a_folder_link_compares_with_current_code_only_and_warnings_alone_are_not_stale(new_repo):
    repo = new_repo().history(
        Commit("one", "2024-01-01T00:00:00+00:00", {
            "app/main.py": "def run():\n    pass\n",
            "app/old.py": "def old():\n    pass\n",
            "docs/guide.md": "# Guide\n\nThe code is in [app](../app/).\n",
        }),
        # deleted code and a document under the folder change later
        Commit("two", "2025-06-01T00:00:00+00:00", {
            "app/NOTES.md": "# Notes\n",
            "docs/busy.md": "# Busy\n\n`GET /a`, `GET /b`, `GET /c`; `x_one`, `x_two`, `x_three`, `x_four`; "
                            "`lib/a.py`, `lib/b.py`, `lib/c.py` and `app/main.py`, `app/`, `web.py`, "
                            "`docs/guide.md`.\n",
            "web.py": "@app.get('/z')\ndef z(): ...\n",
        }, removed=["app/old.py"]),
    )
    result = by_path(repo.path)
    assert (result["docs/guide.md"].status, result["docs/guide.md"].reasons) == ("trusted", [])
    busy = result["docs/busy.md"]
    # the lib/ paths and x_* names never existed in the history: unresolved, not drift (issue 10)
    assert (busy.status, busy.score, busy.selected) == ("suspect", 0.5, True)
    assert codes(busy) == {"unresolved", "missing-route"}


def test_a_superseded_document_does_not_make_the_current_one_suspect(new_repo):
    repo = new_repo().history(Commit("one", "2025-01-01T00:00:00+00:00", {
        "docs/adr/0001-limits.md": "# ADR 1: Limits\n\n## Status\n\nSuperseded by [ADR 2](0002-limits.md)\n\n"
                                   "PAGE_SIZE = 50\n\n`POST /api/orders` returns 200.\n",
        "docs/adr/0002-limits.md": "# ADR 2: Limits\n\n## Status\n\nAccepted\n\n"
                                   "PAGE_SIZE = 20\n\n`POST /api/orders` returns 201.\n",
    }))
    result = by_path(repo.path)
    assert (result["docs/adr/0002-limits.md"].status, codes(result["docs/adr/0002-limits.md"])) == (
        "trusted", {"lifecycle-in-force"})
    assert (result["docs/adr/0001-limits.md"].status, codes(result["docs/adr/0001-limits.md"])) == (
        "stale", {"lifecycle-superseded"})


def test_absent_paths_the_commits_gitignore_ignores_are_not_drift(new_repo):
    repo = new_repo().history(Commit("one", "2025-01-01T00:00:00+00:00", {
        ".gitignore": "*.db\n/workdir/\n",
        "app/.gitignore": "generated/\n",
        "app/main.py": "def run():\n    pass\n",
        "README.md": "# App\n\nData in `app.db`, `workdir/`, `app/generated/api.py`; see `app/main.py`, "
                     "`build/out.js` and `app/gone.py`.\n",
    }))
    (repo.path / ".gitignore").write_text("*.js\n")  # the working tree does not matter, the commit does
    readme = next(s for s in scan(repo.path).sources if s.path == "README.md")
    # the ignored ones are not even listed; the others never existed in the history: unresolved, no penalty
    assert [(r.code, r.evidence) for r in readme.reasons] == [("unresolved", ["build/out.js", "app/gone.py"])]


def test_symlinks_escaping_by_a_relative_path_are_excluded_and_links_to_non_documents_not_listed(new_repo):
    repo = new_repo()
    repo.symlink("docs/escape.md", "../../etc/passwd")
    repo.symlink("GUIDE.md", "docs/guide.md")
    repo.symlink("app.yml", "config/app.yml")  # a link to a config file, not a document
    repo.history(Commit("one", "2025-01-01T00:00:00+00:00", {
        "docs/guide.md": "# Guide\n", "config/app.yml": "name: x\n"}))
    result = by_path(repo.path)
    assert {path: (s.status, codes(s)) for path, s in result.items()} == {
        "docs/guide.md": ("trusted", set()), "docs/escape.md": ("excluded", {"symlink-outside"}),
        "GUIDE.md": ("excluded", {"symlink"})}
    assert result["docs/escape.md"].reasons[0].evidence == ["docs/escape.md → ../../etc/passwd"]


def test_cli_over_a_shallow_clone_and_an_empty_repository(shop_repo, new_repo, tmp_path, capsys):
    clone = shop_repo.clone(tmp_path / "shallow", depth=1).path
    assert main(["scan", str(clone)]) == 0
    out = capsys.readouterr().out
    assert "note: Shallow clone: recency is not judged. 1 commit(s) of history available" in out
    assert "trusted   1.00   architecture  x    docs/architecture.md" in out
    empty = new_repo("empty")
    assert main(["scan", str(empty.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["commit_sha"], data["sources"], [n["code"] for n in data["notes"]]) == (None, [], ["empty-repository"])
    assert main(["scan", str(empty.path)]) == 0
    out = capsys.readouterr().out
    assert "commit: (none)\n0 sources: none; 0 selected" in out and "note: The repository has no commits yet." in out
