"""The drift set: doc-only commits that fix references to code renamed or removed (see the corpus README).

At the parent of such a commit the document is stale by drift. ``mine_drift`` reads one repository's
history; the rules (what counts as a path or identifier reference, how it is checked against the trees
and the history) are in ``bench/trust_corpus/README.md``, "How the drift set was mined".
"""
from __future__ import annotations

import posixpath
import re
import time
from dataclasses import dataclass, field

from bench.labels.diffs import (CHANGELOG_RX, TreeCache, grep_words, ident_tokens, is_code, is_doc, parse_hunks,
                                path_tokens, resolve)
from bench.labels.git import Git

BATCH = 100  # doc-only commits per `git show`


@dataclass
class Mined:
    """The stale references found so far (one per fix commit, document and reference)."""

    repo: str
    cases: list[dict] = field(default_factory=list)
    seen: set[tuple] = field(default_factory=set)

    def add(self, sha: str, parent: str, doc: str, kind: str, ref: str, repl: str | None, at_parent: str,
            at_fix: str | None) -> None:
        if (sha, doc, ref) in self.seen:
            return
        self.seen.add((sha, doc, ref))
        self.cases.append({"repo": self.repo, "fix_commit": sha, "parent": parent, "document": doc, "kind": kind,
                           "stale_reference": ref, "replacement": repl, "line_at_parent": at_parent,
                           "line_at_fix": at_fix})


def doc_only_commits(g: Git, r) -> tuple[list[tuple[str, str, list[str]]], set[str], set[str]]:
    """(commit, parent, modified documents) of single-parent doc-only commits; code paths and folders ever seen."""
    out = g.run("log", "--no-merges", "--no-renames", "--format=%x01%H %P", "--name-status", r.commit)
    hist_files: set[str] = set()
    doc_only: list[tuple[str, str, list[str]]] = []
    for chunk in out.split("\x01")[1:]:
        lines = [ln for ln in chunk.split("\n") if ln]
        shas = lines[0].split()
        changes = [ln.split("\t") for ln in lines[1:]]
        hist_files.update(c[-1] for c in changes)
        if len(shas) != 2 or not changes:
            continue
        if all(is_doc(c[-1]) for c in changes) and any(c[0] == "M" for c in changes):
            mods = [c[-1] for c in changes if c[0] == "M" and not CHANGELOG_RX.search(c[-1])]
            if mods:
                doc_only.append((shas[0], shas[1], mods))
    code_hist = {f for f in hist_files if is_code(f, r.code_globs)}
    code_dirs: set[str] = set()
    for f in code_hist:
        d = posixpath.dirname(f)
        while d and d not in code_dirs:
            code_dirs.add(d)
            d = posixpath.dirname(d)
    return doc_only, code_hist, code_dirs


def _replacement(line: str | None, removed: str, doc: str, r, files: set[str], dirs: set[str]) -> str | None:
    """The path the paired added line names instead, when it exists at the fix."""
    for token in path_tokens(line, r.repo, r.aliases) if line is not None else ():
        if token in removed:
            continue
        found = next((c for c in resolve(token, doc) if c in files or c in dirs), None)
        if found:
            return found
    return None


def mine_drift(g: Git, r, log=print) -> list[dict]:
    """The drift cases of repository ``r`` (a ``trust_labels.Repo``), grouped by fix commit and document."""
    t0 = time.time()
    doc_only, code_hist, code_dirs = doc_only_commits(g, r)
    log(f"  {r.repo}: {len(doc_only)} doc-only commits ({time.time() - t0:.1f}s)")
    chain = g.run("rev-list", "--first-parent", r.commit).split()  # for sampling older trees
    pos = {c: i for i, c in enumerate(chain)}
    trees, mined = TreeCache(g), Mined(r.repo)
    for b in range(0, len(doc_only), BATCH):
        batch = doc_only[b:b + BATCH]
        diff = g.run("show", "-U0", "--no-renames", "--no-color", "--format=%x01%H", *[c[0] for c in batch])
        per = {}
        for chunk in diff.split("\x01")[1:]:
            sha, _, body = chunk.partition("\n")
            per[sha.strip()] = parse_hunks(body)
        for sha, parent, mods in batch:
            candidates = _path_cases(g, r, mined, trees, sha, parent, mods, per.get(sha, {}), code_hist, code_dirs)
            if candidates:
                _identifier_cases(g, r, mined, sha, parent, candidates, chain, pos)
    grouped = group_cases(mined.cases)
    log(f"  {r.repo}: {len(grouped)} drift cases ({len(mined.cases)} stale references) ({time.time() - t0:.1f}s)")
    return grouped


