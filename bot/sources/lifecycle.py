"""A document's own declared lifecycle: the word, the line it came from, the successor it names.

Declaration forms, first found wins: YAML/TOML front matter or an RFC 822
header block (``status``/``state``/``stage`` keys, also ``adr_status``-like
``*_status``), a ``Status:`` entry of the metadata list under the title, a
``Status`` section (first words of its first paragraph, emphasis and links
stripped), a sidecar metadata file of the document (``sidecar_status``),
and the title ("Deprecated: X", "X [Superseded]"). "Superseded by / replaced
by / moved to X" anywhere in those places names the successor.

Vocabulary (``CLASSES``) from PEP 1 (Draft, Active, Accepted, Provisional,
Deferred, Rejected, Withdrawn, Final, Superseded), EIP-1 (Idea, Draft,
Review, Last Call, Final, Stagnant, Withdrawn, Living, Moved), the KEP
template (provisional, implementable, implemented, deferred, rejected,
withdrawn, replaced), MADR and Nygard ADRs (proposed, accepted, rejected,
deprecated, superseded), IETF (Informational, Proposed Standard, Internet
Standard, Historic, Obsoleted) and Rust-style RFCs (active, postponed,
closed, FCP) and the Ember stages (exploring, ready-for-release, released,
recommended, discontinued). A word outside it is no signal.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from typing import Literal

import yaml

from bot.sources.parsed import SAFE_LOADER, Parsed

LifecycleClass = Literal["retired", "not_built", "in_force", "unknown"]
RETIRED = ("withdrawn", "rejected", "superseded", "replaced", "obsolete", "obsoleted", "deprecated", "moved",
           "abandoned", "discontinued", "declined", "retired", "historic", "closed", "removed", "reverted",
           "archived", "dead", "dropped", "cancelled", "canceled", "won't do", "wontfix")
NOT_BUILT = ("draft", "proposed", "proposal", "provisional", "deferred", "stagnant", "review", "in review",
             "under review", "last call", "implementable", "exploring", "idea", "postponed", "pending", "wip",
             "work in progress", "in progress", "implementation in progress", "ready for implementation",
             "ready-for-release", "ready for release", "on hold", "on-hold", "open", "fcp", "final comment period",
             "experimental", "planned", "planning", "under discussion", "initial draft",
             "first draft", "preliminary", "tentative", "submitted", "candidate")
IN_FORCE = ("final", "accepted", "active", "implemented", "living", "stable", "released", "recommended",
            "approved", "adopted", "completed", "complete", "done", "standard", "proposed standard",
            "internet standard", "informational", "best current practice", "merged", "shipped", "landed",
            "agreed", "decided", "in force", "current", "enacted", "finished", "partially accepted",
            "partially implemented")
CLASSES: dict[str, LifecycleClass] = {
    **{w: "not_built" for w in NOT_BUILT}, **{w: "in_force" for w in IN_FORCE}, **{w: "retired" for w in RETIRED},
}
_PHRASES = sorted(CLASSES, key=len, reverse=True)
_WORD = re.compile(r"(?<![\w-])(" + "|".join(re.escape(p) for p in _PHRASES) + r")(?![\w-])", re.I)
_SUCCESSOR = re.compile(
    r"\b(?P<verb>superseded|replaced|obsoleted|moved)\s+(?:by|to|with|in\s+favou?r\s+of)\s+(?P<target>\S.*)", re.I)
_IN_FAVOUR = re.compile(r"\b(?:rejected|withdrawn|deprecated)\s+in\s+favou?r\s+of\s+(?P<target>\S.*)", re.I)
_STATUS_KEYS = ("status", "state", "stage", "lifecycle", "decision status")
_STATUS_TITLES = {"status", "current status", "decision status", "document status"}
_SUCCESSOR_KEYS = ("superseded-by", "superseded_by", "superseded by", "replaced-by", "replaced_by", "replaced by",
                   "obsoleted-by", "obsoleted by")
_TITLE_MARK = re.compile(r"^\s*[\[(]?(?P<a>\w[\w ]*?)[\])]?\s*:|^\s*[\[(](?P<c>\w[\w ]*?)[\])]|"
                         r"[\[(](?P<b>\w[\w ]*?)[\])]\s*$")
_NOISE = re.compile(r"[*_`~{}]+|\[(?P<text>[^\]]*)\]\([^)]*\)|^[-*+>]\s+|^\d{4}-\d\d(?:-\d\d)?\s*[:\-]?\s*")


@dataclass(frozen=True)
class Declared:
    """The declared state: ``word`` as matched (lower-case), its ``cls``, ``evidence`` ("line N: text"),
    ``successor`` (as written) when the document names one."""

    word: str
    cls: LifecycleClass
    evidence: str
    successor: str | None = None


def clean(text: str) -> str:
    """Status text without emphasis, link syntax, a leading bullet, date or ``Status:``: ``**Superseded** by
    [x](y)`` → ``Superseded by x``."""
    text = _NOISE.sub(lambda m: m.group("text") or "", text.strip()).strip(" \t.:;")
    return re.sub(r"^(?:status|stage|state)\s*[:\-]\s*", "", text, flags=re.I)


def word_of(value: str) -> tuple[str, LifecycleClass]:
    """The lifecycle word that ``value`` starts with and its class; ``unknown`` when it names none."""
    text = clean(value)
    m = _WORD.match(text)
    if m and m.group(1).lower() == "open" and len(text) > 4 and not text[4:5] in " ,.;(":
        m = None
    if m:
        return m.group(1).lower(), CLASSES[m.group(1).lower()]
    first = re.match(r"[\w'-]+", text)
    return (first.group(0).lower() if first else ""), "unknown"


def _successor(value: str) -> str | None:
    m = _SUCCESSOR.search(value) or _IN_FAVOUR.search(value)
    return m.group("target").strip().rstrip(".") if m else None


def declared(parsed: Parsed, sidecar: tuple[str, str, int] | None = None) -> Declared | None:
    """The document's declared lifecycle from ``parsed`` and its ``sidecar`` ((file, value, line) or ``None``).

    A value outside the vocabulary gives ``cls="unknown"`` (reported, no signal); a template's unfilled
    choice list (``{Deprecated|Proposed|Accepted}``) is no declaration.
    """
    candidates: list[tuple[str, str]] = []  # (value, evidence)
    form = parsed.meta_form or "metadata"
    for key, (value, line) in parsed.meta.items():
        if key in _STATUS_KEYS or key.endswith(("_status", "-status", " status")):
            candidates.append((value, f"line {line}: {form} {key}: {value}"))
    successor = next((parsed.meta[k] for k in _SUCCESSOR_KEYS if parsed.meta.get(k, ("", 0))[0]), None)
    for section in parsed.sections:
        if clean(section.title).lower().rstrip(":") in _STATUS_TITLES and section.first_paragraph:
            text = section.first_paragraph.split("\n")[0]
            candidates.append((text, f"line {section.paragraph_line}: {section.title} section: {text}"))
            break
    if sidecar:
        candidates.append((sidecar[1], f"{sidecar[0]} line {sidecar[2]}: status: {sidecar[1]}"))
    title = parsed.title
    if title:
        mark = _TITLE_MARK.search(title.title)
        marked = mark and (mark.group("a") or mark.group("b") or mark.group("c"))
        if marked and (clean(marked).lower() in CLASSES or _SUCCESSOR.match(clean(marked))):  # not "RFC 100: X"
            candidates.append((marked, f"line {title.line}: title: {title.title}"))
    for text, line in parsed.preamble:  # "Superseded by X." as a line of its own under the title
        if _SUCCESSOR.match(clean(text)):
            candidates.append((text, f"line {line}: {clean(text)}"))
    found: Declared | None = None
    for value, evidence in candidates:
        if "|" in value:  # "{Deprecated|Proposed|Accepted}": the template's choices, left unfilled
            continue
        word, cls = word_of(value)
        named = _successor(value) if cls != "in_force" else None  # "Implemented (moved to x)" stays in force
        if found is None or (found.cls == "unknown" and cls != "unknown"):
            found = Declared(word, cls, evidence, named)
        if named and found.successor is None:
            found = Declared(found.word if found.cls == "retired" else word, "retired", evidence, named)
    if successor and found is None:
        found = Declared("superseded", "retired", f"line {successor[1]}: {form}: superseded by {successor[0]}")
    if successor and found is not None and found.successor is None and found.cls != "in_force":
        found = Declared(found.word if found.cls == "retired" else "superseded", "retired", found.evidence, successor[0])
    return found if found is not None and found.word else None


SIDECAR_FORMATS = (".yaml", ".yml", ".json", ".toml")


def sidecar_status(name: str, text: str) -> tuple[str, int] | None:
    """The top-level ``status``/``state``/``stage`` of a metadata file (YAML, JSON or TOML) and its line."""
    try:
        if name.endswith(".json"):
            data = json.loads(text)
        elif name.endswith(".toml"):
            data = tomllib.loads(text)
        else:
            data = yaml.load(text, Loader=SAFE_LOADER)
    except (ValueError, yaml.YAMLError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    for key in ("status", "state", "stage"):
        value = data.get(key)
        if isinstance(value, str) and value.strip() and "|" not in value:  # "a|b|c": an unfilled template
            line = next((n for n, ln in enumerate(text.splitlines(), 1) if re.match(rf'\s*"?{key}"?\s*[:=]', ln)), 1)
            return value.strip(), line
    return None
