"""Drift grounded in the history, recency against the code a document talks about, and the warm rescan (issue 10)."""
from __future__ import annotations

import pytest

from bot.sources import history as history_module
from bot.sources import scan as scan_module
from bot.sources.cache import ScanCache
from bot.sources.scan import scan


def by_path(path, cache=None):
    return {s.path: s for s in scan(path, cache=cache).sources}


def codes(source):
    return {r.code for r in source.reasons}


@pytest.fixture(scope="module")
def drifted(repo_factory):
    repo = repo_factory("drift")
    repo.write("pyproject.toml", '[project]\nname = "shop"\ndependencies = ["requests>=2"]\n')
    repo.write("shop/legacy.py", "def charge_card(card):\n    return card\n")
    repo.write("shop/orders.py", "def list_orders():\n    return []\n" + "\n".join(f"# line {i}" for i in range(40)))
    repo.write("shop/templates/orders/index.html", "<h1>Orders</h1>\n")
    repo.write("shop/reports/daily.csv", "day,total\n")
    repo.commit("Shop", "2024-01-10T12:00:00+00:00")
    repo.write("docs/payments.md", "# Payments guide\n\nPayments go through `shop/legacy.py`, calling "
               "`charge_card()`.\n")
    repo.write("docs/orders.md", "# Orders guide\n\nOrders are listed by [the orders module](../shop/orders.py).\n")
    repo.write("docs/plugins.md", "# Writing a plugin guide\n\nPut your serializers in `api/serializers.py` of your "
               "plugin, use `fnmatch.fnmatch` and `requests.get`, render `orders/index.html`, and look at "
               "`shop/reports/daily.csv` after a run.\n")
    repo.write("docs/process.md", "# Release process guide\n\nTag the release and announce it.\n")
    repo.commit("Guides", "2024-01-11T12:00:00+00:00")
    repo.remove("shop/legacy.py")
    repo.remove("shop/reports")
    repo.write("shop/.gitignore", "reports/\n")  # a nested .gitignore: reports are build output from now on
    repo.git("mv", "shop/orders.py", "shop/listing.py")
    repo.write("shop/billing.py", "def charge(order):\n    return order\n")
    repo.commit("Drop the legacy module, rename orders", "2025-06-01T12:00:00+00:00")
    return repo


def test_drift_by_deletion_names_the_removing_commit(drifted):
    doc = by_path(drifted.path)["docs/payments.md"]
    assert doc.status == "stale"
    removal = drifted.git("log", "-1", "--format=%H", "--", "shop/legacy.py")
    path = next(r for r in doc.reasons if r.code == "drift-path")
    assert path.evidence == [f"`shop/legacy.py` (docs/payments.md line 3) was removed in {removal[:12]} on 2025-06-01"]
    symbol = next(r for r in doc.reasons if r.code == "drift-symbol")
    assert symbol.evidence == ["`charge_card` (docs/payments.md line 3)"]


def test_drift_by_rename_names_the_new_path(drifted):
    doc = by_path(drifted.path)["docs/orders.md"]
    assert doc.status == "stale"
    reason = next(r for r in doc.reasons if r.code == "drift-path")
    assert "Suggested fix: `../shop/orders.py` → `shop/listing.py`." in reason.message
    assert reason.evidence[0].endswith("it is now `shop/listing.py`")


def test_examples_stdlib_dependencies_templates_and_ignored_paths_cost_nothing(drifted):
    doc = by_path(drifted.path)["docs/plugins.md"]
    assert (doc.status, doc.score) == ("trusted", 1.0)
    unresolved = next(r for r in doc.reasons if r.code == "unresolved")
    # a path that never existed is listed as unresolved at most; the template resolves by suffix under
    # shop/templates/; the report was committed once but is git-ignored now (shop/.gitignore): not drift
    assert unresolved.evidence == ["api/serializers.py"]
    assert codes(doc) == {"unresolved"}


def test_a_process_document_naming_no_code_gets_no_recency_penalty(drifted):
    doc = by_path(drifted.path)["docs/process.md"]
    assert (doc.status, doc.reasons) == ("trusted", [])


def test_recency_against_the_code_in_the_documents_own_folder(new_repo):
    repo = new_repo()
    repo.write("pkg/engine/README.md", "# Engine guide\n\nHow the engine works.\n")
    repo.write("pkg/engine/run.go", "package engine\n\nfunc Run() {}\n")
    repo.write("docs/intro.md", "# Intro guide\n\nWelcome.\n")
    repo.commit("Engine", "2024-01-01T12:00:00+00:00")
    repo.write("pkg/engine/run.go", "package engine\n\nfunc Run() {}\n\nfunc Stop() {}\n")
    repo.commit("Stop", "2025-06-01T12:00:00+00:00")
    sources = by_path(repo.path)
    engine = sources["pkg/engine/README.md"]
    assert engine.status == "stale"
    assert next(r for r in engine.reasons if r.code == "outdated").message == \
        "Last changed 517 days before the code in its folder (limit 180 days)."
    assert sources["docs/intro.md"].reasons == []  # the repository's newest commit is not its code


def test_warm_rescan_parses_only_the_changed_blob_and_reads_only_new_commits(drifted, tmp_path, monkeypatch):
    repo = drifted.clone(tmp_path / "copy")
    parsed: list[list[str]] = []
    real_work = scan_module._work_all
    monkeypatch.setattr(scan_module, "_work_all", lambda items: parsed.append(
        sorted(item[0] for item in items.values() if len(item) == 2)) or real_work(items))
    revisions: list[str] = []
    real_log = history_module._log
    monkeypatch.setattr(history_module, "_log", lambda r, rev: revisions.append(rev) or real_log(r, rev))
    cache = ScanCache(tmp_path / "cache")
    first = scan(repo.path, cache=cache)
    assert "docs/process.md" in parsed[0] and len(parsed[0]) == 4
    old_head = repo.git("rev-parse", "HEAD")
    repo.write("docs/process.md", "# Release process guide\n\nTag the release, then announce it.\n")
    new_head = repo.commit("Reword the process", "2025-06-02T12:00:00+00:00")
    second = scan(repo.path, cache=cache)
    assert parsed[1] == ["docs/process.md"]  # every other blob's claims come from the cache
    assert revisions == [old_head, f"{old_head}..{new_head}"]
    unchanged = {s.path: (s.status, s.reasons) for s in first.sources if s.path != "docs/process.md"}
    assert {s.path: (s.status, s.reasons) for s in second.sources if s.path != "docs/process.md"} == unchanged
    third = scan(repo.path, cache=cache)
    assert third == second and parsed[2:] == [] and revisions[2:] == []  # the same commit: the stored result
