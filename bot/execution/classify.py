"""Why a scenario failed: ``code-defect | stale-spec | environment | flaky`` (backlog SF-5001).

Rules, first match wins (issue 5, "Classify failures"):

1. **stale-spec** — the scenario came from a source the trust gate marked
   stale: the document, not the code, is likely wrong → "update the document".
2. **environment** — the proving commands' output or the observed text shows
   a missing tool or module or no network (exit 127, ``command not found``,
   ``No module named``, name resolution / connection errors) → "fix the
   environment"; a code fix cannot help, so the scenario is ``blocked`` with
   what is missing (:func:`block_on_environment`, issue 13).
3. **flaky** — decided by the fix loop, not here: the scenario passed on a
   rerun without any code change (:func:`flaky`).
4. otherwise **code-defect** → "fix the code".

Every classification names the failing checkpoints (expected vs observed) and
the evidence ids behind it.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from bot.domain.results import Classification, Evidence, ScenarioOutcome

#: Output that means the environment, not the code, failed.
ENVIRONMENT_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"command not found",
    r"No module named ['\"]?[\w.]+",
    r"ModuleNotFoundError",
    r"Could not resolve host",
    r"Temporary failure in name resolution",
    r"Name or service not known",
    r"Network is unreachable",
    r"Failed to establish a new connection",
    r"getaddrinfo failed",
))
COMMAND_NOT_FOUND_EXIT = 127


def mismatch(outcome: ScenarioOutcome) -> str:
    """The failing checkpoints as ``checkpoint: expected …, observed …`` lines."""
    lines = [
        f"{checkpoint.checkpoint}: expected {checkpoint.expected!r}, observed {checkpoint.observed!r}"
        for checkpoint in outcome.failing_checkpoints
    ]
    return "\n".join(lines) or outcome.notes or "no failing checkpoint reported"


def _environment_hint(outcome: ScenarioOutcome, evidence: Sequence[Evidence]) -> tuple[str, list[str]] | None:
    """The first environment symptom and the ids of the evidence showing it."""
    own = [item for item in evidence if item.id in outcome.evidence_ids]
    for item in own:
        if item.exit_code == COMMAND_NOT_FOUND_EXIT:
            return f"`{item.command}` exited {COMMAND_NOT_FOUND_EXIT} (command not found)", [item.id]
        for pattern in ENVIRONMENT_PATTERNS:
            if match := pattern.search(item.output):
                return f"`{item.command}` output: {match.group(0)}", [item.id]
    observed = " ".join(checkpoint.observed for checkpoint in outcome.failing_checkpoints)
    for pattern in ENVIRONMENT_PATTERNS:
        if match := pattern.search(observed):
            return f"observed: {match.group(0)}", []
    return None


def classify(
    outcome: ScenarioOutcome,
    evidence: Sequence[Evidence],
    *,
    source_ids: Sequence[str],
    stale_source_ids: Collection[str],
) -> Classification:
    """The cause of a failed ``outcome`` from its evidence and the scenario's sources.

    ``source_ids`` are the scenario's sources in the pack; ``stale_source_ids``
    those the manifest marks stale.
    """
    what = mismatch(outcome)
    stale = [source for source in source_ids if source in stale_source_ids]
    if stale:
        return Classification(
            cause="stale-spec", action="update the document",
            reason=f"the scenario comes from stale source(s) {', '.join(stale)}; the document may no "
            f"longer describe the code.\n{what}",
            evidence_ids=list(outcome.evidence_ids), source_ids=stale,
        )
    if hint := _environment_hint(outcome, evidence):
        symptom, ids = hint
        return Classification(
            cause="environment", action="fix the environment",
            reason=f"{symptom}\n{what}", evidence_ids=ids or list(outcome.evidence_ids),
        )
    return Classification(
        cause="code-defect", action="fix the code", reason=what, evidence_ids=list(outcome.evidence_ids),
    )


def block_on_environment(outcome: ScenarioOutcome) -> None:
    """Make a failure classified ``environment`` ``blocked``, its reason naming what is missing (in place)."""
    cause = outcome.classification
    if outcome.status == "failed" and cause is not None and cause.cause == "environment":
        outcome.status = "blocked"
        outcome.blocked_reason = "the environment is missing something: " + cause.reason.splitlines()[0]


def flaky(before: ScenarioOutcome, after: ScenarioOutcome) -> Classification:
    """A scenario that failed, then passed on a rerun with no code change in between."""
    return Classification(
        cause="flaky", action="rerun; make the scenario deterministic",
        reason=f"failed, then passed on a rerun without a code change.\n{mismatch(before)}",
        evidence_ids=[*before.evidence_ids, *after.evidence_ids],
    )
