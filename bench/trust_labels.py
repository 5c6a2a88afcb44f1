#!/usr/bin/env python3
"""Ground-truth labeller and drift miner for the ScenarioForge trust corpus.

This script is *independent* of the ScenarioForge scanner: it reads each
corpus repository's planning documents by that repository's own, known
convention (a per-repository rule, on purpose) and writes the ground truth
that ``bench/trust.py`` compares the scanner against.

For every repository listed in ``CORPUS`` it

1. reads the pinned commit from a local bare mirror (no work tree needed),
2. lists the planning documents (EIPs, PEPs, KEPs, RFCs, ADRs ...),
3. reads each document's own declared lifecycle:

   * YAML front matter (``status:`` in ethereum/EIPs, ``stage:`` in
     emberjs/rfcs, ``adr_status:`` in pmd/pmd),
   * an RFC 822 style header block (``Status:`` in python/peps, the
     ``* Status:`` bullet header of grpc/proposal),
   * a ``## Status`` section (Nygard ADRs: cometbft/cometbft,
     npryce/adr-tools),
   * a sidecar metadata file (``kep.yaml`` beside ``README.md`` in
     kubernetes/enhancements),

   and maps the declared word to a class:

   * ``retired``   (withdrawn, rejected, superseded, replaced, moved ...)
     - the scanner should say ``stale``;
   * ``in_force``  (final, accepted, active, implemented, living ...)
     - the scanner should say ``trusted``;
   * ``not_built`` (draft, proposed, provisional, deferred, stagnant,
     review, last call, implementable ...) - at most ``suspect``;
   * ``undeclared`` (no lifecycle declared) - listed, not scored.

   Every label carries its evidence line ``<path>:<line>: <text>``.
   Where a repository's own process defines a word differently from the
   generic mapping (e.g. an Ember RFC in stage ``accepted`` is "waiting for
   or in the process of implementation"), the label keeps the generic class
   and adds ``alt_class`` and ``note``.

4. for ``kind == "code"`` repositories, mines a DRIFT SET from history:
   commits touching only documentation files (``*.md``, ``*.rst``, ...)
   whose diff replaces a reference to code (a repository path, or an
   identifier in a code span) that existed in the code at an older commit
   and is absent from the tree at the fix's parent.  At the parent commit
   that document is stale by drift.

Outputs (under ``--out``): ``corpus.json``, ``<owner>+<name>.labels.json``
per repository, and ``drift.json``.

Mirrors: ``<mirror-root>/<owner>+<name>/repo`` (what the workplace ``fetch``
tool produces) or ``<mirror-root>/<owner>+<name>`` (any bare or normal
clone).  Elsewhere: ``git clone https://github.com/<owner>/<name>`` into
``<mirror-root>/<owner>+<name>``.

Only the Python 3.11 standard library and PyYAML are used; git is run via
subprocess with ``-c core.hooksPath=/dev/null``. The pieces live in
``bench/labels/``: ``git`` (the mirror), ``vocab`` (words → classes, label
records), ``readers`` (one reader per repository's convention), ``diffs``
and ``mining`` (the drift set).
"""
from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.labels.git import Git, find_git_dir  # noqa: E402
from bench.labels.mining import mine_drift  # noqa: E402
from bench.labels.readers import (  # noqa: E402
    adrtools_docs, cometbft_docs, eips_docs, eips_label, ember_docs, ember_label, grpc_docs, grpc_label, keps_docs,
    keps_label_from, madr_docs, madr_label, peps_docs, peps_label, pmd_docs, pmd_label, status_section_label,
)
from bench.labels.vocab import Label  # noqa: E402


@dataclass
class Repo:
    repo: str
    commit: str
    kind: str
    forms: list[str]
    docs: Callable[[Git, str], list[str]]
    label: Callable[..., Label] | None = None
    licence: str = ""
    code_globs: tuple[str, ...] = ()
    sidecar: bool = False
    aliases: tuple[str, ...] = ()  # former owner/name of the repository


