"""Lifecycle vocabulary of the label builder and its label records (independent of ``bot.sources.lifecycle``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

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


