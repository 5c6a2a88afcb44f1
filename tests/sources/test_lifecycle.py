"""Each declaration form of a document's lifecycle, on real git repositories with dated history (issue 10)."""
from __future__ import annotations

import pytest

from bot.sources.lifecycle import word_of
from tests.sources.verdicts import by_path, scanned
from tests.support.repos import Commit, history_fixture

DATE = "2025-03-01T12:00:00+00:00"


def lifecycle(source):
    return next(r for r in source.reasons if r.code.startswith("lifecycle"))


forms = history_fixture("forms", Commit("Proposals and decisions", DATE, {
    "proposals/eip-7.md": "---\ntitle: Gas schedule\nstatus: Withdrawn\n---\n\n## Abstract\n\nText.\n",
    "proposals/eip-8.md": "---\ntitle: Fees\nstatus: Last Call\n---\n\n## Abstract\n\nText.\n",
    "site/rfc-9.md": "+++\ntitle = \"Toml\"\nstatus = \"Final\"\n+++\n\n## Motivation\n\nText.\n",
    "peps/pep-0042.rst": "PEP: 42\nTitle: Feature requests\nAuthor: Someone <a@b.c>\nStatus: Rejected\n"
                         "Type: Standards Track\nCreated: 12-Sep-2000\n\n\nAbstract\n========\n\nText.\n",
    "A12-proxy.md": "Proxy support\n----\n* Author(s): someone\n* Status: Implemented\n\n## Abstract\n\nx\n",
    "docs/adr/0003-use-queues.md": "# 3. Use queues\n\nDate: 2024-01-01\n\n## Status\n\n"
                                   "**Accepted**\n\n## Context\n\nText.\n",
    "keps/sig-x/1234-thing/README.md": "# KEP-1234: Thing\n\n## Summary\n\nText.\n",
    "keps/sig-x/1234-thing/kep.yaml": "title: Thing\nkep-number: 1234\nstatus: implementable\n",
    "docs/adr/0001-use-sqlite.md": "# 1. Use SQLite\n\n## Status\n\nSuperseded by "
                                   "[ADR 4](0004-use-postgres.md)\n\n## Decision\n\nSQLite.\n",
    "docs/adr/0005-odd.md": "# 5. Odd\n\n## Status\n\nPercolating\n\n## Decision\n\nx\n",
}), result=scanned)


def test_yaml_front_matter_withdrawn_is_stale_with_its_line(forms):
    eip = forms["proposals/eip-7.md"]
    assert (eip.status, eip.selected) == ("stale", False)
    assert lifecycle(eip).evidence == ["line 3: front matter status: Withdrawn"]


def test_not_built_words_are_at_most_suspect_and_say_why(forms):
    eip = forms["proposals/eip-8.md"]
    assert eip.status == "suspect"
    assert lifecycle(eip).message == "Declares itself last call: it describes intent that is not built yet."


def test_toml_front_matter_final_is_trusted(forms):
    rfc = forms["site/rfc-9.md"]
    assert (rfc.status, lifecycle(rfc).code) == ("trusted", "lifecycle-in-force")


def test_rfc822_header_block_of_a_pep(forms):
    pep = forms["peps/pep-0042.rst"]
    assert pep.status == "stale"
    assert lifecycle(pep).evidence == ["line 4: header block status: Rejected"]


def test_bullet_header_block_under_a_setext_title(forms):
    proposal = forms["A12-proxy.md"]
    assert (proposal.status, lifecycle(proposal).evidence) == ("trusted", ["line 4: header block status: Implemented"])


def test_status_section_first_words_emphasis_stripped(forms):
    adr = forms["docs/adr/0003-use-queues.md"]
    assert (adr.status, lifecycle(adr).evidence) == ("trusted", ["line 7: Status section: Accepted"])


def test_sidecar_metadata_file_in_the_documents_folder(forms):
    kep = forms["keps/sig-x/1234-thing/README.md"]
    assert kep.status == "suspect"
    assert lifecycle(kep).evidence == ["keps/sig-x/1234-thing/kep.yaml line 3: status: implementable"]


def test_superseded_by_names_the_successor(forms):
    adr = forms["docs/adr/0001-use-sqlite.md"]
    assert adr.status == "stale"
    assert lifecycle(adr).message == "Declares itself superseded, succeeded by ADR 4."


def test_an_unknown_word_is_no_signal_and_says_so(forms):
    adr = forms["docs/adr/0005-odd.md"]
    assert (adr.status, lifecycle(adr).code, lifecycle(adr).severity) == ("trusted", "lifecycle-unknown", "info")
    assert "'percolating', which is no known lifecycle word" in lifecycle(adr).message


@pytest.mark.parametrize("value, expected", [
    ("Final", ("final", "in_force")), ("Stagnant", ("stagnant", "not_built")), ("Moved", ("moved", "retired")),
    ("implementable", ("implementable", "not_built")), ("Proposed Standard", ("proposed standard", "in_force")),
    ("Rejected in favour of ADR 111", ("rejected", "retired")), ("{Draft}", ("draft", "not_built")),
    ("2023-01-01: Accepted", ("accepted", "in_force")), ("Implemented (moved to cosmos-sdk)", ("implemented", "in_force")),
    ("Openness", ("openness", "unknown")),
])
def test_vocabulary_of_the_common_conventions(value, expected):
    assert word_of(value) == expected


def test_a_changed_declaration_changes_the_label(new_repo):
    repo = new_repo().history(Commit("Draft", DATE, {
        "rfcs/0001-thing.md": "# RFC 1\n\n- Status: Draft\n- Author: me\n\n## Motivation\n\nx\n"}))
    assert by_path(repo.path)["rfcs/0001-thing.md"].status == "suspect"
    repo.history(Commit("Accept", "2025-04-01T12:00:00+00:00", {
        "rfcs/0001-thing.md": "# RFC 1\n\n- Status: Accepted\n- Author: me\n\n## Motivation\n\nx\n"}))
    assert by_path(repo.path)["rfcs/0001-thing.md"].status == "trusted"
