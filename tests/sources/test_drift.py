"""Drift grounded in the history, recency against the code a document talks about, and the warm rescan (issue 10)."""
from __future__ import annotations

from bot.sources import history as history_module
from bot.sources import scan as scan_module
from bot.sources.cache import ScanCache
from bot.sources.scan import scan
from tests.sources.verdicts import by_path, codes, reason
from tests.support.repos import Commit, history_fixture

drifted = history_fixture(
    "drifted",
    Commit("Shop", "2024-01-10T12:00:00+00:00", {
        "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["requests>=2"]\n',
        "shop/legacy.py": "def charge_card(card):\n    return card\n",
        "shop/orders.py": "def list_orders():\n    return []\n" + "\n".join(f"# line {i}" for i in range(40)),
        "shop/templates/orders/index.html": "<h1>Orders</h1>\n",
        "shop/reports/daily.csv": "day,total\n",
    }),
    Commit("Guides", "2024-01-11T12:00:00+00:00", {
        "docs/payments.md": "# Payments guide\n\nPayments go through `shop/legacy.py`, calling `charge_card()`.\n",
        "docs/orders.md": "# Orders guide\n\nOrders are listed by [the orders module](../shop/orders.py).\n",
        "docs/plugins.md": "# Writing a plugin guide\n\nPut your serializers in `api/serializers.py` of your plugin, "
                           "use `fnmatch.fnmatch` and `requests.get`, render `orders/index.html`, and look at "
                           "`shop/reports/daily.csv` after a run.\n",
        "docs/process.md": "# Release process guide\n\nTag the release and announce it.\n",
    }),
    Commit("Drop the legacy module, rename orders", "2025-06-01T12:00:00+00:00", {
        "shop/.gitignore": "reports/\n",  # a nested .gitignore: reports are build output from now on
        "shop/billing.py": "def charge(order):\n    return order\n",
    }, removed=["shop/legacy.py", "shop/reports"], moved={"shop/orders.py": "shop/listing.py"}),
)


def test_drift_by_deletion_names_the_removing_commit(drifted):
    doc = by_path(drifted.path)["docs/payments.md"]
    assert doc.status == "stale"
    removal = drifted.git("log", "-1", "--format=%H", "--", "shop/legacy.py")
    path = reason(doc, "drift-path")
    assert path.evidence == [f"`shop/legacy.py` (docs/payments.md line 3) was removed in {removal[:12]} on 2025-06-01"]
    symbol = reason(doc, "drift-symbol")
    assert symbol.evidence == ["`charge_card` (docs/payments.md line 3)"]


def test_drift_by_rename_names_the_new_path(drifted):
    doc = by_path(drifted.path)["docs/orders.md"]
    assert doc.status == "stale"
    path = reason(doc, "drift-path")
    assert "Suggested fix: `../shop/orders.py` → `shop/listing.py`." in path.message
    assert path.evidence[0].endswith("it is now `shop/listing.py`")


def test_examples_stdlib_dependencies_templates_and_ignored_paths_cost_nothing(drifted):
    doc = by_path(drifted.path)["docs/plugins.md"]
    assert (doc.status, doc.score) == ("trusted", 1.0)
    unresolved = reason(doc, "unresolved")
    # a path that never existed is listed as unresolved at most; the template resolves by suffix under
    # shop/templates/; the report was committed once but is git-ignored now (shop/.gitignore): not drift
    assert unresolved.evidence == ["api/serializers.py"]
    assert codes(doc) == {"unresolved"}


def test_a_process_document_naming_no_code_gets_no_recency_penalty(drifted):
    doc = by_path(drifted.path)["docs/process.md"]
    assert (doc.status, doc.reasons) == ("trusted", [])


def test_recency_against_the_code_in_the_documents_own_folder(new_repo):
    repo = new_repo().history(
        Commit("Engine", "2024-01-01T12:00:00+00:00", {
            "pkg/engine/README.md": "# Engine guide\n\nHow the engine works.\n",
            "pkg/engine/run.go": "package engine\n\nfunc Run() {}\n",
            "docs/intro.md": "# Intro guide\n\nWelcome.\n",
        }),
        Commit("Stop", "2025-06-01T12:00:00+00:00", {
            "pkg/engine/run.go": "package engine\n\nfunc Run() {}\n\nfunc Stop() {}\n"}),
    )
    sources = by_path(repo.path)
    engine = sources["pkg/engine/README.md"]
    assert engine.status == "stale"
    assert reason(engine, "outdated").message == \
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
    repo.history(Commit("Reword the process", "2025-06-02T12:00:00+00:00", {
        "docs/process.md": "# Release process guide\n\nTag the release, then announce it.\n"}))
    new_head = repo.git("rev-parse", "HEAD")
    second = scan(repo.path, cache=cache)
    assert parsed[1] == ["docs/process.md"]  # every other blob's claims come from the cache
    assert revisions == [old_head, f"{old_head}..{new_head}"]
    unchanged = {s.path: (s.status, s.reasons) for s in first.sources if s.path != "docs/process.md"}
    assert {s.path: (s.status, s.reasons) for s in second.sources if s.path != "docs/process.md"} == unchanged
    third = scan(repo.path, cache=cache)
    assert third == second and parsed[2:] == [] and revisions[2:] == []  # the same commit: the stored result
