"""What an execute run produces: the result Codex reports and the outcome the bot records.

Two layers, kept apart on purpose (seed 000 §4.2, backlog SF-4002):

- :class:`ExecutionReport` is what the model *claims*. Its JSON Schema
  (:func:`report_schema`) is the execute turn's ``outputSchema``; it is
  strict-mode compatible (every property required, ``additionalProperties:
  false``, no defaults), as OpenAI structured outputs demand
  (https://platform.openai.com/docs/guides/structured-outputs#supported-schemas).
- :class:`ScenarioOutcome`, :class:`FixAttempt` and :class:`ExecutionOutcome`
  are what the bot *records* after checking each claim against the commands
  that really ran (``bot.execution.evidence``) and classifying failures
  (``bot.execution.classify``).

States follow the seeds: scenario ``pending → running → passed | failed |
blocked``; run outcome ``passed | failed | blocked``.
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.verification import FixProof, Verification

ResultStatus = Literal["passed", "failed", "blocked"]
#: A recorded scenario's status: the agent may only claim a :data:`ResultStatus`; ``flaky`` is the bot's
#: verdict when its own repeated runs disagree (``bot.domain.verification``).
ScenarioStatus = Literal["passed", "failed", "blocked", "flaky"]
Cause = Literal["code-defect", "stale-spec", "scenario-defect", "environment", "flaky"]
Mode = Literal["run", "fix", "pr", "full"]
TurnKind = Literal["run", "fix", "rerun", "docs"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _all_required(schema: dict[str, Any]) -> None:
    """Strict mode for a model with optional fields: every property required, no defaults (a field that
    may be left out by older callers still has to be answered, possibly with ``null``)."""
    schema["required"] = list(schema["properties"])
    for prop in schema["properties"].values():
        prop.pop("default", None)


class SourceMisread(_Strict):
    """The agent's claim that a scenario misread its source: the scenario's expectation contradicts the
    source's own text, and the code does what the source says (issue 13, ``scenario-defect``).

    The bot believes it only when ``quote`` is really in ``source_id`` at the commit under test
    (``bot.execution.classify``).
    """

    source_id: str = Field(description="The scenario's source (one of its source_ids) that it misread.")
    quote: str = Field(description="The sentence of that source, copied verbatim, that the expectation contradicts.")
    source_says: str = Field(description="What the source says should be observed instead (the corrected expectation).")


class CheckpointResult(_Strict):
    """One expected checkpoint of a scenario, as the agent checked it."""

    checkpoint: str = Field(description="The checkpoint text from the scenario pack.")
    expected: str = Field(description="What the scenario expects at this checkpoint.")
    observed: str = Field(
        description="What really happened, quoted from command output; name file:line when known."
    )
    passed: bool


class ScenarioReport(_Strict):
    """The agent's claim about one scenario."""

    scenario_id: str
    status: ResultStatus
    checkpoints: list[CheckpointResult]
    commands: list[str] = Field(
        description="The exact shell commands, as run in this turn, whose output proves the status."
    )
    rerun_command: str = Field(description="A shell command that reruns just this scenario.")
    files_written: list[str] = Field(description="Paths of scenario tests or scripts written for it.")
    notes: str = Field(description="Why blocked, or anything a reviewer must know; empty if nothing.")
    misread: SourceMisread | None = Field(default=None, description=(
        "Only for a failed scenario whose expectation contradicts its own source's text while the code does what "
        "the source says: the quote from the source. Otherwise null."))

    model_config = ConfigDict(extra="forbid", json_schema_extra=_all_required)


class ExecutionReport(_Strict):
    """The execute / rerun turn's structured answer: one report per selected scenario."""

    scenarios: list[ScenarioReport]


class FixReport(_Strict):
    """The fix turn's structured answer."""

    summary: str = Field(description="What was changed and why, in two or three sentences.")
    changed_files: list[str]
    residual_risk: str = Field(description="What the fix may not cover; empty if nothing.")


