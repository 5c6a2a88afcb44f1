"""The scenario-pack validator and the change summary between revisions (pure functions, no I/O).

:func:`validate_pack` checks what the pack's JSON Schema cannot (seed 000 §8,
"Scenario Quality Standard"); :func:`change_summary` compares two revisions
by scenario id (backlog SF-3003).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from bot.domain.pack import Finding, Scenario, ScenarioPack

MIN_STEPS = 2
MIN_CHECKPOINT_WORDS = 3


#: Checkpoints that cannot be observed or tested (seed 000 §8 asks for
#: "expected checkpoints"; the refine loop asks Codex to name what is seen).
VAGUE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"\b(works?|functions?|behaves?|performs?|runs?)\s+(correctly|properly|fine|well|as (expected|intended))\b",
    r"\bshould\s+(be\s+)?(fine|ok|okay|good|correct|work)\b",
    r"\b(is|looks|seems|are)\s+(ok|okay|good|fine|correct|right|reasonable)\b",
    r"^\s*as expected\.?\s*$",
    r"\b(everything|all|it)\s+(is\s+)?(works?|fine|ok)\b",
    r"\bno (issues|problems)\b",
    r"\b(user is|users are)\s+(happy|satisfied)\b",
    r"\betc\.?\s*$",
))


def _normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def vague_reason(checkpoint: str) -> str | None:
    """Why a checkpoint is not testable, or ``None`` when it names an observable result."""
    if len(checkpoint.split()) < MIN_CHECKPOINT_WORDS:
        return f"too short to name an observable result (fewer than {MIN_CHECKPOINT_WORDS} words)"
    for pattern in VAGUE_PATTERNS:
        if match := pattern.search(checkpoint):
            return f"vague wording {match.group(0)!r}; name what is observed (value, message, state, status code)"
    return None


def _empty_fields(scenario: Scenario) -> list[str]:
    empty = []
    for name, value in scenario.model_dump().items():
        if isinstance(value, str) and not value.strip():
            empty.append(name)
        elif isinstance(value, list) and (not value or any(not item.strip() for item in value)):
            empty.append(name)
    return empty


def validate_pack(pack: ScenarioPack, manifest_source_ids: set[str] | frozenset[str]) -> list[Finding]:
    """Check ``pack`` beyond its schema; an empty list means valid.

    Rules (seed 000 §8, DESIGN.md "Scenario quality standard"): the pack and
    every group are non-empty; every scenario field is present and non-empty;
    at least :data:`MIN_STEPS` steps; ids unique; every source id is in the
    confirmed manifest; every checkpoint names an observable result
    (:func:`vague_reason`); no two scenarios share the same normalized
    objective and steps.
    """
    findings: list[Finding] = []
    if not pack.title.strip() or not pack.summary.strip():
        findings.append(Finding("empty_field", "the pack needs a non-empty title and summary"))
    if not pack.feature_areas:
        findings.append(Finding("empty_pack", "the pack has no feature areas"))
    for area in pack.feature_areas:
        if not area.name.strip():
            findings.append(Finding("empty_field", "a feature area has an empty name"))
        if not area.outcomes:
            findings.append(Finding("empty_group", f"feature area {area.name!r} has no user outcomes"))
        for outcome in area.outcomes:
            if not outcome.outcome.strip():
                findings.append(Finding("empty_field", f"an outcome of feature area {area.name!r} is empty"))
            if not outcome.scenarios:
                findings.append(Finding("empty_group", f"outcome {outcome.outcome!r} has no scenarios"))

    counts = Counter(pack.scenario_ids())
    for scenario_id, count in counts.items():
        if count > 1:
            findings.append(Finding("duplicate_id", f"id used by {count} scenarios; ids must be unique", scenario_id))

    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    for _, _, scenario in pack.scenarios():
        sid = scenario.id
        for name in _empty_fields(scenario):
            findings.append(Finding("empty_field", f"field {name!r} is empty or has an empty item", sid))
        if 0 < len(scenario.steps) < MIN_STEPS:
            findings.append(Finding("too_few_steps", f"an end-to-end scenario needs at least {MIN_STEPS} steps", sid))
        for source_id in scenario.source_ids:
            if source_id not in manifest_source_ids:
                findings.append(Finding("unknown_source", f"source id {source_id!r} is not in the manifest", sid))
        for checkpoint in scenario.checkpoints:
            if checkpoint.strip() and (reason := vague_reason(checkpoint)):
                findings.append(Finding("untestable_checkpoint", f"checkpoint {checkpoint!r}: {reason}", sid))
        key = (_normalize(scenario.objective), tuple(_normalize(step) for step in scenario.steps))
        if key in seen:
            findings.append(Finding("duplicate_scenario", f"same objective and steps as {seen[key]}", sid))
        else:
            seen[key] = sid
    return findings


@dataclass(frozen=True)
class ChangeSummary:
    """Scenario ids added, changed (content or placement) and removed between two revisions."""

    added: list[str]
    changed: list[str]
    removed: list[str]

    def as_dict(self) -> dict[str, list[str]]:
        return asdict(self)


def change_summary(old: ScenarioPack | None, new: ScenarioPack) -> ChangeSummary:
    """Compare two packs by scenario id; ``old=None`` means everything is added."""

    def index(pack: ScenarioPack | None) -> dict[str, tuple[str, str, dict[str, Any]]]:
        if pack is None:
            return {}
        return {s.id: (a.name, o.outcome, s.model_dump()) for a, o, s in pack.scenarios()}

    before, after = index(old), index(new)
    return ChangeSummary(
        added=sorted(after.keys() - before.keys()),
        changed=sorted(sid for sid in after.keys() & before.keys() if after[sid] != before[sid]),
        removed=sorted(before.keys() - after.keys()),
    )
