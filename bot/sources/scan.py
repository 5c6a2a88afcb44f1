"""Scan a checkout at a commit into scored sources (seed 000 §7, SF-2001…SF-2003), and ``scenarioforge scan``.

``scan`` is a pure function of the repository's git objects at ``ref``: the
working tree state does not matter, symlinks are inspected as link targets
and never followed, submodules are not entered. It reads the tree once
(``git ls-tree``), the blobs once (``git cat-file --batch``), the history
once (``git log --name-only``) and asks the commit's ``.gitignore`` rules
once (``git check-ignore --stdin``) about referenced paths that are absent.
"""
from __future__ import annotations

import posixpath
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from bot.domain.sources import Reason, ScanResult, Source
from bot.errors import GitError
from bot.sources import contradictions, trust
from bot.sources.discovery import classify, is_candidate_path
from bot.sources.history import History, read_history
from bot.sources.inventory import Inventory, add_file, language_of
from bot.sources.references import Claims, extract, locate
from bot.sources.render import render_terminal
from bot.sources.snapshot import (
    Entry,
    ignored_paths,
    list_tree,
    read_blobs,
    read_path,
    resolve_commit,
)
from config.repo import (
    CONFIG_PATH,
    RepoConfig,
    SourcesConfig,
    load_repo_config,
    matches_any,
)

BINARY_PROBE = 8000  # bytes inspected for NUL, as git's own binary heuristic


def _exclusion(entry: Entry, blob: bytes | None, cap: int) -> tuple[Reason | None, str | None]:
    """Why the entry cannot be a source (``Reason``), else its UTF-8 text."""
    if entry.is_submodule:
        return Reason(code="submodule", severity="exclude", message="A git submodule: another repository, not scanned.",
                      evidence=[f"{entry.path} → commit {entry.sha}"]), None
    if entry.is_symlink:
        target = (blob or b"").decode("utf-8", "replace")
        resolved = _link_target(entry, blob)
        if resolved is None:
            return Reason(code="symlink-outside", severity="exclude", message="A symlink leaving the repository; "
                          "never followed.", evidence=[f"{entry.path} → {target}"]), None
        return Reason(code="symlink", severity="exclude", message="A symlink inside the repository; its target "
                      "is scanned on its own.", evidence=[f"{entry.path} → {resolved}"]), None
    if entry.size > cap:
        return Reason(code="oversized", severity="exclude", message=f"Larger than max_file_kb ({cap // 1024} KiB).",
                      evidence=[f"{entry.size} bytes"]), None
    assert blob is not None
    if b"\0" in blob[:BINARY_PROBE]:
        return Reason(code="binary", severity="exclude", message="A binary file (NUL bytes).",
                      evidence=[f"NUL byte at offset {blob.index(0)}"]), None
    try:
        return None, blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reason(code="not-utf8", severity="exclude", message="Not valid UTF-8 text.",
                      evidence=[f"byte 0x{blob[exc.start]:02x} at offset {exc.start}"]), None


def _link_target(entry: Entry, blob: bytes | None) -> str | None:
    """The repository path a symlink points to (never followed); ``None`` when it leaves the tree."""
    target = (blob or b"").decode("utf-8", "replace")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(entry.path), target))
    return None if target.startswith("/") or resolved == ".." or resolved.startswith("../") else resolved


def _excluded_source(entry: Entry, reason: Reason) -> Source:
    return Source(path=entry.path, blob_sha=entry.sha, size=entry.size, type=classify(entry.path, "") or "other",
                  status="excluded", score=0.0, reasons=[reason], selected=False)


def scan(repo_path: Path | str, ref: str = "HEAD", config: RepoConfig | None = None,
         config_error: str | None = None) -> ScanResult:
    """Discover, inventory and score the sources of ``repo_path`` at ``ref``.

    ``config_error`` (from ``load_repo_config``) is reported as a note.
    Raises ``GitError`` when the path is not a git repository or ``ref`` is
    not a commit; an empty repository gives an empty result with a note.
    """
    repo, cfg = Path(repo_path), (config or RepoConfig()).sources
    notes = [Reason(code="config-invalid", severity="info", message="The repository config is invalid; defaults "
                    "are used.", evidence=[config_error])] if config_error else []
    commit = resolve_commit(repo, ref)
    if commit is None:
        notes.append(Reason(code="empty-repository", severity="info", message="The repository has no commits yet.",
                            evidence=[f"{ref} does not resolve"]))
        return ScanResult(commit_sha=None, notes=notes)
    with ThreadPoolExecutor(max_workers=1) as pool:  # git walks the history while we read the tree
        history_job = pool.submit(read_history, repo, commit)
        sources, inventory = _score(repo, commit, cfg, notes, history_job)
    sources.sort(key=lambda s: s.path)
    return ScanResult(commit_sha=commit, shallow=history_job.result().shallow, notes=notes, sources=sources,
                      inventory=inventory.summary())


class _Tree(NamedTuple):
    """The paths of the commit: files, folders, and file base names."""

    files: set[str]
    dirs: set[str]
    basenames: set[str]


