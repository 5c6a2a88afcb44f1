"""Per-repository readers: which files are a repository's planning documents and what each declares."""
from __future__ import annotations

import posixpath
import re

import yaml

from bench.labels.git import Git
from bench.labels.vocab import Label, classify_word, clean, ev, field_line, front_matter, strip_yaml_value, undeclared


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


