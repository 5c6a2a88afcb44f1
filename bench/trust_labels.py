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
subprocess with ``-c core.hooksPath=/dev/null``.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import posixpath
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import yaml

# --------------------------------------------------------------------------
# git helpers
# --------------------------------------------------------------------------


class Git:
    def __init__(self, git_dir: str):
        self.git_dir = git_dir

    def _cmd(self, *args: str) -> list[str]:
        return ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.quotepath=off",
                "--git-dir", self.git_dir, *args]

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> str:
        p = subprocess.run(self._cmd(*args), input=input, capture_output=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {p.stderr.decode(errors='replace')}")
        return p.stdout.decode("utf-8", errors="replace")

    def rc(self, *args: str) -> int:
        return subprocess.run(self._cmd(*args), capture_output=True).returncode

    def ls(self, commit: str, *paths: str) -> list[str]:
        out = self.run("ls-tree", "-r", "--name-only", "-z", commit, "--", *paths)
        return [p for p in out.split("\0") if p]

    def cat_many(self, commit: str, paths: Iterable[str]) -> dict[str, str]:
        paths = list(paths)
        if not paths:
            return {}
        req = "".join(f"{commit}:{p}\n" for p in paths).encode()
        p = subprocess.run(self._cmd("cat-file", "--batch"), input=req, capture_output=True, check=True)
        data = p.stdout
        out: dict[str, str] = {}
        pos = 0
        for path in paths:
            nl = data.index(b"\n", pos)
            header = data[pos:nl].decode(errors="replace")
            pos = nl + 1
            if header.endswith(" missing"):
                continue
            size = int(header.split()[-1])
            out[path] = data[pos:pos + size].decode("utf-8", errors="replace")
            pos += size + 1
        return out

    def has_commit(self, sha: str) -> bool:
        return self.rc("cat-file", "-e", f"{sha}^{{commit}}") == 0


def find_git_dir(mirror_root: str, repo: str) -> str | None:
    base = os.path.join(mirror_root, repo.replace("/", "+"))
    for cand in (os.path.join(base, "repo"), base, os.path.join(base, ".git")):
        if os.path.isfile(os.path.join(cand, "HEAD")) and os.path.isdir(os.path.join(cand, "objects")):
            return cand
    return None


# --------------------------------------------------------------------------
# lifecycle vocabulary
# --------------------------------------------------------------------------

# Generic word -> class mapping (longest phrases first when matching).
VOCAB: dict[str, str] = {
    # retired
    "withdrawn": "retired", "rejected": "retired", "superseded": "retired",
    "replaced": "retired", "obsolete": "retired", "obsoleted": "retired",
    "abandoned": "retired", "moved": "retired", "deprecated": "retired",
    "discontinued": "retired", "removed": "retired", "closed": "retired",
    "declined": "retired", "retired": "retired", "won't do": "retired",
    "reverted": "retired",
    # in force
    "final": "in_force", "accepted": "in_force", "active": "in_force",
    "implemented": "in_force", "imlpemented": "in_force", "living": "in_force",
    "stable": "in_force", "released": "in_force", "recommended": "in_force",
    "approved": "in_force", "aprroved": "in_force", "adopted": "in_force",
    "completed": "in_force", "complete": "in_force", "done": "in_force",
    # not built
    "draft": "not_built", "proposed": "not_built", "proposal": "not_built",
    "provisional": "not_built", "deferred": "not_built", "stagnant": "not_built",
    "review": "not_built", "in review": "not_built", "under review": "not_built",
    "last call": "not_built", "implementable": "not_built", "exploring": "not_built",
    "ready for implementation": "not_built", "implementation in progress": "not_built",
    "in progress": "not_built", "wip": "not_built", "pending": "not_built",
    "ready-for-release": "not_built", "ready for release": "not_built",
    "postponed": "not_built", "idea": "not_built", "open": "not_built",
    "on hold": "not_built", "on-hold": "not_built",
    "first draft": "not_built", "initial draft": "not_built",
}
_WORDS = sorted(VOCAB, key=len, reverse=True)
_WORD_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in _WORDS) + r")(?![A-Za-z])", re.I)