def _path_cases(g: Git, r, mined: Mined, trees: TreeCache, sha: str, parent: str, mods: list[str], hunks: dict,
                code_hist: set[str], code_dirs: set[str]) -> list[tuple]:
    """Record the stale paths of one fix; return its identifier candidates (doc, old, new names, lines, pair)."""
    pfiles, pdirs = trees.get(parent)
    candidates = []
    for doc in mods:
        for rem, add, ostart, nstart in hunks.get(doc, []):
            add_text = "\n".join(add)
            for k, rl in enumerate(rem):
                al = add[k] if len(add) == len(rem) else None
                at_parent, at_fix = f"{doc}:{ostart + k}", f"{doc}:{nstart + k}" if al is not None else f"{doc}:{nstart}"
                for tok in path_tokens(rl, r.repo, r.aliases):
                    if tok in add_text:
                        continue
                    for cand in resolve(tok, doc):
                        if is_doc(cand) or cand.startswith(("http", "www.")) or \
                                not (cand in code_hist or cand in code_dirs):
                            continue
                        if cand in pfiles or cand in pdirs:
                            break
                        if not g.run("log", "-1", "--format=%H", parent, "--", cand).strip():
                            continue  # never existed before the parent
                        cfiles, cdirs = trees.get(sha)
                        mined.add(sha, parent, doc, "path", cand, _replacement(al, rl, doc, r, cfiles, cdirs),
                                  at_parent, at_fix if add else None)
                        break
                if not add or not r.code_globs:  # identifiers need a replacement line
                    continue
                other = al if al is not None else add_text
                rem_text = rl if al is not None else "\n".join(rem)
                old = [t for t in ident_tokens(rl) if not re.search(r"\b" + re.escape(t) + r"\b", other)]
                new = [t for t in ident_tokens(other) if not re.search(r"\b" + re.escape(t) + r"\b", rem_text)]
                if old and new:
                    candidates += [(doc, o, tuple(new), at_parent, at_fix, al) for o in old]
    return candidates


def _identifier_cases(g: Git, r, mined: Mined, sha: str, parent: str, candidates: list[tuple], chain: list[str],
                      pos: dict[str, int]) -> None:
    """Record the identifiers the code spelled at some ancestor, not at the parent, whose new name it spells."""
    words = {c[1] for c in candidates} | {n for c in candidates for n in c[2]}
    at_parent = grep_words(g, [parent], words, r.code_globs)
    olds = {c[1] for c in candidates if c[1] not in at_parent and any(n in at_parent for n in c[2])}
    if not olds:
        return
    i = pos.get(parent)
    if i is not None:
        ancestors = chain
    else:  # parent on a side branch: walk its own first-parent chain
        ancestors, i = g.run("rev-list", "--first-parent", "--max-count=9000", parent).split(), 0
    revs, step = [], 8
    while i + step < len(ancestors) and len(revs) < 11:
        revs.append(ancestors[i + step])
        step *= 2
    earlier = grep_words(g, revs, olds, r.code_globs)
    for doc, o, names, at_parent_line, at_fix_line, paired in candidates:
        new = next((x for x in names if x in at_parent), None)
        if o in earlier and o not in at_parent and new:
            mined.add(sha, parent, doc, "identifier", o, new if paired is not None else None,  # None: hunk rewritten
                      at_parent_line, at_fix_line)


def group_cases(refs: list[dict]) -> list[dict]:
    """One case per (fix commit, document): the document is stale by drift at
    the parent; all stale references found in that fix are listed."""
    out: dict[tuple[str, str], dict] = {}
    for c in refs:
        key = (c["fix_commit"], c["document"])
        if key not in out:
            out[key] = {
                "repo": c["repo"], "fix_commit": c["fix_commit"], "parent": c["parent"],
                "document": c["document"], "stale_reference": c["stale_reference"],
                "replacement": c["replacement"], "kind": c["kind"], "references": [],
            }
        out[key]["references"].append({k: c[k] for k in (
            "kind", "stale_reference", "replacement", "line_at_parent", "line_at_fix")})
    for case in out.values():
        case["n_references"] = len(case["references"])
    return list(out.values())
