"""The scenario pack: pydantic models, the turn's output schema, the validator, revisions.

Shape (seed 000 §8, "Scenario Quality Standard"): a pack groups scenarios by
feature area, then by user outcome; every scenario has an id (``SC-001``…,
stable across revisions), persona, objective, preconditions, test data,
realistic end-to-end steps, expected checkpoints, edge variants, binary pass
criteria, and the ids of the manifest sources it came from (backlog SF-3001,
"traceable to selected source IDs").

:func:`pack_schema` is the JSON Schema sent as the turn's ``outputSchema``;
Codex forwards it to the model with ``"strict": true``, so it follows OpenAI's
strict-mode subset (every property required, ``additionalProperties: false``,
no defaults; https://platform.openai.com/docs/guides/structured-outputs#supported-schemas).
:func:`validate_pack` checks what a schema cannot (pure function, no I/O).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field

SCENARIO_ID_PATTERN = r"^SC-[0-9]{3,}$"
MIN_STEPS = 2
MIN_CHECKPOINT_WORDS = 3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scenario(_Strict):
    """One end-to-end scenario; every field is required and must be non-empty."""

    id: str = Field(pattern=SCENARIO_ID_PATTERN, description="Stable id such as SC-001; keep it across revisions.")
    title: str = Field(description="Short name of the scenario.")
    persona: str = Field(description="Who performs the scenario (a realistic user role).")
    objective: str = Field(description="What the persona wants to achieve.")
    preconditions: list[str] = Field(description="State that must hold before step 1.")
    test_data: list[str] = Field(description="Concrete data values used by the steps.")
    steps: list[str] = Field(description="Realistic end-to-end steps, in order.")
    checkpoints: list[str] = Field(description="Expected, observable and testable results.")
    edge_variants: list[str] = Field(description="Variations that exercise edges and failures.")
    pass_criteria: str = Field(description="Binary pass/fail rule: passes only if ….")
    source_ids: list[str] = Field(description="Ids of the manifest sources this scenario comes from.")


class UserOutcome(_Strict):
    """Scenarios that prove one outcome a user cares about."""

    outcome: str
    scenarios: list[Scenario]


class FeatureArea(_Strict):
    """A feature area of the product and its user outcomes."""

    name: str
    outcomes: list[UserOutcome]


class ScenarioPack(_Strict):
    """The whole pack as Codex returns it."""

    title: str
    summary: str
    feature_areas: list[FeatureArea]

    def scenarios(self) -> Iterator[tuple[FeatureArea, UserOutcome, Scenario]]:
        """Every scenario with its feature area and outcome, in document order."""
        for area in self.feature_areas:
            for outcome in area.outcomes:
                for scenario in outcome.scenarios:
                    yield area, outcome, scenario

    def scenario_ids(self) -> list[str]:
        return [scenario.id for _, _, scenario in self.scenarios()]


def _strictify(node: Any) -> Any:
    """Apply OpenAI strict-mode rules to a pydantic JSON Schema, recursively."""
    if isinstance(node, dict):
        node = {key: _strictify(value) for key, value in node.items() if key != "default"}
        if node.get("type") == "object" and "properties" in node:
            node["required"] = list(node["properties"])
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strictify(value) for value in node]
    return node


def pack_schema() -> dict[str, Any]:
    """JSON Schema of :class:`ScenarioPack` for ``outputSchema`` (strict-mode compatible)."""
    return _strictify(ScenarioPack.model_json_schema())


@dataclass(frozen=True)
class Finding:
    """One validator finding: ``code`` is machine-readable, ``message`` is for Codex and people."""

    code: str
    message: str
    scenario_id: str | None = None

    def __str__(self) -> str:
        return f"[{self.code}] {self.scenario_id + ': ' if self.scenario_id else ''}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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


class Revision(BaseModel):
    """Audit metadata of one stored pack revision (DESIGN.md "Audit", seed 000 §9.3).

    ``timings_s`` maps a phase name to seconds; ``token_usage`` is one entry
    per turn with the turn id and its counts.
    """

    revision: int = Field(ge=1)
    mode: str
    prompt_version: str
    model: str
    thread_id: str
    turn_ids: list[str]
    manifest_id: str | None = None
    manifest_hash: str | None = None
    repository: str | None = None
    branch: str | None = None
    head_sha: str | None = None
    token_usage: list[dict[str, Any]] = Field(default_factory=list)
    timings_s: dict[str, float] = Field(default_factory=dict)
    cut_sources: list[dict[str, Any]] = Field(default_factory=list)
    findings_history: list[list[dict[str, Any]]] = Field(default_factory=list)
    change_summary: dict[str, list[str]] = Field(default_factory=dict)


class PackDocument(BaseModel):
    """What ``scenario-pack.json`` holds: the revision metadata and the pack."""

    revision: Revision
    pack: ScenarioPack
