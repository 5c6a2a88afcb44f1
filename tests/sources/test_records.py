"""Records in force, moved documents, and recency without tests, on a real repository with dated history (issue 10)."""
from __future__ import annotations

from bot.sources import drift
from bot.sources.assess import snapshots
from bot.sources.history import History
from tests.sources.verdicts import codes, reason, scanned
from tests.support.repos import Commit, history_fixture

records = history_fixture(
    "records",
    Commit("Engine and guides", "2024-01-01T12:00:00+00:00", {
        "engine/run.go": "package engine\n\nfunc Run() {}\n",
        "engine/old.go": "package engine\n\nfunc Old() {}\n",
        "docs/guides/setup.md": "# Setup guide\n\nInstall it.\n",
        "docs/notes/history.md": "# Project history guide\n\nHow it began.\n",
    }),
    Commit("Decision and tour", "2024-01-02T12:00:00+00:00", {
        "docs/adr/0001-engine.md": "# 1. Engine\n\n## Status\n\nAccepted\n\n## Decision\n\nThe engine lives "
                                   "in `engine/old.go`; see [setup](../guides/setup.md).\n",
        "docs/tour.md": "# Tour guide\n\nRead [setup](guides/setup.md) and [history](notes/history.md) "
                        "first, then `engine/run.go`.\n",
    }),
    # docs/notes/history.md moved with changes: git pairs nothing, the name is unique
    Commit("Drop the old engine, move guides", "2024-02-01T12:00:00+00:00", {
        "docs/archive/history.md": "# Project history guide\n\nHow it began, and how it went on.\n\n"
                                   + "\n".join(f"Line {i}." for i in range(30)),
    }, removed=["engine/old.go", "docs/notes/history.md"], moved={"docs/guides/setup.md": "docs/setup.md"}),
    Commit("Tests", "2025-06-01T12:00:00+00:00", {"engine/run_test.go": "package engine\n\nfunc TestRun() {}\n"}),
    result=scanned,
)


def test_a_decision_in_force_keeps_its_drift_as_a_note(records):
    adr = records["docs/adr/0001-engine.md"]
    assert adr.status == "trusted"
    path = reason(adr, "drift-path")
    assert path.severity == "info" and path.message.endswith("a record of a decision, which is not rewritten "
                                                             "as the code moves on.")
    assert path.evidence[0].startswith("`engine/old.go` (docs/adr/0001-engine.md line 9) was removed in ")


def test_links_to_moved_documents_warn_and_name_the_new_place(records):
    tour = records["docs/tour.md"]
    assert tour.status == "suspect"
    moved = reason(tour, "drift-document")
    assert moved.severity == "warn" and "Suggested fix: `guides/setup.md` → `docs/setup.md`." in moved.message
    assert moved.evidence[1].endswith("it is probably now `docs/archive/history.md` (the only file of that name)")


def test_recency_ignores_test_files(records):
    tour = records["docs/tour.md"]  # engine/run_test.go changed 16 months after the tour: tests say nothing
    assert "outdated" not in codes(tour)


def test_each_document_is_looked_up_at_a_commit_after_its_last_change(monkeypatch):
    monkeypatch.setattr(drift, "MAX_SNAPSHOTS", 4)  # eight last changes in four runs of two
    history = History(commit="now", last_change={f"d{i}": (i, f"c{i}") for i in range(8)} | {"fresh": (9, "now")})
    at = snapshots(history, [*(f"d{i}" for i in range(8)), "fresh", "unknown"])
    assert at == {"d0": "c1", "d1": "c1", "d2": "c3", "d3": "c3", "d4": "c5", "d5": "c5", "d6": "c7", "d7": "c7"}


def test_a_bare_file_name_resolves_to_the_same_file_on_every_run():
    tree = drift.Tree.of({f"{folder}/key.go" for folder in ("z", "crypto/ed25519", "a", "p2p")})
    assert tree.by_name["key.go"] == ["a/key.go", "crypto/ed25519/key.go", "p2p/key.go", "z/key.go"]
