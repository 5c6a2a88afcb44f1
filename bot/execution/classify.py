"""Why a scenario failed: ``code-defect | stale-spec | scenario-defect | environment | flaky`` (SF-5001).

Rules, first match wins (issue 5, "Classify failures"):

1. **stale-spec** — the scenario came from a source the trust gate marked
   stale: the document, not the code, is likely wrong → "update the document".
2. **environment** — the proving commands' output or the observed text shows
   a missing tool or module or no network (exit 127, ``command not found``,
   ``No module named``, name resolution / connection errors) → "fix the
   environment"; a code fix cannot help, so the scenario is ``blocked`` with
   what is missing (:func:`block_on_environment`, issue 13).
3. **scenario-defect** — the scenario misread its source (issue 13): the
   agent's report says so (``misread``: a source of the scenario and the
   sentence of it that the scenario's expectation contradicts) and that
   sentence is really in that document at the commit under test (whitespace
   aside; :func:`believed_misread`). The failure itself is the bot's own run
   (``bot.execution.verify``), so the code really does something else than
   the scenario expects; the quote shows the source agrees with the code →
   "revise the scenario", no code change. A claim whose quote is not in the
   document is not believed, and said so in the reason of the next rule.
4. **flaky** — decided by the fix loop, not here: the scenario passed on a
   rerun without any code change (:func:`flaky`).
5. otherwise **code-defect** → "fix the code".

Rules 1 and 2 come first: a stale document cannot settle what the scenario
should expect, and a broken environment settles nothing about the code.

Every classification names the failing checkpoints (expected vs observed) and
the evidence ids behind it.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

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


#: The shortest quote that can show a misreading (a few words, not one).
MIN_QUOTE_CHARS = 12


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def believed_misread(outcome: ScenarioOutcome, source_ids: Sequence[str],
                     source_texts: Mapping[str, str]) -> tuple[bool, str]:
    """Whether the agent's ``misread`` claim of ``outcome`` holds (rule 3), and why not.

    It holds when it names one of the scenario's ``source_ids`` and its quote (at least
    :data:`MIN_QUOTE_CHARS` characters) is in that source's text (``source_texts``: path → text
    at the commit under test), compared without case and with runs of whitespace as one space.
    Returns ``(False, "")`` when there is no claim.
    """
    claim = outcome.misread
    if claim is None:
        return False, ""
    quote = _words(claim.quote)
    if claim.source_id not in source_ids:
        return False, f"it names `{claim.source_id}`, which is not a source of the scenario"
    if len(quote) < MIN_QUOTE_CHARS:
        return False, "its quote is too short to show anything"
    if claim.source_id not in source_texts or quote not in _words(source_texts[claim.source_id]):
        return False, f"its quote is not in `{claim.source_id}`"
    return True, ""


def classify(
    outcome: ScenarioOutcome,
    evidence: Sequence[Evidence],
    *,
    source_ids: Sequence[str],
    stale_source_ids: Collection[str],
    source_texts: Mapping[str, str] | None = None,
) -> Classification:
    """The cause of a failed ``outcome`` from its evidence and the scenario's sources.

    ``source_ids`` are the scenario's sources in the pack; ``stale_source_ids``
    those the manifest marks stale; ``source_texts`` the text of the sources (path → text at the
    commit under test) that rule 3 reads, when the agent claims a misreading.
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
    believed, why_not = believed_misread(outcome, source_ids, source_texts or {})
    if believed and outcome.misread is not None:
        claim = outcome.misread
        return Classification(
            cause="scenario-defect", action="revise the scenario (the pack, not the code)",
            reason=f"the scenario's expectation contradicts its source `{claim.source_id}`, which says: "
            f"{claim.quote!r}; the source expects: {claim.source_says!r}.\n{what}",
            evidence_ids=list(outcome.evidence_ids), source_ids=[claim.source_id],
        )
    unbelieved = f"\nThe agent said the scenario misread its source; not believed: {why_not}." if why_not else ""
    return Classification(
        cause="code-defect", action="fix the code", reason=what + unbelieved, evidence_ids=list(outcome.evidence_ids),
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