def classify_word(text: str, anchored: bool = True) -> tuple[str, str] | None:
    """Return (class, matched word) for a declared status text.

    anchored=True: the status word must start the (cleaned) text, which is
    the case for header fields; anchored=False: first vocabulary word
    anywhere in the text (status sections with prose)."""
    t = clean(text)
    if anchored:
        m = _WORD_RE.match(t)
    else:
        m = _WORD_RE.search(t)
    if not m:
        return None
    w = m.group(1).lower()
    return VOCAB[w], w


def clean(text: str) -> str:
    t = text.strip()
    t = re.sub(r"^[-*+>]\s+", "", t)            # bullet / quote
    t = re.sub(r"^\d{4}-\d{2}(-\d{2})?\s*[:\-]?\s*", "", t)  # leading date
    t = re.sub(r"[*_`~]+", "", t)                # emphasis
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", t)  # links
    t = re.sub(r"^(status|stage)\s*[:\-]\s*", "", t, flags=re.I)
    return t.strip(" \t.:;")


# --------------------------------------------------------------------------
# label records
# --------------------------------------------------------------------------


@dataclass
class Label:
    path: str
    cls: str
    declared: str
    evidence: str
    form: str
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = {"path": self.path, "class": self.cls, "declared": self.declared,
             "evidence": self.evidence, "form": self.form}
        d.update(self.extra)
        return d


def ev(path: str, lineno: int, line: str) -> str:
    return f"{path}:{lineno}: {line.rstrip()}"


def undeclared(path: str, form: str, why: str = "") -> Label:
    lab = Label(path, "undeclared", "", "", form)
    if why:
        lab.extra["note"] = why
    return lab