CORPUS: list[Repo] = [
    Repo("ethereum/EIPs", "f767a1e8078e17c9b381a91d35a09492189ede1b", "proposals",
         ["yaml-front-matter", "moved-to"], eips_docs, eips_label, licence="CC0-1.0"),
    Repo("python/peps", "ba4deeb7969588d937da609008d05bb83a47b1ab", "proposals",
         ["rfc822-header", "superseded-by"], peps_docs, peps_label,
         licence="no repository LICENSE file; each PEP's Copyright section: public domain or CC0-1.0"),
    Repo("kubernetes/enhancements", "64765b4b02389318f2113119dd9e491479f978a0", "proposals",
         ["sidecar-kep.yaml", "replaced"], keps_docs, None, licence="Apache-2.0", sidecar=True),
    Repo("emberjs/rfcs", "5208fbf3d43e154488ab8c9b9b10f2b8eb447495", "proposals",
         ["yaml-front-matter", "discontinued"], ember_docs, ember_label,
         licence="no LICENSE file at the pinned commit"),
    Repo("grpc/proposal", "1fd061ad8e7c46422b326e5a60cf68d042476205", "proposals",
         ["bullet-header-block"], grpc_docs, grpc_label, licence="Apache-2.0"),
    Repo("adr/madr", "11807d877dbc5eb952591d54bc3124ddbc4c924c", "proposals",
         ["yaml-front-matter"], madr_docs, madr_label, licence="CC0-1.0 OR MIT"),
    Repo("cometbft/cometbft", "5bba72c14f2be2b06ac4d89dbdf6712e2e5e095c", "code",
         ["status-section", "superseded-by"], cometbft_docs, status_section_label,
         licence="Apache-2.0", code_globs=("*.go", "*.proto"), aliases=("tendermint/tendermint",)),
    Repo("pmd/pmd", "cd096e90e4ed2e61f4109466d21a1eaab09721eb", "code",
         ["yaml-front-matter"], pmd_docs, pmd_label, licence="BSD-style (LICENSE)",
         code_globs=("*.java", "*.kt", "*.xml", "*.scala", "*.g4", "*.jj", "*.jjt", "*.properties")),
    Repo("npryce/adr-tools", "b3279baf9be2207d1a4f4bbd608fd0b591c72aee", "code",
         ["status-section", "superseded-by"], adrtools_docs, status_section_label,
         licence="GPL-3.0 (LICENSE.txt, GPL.txt)", code_globs=("src/*", "tests/*.sh", "tests/*", "Makefile", "*.sh")),
]


def label_repo(g: Git, r: Repo) -> list[dict]:
    paths = r.docs(g, r.commit)
    if r.sidecar:
        want = set()
        for p in paths:
            want.add(p)
            want.add(posixpath.dirname(p) + "/kep.yaml")
        texts = g.cat_many(r.commit, sorted(want))
        out = []
        for p in paths:
            side = posixpath.dirname(p) + "/kep.yaml"
            out.append(keps_label_from(p, side, texts.get(side)))
    else:
        texts = g.cat_many(r.commit, paths)
        out = [r.label(p, texts.get(p, "")) for p in paths]
    return [lab.to_json() for lab in sorted(out, key=lambda l: l.path)]