def report_schema() -> dict[str, Any]:
    """``outputSchema`` of execute and rerun turns.

    Every field is required and ``extra="forbid"`` gives ``additionalProperties:
    false``, so pydantic's schema is already in the strict subset.
    """
    return ExecutionReport.model_json_schema()


def fix_schema() -> dict[str, Any]:
    """``outputSchema`` of fix turns."""
    return FixReport.model_json_schema()


class Evidence(BaseModel):
    """One piece of evidence from what really happened (backlog SF-4002), referenced by ``id``.

    ``kind="command"``: a ``commandExecution`` item of a turn (``command``,
    ``cwd``, ``exit_code``, ``duration_ms``, ``output`` capped, ``output_cut``
    saying what was cut). ``kind="diff"``: ``git diff`` of the worktree after a
    turn (``diff``) and the paths written (``files``). ``id`` is
    ``"ev-" + sha256(content)[:16]``, stable for the same content.
    ``attempt`` is 0 for the first run, ``n`` for fix attempt ``n`` and its rerun.
    """

    id: str
    kind: Literal["command", "diff"]
    #: ``agent``: a command of a Codex turn; ``bot``: run by the bot itself (``bot.execution.verify``).
    by: Literal["agent", "bot"] = "agent"
    scenario_ids: list[str] = Field(default_factory=list)
    turn_id: str | None = None
    attempt: int = 0
    command: str | None = None
    cwd: str | None = None
    exit_code: int | None = None
    duration_ms: int | None = None
    output: str = ""
    output_cut: str | None = None
    diff: str = ""
    files: list[str] = Field(default_factory=list)


class Classification(BaseModel):
    """Why a scenario failed (backlog SF-5001): a cause class and the evidence behind it.

    ``action`` tells a person what to do: fix the code, update the document,
    fix the environment, or rerun.
    """

    cause: Cause
    reason: str
    action: str
    evidence_ids: list[str] = Field(default_factory=list)
    source_ids: list[str] = Field(default_factory=list)


class ScenarioOutcome(BaseModel):
    """The recorded result of one scenario after one turn (run or rerun).

    ``status`` is the bot's verdict; ``reported_status`` the agent's claim.
    They differ when a ``passed`` claim had no proving command (→ ``blocked``,
    reason in ``blocked_reason``) or when the bot's own run of ``rerun_command``
    (``verification``, the evidence of record) says otherwise.
    """

    scenario_id: str
    status: ScenarioStatus
    reported_status: ResultStatus
    checkpoints: list[CheckpointResult] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)
    rerun_command: str = ""
    evidence_ids: list[str] = Field(default_factory=list)
    notes: str = ""
    blocked_reason: str | None = None
    classification: Classification | None = None
    verification: Verification | None = None
    #: The agent's claim that the scenario misread its source (checked by ``bot.execution.classify``).
    misread: SourceMisread | None = None

    @property
    def failing_checkpoints(self) -> list[CheckpointResult]:
        return [checkpoint for checkpoint in self.checkpoints if not checkpoint.passed]


#: The header of each file of a unified ``git diff``: ``diff --git a/PATH b/PATH``.
DIFF_FILE = re.compile(r"^diff --git a/(\S+) b/", re.MULTILINE)


def diff_paths(diff: str) -> list[str]:
    """The paths a unified ``git diff`` touches, in its order."""
    return DIFF_FILE.findall(diff or "")


class FixAttempt(BaseModel):
    """One fix turn and the rerun that judged it (numbered from 1 per run)."""

    number: int
    scenario_ids: list[str]
    turn_id: str | None = None
    summary: str = ""
    residual_risk: str = ""
    diff: str = ""
    reverted_paths: list[str] = Field(default_factory=list)
    rerun_outcome: ResultStatus = "failed"
    results: list[ScenarioOutcome] = Field(default_factory=list)
    evidence_ids: list[str] = Field(default_factory=list)


