"""The scenario pack: pydantic models, the turn's output schema, findings, revisions.

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
The validator that checks what a schema cannot is
:func:`bot.scenarios.validate.validate_pack`; its :class:`Finding` lives here
because prompts and storage carry findings too.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field

SCENARIO_ID_PATTERN = r"^SC-[0-9]{3,}$"


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
