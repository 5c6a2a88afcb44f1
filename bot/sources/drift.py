"""Resolve what a document names against the tree and the history: fine, drift, or someone else's.

After Tan, Wagner & Treude, "Detecting outdated code element references in
software repository documentation" (EMSE 2024): a reference counts against a
document only when it is the project's own.

- A path is looked up as written, against the document's folder, and by
  unique suffix (``index.html`` → ``app/templates/index.html``). Found: fine.
- Not found but some commit had it: drift, with the commit that removed it
  and, when git's rename detection paired it, the path it now lives at (else
  the only file of the tree with the same name, as a guess: a move with
  changes that git did not pair). Documents and images are told apart from
  code (``History.only_documents``).
  Paths any ``.gitignore`` of the tree ignores are not drift (build output).
- Never in the history: an example, a placeholder or another project's path:
  ``unresolved``, no penalty.
- An identifier found in the code inventory is fine; a standard-library or
  declared-dependency name (``bot.sources.dependencies``) is someone else's;
  otherwise it is drift only when the document names this repository's code
  at all (``Resolution.about_code``: a PEP's identifiers are CPython's, not
  its repository's) and the code at the document's own last commit spelled
  it (``bot.sources.dropped``, at most ``MAX_SNAPSHOTS`` commits per scan),
  else unresolved.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from bot.sources.dependencies import is_foreign
from bot.sources.discovery import extension
from bot.sources.history import History
from bot.sources.inventory import Inventory, language_of
from bot.sources.references import Claims, Ref

MAX_SNAPSHOTS = 24  # older commits read for identifiers (only their blobs that differ from the tree)
DISTINCTIVE = 6  # identifiers shorter than this are not looked up in the history (`map`, `set`)


@dataclass
class Gone:
    """A reference that existed in the history and is gone: ``ref`` as written, where it was, the removing
    commit ``(time, sha)``, and its ``successor`` when it was renamed into something that exists."""

    ref: Ref
    path: str
    removed: tuple[int, str] | None
    successor: str | None = None
    guessed: bool = False  # the successor is the only file of the tree with the same name, not a git rename
    document: bool = False  # a document or image (or a folder that only ever held those), not code


@dataclass
class Resolution:
    """One document's references: ``found`` repository paths, ``gone`` drift, ``unresolved`` as written."""

    found: list[str] = field(default_factory=list)
    gone: list[Gone] = field(default_factory=list)
    gone_identifiers: list[Ref] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    unknown_identifiers: list[Ref] = field(default_factory=list)  # to check against the history
    known_identifiers: int = 0  # identifiers the code declares today

    def about_code(self) -> bool:
        """True when the document names code of this repository: a code file it has or had, or a name its code
        declares."""
        return self.known_identifiers > 0 or any(language_of(p) for p in self.found) or \
            any(not g.document for g in self.gone)


@dataclass
class Tree:
    """The commit's paths: ``files``, ``dirs``, and file paths by base name (for suffix lookups)."""

    files: set[str]
    dirs: set[str] = field(default_factory=set)
    by_name: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, files: set[str]) -> Tree:
        tree = cls(files, {p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)})
        for path in sorted(files):  # in path order: a bare file name's first match must not vary from run to run
            tree.by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
        return tree

    def has(self, path: str) -> bool:
        return path in self.files or path in self.dirs

    def by_suffix(self, ref: str) -> str | None:
        """The one file whose path ends with ``/ref`` (whole segments), else ``None``."""
        hits = [p for p in self.by_name.get(ref.rsplit("/", 1)[-1], ()) if p == ref or p.endswith("/" + ref)]
        return hits[0] if len(hits) == 1 else None


def candidates(doc: str, text: str) -> list[str]:
    """The repository paths ``text`` may mean: from the root and from the document's folder."""
    out = []
    for base in ("", posixpath.dirname(doc)) if not text.startswith("/") else ("",):
        path = posixpath.normpath(posixpath.join(base, text.lstrip("/")))
        if not path.startswith("..") and path != "." and path not in out:
            out.append(path)
    return out


def _package(ref: str, modules: dict[str, str]) -> str | None:
    """The repository folder of a Go import path of one of ``modules`` (module path → its folder), else None."""
    module = max((m for m in modules if ref.startswith(m + "/")), key=len, default=None)
    return posixpath.join(modules[module], ref[len(module) + 1:]) if module is not None else None


def resolve(doc: str, claims: Claims, tree: Tree, history: History, ignored: set[str], inventory: Inventory,
            foreign: set[str], modules: dict[str, str] | None = None) -> Resolution:
    """Sort ``claims``' paths, file names and identifiers into found, gone (drift) and unresolved.

    ``modules``: the repository's own Go modules, now or formerly (module path → folder). An import path of
    another module is someone else's and not listed; one of this repository's counts only when its package is
    gone (a list of import labels does not make a document about that code).
    """
    res = Resolution()
    for ref in claims.paths:
        imported = ref.text.startswith("github.com/")
        package = _package(ref.text, modules or {}) if imported else None
        if imported and package is None:
            continue
        found = [package] if package is not None else candidates(doc, ref.text.rstrip("/"))
        hit = next((c for c in found if tree.has(c)), None) or \
            (None if imported else tree.by_suffix(ref.text.strip("/")))
        if hit:
            res.found.extend([] if imported else [hit])
            continue
        if any(c in ignored for c in found):  # build output or local files: expected to be absent
            continue
        was = next((c for c in found if history.existed(c)), None)
        if was is None:
            res.unresolved.append(ref.text)
            continue
        successor = history.successor(was)
        successor = successor if successor and tree.has(successor) else None
        guess = tree.by_name.get(was.rsplit("/", 1)[-1], []) if successor is None and extension(was) else []
        removed = history.removed.get(was) or max((c for p, c in history.removed.items() if p.startswith(was + "/")),
                                                  default=None)
        res.gone.append(Gone(ref, was, removed, successor or (guess[0] if len(guess) == 1 else None),
                             guessed=successor is None and len(guess) == 1, document=history.only_documents(was)))
    for ref in claims.basenames:
        if ref.text in tree.by_name:
            res.found.extend(tree.by_name[ref.text][:1])
        else:
            res.unresolved.append(ref.text)
    for ref in claims.identifiers:
        if _known(ref.text, inventory):
            res.known_identifiers += 1
        elif len(ref.text) >= DISTINCTIVE and not is_foreign(ref.text, foreign):
            res.unknown_identifiers.append(ref)
    return res


def _known(identifier: str, inventory: Inventory) -> bool:
    """Declared or imported in the code (the name, its first or last part), or spelled as a string literal."""
    first, _, rest = identifier.partition(".")
    if rest and first in inventory.modules:
        return True
    return bool({identifier, first, identifier.rsplit(".", 1)[-1]} & inventory.symbols) or identifier in inventory.literals