def _score(repo: Path, commit: str, cfg: SourcesConfig, notes: list[Reason],
           history_job: Future[History]) -> tuple[list[Source], Inventory]:
    """Read the tree, build the inventory, then judge every document (waiting for the history only there)."""
    cap = cfg.max_file_kb * 1024
    excluded, included = cfg.excluded(), cfg.include
    entries = [e for e in list_tree(repo, commit) if not matches_any(e.path, excluded) or matches_any(e.path, included)]
    docs = [e for e in entries
            if e.is_symlink or e.is_submodule or is_candidate_path(e.path) or matches_any(e.path, included)]
    code = [e for e in entries if language_of(e.path) and not e.is_symlink and not e.is_submodule]
    ignores = [e for e in entries if e.path.rsplit("/", 1)[-1] == ".gitignore" and e.mode.startswith("100")]
    blobs = read_blobs(repo, [e.sha for e in docs + code + ignores
                              if not e.is_submodule and (e.size <= cap or e.is_symlink)])
    inventory = Inventory()
    for entry in code:
        blob = blobs.get(entry.sha)
        add_file(inventory, entry.path, language_of(entry.path) or "", blob.decode("utf-8", "replace") if blob else None)
    sources, texts = _documents(docs, blobs, cfg)
    files = {e.path for e in entries}
    tree = _Tree(files, {p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)},
                 {p.rsplit("/", 1)[-1] for p in files})
    claims = _claims(repo, texts, tree, {e.path: blobs.get(e.sha, b"") for e in ignores})
    sources += _judge(texts, claims, tree, inventory, cfg, notes, history_job.result())
    return sources, inventory


def _documents(docs: list[Entry], blobs: dict[str, bytes], cfg: SourcesConfig
               ) -> tuple[list[Source], dict[Entry, tuple[str, str]]]:
    """Excluded sources (with their reason) and the readable documents as entry → (type, text).

    A symlink inside the tree is listed only when it points to a document (which is scanned on its own).
    """
    excluded: list[tuple[Entry, Reason]] = []
    texts: dict[Entry, tuple[str, str]] = {}
    for entry in docs:
        reason, text = _exclusion(entry, blobs.get(entry.sha), cfg.max_file_kb * 1024)
        if reason is not None:
            excluded.append((entry, reason))
            continue
        kind = classify(entry.path, text or "") or ("other" if matches_any(entry.path, cfg.include) else None)
        if kind is not None:
            texts[entry] = (kind, text or "")
    documents = {e.path for e in texts}
    return [_excluded_source(e, r) for e, r in excluded
            if r.code != "symlink" or _link_target(e, blobs.get(e.sha)) in documents], texts


def _claims(repo: Path, texts: dict[Entry, tuple[str, str]], tree: _Tree, gitignores: dict[str, bytes]
            ) -> dict[str, Claims]:
    """Each document's claims, paths located in the tree.

    Absent paths that the commit's own ``.gitignore`` files ignore (a local
    database, a build folder) are dropped: they are not expected in the tree.
    """
    claims: dict[str, Claims] = {e.path: extract(e.path, text) for e, (_, text) in texts.items()}
    for doc, found in claims.items():
        found.paths = locate(doc, found.paths, tree.files | tree.dirs)
    absent = {p for c in claims.values() for p in c.paths if p not in tree.files and p not in tree.dirs}
    absent |= {b for c in claims.values() for b in c.basenames if b not in tree.basenames}
    ignored = ignored_paths(repo, gitignores, sorted(absent)) if absent and gitignores else set()
    for found in claims.values():
        found.paths = [p for p in found.paths if p not in ignored]
        found.basenames = [b for b in found.basenames if b not in ignored]
    return claims


def _judge(texts: dict[Entry, tuple[str, str]], claims: dict[str, Claims], tree: _Tree, inventory: Inventory,
           cfg: SourcesConfig, notes: list[Reason], history: History) -> list[Source]:
    """Signals, score and status of each readable document (``bot.sources.trust`` holds the rule)."""
    kinds = {e.path: kind for e, (kind, _) in texts.items()}
    # changelogs record the past, withdrawn/superseded documents are meant to disagree with the current ones
    conflicts = contradictions.find(
        {p: c for p, c in claims.items() if kinds[p] != "changelog" and c.lifecycle not in trust.TERMINAL}
    )
    code_files = set(inventory.code_paths)
    code_latest = history.latest(inventory.code_paths)
    if history.shallow:
        notes.append(Reason(code="shallow-clone", severity="info", message="Shallow clone: recency is not judged.",
                            evidence=[f"{history.commits} commit(s) of history available"]))
    sources = []
    for entry, (kind, _) in texts.items():
        found = claims[entry.path]
        reasons = [
            r for r in (trust.lifecycle_reason(found),
                        trust.recency_reason(entry.path, found, code_files, tree.dirs, history, code_latest,
                                             cfg.stale_days(kind)))
            if r is not None
        ]
        if kind != "changelog":  # a changelog is a record of the past: what it names may rightly be gone
            reasons += trust.drift_reasons(found, tree.files, tree.dirs, tree.basenames, inventory)
        reasons += conflicts.get(entry.path, [])
        score, status = trust.judge(reasons)
        sources.append(Source(path=entry.path, blob_sha=entry.sha, size=entry.size, type=kind, status=status,
                              score=score, reasons=reasons, selected=cfg.selected_by_default(kind, status)))
    return sources


def scan_checkout(repo_path: Path | str, ref: str = "HEAD") -> ScanResult:
    """``scan`` with the config file read from ``ref`` itself (the local CLI has no default branch to ask)."""
    commit = resolve_commit(Path(repo_path), ref)
    text = read_path(Path(repo_path), commit, CONFIG_PATH) if commit else None
    config, error = load_repo_config(text)
    return scan(repo_path, commit or ref, config, error)


def scan_command(path: Path, ref: str = "HEAD", as_json: bool = False) -> int:
    """``scenarioforge scan PATH [--ref REF] [--json]``: print the manifest; 0 on success, 2 on a git error."""
    try:
        result = scan_checkout(path, ref)
    except GitError as exc:
        print(f"scenarioforge scan: {exc.message}", file=sys.stderr)
        return 2
    print(result.model_dump_json(indent=2) if as_json else render_terminal(result), end="\n")
    return 0