def front_matter(text: str) -> tuple[int, list[str]] | None:
    """Return (first line number, lines) of a leading --- YAML block."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for i in range(1, min(len(lines), 400)):
        if lines[i].strip() in ("---", "..."):
            return 2, lines[1:i]
    return None


def field_line(lines: list[str], start: int, key: str) -> tuple[int, str, str] | None:
    """Find a top-level `key:` in a list of lines; (lineno, value, raw line)."""
    rx = re.compile(r"^" + re.escape(key) + r"\s*:\s*(.*)$", re.I)
    for i, ln in enumerate(lines):
        m = rx.match(ln)
        if m:
            return start + i, m.group(1), ln
    return None


def strip_yaml_value(v: str) -> str:
    v = re.sub(r"\s+#.*$", "", v).strip()
    if v.startswith("#"):
        v = ""
    return v.strip("\"' ")


# --------------------------------------------------------------------------
# per-repository readers
# --------------------------------------------------------------------------


def label_front_matter(path: str, text: str, key: str, form: str = "yaml-front-matter") -> Label:
    fm = front_matter(text)
    if not fm:
        return undeclared(path, form, "no front matter")
    start, lines = fm
    f = field_line(lines, start, key)
    if not f:
        return undeclared(path, form, f"no {key}: field")
    lineno, value, raw = f
    v = strip_yaml_value(value)
    c = classify_word(v)
    if not v or not c:
        return undeclared(path, form, f"{key}: value not a lifecycle word: {v!r}")
    lab = Label(path, c[0], v, ev(path, lineno, raw), form)
    if "#" in value:
        lab.extra["comment"] = value.split("#", 1)[1].strip()
    return lab


def eips_docs(g: Git, commit: str) -> list[str]:
    return [p for p in g.ls(commit, "EIPS") if p.endswith(".md")]


def eips_label(path: str, text: str) -> Label:
    lab = label_front_matter(path, text, "status")
    if lab.declared.lower() == "moved":
        m = re.search(r"moved to (\S+)", text)
        if m:
            lab.extra["replacement"] = m.group(1).rstrip(".")
            lab.form = "yaml-front-matter+moved-to"
    return lab


def peps_docs(g: Git, commit: str) -> list[str]:
    return [p for p in g.ls(commit, "peps") if re.match(r"peps/pep-\d{4}(\.rst|/.*\.(rst|md))$", p)]


def peps_label(path: str, text: str) -> Label:
    form = "rfc822-header"
    lines = text.splitlines()
    header: list[tuple[int, str]] = []
    for i, ln in enumerate(lines[:80]):
        if not ln.strip():
            break
        header.append((i + 1, ln))
    if not header or not re.match(r"^PEP:\s*\d+", header[0][1]):
        return undeclared(path, form, "no PEP header block (supporting file of a PEP)")
    lab = None
    for lineno, ln in header:
        m = re.match(r"^Status:\s*(.*)$", ln)
        if m:
            v = m.group(1).strip()
            c = classify_word(v)
            if not c:
                return undeclared(path, form, f"Status: value not a lifecycle word: {v!r}")
            lab = Label(path, c[0], v, ev(path, lineno, ln), form)
            if v.lower() == "accepted":
                lab.extra["alt_class"] = "not_built"
                lab.extra["note"] = ("PEP 1: an Accepted PEP's reference implementation may not be "
                                     "complete yet; it becomes Final when it is in the code base")
    if lab is None:
        return undeclared(path, form, "no Status: header")
    for lineno, ln in header:
        m = re.match(r"^Superseded-By:\s*(.*)$", ln)
        if m:
            lab.extra["replacement"] = "PEP " + m.group(1).strip()
            lab.form = "rfc822-header+superseded-by"
    return lab


def keps_docs(g: Git, commit: str) -> list[str]:
    files = g.ls(commit, "keps")
    s = set(files)
    docs = []
    for p in files:
        d, b = posixpath.split(p)
        if b == "kep.yaml":
            docs.append(d + "/README.md" if d + "/README.md" in s else p)
        elif b == "README.md":
            docs.append(p)
    return sorted(set(docs))


def keps_label_from(path: str, sidecar: str, text: str | None) -> Label:
    form = "sidecar-kep.yaml"
    if text is None:
        return undeclared(path, form, "no kep.yaml beside it")
    lines = text.splitlines()
    f = field_line(lines, 1, "status")
    if not f:
        return undeclared(path, form, "kep.yaml without status:")
    lineno, value, raw = f
    v = strip_yaml_value(value)
    if "|" in v:
        return undeclared(path, form, f"kep.yaml status: is the unfilled template choice list {v!r}")
    c = classify_word(v)
    if not c:
        return undeclared(path, form, f"status: value not a lifecycle word: {v!r}")
    lab = Label(path, c[0], v, ev(sidecar, lineno, raw), form)
    if "#" in value:
        lab.extra["comment"] = value.split("#", 1)[1].strip()
    try:
        meta = yaml.safe_load(text) or {}
    except Exception:  # noqa: BLE001 - malformed dates etc. in some kep.yaml
        meta = {}
    if isinstance(meta, dict):
        sb = meta.get("superseded-by")
        sb = [sb] if isinstance(sb, str) else (sb if isinstance(sb, list) else [])
        sb = [str(x) for x in sb if x and str(x).strip().lower() not in ("n/a", "na", "none", "-")]
        if sb:
            lab.extra["replacement"] = ", ".join(sb)
    if "replacement" not in lab.extra and "#" in value:
        m = re.search(r"(?:replaced by|merged into)\s+(\S+)", value)
        if m:
            lab.extra["replacement"] = m.group(1)
    return lab


EMBER_NOTES = {
    "accepted": ("not_built", "emberjs/rfcs README: stage 2 Accepted = 'A fully specified RFC. "
                 "Waiting for or in the process of implementation.'"),
}


def ember_docs(g: Git, commit: str) -> list[str]:
    return [p for p in g.ls(commit, "text") if p.endswith(".md")]


def ember_label(path: str, text: str) -> Label:
    lab = label_front_matter(path, text, "stage")
    w = lab.declared.lower()
    if w in EMBER_NOTES:
        lab.extra["alt_class"], lab.extra["note"] = EMBER_NOTES[w]
    if w == "ready-for-release":
        lab.extra["alt_class"] = "in_force"
        lab.extra["note"] = ("emberjs/rfcs README: stage 3 Ready for Release = 'The implementation "
                             "of the RFC is complete', not yet published in a stable release")
    return lab


def grpc_docs(g: Git, commit: str) -> list[str]:
    return [p for p in g.ls(commit) if re.match(r"^[A-Z]\d+[-_].*\.md$", p)]


def grpc_label(path: str, text: str) -> Label:
    form = "bullet-header-block"
    for i, ln in enumerate(text.splitlines()[:40]):
        m = re.match(r"^\s*[*-]\s*\**Status\s*:\s*\**\s*(.*)$", ln, re.I)
        if m:
            v = m.group(1).strip().strip("*").strip()
            if re.match(r"^\{[^,|}]+\}", v):  # "{In Review}": one choice kept in braces
                v = v[1:v.index("}")].strip()
            if v.startswith("{"):
                return undeclared(path, form, f"Status: is the unfilled template choice list {v!r}")
            v = re.sub(r"\s*\{.*\}\s*$", "", v)
            c = classify_word(v)
            if not c:
                return undeclared(path, form, f"Status: value not a lifecycle word: {v!r}")
            return Label(path, c[0], v, ev(path, i + 1, ln), form)
    return undeclared(path, form, "no Status: line in header")


def status_section_label(path: str, text: str, form: str = "status-section") -> Label:
    """Nygard ADR: a '## Status' heading (any level), or a 'Status: X' line."""
    lines = text.splitlines()
    in_code = False
    for i, ln in enumerate(lines):
        if ln.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = re.match(r"^#{1,4}\s*status\s*:?\s*(.*)$", ln, re.I)
        if m:
            rest = m.group(1).strip()
            if rest:  # "## Status: Accepted"
                c = classify_word(rest)
                if c:
                    return _status_lab(path, c, rest, i + 1, ln, form)
            # body until next heading; first line with a lifecycle word
            for j in range(i + 1, min(len(lines), i + 30)):
                body = lines[j]
                if re.match(r"^#{1,6}\s", body):
                    break
                if not body.strip() or body.strip().startswith(("<!--", ">")):
                    continue  # blank, comment, or quoted template guidance
                if re.match(r"^\s*\{.*\|.*\}\s*$", body):
                    return undeclared(path, form, f"Status is the unfilled template choice list {body.strip()!r}")
                c = classify_word(body)
                if c:
                    return _status_lab(path, c, clean(body), j + 1, body, form)
                c = classify_word(body, anchored=False)
                if c:
                    return _status_lab(path, c, clean(body), j + 1, body, form,
                                       note="status word not at start of the status line")
            return undeclared(path, form, "Status section without a lifecycle word")
        m = re.match(r"^\s*[*-]?\s*\**status\**\s*:\s*(.+)$", ln, re.I)
        if m and i < 40:
            c = classify_word(m.group(1))
            if c:
                return _status_lab(path, c, clean(m.group(1)), i + 1, ln, "status-line")
    return undeclared(path, form, "no Status section")


def _status_lab(path, c, text, lineno, raw, form, note=None) -> Label:
    lab = Label(path, c[0], text, ev(path, lineno, raw), form)
    if note:
        lab.extra["note"] = note
    m = re.search(r"(superseded|replaced|moved)\s+(by|to|in favou?r of)\s*:?\s*(.+)$", clean(raw), re.I)
    if not m:
        m = re.search(r"(rejected|declined)\s+(in favou?r of)\s*:?\s*(.+)$", clean(raw), re.I)
    if m:
        lab.extra["replacement"] = m.group(3).strip(" )")
        lab.form = form + "+superseded-by"
        if lab.cls != "retired" and m.group(1).lower() in ("superseded", "replaced", "moved"):
            lab.extra["alt_class"] = "retired"
            lab.extra["note"] = f"declared {lab.declared!r}: the status line also says {m.group(0)!r}"
    return lab


def cometbft_docs(g: Git, commit: str) -> list[str]:
    return [p for p in g.ls(commit, "docs/references/architecture", "docs/references/rfc")
            if re.search(r"/(adr|rfc)-\d+[^/]*\.md$", p)]


def pmd_docs(g: Git, commit: str) -> list[str]:
    return [p for p in g.ls(commit, "docs/pages/pmd/projectdocs/decisions")
            if re.search(r"/adr-[0-9]+\.md$", p)]


def pmd_label(path: str, text: str) -> Label:
    return label_front_matter(path, text, "adr_status")


def madr_docs(g: Git, commit: str) -> list[str]:
    return [p for p in g.ls(commit, "docs/decisions") if re.search(r"/\d{4}-[^/]*\.md$", p)]


def madr_label(path: str, text: str) -> Label:
    return label_front_matter(path, text, "status")


def adrtools_docs(g: Git, commit: str) -> list[str]:
    return [p for p in g.ls(commit, "doc/adr") if p.endswith(".md")]


# --------------------------------------------------------------------------
# corpus definition
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# drift mining
# --------------------------------------------------------------------------

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


def mine_drift(g: Git, r: Repo, log=print) -> list[dict]:
    t0 = time.time()
    out = g.run("log", "--no-merges", "--no-renames", "--format=%x01%H %P", "--name-status", r.commit)
    hist_files: set[str] = set()
    doc_only: list[tuple[str, str, list[str]]] = []
    for chunk in out.split("\x01")[1:]:
        lines = [l for l in chunk.split("\n") if l]
        shas = lines[0].split()
        changes = [l.split("\t") for l in lines[1:]]
        for c in changes:
            hist_files.add(c[-1])
        if len(shas) != 2 or not changes:
            continue
        paths = [c[-1] for c in changes]
        if all(is_doc(p) for p in paths) and any(c[0] == "M" for c in changes):
            mods = [c[-1] for c in changes if c[0] == "M" and not CHANGELOG_RX.search(c[-1])]
            if mods:
                doc_only.append((shas[0], shas[1], mods))
    code_hist = {f for f in hist_files if is_code(f, r.code_globs)}
    hist_code_dirs: set[str] = set()
    for f in code_hist:
        d = posixpath.dirname(f)
        while d and d not in hist_code_dirs:
            hist_code_dirs.add(d)
            d = posixpath.dirname(d)
    log(f"  {r.repo}: {len(doc_only)} doc-only commits, {len(hist_files)} historical paths "
        f"({time.time() - t0:.1f}s)")
    # first-parent chain, for sampling older trees
    chain = g.run("rev-list", "--first-parent", r.commit).split()
    pos = {c: i for i, c in enumerate(chain)}
    trees = TreeCache(g)
    cases: list[dict] = []
    seen: set[tuple] = set()
    B = 100
    for b in range(0, len(doc_only), B):
        batch = doc_only[b:b + B]
        diff = g.run("show", "-U0", "--no-renames", "--no-color", "--format=%x01%H", *[c[0] for c in batch])
        per = {}
        for chunk in diff.split("\x01")[1:]:
            sha, _, body = chunk.partition("\n")
            per[sha.strip()] = parse_hunks(body)
        for sha, parent, mods in batch:
            hunks = per.get(sha, {})
            pfiles, pdirs = trees.get(parent)
            cfiles, cdirs = None, None
            ident_cands = []  # (doc, old, new, removed_line)
            for doc in mods:
                for rem, add, ostart, nstart in hunks.get(doc, []):
                    if not rem:
                        continue
                    add_text = "\n".join(add)
                    for k, rl in enumerate(rem):
                        al = add[k] if len(add) == len(rem) else None
                        at_parent_ln = f"{doc}:{ostart + k}"
                        at_fix_ln = f"{doc}:{nstart + k}" if al is not None else f"{doc}:{nstart}"
                        # ---- paths
                        for tok in path_tokens(rl, r.repo, r.aliases):
                            if tok in add_text:
                                continue
                            for cand in resolve(tok, doc):
                                if is_doc(cand) or cand.startswith(("http", "www.")):
                                    continue
                                if not (cand in code_hist or cand in hist_code_dirs):
                                    continue
                                if cand in pfiles or cand in pdirs:
                                    break
                                if not g.run("log", "-1", "--format=%H", parent, "--", cand).strip():
                                    continue  # never existed before the parent
                                if cfiles is None:
                                    cfiles, cdirs = trees.get(sha)
                                repl = None
                                if al is not None:
                                    for nt in path_tokens(al, r.repo, r.aliases):
                                        if nt in rl:
                                            continue
                                        for nc in resolve(nt, doc):
                                            if nc in cfiles or nc in cdirs:
                                                repl = nc
                                                break
                                        if repl:
                                            break
                                key = (sha, doc, cand)
                                if key in seen:
                                    break
                                seen.add(key)
                                cases.append({
                                    "repo": r.repo, "fix_commit": sha, "parent": parent,
                                    "document": doc, "kind": "path", "stale_reference": cand,
                                    "replacement": repl, "line_at_parent": at_parent_ln,
                                    "line_at_fix": at_fix_ln if add else None,
                                })
                                break
                        # ---- identifiers (need a paired replacement line)
                        if not add or not r.code_globs:
                            continue
                        other = al if al is not None else add_text
                        rem_text = rl if al is not None else "\n".join(rem)
                        old = [t for t in ident_tokens(rl) if not re.search(r"\b" + re.escape(t) + r"\b", other)]
                        new = [t for t in ident_tokens(other) if not re.search(r"\b" + re.escape(t) + r"\b", rem_text)]
                        if old and new:
                            for o in old:
                                ident_cands.append((doc, o, tuple(new), at_parent_ln, at_fix_ln, al))
            if ident_cands:
                words = {c[1] for c in ident_cands} | {n for c in ident_cands for n in c[2]}
                at_parent = grep_words(g, [parent], words, r.code_globs)
                olds = {c[1] for c in ident_cands
                        if c[1] not in at_parent and any(n in at_parent for n in c[2])}
                if olds:
                    i = pos.get(parent)
                    if i is not None:
                        anc, i = chain, i
                    else:  # parent on a side branch: walk its own first-parent chain
                        anc, i = g.run("rev-list", "--first-parent", "--max-count=9000", parent).split(), 0
                    revs = []
                    step = 8
                    while i + step < len(anc) and len(revs) < 11:
                        revs.append(anc[i + step])
                        step *= 2
                    earlier = grep_words(g, revs, olds, r.code_globs)
                    for doc, o, ns, pln, fln, al in ident_cands:
                        n = next((x for x in ns if x in at_parent), None)
                        if o in earlier and o not in at_parent and n:
                            if al is None:  # hunk rewritten: no line-for-line replacement
                                n = None
                            key = (sha, doc, o)
                            if key in seen:
                                continue
                            seen.add(key)
                            cases.append({
                                "repo": r.repo, "fix_commit": sha, "parent": parent,
                                "document": doc, "kind": "identifier", "stale_reference": o,
                                "replacement": n, "line_at_parent": pln, "line_at_fix": fln,
                            })
    grouped = group_cases(cases)
    log(f"  {r.repo}: {len(grouped)} drift cases ({len(cases)} stale references) "
        f"({time.time() - t0:.1f}s)")
    return grouped


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


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


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
