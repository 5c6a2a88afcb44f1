"""Drift the mined drift set showed us missing (issue 10): references inside code fragments and Go import paths,
on a real repository with dated history."""
from __future__ import annotations

from tests.sources.verdicts import reason, scanned
from tests.support.repos import Commit, history_fixture

fragments = history_fixture(
    "fragments",
    Commit("Chain", "2024-01-10T12:00:00+00:00", {
        "go.mod": "module github.com/acme/oldchain\n\ngo 1.21\n",
        "flowrate/rate.go": "package flowrate\n",
        "legacy/pom.xml": "<project/>\n",
        "legacy/hash.go": "package legacy\n\nfunc LegacyHash() []byte { return nil }\n",
        "config/old/config.go": 'package old\n\nconst key = "addrbook_strict"\n',
        "types/block.go": "package types\n\ntype Block struct{}\n\nfunc NewBlock() Block { return Block{} }\n",
    }),
    Commit("Guides", "2024-01-11T12:00:00+00:00", {
        "docs/build.md": "# Build guide\n\nRun `./mvnw clean install -f legacy/pom.xml`, then read "
                         "`Hash ([]byte)`: `LegacyHash ([]byte)` of a `NewBlock()`.\n",
        "docs/style.md": "# Style guide\n\nImport labels:\n\n"
                         '* cfg "github.com/acme/oldchain/config/old"\n* types "github.com/acme/chain/types"\n\n'
                         "Build blocks with `NewBlock()`; rates come from "
                         "`go get github.com/other/go-flowrate/flowrate`.\n",
        "docs/p2p.md": "# Peers guide\n\nSet `addrbook_strict=false` for local nets; see `NewBlock()`.\n",
    }),
    # the project renamed; flowrate moved: it vendored another project's package of the same name
    Commit("Drop the legacy build and the old config", "2024-03-01T12:00:00+00:00", {
        "config/config.go": 'package config\n\nconst key = "addr_book_strict"\n',
        "go.mod": "module github.com/acme/chain\n\ngo 1.21\n",
        "libs/flowrate/rate.go": "package flowrate\n",
    }, removed=["legacy", "config/old", "flowrate"]),
    result=scanned,
)


def test_paths_and_names_inside_a_command_line_or_a_typed_field_are_drift(fragments):
    doc = fragments["docs/build.md"]
    assert doc.status == "stale"
    assert reason(doc, "drift-path").evidence[0].startswith("`legacy/pom.xml` (docs/build.md line 3) was removed in ")
    assert reason(doc, "drift-symbol").evidence == ["`LegacyHash` (docs/build.md line 3)"]


def test_a_go_import_path_of_a_removed_package_of_the_project_is_drift_and_anothers_is_not(fragments):
    doc = fragments["docs/style.md"]
    assert doc.status == "stale"
    evidence = reason(doc, "drift-path").evidence
    assert len(evidence) == 1 and evidence[0].startswith(
        "`github.com/acme/oldchain/config/old` (docs/style.md line 5) was removed in ")
    assert not any("flowrate" in line for r in doc.reasons for line in r.evidence)  # another project's package


def test_the_key_of_a_key_value_fragment_is_an_identifier(fragments):
    doc = fragments["docs/p2p.md"]  # the code renamed the key to addr_book_strict after the guide was written
    assert doc.status == "stale"
    assert reason(doc, "drift-symbol").evidence == ["`addrbook_strict` (docs/p2p.md line 3)"]