class DocumentRevision(BaseModel):
    """The docs turn of a run (issue 13, ``stale-spec`` → documentation PR): the stale documents of
    ``scenario_ids`` edited to match the code.

    ``documents``: the stale source paths the turn was asked to edit; ``files``: path → new text of the
    documents it changed (all it may change; ``reverted_paths``: what else it changed, put back).
    The worktree is left without these edits: they are published on their own branch, not with a code fix.
    """

    scenario_ids: list[str]
    documents: list[str]
    turn_id: str | None = None
    summary: str = ""
    residual_risk: str = ""
    diff: str = ""
    files: dict[str, str] = Field(default_factory=dict)
    reverted_paths: list[str] = Field(default_factory=list)
    evidence_ids: list[str] = Field(default_factory=list)


class TurnUsage(BaseModel):
    """Tokens one Codex turn of the loop used, as Codex counts them (``bot.codex.turns.TokenUsage``).

    ``kind``: ``run`` (the first run), ``fix``, ``rerun`` (after a fix, and the
    check of every scenario before a PR), ``docs`` (the stale documents edited); ``attempt`` as in :class:`Evidence`.
    ``input_tokens`` include the cached ones; ``total_tokens`` is Codex's total;
    ``cost_usd`` is the estimate of ``bot.domain.cost`` (``None``: the model has no price).
    """

    turn_id: str
    kind: TurnKind
    attempt: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None


class LoopProgress(BaseModel):
    """What one execute loop has done so far: the part an execute checkpoint
    (``bot.execution.checkpoint.LoopState``, mid-loop) and an :class:`ExecutionOutcome` (the loop's end)
    share, one field for one fact.

    ``initial`` holds the first run's results (the "before"); ``attempts`` the fix attempts in order;
    ``check`` the rerun of every selected scenario after a passing fix loop in modes ``pr | full`` (empty
    otherwise; its evidence has the last attempt's number). ``proofs``: the "fails before, passes after"
    runs of the fixed scenarios (modes ``pr | full``, a passing fix); ``documentation``: the docs turn for
    the ``stale-spec`` failures (modes ``fix | pr | full``), if there was one. ``stop_reason`` says why
    the fix loop ended (``passed``, ``max_fix_attempts``, ``token_budget``, ``wall_clock_budget``,
    ``nothing_to_fix``, ``unproven``, ``regression``: the check found a scenario that passed before and no
    longer does) or is ``None`` (run mode, or not ended yet). ``thread_id``: the Codex thread; ``turns``
    each turn's token usage in order; ``codex_s`` the wall-clock seconds spent in Codex turns.
    """

    mode: Mode
    initial: list[ScenarioOutcome]
    attempts: list[FixAttempt] = Field(default_factory=list)
    check: list[ScenarioOutcome] = Field(default_factory=list)
    proofs: list[FixProof] = Field(default_factory=list)
    documentation: DocumentRevision | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    stop_reason: str | None = None
    thread_id: str | None = None
    turns: list[TurnUsage] = Field(default_factory=list)
    codex_s: float = 0.0


class ExecutionOutcome(LoopProgress):
    """Everything one execute loop produced, enough to render, store and re-report it
    (the :class:`LoopProgress` fields at the loop's end, and these).

    ``results`` holds the latest result per scenario of ``scenario_ids`` (the "after"). ``diff`` is ``git
    diff`` of the worktree against its start (fix changes and any scenario scripts); a ``regression`` or
    ``unproven`` stop makes the status ``failed``. ``duration_s`` is the whole loop (wall-clock seconds;
    the difference from ``codex_s`` is the bot's own time). ``turn_ids`` and ``tokens`` (their total)
    summarize ``turns``.
    """

    status: ResultStatus
    scenario_ids: list[str]
    results: list[ScenarioOutcome]
    diff: str = ""
    turn_ids: list[str] = Field(default_factory=list)
    tokens: int = 0
    duration_s: float = 0.0
    prompt_version: str = ""
