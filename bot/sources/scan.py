"""Scan a checkout at a commit into scored sources (seed 000 §7, SF-2001…SF-2003), and ``scenarioforge scan``.

``scan`` is a pure function of the repository's git objects at ``ref``: the
working tree state does not matter, symlinks are inspected as link targets
and never followed, submodules are not entered. It reads the tree once
(``git ls-tree``), the blobs it has not parsed before once (``git cat-file
--batch``), the history once (``git log --name-status``, only the new
commits when a ``ScanCache`` knows an older position) and asks the commit's
``.gitignore`` rules once (``git check-ignore --stdin``) about referenced
paths that are absent. Documents and code files are read on both cores
when there is much to read (``PARALLEL_FROM``). A rescan of a commit already scanned with the
same config reads the stored result and nothing else.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from bot.domain.sources import Reason, ScanResult, Source
from bot.errors import GitError
from bot.sources import assess, trust
from bot.sources.cache import CACHE_FOLDER, ScanCache, open_cache
from bot.sources.dependencies import declared_names, go_modules, is_manifest
from bot.sources.discovery import is_candidate_path
from bot.sources.documents import discovery_note, documents, exclusion, sidecars
from bot.sources.drift import Tree, candidates
from bot.sources.history import History, extend
from bot.sources.inventory import FACTS_VERSION, Inventory, add_facts, file_facts, language_of
from bot.sources.references import PARSER_VERSION, extract
from bot.sources.render import render_terminal
from bot.sources.snapshot import git, ignored_paths, list_tree, read_blobs, read_path, Located, locate
from config.repo import (
    CONFIG_PATH,
    RepoConfig,
    SourcesConfig,
    load_repo_config,
    matches_any,
)

PARALLEL_FROM = 4 << 20  # characters of documents and code to read before a second process pays for itself
SCAN_VERSION = 1  # bump when the judgement of unchanged inputs would change (it keys the result cache)


def scan(repo_path: Path | str, ref: str = "HEAD", config: RepoConfig | None = None,
         config_error: str | None = None, cache: ScanCache | None = None) -> ScanResult:
    """Discover, inventory and score the sources of ``repo_path`` at ``ref``.

    ``config_error`` (from ``load_repo_config``) is reported as a note;
    ``cache`` keeps parses and the history position for the next scan.
    Raises ``GitError`` when the path is not a git repository or ``ref`` is
    not a commit; an empty repository gives an empty result with a note.
    """
    return _scan(Path(repo_path), ref, locate(Path(repo_path), ref), config, config_error, cache)


def _scan(repo: Path, ref: str, located: Located, config: RepoConfig | None, config_error: str | None,
          cache: ScanCache | None) -> ScanResult:
    """``scan`` of the ``located`` commit."""
    cfg = (config or RepoConfig()).sources
    notes = [Reason(code="config-invalid", severity="info", message="The repository config is invalid; defaults "
                    "are used.", evidence=[config_error])] if config_error else []
    commit, where = located.commit, located.git_dir
    if commit is None:
        notes.append(Reason(code="empty-repository", severity="info", message="The repository has no commits yet.",
                            evidence=[f"{ref} does not resolve"]))
        return ScanResult(commit_sha=None, notes=notes)
    key = _result_key(commit, cfg, config_error, located.shallow)
    stored = cache.get_result(where, key) if cache else None
    if stored is not None:  # the same commit, config and scanner: nothing to read again
        return ScanResult.model_validate_json(stored)
    with ThreadPoolExecutor(max_workers=1) as pool:  # git walks the history while we read the tree
        history_job = pool.submit(_history, repo, where, commit, cache)
        sources, inventory = _score(repo, commit, cfg, notes, history_job.result, cache)
    sources.sort(key=lambda s: s.path)
    result = ScanResult(commit_sha=commit, shallow=history_job.result().shallow, notes=notes, sources=sources,
                        inventory=inventory.summary())
    if cache:
        cache.put_result(where, key, result.model_dump_json(exclude={"manifest_hash"}).encode())
    return result


def _result_key(commit: str, cfg: SourcesConfig, config_error: str | None, shallow: bool) -> str:
    """What a whole result depends on besides the repository: commit, config, shallowness, scanner versions."""
    inputs = f"{cfg.model_dump_json()}\0{config_error}\0{shallow}\0{SCAN_VERSION}:{PARSER_VERSION}:{FACTS_VERSION}"
    return f"{commit}:{hashlib.sha256(inputs.encode()).hexdigest()[:32]}"


def _history(repo: Path, key: str, commit: str, cache: ScanCache | None) -> History:
    """The history at ``commit``: from the cache, extended from its newest position, or read whole."""
    stored = cache.get_many("history", [f"{key}\0{commit}"]) if cache else {}
    known = stored.get(f"{key}\0{commit}") or (cache.nearest_history(key) if cache else None)
    history = extend(History.from_json(known) if known else History(), repo, commit)
    if cache and history.commit != (known or {}).get("commit"):
        cache.put_history(key, commit, history.to_json())
    return history


def _work(item: tuple[str, ...]) -> dict:
    """A document's claims (``(path, text)``) or a code file's facts (``(path, language, text)``), as JSON."""
    return extract(*item).model_dump(mode="json") if len(item) == 2 else file_facts(*item)


def _work_all(items: dict[str, tuple[str, ...]]) -> dict[str, dict]:
    """``_work`` of every item (cache key → item), on two processes when there is much to read.

    Below ``PARALLEL_FROM`` characters in all (some 0.5 s of parsing) starting the second process costs about
    what it saves. The largest items go first, so the two processes end together. The workers are forked from
    the main thread (the CLI); from any other thread (the bot's worker threads) they start from a fork server,
    as forking a threaded process is not safe.
    """
    if sum(len(item[-1]) for item in items.values()) < PARALLEL_FROM:
        return {key: _work(item) for key, item in items.items()}
    method = "fork" if threading.current_thread() is threading.main_thread() else "forkserver"
    order = sorted(items, key=lambda key: -len(items[key][-1]))
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context(method)) as pool:
        return dict(zip(order, pool.map(_work, [items[key] for key in order], chunksize=8)))


def _score(repo: Path, commit: str, cfg: SourcesConfig, notes: list[Reason], history_of, cache: ScanCache | None
           ) -> tuple[list[Source], Inventory]:
    """Read the tree and the blobs not cached, build the inventory, then judge every document."""
    cap = cfg.max_file_kb * 1024
    excluded, included = cfg.excluded(), cfg.include
    listed = list_tree(repo, commit)
    entries = [e for e in listed if not matches_any(e.path, excluded) or matches_any(e.path, included)]
    docs = [e for e in entries
            if e.is_symlink or e.is_submodule or is_candidate_path(e.path) or matches_any(e.path, included)]
    code = [e for e in entries if language_of(e.path) and not e.is_symlink and not e.is_submodule]
    by_path = {e.path: e for e in entries}
    ignores = [e for e in entries if e.path.rsplit("/", 1)[-1] == ".gitignore" and e.mode.startswith("100")]
    manifests = [e for e in entries if is_manifest(e.path) and e.size <= cap]
    doc_keys = {e.sha: f"{PARSER_VERSION}:{e.path.rsplit('.', 1)[-1].lower()}:{e.sha}" for e in docs}
    fact_keys = {e.sha: f"{FACTS_VERSION}:{language_of(e.path)}:{e.sha}" for e in code}
    parsed = cache.get_many("claims", doc_keys.values()) if cache else {}
    facts = cache.get_many("facts", fact_keys.values()) if cache else {}
    wanted = [e for e in docs if (doc_keys[e.sha] not in parsed or e.is_symlink) and not e.is_submodule
              and (e.size <= cap or e.is_symlink)]
    wanted += [e for e in code if fact_keys[e.sha] not in facts and e.size <= cap] + ignores + manifests
    blobs = read_blobs(repo, [e.sha for e in wanted])
    to_read: dict[str, tuple[str, ...]] = {}
    for entry in code:
        key, blob = fact_keys[entry.sha], blobs.get(entry.sha)
        if key not in facts and blob is not None:
            to_read[key] = (entry.path, language_of(entry.path) or "", blob.decode("utf-8", "replace"))
    fresh: dict[str, dict] = {}
    for entry in docs:
        key = doc_keys[entry.sha]
        if key in parsed or entry.is_symlink or entry.is_submodule:
            continue
        reason, text = exclusion(entry, blobs.get(entry.sha), cap)
        if reason is not None:
            fresh[key] = {"exclusion": reason.model_dump(mode="json")}
        else:
            to_read[key] = (entry.path, text or "")
    done = _work_all(to_read)
    new_facts = {key: done.pop(key) for key in list(done) if len(to_read[key]) == 3}
    facts.update(new_facts)
    fresh.update(done)
    parsed.update(fresh)
    inventory = Inventory()
    for entry in code:
        add_facts(inventory, entry.path, language_of(entry.path) or "", facts.get(fact_keys[entry.sha]))
    if cache:
        cache.put_many("facts", new_facts)
        cache.put_many("claims", fresh)
    sources, readable = documents(docs, parsed, doc_keys, cfg, blobs)
    files = {e.path for e in entries}
    tree = Tree.of(files)
    found_sidecars = sidecars(list(readable), by_path, cache, repo)
    claims = {p: c for p, (_, c) in readable.items()}
    absent = sorted({c for doc, claim in claims.items() for r in claim.paths
                     for c in candidates(doc, r.text.rstrip("/")) if not tree.has(c)})
    gitignores = {e.path: blobs.get(e.sha, b"") for e in ignores}
    ignored = ignored_paths(repo, gitignores, absent) if absent and gitignores else set()
    foreign = declared_names({e.path: blobs.get(e.sha, b"").decode("utf-8", "replace") for e in manifests})
    history = history_of()
    if history.shallow:
        notes.append(Reason(code="shallow-clone", severity="info", message="Shallow clone: recency is not judged.",
                            evidence=[f"{history.commits} commit(s) of history available"]))
    stale_days = {kind: cfg.stale_days(kind) for kind, _ in readable.values()}
    imports = any(r.text.startswith("github.com/") for claim in claims.values() for r in claim.paths)
    modules = _go_modules(repo, commit, {e.path: blobs.get(e.sha, b"") for e in manifests}) if imports else {}
    judged = assess.judge_all(repo, readable, found_sidecars, tree, ignored, inventory, foreign, history, stale_days,
                              modules)
    for path, (kind, _) in readable.items():
        reasons, _state = judged[path]
        score, status = trust.judge(reasons)
        entry = by_path[path]
        sources.append(Source(path=path, blob_sha=entry.sha, size=entry.size, type=kind, status=status, score=score,
                              reasons=reasons, selected=cfg.selected_by_default(kind, status)))
    notes.append(discovery_note(listed, {e.path for e in entries}, {e.path for e in docs}, sources))
    return sources, inventory


def _go_modules(repo: Path, commit: str, manifests: dict[str, bytes]) -> dict[str, str]:
    """The repository's own Go modules → their folder: every ``go.mod`` of the tree, and the modules the root
    ``go.mod`` declared in the past (a renamed project: one ``git log -p -G`` of that file)."""
    mods = {path: blob.decode("utf-8", "replace") for path, blob in manifests.items()
            if path.rsplit("/", 1)[-1] == "go.mod"}
    past = git(repo, "log", commit, "--format=", "-p", "--no-renames", "-G^module ", "--", "go.mod") \
        if "go.mod" in mods else b""
    modules = {module: "" for module in go_modules(past.decode("utf-8", "replace"))}
    modules.update({module: posixpath.dirname(path) for path, text in mods.items() for module in go_modules(text)})
    return modules


def scan_checkout(repo_path: Path | str, ref: str = "HEAD", cache: ScanCache | None = None) -> ScanResult:
    """``scan`` with the config file read from ``ref`` itself (the local CLI has no default branch to ask)."""
    located = locate(Path(repo_path), ref)
    text = read_path(Path(repo_path), located.commit, CONFIG_PATH) if located.commit else None
    config, error = load_repo_config(text)
    return _scan(Path(repo_path), ref, located, config, error, cache)


def scan_command(path: Path, ref: str = "HEAD", as_json: bool = False) -> int:
    """``scenarioforge scan PATH [--ref REF] [--json]``: print the manifest; 0 on success, 2 on a git error.

    With ``SCENARIOFORGE_WORKDIR`` set, the scan cache under it is used (and filled).
    """
    workdir = os.environ.get("SCENARIOFORGE_WORKDIR")  # the bot's WORKDIR: its scan cache is reused
    try:
        result = scan_checkout(path, ref, open_cache(Path(workdir) / CACHE_FOLDER if workdir else None))
    except GitError as exc:
        print(f"scenarioforge scan: {exc.message}", file=sys.stderr)
        return 2
    print(result.model_dump_json(indent=2) if as_json else render_terminal(result), end="\n")
    return 0
