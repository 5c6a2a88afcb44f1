"""The repository config file ``.github/scenarioforge.yml``: schema, defaults, loading.

Every section is its own model so later issues add ``generate:`` and
``execute:`` beside ``sources:`` without touching it. Unknown keys are errors
(``extra="forbid"``), never silently ignored (issue 3, "Repository config").

Example::

    sources:
      include: ["notes/*.md"]
      exclude: ["docs/archive/**"]
      max_file_kb: 512
      stale_after_days: 120
      types:
        adr: {stale_after_days: 720}
        changelog: {selected: false}
    execute:
      mode: fix
      max_fix_attempts: 2
    ci:
      on_failure: auto
"""
from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.yaml_text import load_yaml

CONFIG_PATH = ".github/scenarioforge.yml"
#: Estimated tokens of source text a generation prompt may hold (``generate.token_budget``).
DEFAULT_TOKEN_BUDGET = 48_000

SourceType = Literal[
    "prd", "spec", "plan", "architecture", "adr", "rfc", "tasks", "readme", "changelog", "guide", "other"
]

# Third-party code and git's own folder: never scanned, whatever ``exclude:`` says.
VENDORED = ["node_modules/**", "**/node_modules/**", "vendor/**", "third_party/**", ".git/**"]


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, and values keep their YAML type
    (``strict``: ``max_fix_attempts: yes`` or ``"3"`` is an error naming the key, never 1 or 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _off(value: object) -> object:
    """YAML 1.1 reads a bare ``off`` as ``False``: take it as the choice ``off``."""
    return "off" if value is False else value


class TypeOverride(Section):
    """Per-type settings; ``None`` means "use the section value"."""

    stale_after_days: int | None = Field(default=None, ge=1)
    selected: bool | None = None  # default selection for sources of this type


class SourcesConfig(Section):
    """``sources:`` — what the scanner looks at and how it judges age."""

    include: list[str] = Field(default_factory=list)  # globs forced to be sources
    exclude: list[str] = Field(default_factory=list)  # globs never scanned, besides VENDORED
    max_file_kb: int = Field(default=1024, ge=1)
    stale_after_days: int = Field(default=180, ge=1)
    types: dict[SourceType, TypeOverride] = Field(default_factory=dict)

    def excluded(self) -> list[str]:
        """The globs never scanned: the vendored folders (``VENDORED``, always) and the file's ``exclude``."""
        return [*VENDORED, *self.exclude]

    def stale_days(self, source_type: str) -> int:
        """Days a document may lag behind its code, for ``source_type``."""
        override = self.types.get(source_type)  # type: ignore[call-overload]
        return override.stale_after_days if override and override.stale_after_days else self.stale_after_days

    def selected_by_default(self, source_type: str, status: str) -> bool:
        """Default selection (issue 3): trusted and suspect yes, stale and excluded no; a type may opt out."""
        if status not in ("trusted", "suspect"):
            return False
        override = self.types.get(source_type)  # type: ignore[call-overload]
        return override.selected if override and override.selected is not None else True


class GenerateConfig(Section):
    """``generate:`` — the generation loop (issue 4).

    ``refine_rounds``: validator findings go back to Codex at most this many
    times (0–5, after seed 002's "Plan Refinement Loop"); ``token_budget``:
    estimated tokens of source text in the prompt (``bot.codex.prompts``).
    """

    refine_rounds: int = Field(default=2, ge=0, le=5)
    token_budget: int = Field(default=DEFAULT_TOKEN_BUDGET, ge=1000)
    #: A push to the default branch that changes a cited source (issue 13): ``comment`` flags its
    #: scenarios ``needs review`` in one comment on the pack PR; ``update`` also runs
    #: ``generate --update`` naming the changed sources; ``off`` does nothing.
    on_source_change: Literal["comment", "update", "off"] = "comment"

    _off = field_validator("on_source_change", mode="before")(_off)


class ExecuteConfig(Section):
    """``execute:`` — the execute → fix → rerun loop (issue 5).

    ``mode``: what ``/scenarioforge execute`` (and the ``scenarioforge:execute``
    label) does when no ``--mode`` is given; ``max_fix_attempts``: fix turns per
    run before the loop stops (1–10); ``token_budget``: tokens (as Codex counts
    them) after which no further fix turn starts; ``wall_clock_minutes``: the
    same for elapsed time. ``None`` switches a budget off. ``repeat``: how many
    times the bot runs each selected scenario per turn (1–20; mixed outcomes
    make it ``flaky``, issue 13); ``execute --repeat N`` overrides it.
    """

    mode: Literal["run", "fix", "pr", "full"] = "run"
    max_fix_attempts: int = Field(default=3, ge=1, le=10)
    token_budget: int | None = Field(default=2_000_000, ge=1000)
    wall_clock_minutes: float | None = Field(default=60.0, gt=0)
    repeat: int = Field(default=1, ge=1, le=20)


class CIConfig(Section):
    """``ci:`` — a failed CI run (``workflow_run`` / ``check_suite`` completed with a failure, issue 13).

    ``on_failure``: ``button`` posts the check run ``ScenarioForge / CI`` with a **Fix CI failure**
    button; ``auto`` starts the fix run at once (never for a pull request from a fork, which gets the
    button); ``off`` ignores CI.
    """

    on_failure: Literal["button", "auto", "off"] = "button"

    _off = field_validator("on_failure", mode="before")(_off)


class BudgetConfig(Section):
    """``budget:`` — monthly cost ceilings in US dollars (issue 14, "Budgets and cost").

    ``monthly_usd``: this repository's ceiling; ``installation_monthly_usd``: the
    ceiling of all repositories of the installation together (set it in the org
    file). ``None`` = no ceiling; ``0`` refuses every run. A finite number ≥ 0 (not a boolean,
    ``.inf`` or ``.nan``). Months are calendar months in UTC.
    """

    monthly_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    installation_monthly_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @field_validator("monthly_usd", "installation_monthly_usd", mode="before")
    @classmethod
    def _not_a_bool(cls, value: object) -> object:
        """YAML reads ``yes``/``true`` as a boolean, which pydantic would take as $1: refuse it."""
        if isinstance(value, bool):
            raise ValueError(f"must be a number of US dollars, not {str(value).lower()}")
        return value


Severity = Literal["off", "info", "warning", "block"]
#: ``name@version``, e.g. ``default@1`` or a custom pack ``acme-release@2``.
PACK_KEY = r"^[a-z][a-z0-9-]*@[0-9]+$"


def _yaml_off(rules: object) -> object:
    """:func:`_off` for each severity of a ``rules`` mapping."""
    if isinstance(rules, dict):
        return {code: _off(severity) for code, severity in rules.items()}
    return rules


class PolicyPack(Section):
    """A custom policy pack of the org file: ``extends`` a pack key, then ``rules`` override its severities."""

    extends: str = Field(default="default@1", pattern=PACK_KEY)
    rules: dict[str, Severity] = Field(default_factory=dict)

    _off = field_validator("rules", mode="before")(_yaml_off)


class PolicyConfig(Section):
    """``policy:`` — the policy pack in force and overrides of its rule severities (issue 14,
    seed 003 §4.6). ``packs`` defines custom packs (usually in the org file);
    ``max_fix_files`` and ``protected_paths`` are the limits of the PR-time rules."""

    pack: str = Field(default="default@1", pattern=PACK_KEY)
    rules: dict[str, Severity] = Field(default_factory=dict)
    packs: dict[str, PolicyPack] = Field(default_factory=dict)
    max_fix_files: int = Field(default=10, ge=1)
    protected_paths: list[str] = Field(default_factory=lambda: [".github/**"])

    _off = field_validator("rules", mode="before")(_yaml_off)


class RepoConfig(Section):
    """The whole file: one model per section."""

    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    execute: ExecuteConfig = Field(default_factory=ExecuteConfig)
    ci: CIConfig = Field(default_factory=CIConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)


def matches_any(path: str, globs: list[str]) -> bool:
    """True when ``path`` matches a glob (``fnmatch``, ``*`` crosses ``/``) or lies under a folder glob ``dir/``."""
    for glob in globs:
        if fnmatchcase(path, glob) or (glob.endswith("/") and path.startswith(glob)):
            return True
        if glob.endswith("/**") and path.startswith(glob[:-2]):
            return True
    return False


def load_repo_config(text: str | None) -> tuple[RepoConfig, str | None]:
    """Parse the file's text; ``None`` (no file) → defaults.

    Returns ``(config, error)``: an invalid file (bad YAML, a duplicate key, too large:
    ``config.yaml_text.load_yaml``; unknown key, wrong type) gives the defaults and the
    validation error text, to be shown in the tracking comment.
    """
    if text is None:
        return RepoConfig(), None
    try:
        data = load_yaml(text)
    except ValueError as exc:
        return RepoConfig(), f"{CONFIG_PATH}: {exc}"
    try:
        return RepoConfig.model_validate(data or {}), None
    except ValidationError as exc:
        return RepoConfig(), f"{CONFIG_PATH}: {exc}"
