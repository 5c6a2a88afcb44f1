"""Judge each readable document: lifecycle (own and sidecar), drift against tree and history, recency.

``bot.sources.trust`` holds the rule; this module gathers the evidence per
document and asks the history about identifiers once per commit
(``bot.sources.dropped``, at most ``drift.MAX_SNAPSHOTS`` commits,
``snapshots``).
"""
from __future__ import annotations

import posixpath
from collections import defaultdict
from pathlib import Path

from bot.domain.sources import Reason
from bot.sources import contradictions, drift, trust
from bot.sources.dropped import dropped_names
from bot.sources.discovery import PROSE_FORMATS, extension, in_doc_dir, is_numbered
from bot.sources.history import History
from bot.sources.inventory import Inventory
from bot.sources.lifecycle import SIDECAR_FORMATS, Declared, word_of
from bot.sources.references import Claims, Ref


def sidecar_candidates(doc: str, prose_in_folder: dict[str, int]) -> list[str]:
    """Metadata files that may belong to ``doc``: ``x.yaml`` beside ``x.md``; any metadata file of the
    document's own folder when it is that folder's README/index or its only prose document."""
    stem = doc.rsplit(".", 1)[0]
    folder = posixpath.dirname(doc)
    own = doc.rsplit("/", 1)[-1].lower().startswith(("readme", "index")) or prose_in_folder.get(folder, 0) == 1
    return [stem + ext for ext in SIDECAR_FORMATS] + ([f"{folder}/*"] if own and folder else [])


def declared_of(claims: Claims, sidecar: tuple[str, str, int] | None) -> Declared | None:
    """The document's own declaration; a sidecar's when the document declares nothing known."""
    own = claims.declared
    if sidecar and (own is None or own.cls == "unknown"):
        word, cls = word_of(sidecar[1])
        return Declared(word, cls, f"{sidecar[0]} line {sidecar[2]}: status: {sidecar[1]}")
    return own


def snapshots(history: History, docs: list[str]) -> dict[str, str]:
    """Document → the commit its identifiers are looked up at: at most ``drift.MAX_SNAPSHOTS`` commits in all.

    The documents' last changes, in time order, are cut into that many runs; each run is looked up at its
    newest commit. A document last changed at T is so checked at a commit S ≥ T: a name the code spelled at S
    and spells nowhere now was dropped after the document was written (drift).
    """
    changes = sorted({history.last_change[d] for d in docs if d in history.last_change
                      and history.last_change[d][1] != history.commit})
    size = -(-len(changes) // drift.MAX_SNAPSHOTS) if changes else 1
    at = {change: changes[min((i // size + 1) * size, len(changes)) - 1][1] for i, change in enumerate(changes)}
    return {d: at[history.last_change[d]] for d in docs if history.last_change.get(d) in at}


def gone_identifiers(repo: Path, history: History, pending: dict[str, list[Ref]]) -> dict[str, list[Ref]]:
    """Per document, the identifiers the code spelled after the document's last change (``snapshots``) and no
    longer spells anywhere (drift, ``bot.sources.dropped``); a name the code still uses (a builtin) is not gone."""
    at = snapshots(history, list(pending))
    wanted: dict[str, set[str]] = defaultdict(set)
    for doc, commit in at.items():
        wanted[commit].update(r.text for r in pending[doc])
    gone = dropped_names(repo, history.commit, wanted)
    out = {}
    for doc, commit in at.items():
        hits = [r for r in pending[doc] if r.text in gone.get(commit, set())]
        if hits:
            out[doc] = hits
    return out


def judge_all(repo: Path, docs: dict[str, tuple[str, Claims]], sidecars: dict[str, tuple[str, str, int]],
              tree: drift.Tree, ignored: set[str], inventory: Inventory, foreign: set[str], history: History,
              stale_days: dict[str, int], modules: dict[str, str] | None = None
              ) -> dict[str, tuple[list[Reason], Declared | None]]:
    """Document path → (its reasons, its declared lifecycle); ``docs``: path → (type, claims); ``modules``: the
    repository's own Go modules (``drift.resolve``)."""
    declared = {p: declared_of(c, sidecars.get(p)) for p, (_, c) in docs.items()}
    resolutions = {p: drift.resolve(p, c, tree, history, ignored, inventory, foreign, modules)
                   for p, (_, c) in docs.items()}
    has_code = bool(inventory.code_paths)
    pending = {p: r.unknown_identifiers for p, r in resolutions.items() if has_code and r.unknown_identifiers
               and r.about_code()
               and docs[p][0] != "changelog" and (declared[p] is None or declared[p].cls != "retired")}
    for doc, refs in gone_identifiers(repo, history, pending).items():
        resolutions[doc].gone_identifiers = refs
    # each member of a numbered collection (a PEP, an ADR) is its own context: its settings are not the project's
    conflicts = contradictions.find({p: c for p, (kind, c) in docs.items() if kind != "changelog" and not
                                     is_numbered(p) and (declared[p] is None or declared[p].cls != "retired")})
    code_files = set(inventory.code_paths)
    code_by_folder: dict[str, list[str]] = defaultdict(list)  # folder → code under it; "=folder": directly in it
    for path in inventory.code_paths:
        code_by_folder["=" + posixpath.dirname(path)].append(path)
        for i in range(1, path.count("/") + 1):
            code_by_folder[path.rsplit("/", i)[0]].append(path)
    out = {}
    for path, (kind, claims) in docs.items():
        res, state = resolutions[path], declared[path]
        reasons = [r for r in (trust.lifecycle_reason(state),) if r is not None]
        if kind != "changelog":  # a changelog is a record of the past: what it names may rightly be gone
            routes = [r.raw for r in claims.routes if inventory.routes and not inventory.declares(r.method, r.path)]
            reasons += trust.drift_reasons(path, res, claims, state, routes)
            # the code of its own component: a README/index documents its folder's tree, another document the
            # code beside it; a documentation folder's build files (conf.py) are not its subject
            folder = posixpath.dirname(path)
            readme = path.rsplit("/", 1)[-1].lower().startswith(("readme", "index"))
            own = [] if in_doc_dir(path) else code_by_folder.get(folder if readme else "=" + folder, [])
            recency = trust.recency_reason(path, res, own, code_files, history, stale_days[kind], state)
            reasons += [recency] if recency else []
        reasons += conflicts.get(path, [])
        out[path] = (reasons, state)
    return out


def prose_counts(paths: list[str]) -> dict[str, int]:
    """Prose documents per folder (for sidecar ownership)."""
    counts: dict[str, int] = defaultdict(int)
    for path in paths:
        if extension(path) in PROSE_FORMATS:
            counts[posixpath.dirname(path)] += 1
    return counts