def repo_stats(g: Git, r: Repo) -> dict:
    return {
        "files": len(g.ls(r.commit)),
        "commits": int(g.run("rev-list", "--count", r.commit).strip()),
        "root_commits": g.run("rev-list", "--max-parents=0", r.commit).split(),
        "shallow": os.path.exists(os.path.join(g.git_dir, "shallow")),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=("Regenerate the ScenarioForge trust-corpus ground truth (labels per "
                     "planning document, and the drift set mined from history) from local "
                     "git mirrors of the corpus repositories at their pinned commits."),
        epilog=("Mirror layout: <mirror-root>/<owner>+<name>/repo (workplace fetch tool) or "
                "<mirror-root>/<owner>+<name> (git clone --bare / plain clone). "
                "Example: python bench/trust_labels.py --mirror-root /work/.mirror "
                "--out bench/trust_corpus"),
    )
    ap.add_argument("--mirror-root", required=True, help="directory holding the repository mirrors")
    ap.add_argument("--out", default="bench/trust_corpus", help="output directory (default: %(default)s)")
    ap.add_argument("--repo", action="append", default=[],
                    help="only this owner/name (repeatable); other outputs are left as they are")
    ap.add_argument("--no-drift", action="store_true", help="skip drift mining")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    log = (lambda *x: None) if a.quiet else (lambda *x: print(*x, file=sys.stderr))
    os.makedirs(a.out, exist_ok=True)
    selected = [r for r in CORPUS if not a.repo or r.repo in a.repo]
    if a.repo and len(selected) != len(a.repo):
        ap.error(f"unknown repo in {a.repo}; known: {[r.repo for r in CORPUS]}")
    drift_path = os.path.join(a.out, "drift.json")
    drift_all: dict[str, list] = {}
    if os.path.exists(drift_path):
        try:
            old = json.load(open(drift_path))
            for c in old.get("cases", []):
                drift_all.setdefault(c["repo"], []).append(c)
        except (ValueError, KeyError):
            pass
    corpus = []
    missing = []
    for r in CORPUS:
        entry = {
            "repo": r.repo, "commit": r.commit, "kind": r.kind, "forms": r.forms,
            "clone": f"git clone https://github.com/{r.repo} && git -C {r.repo.split('/')[1]} checkout {r.commit}",
            "mirror": f"{r.repo.replace('/', '+')}/repo", "licence": r.licence,
            "labels": f"{r.repo.replace('/', '+')}.labels.json",
        }
        corpus.append(entry)
        if r not in selected:
            continue
        gd = find_git_dir(a.mirror_root, r.repo)
        if not gd:
            missing.append(r.repo)
            log(f"{r.repo}: no mirror under {a.mirror_root}")
            continue
        g = Git(gd)
        if not g.has_commit(r.commit):
            missing.append(r.repo)
            log(f"{r.repo}: pinned commit {r.commit} not in {gd}")
            continue
        t0 = time.time()
        labels = label_repo(g, r)
        counts: dict[str, int] = {}
        for d in labels:
            counts[d["class"]] = counts.get(d["class"], 0) + 1
        st = repo_stats(g, r)
        entry.update({"files": st["files"], "commits": st["commits"], "label_counts": counts})
        with open(os.path.join(a.out, entry["labels"]), "w") as f:
            json.dump({"repo": r.repo, "commit": r.commit, "kind": r.kind,
                       "label_counts": counts, "documents": labels}, f, indent=1)
            f.write("\n")
        log(f"{r.repo}: {len(labels)} documents {counts} ({time.time() - t0:.1f}s)")
        if r.kind == "code" and not a.no_drift:
            drift_all[r.repo] = mine_drift(g, r, log)
        entry["drift_cases"] = len(drift_all.get(r.repo, []))
    # keep stats of unselected repos from an existing corpus.json
    cpath = os.path.join(a.out, "corpus.json")
    if os.path.exists(cpath) and a.repo:
        try:
            prev = {e["repo"]: e for e in json.load(open(cpath))}
            for e in corpus:
                if e["repo"] not in a.repo and e["repo"] in prev:
                    for k in ("files", "commits", "label_counts", "drift_cases"):
                        if k in prev[e["repo"]]:
                            e[k] = prev[e["repo"]][k]
        except (ValueError, KeyError, TypeError):
            pass
    with open(cpath, "w") as f:
        json.dump(corpus, f, indent=1)
        f.write("\n")
    if not a.no_drift:
        cases = [c for r in CORPUS for c in drift_all.get(r.repo, [])]
        with open(drift_path, "w") as f:
            json.dump({"description": ("Documents stale by drift: at `parent`, `document` refers to "
                                       "`stale_reference` (a code path or identifier that existed in "
                                       "code at an older commit and is absent at `parent`); "
                                       "`fix_commit` changes only documentation files. "
                                       "`line_at_parent` is <document>:<line> in the parent's version; "
                                       "`line_at_fix` the corresponding line in the fix (no text is vendored)."),
                       "cases": cases}, f, indent=1)
            f.write("\n")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
