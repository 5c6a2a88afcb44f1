"""Documents of a scan: why a file is excluded, which readable files are sources, their sidecars, the counts.

Exclusions (issue 3): submodules, symlinks (never followed), files over
``max_file_kb``, binary files (a NUL byte in the first ``BINARY_PROBE`` bytes,
git's own heuristic), text that is not UTF-8, and blobs a partial clone lacks.
"""
from __future__ import annotations

import posixpath
from collections import Counter
from pathlib import Path

from bot.domain.sources import Reason, Source
from bot.sources import assess
from bot.sources.cache import ScanCache
from bot.sources.discovery import classify
from bot.sources.inventory import language_of
from bot.sources.lifecycle import SIDECAR_FORMATS, sidecar_status
from bot.sources.references import Claims
from bot.sources.snapshot import Entry, read_blobs
from config.repo import SourcesConfig, matches_any

BINARY_PROBE = 8000  # bytes inspected for NUL, as git's own binary heuristic


def exclusion(entry: Entry, blob: bytes | None, cap: int) -> tuple[Reason | None, str | None]:
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
    if blob is None:
        return Reason(code="unreadable", severity="exclude", message="The blob is not in this repository "
                      "(a partial clone).", evidence=[entry.sha]), None
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


def excluded_source(entry: Entry, reason: Reason) -> Source:
    return Source(path=entry.path, blob_sha=entry.sha, size=entry.size, type=classify(entry.path, "") or "other",
                  status="excluded", score=0.0, reasons=[reason], selected=False)


def documents(docs: list[Entry], parsed: dict[str, dict], keys: dict[str, str], cfg: SourcesConfig,
              blobs: dict[str, bytes]) -> tuple[list[Source], dict[str, tuple[str, Claims]]]:
    """Excluded sources (with their reason) and the readable documents as path → (type, claims).

    ``parsed``: cache key → claims JSON or ``{"exclusion": reason}``; ``keys``: blob SHA → cache key.
    A symlink inside the tree is listed only when it points to a document (which is scanned on its own).
    """
    excluded: list[tuple[Entry, Reason]] = []
    readable: dict[str, tuple[str, Claims]] = {}
    for entry in docs:
        data = parsed.get(keys[entry.sha]) if not entry.is_symlink and not entry.is_submodule else None
        if data is None or "exclusion" in data:
            reason = Reason.model_validate(data["exclusion"]) if data else \
                exclusion(entry, blobs.get(entry.sha), cfg.max_file_kb * 1024)[0]
            if reason is not None:
                excluded.append((entry, reason))
            continue
        claims = Claims.model_validate(data)
        text = blobs.get(entry.sha, b"").decode("utf-8", "replace") if entry.path.endswith((".yaml", ".yml")) else ""
        kind = classify(entry.path, text, title=claims.title, headings=claims.headings, meta_keys=claims.meta_keys,
                        checkboxes=claims.checkboxes) or ("other" if matches_any(entry.path, cfg.include) else None)
        if kind is not None:
            readable[entry.path] = (kind, claims)
    return [excluded_source(e, r) for e, r in excluded
            if r.code != "symlink" or _link_target(e, blobs.get(e.sha)) in readable], readable


def sidecars(docs: list[str], by_path: dict[str, Entry], cache: ScanCache | None, repo: Path
             ) -> dict[str, tuple[str, str, int]]:
    """Document → (metadata file, its status, line) for documents with a sidecar (``assess.sidecar_candidates``)."""
    counts = assess.prose_counts(docs)
    meta_by_folder: dict[str, list[str]] = {}
    for path in by_path:
        if path.endswith(SIDECAR_FORMATS):
            meta_by_folder.setdefault(posixpath.dirname(path), []).append(path)
    wanted: dict[str, list[str]] = {}
    for doc in docs:
        names: list[str] = []
        for candidate in assess.sidecar_candidates(doc, counts):
            if candidate.endswith("/*"):
                names += [p for p in meta_by_folder.get(candidate[:-2], []) if p not in names]
            elif candidate in by_path and candidate not in names:
                names.append(candidate)
        if names:
            wanted[doc] = names
    names_of = {by_path[n].sha: n for names in wanted.values() for n in names}
    keys = {sha: f"sidecar:{sha}" for sha in names_of}
    known = cache.get_many("lookups", keys.values()) if cache else {}
    missing = [sha for sha in names_of if keys[sha] not in known]
    fresh = {keys[sha]: sidecar_status(names_of[sha], blob.decode("utf-8", "replace"))
             for sha, blob in read_blobs(repo, missing).items()}
    if cache:
        cache.put_many("lookups", fresh)
    known.update(fresh)
    out = {}
    for doc, names in wanted.items():
        found = next(((n, known[keys[by_path[n].sha]]) for n in names if known.get(keys[by_path[n].sha])), None)
        if found:
            out[doc] = (found[0], found[1][0], found[1][1])
    return out


def discovery_note(listed: list[Entry], kept: set[str], candidates: set[str], sources: list[Source]) -> Reason:
    """How many files were looked at, how many became sources, and why the others did not (counts per reason)."""
    found = {s.path for s in sources}
    why: Counter[str] = Counter()
    for entry in listed:
        if entry.path in found:
            continue
        if entry.path not in kept:
            why["excluded by config or vendored"] += 1
        elif entry.path in candidates:
            why["prose without planning marks"] += 1
        elif language_of(entry.path):
            why["code"] += 1
        else:
            why["not a document format"] += 1
    return Reason(code="discovery", severity="info", message=f"Looked at {len(listed)} files: {len(found)} became "
                  "sources.", evidence=[f"{n} {reason}" for reason, n in why.most_common()])
