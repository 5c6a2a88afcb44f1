"""Reading doc-only fixes for the drift miner: path and identifier tokens of a diff line, hunks, trees, grep."""
from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterable

from bench.labels.git import Git

DOC_EXT = (".md", ".rst", ".markdown", ".adoc", ".mdx")
CHANGELOG_RX = re.compile(r"(^|/)(changelog[^/]*|changes|history|news|release[-_ ]?notes?[^/]*|upgrad(e|ing)[^/]*)"
                          r"(\.[a-z]+)?$|(^|/)\.changelog/|(^|/)release_notes", re.I)
PATH_RX = re.compile(r"(?<![\w./:@-])((?:\.{1,2}/)*[A-Za-z0-9_][\w.\-]*(?:/[\w.\-]+)+/?)")
GH_LINK_RX = re.compile(r"https?://github\.com/([\w.-]+)/([\w.-]+)/(?:blob|tree)/[^/\s)]+/([^\s)#?\"'>`]+)")
URL_RX = re.compile(r"\b(?:https?|ftp)://\S+")
CODE_SPAN_RX = re.compile(r"``([^`]+)``|`([^`]+)`")
IDENT_RX = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")


def is_doc(path: str) -> bool:
    return path.lower().endswith(DOC_EXT)


def ident_like(tok: str) -> bool:
    last = tok.rsplit(".", 1)[-1]
    if len(last) < 5 or last.isupper() and "_" not in last:
        return False
    camel = bool(re.search(r"[a-z][A-Z]", last)) or bool(re.match(r"^[A-Z][a-z]+[A-Z]", last))
    snake = "_" in last.strip("_") and last.lower() == last and len(last) >= 6
    return camel or snake


def is_code(path: str, globs: tuple[str, ...]) -> bool:
    base = posixpath.basename(path)
    return any(fnmatch.fnmatchcase(path if "/" in gl else base, gl) for gl in globs)


def path_tokens(line: str, repo: str, aliases: tuple[str, ...] = ()) -> list[str]:
    toks = []
    names = {repo.lower(), *(a.lower() for a in aliases)}
    for m in GH_LINK_RX.finditer(line):
        if f"{m.group(1)}/{m.group(2)}".lower() in names:
            toks.append("/" + m.group(3).rstrip("/.,;"))  # repo-rooted
    stripped = URL_RX.sub(" ", line)
    for n in names:  # Go-style import paths github.com/owner/name/pkg/x -> /pkg/x
        for m in re.finditer(r"(?<![\w/.])github\.com/" + re.escape(n) + r"(?:/v\d+)?/([\w./-]+)", stripped, re.I):
            toks.append("/" + m.group(1).rstrip("/.,;:"))
        stripped = re.sub(r"github\.com/" + re.escape(n) + r"[\w./-]*", " ", stripped, flags=re.I)
    for m in PATH_RX.finditer(stripped):
        t = m.group(1).rstrip("/.,;:")
        if t.count("/") == 0 or re.match(r"^\d", t):
            continue
        toks.append(t)
    return toks


def ident_tokens(line: str) -> list[str]:
    toks = []
    for m in CODE_SPAN_RX.finditer(line):
        span = m.group(1) or m.group(2) or ""
        for t in IDENT_RX.findall(span):
            if ident_like(t):
                toks.append(t.rsplit(".", 1)[-1])
    return toks


def resolve(tok: str, doc: str) -> list[str]:
    """Candidate repository paths for a path token found in `doc`."""
    if tok.startswith("/"):
        return [tok.lstrip("/")]
    if tok.startswith("./") or tok.startswith("../"):
        p = posixpath.normpath(posixpath.join(posixpath.dirname(doc), tok))
        return [] if p.startswith("..") else [p]
    rel = posixpath.normpath(posixpath.join(posixpath.dirname(doc), tok))
    return [tok, rel] if not rel.startswith("..") else [tok]


def parse_hunks(diff: str) -> dict[str, list[tuple[list[str], list[str], int, int]]]:
    """-U0 diff -> {path: [(removed lines, added lines, old start, new start)]}."""
    files: dict[str, list] = {}
    cur = None
    hunk = None
    for ln in diff.split("\n"):
        if ln.startswith("diff --git "):
            cur = None
            continue
        if ln.startswith("+++ "):
            p = ln[4:]
            cur = p[2:] if p.startswith("b/") else None
            if cur is not None:
                files.setdefault(cur, [])
            continue
        if ln.startswith("--- "):
            continue
        if ln.startswith("@@"):
            if cur is not None:
                m = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)", ln)
                hunk = ([], [], int(m.group(1)), int(m.group(2))) if m else ([], [], 0, 0)
                files[cur].append(hunk)
            continue
        if cur is None or hunk is None:
            continue
        if ln.startswith("-"):
            hunk[0].append(ln[1:])
        elif ln.startswith("+"):
            hunk[1].append(ln[1:])
    return files


class TreeCache:
    def __init__(self, g: Git):
        self.g = g
        self.cache: dict[str, tuple[set[str], set[str]]] = {}

    def get(self, commit: str) -> tuple[set[str], set[str]]:
        if commit not in self.cache:
            if len(self.cache) > 64:
                self.cache.clear()
            files = set(self.g.ls(commit))
            dirs = set()
            for f in files:
                d = posixpath.dirname(f)
                while d and d not in dirs:
                    dirs.add(d)
                    d = posixpath.dirname(d)
            self.cache[commit] = (files, dirs)
        return self.cache[commit]


def grep_words(g: Git, revs: list[str], words: Iterable[str], globs: tuple[str, ...]) -> set[str]:
    words = sorted(set(words))
    if not words or not revs:
        return set()
    args = ["grep", "-I", "-h", "-o", "-w", "-F"]
    for w in words:
        args += ["-e", w]
    out = g.run(*args, *revs, "--", *globs, check=False)
    found = set()
    for ln in out.splitlines():
        # with several revs, lines look like "<rev>:<match>"
        found.add(ln.rsplit(":", 1)[-1] if len(revs) > 1 else ln)
    return found & set(words)
