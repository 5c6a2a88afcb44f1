"""Signals of one document (drift, recency, lifecycle) and the rule that turns reasons into score and status.

The rule (seed 000 §7, backlog SF-2002):

- score = 1.0 minus the sum of the reasons' penalties, floored at 0; it
  ranks documents, it does not decide staleness;
- ``excluded`` when any reason excludes the file (binary, oversized, not
  UTF-8, symlink leaving the tree, submodule) — score 0, never selected;
- ``stale`` only when a reason itself says so: a terminal lifecycle
  (withdrawn / superseded / deprecated / replaced / obsolete / rejected),
  real age (last changed more than ``stale_after_days`` before the code it
  names), or severe drift (at least ``SEVERE_MISSING`` referenced paths gone
  and more than half of all it references). Warnings never add up to
  ``stale``: a document with only warnings is at worst ``suspect``;
- ``suspect`` when any warning stands (drift, contradiction, draft, lagging
  behind the code overall) or the score falls below ``SUSPECT_BELOW``;
- ``trusted`` otherwise.

Penalties (one reason per kind, all evidence in it): missing path 0.15 each
(≤ 0.45), missing identifier 0.1 each (≤ 0.3), missing route 0.2 each
(≤ 0.5), contradiction 0.25, draft/proposed 0.15, lagging behind the code
overall 0.2, older than the code it names 0.5, terminal lifecycle 0.6.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone

from bot.domain.sources import Reason, Status
from bot.sources.history import History
from bot.sources.inventory import Inventory
from bot.sources.references import Claims

SEVERE_MISSING = 3
SUSPECT_BELOW = 0.85
TERMINAL = ("withdrawn", "superseded", "deprecated", "replaced", "obsolete", "rejected")
DAY = 86400


def _drift(code: str, message: str, evidence: list[str], each: float, cap: float, of: int = 0) -> list[Reason]:
    """One drift reason for the unique ``evidence``; ``stale`` when it is severe (more than half of ``of``)."""
    if not evidence:
        return []
    unique = list(dict.fromkeys(evidence))
    penalty = min(each * len(unique), cap)
    severe = of > 0 and len(unique) >= SEVERE_MISSING and 2 * len(unique) > of
    message = message.format(n=len(unique)) + (f" That is {len(unique)} of the {of} it references." if severe else "")
    return [Reason(code=code, severity="stale" if severe else "warn", penalty=penalty, message=message, evidence=unique)]


def _known(identifier: str, inventory: Inventory) -> bool:
    """A backticked name is known when it, its first or its last part is declared or imported in the code,
    or when the code spells it as a string literal (an error type, an event name, a config key).

    A dotted name whose first part is an imported module or a standard-library module (``os.environ``,
    ``http.extraHeader``) names something outside the repository: not checked.
    """
    first, _, rest = identifier.partition(".")
    if rest and (first in inventory.modules or first in sys.stdlib_module_names):
        return True
    return bool({identifier, first, identifier.rsplit(".", 1)[-1]} & inventory.symbols) or identifier in inventory.literals


def drift_reasons(claims: Claims, files: set[str], dirs: set[str], basenames: set[str], inventory: Inventory) -> list[Reason]:
    """Referenced paths missing at the commit, backticked identifiers absent from the code, routes not declared.

    Missing paths are severe drift (``stale``) when most of what the document references is gone.
    Route drift is judged only when the code declares at least one route
    (otherwise we cannot tell an undeclared route from an unparsed framework).
    """
    missing_paths = [p for p in claims.paths if p not in files and p not in dirs]
    missing_paths += [b for b in claims.basenames if b not in basenames]
    missing_ids = [i for i in claims.identifiers if not _known(i, inventory)]
    missing_routes = [r.raw for r in claims.routes if inventory.routes and not inventory.declares(r.method, r.path)]
    referenced = len(set(claims.paths) | set(claims.basenames))
    return [
        *_drift("missing-path", "References {n} file path(s) that do not exist at this commit.", missing_paths, 0.15, 0.45,
                referenced),
        *_drift("missing-symbol", "Names {n} code identifier(s) not found in the code inventory.", missing_ids, 0.1, 0.3),
        *_drift("missing-route", "Names {n} HTTP route(s) the code does not declare.", missing_routes, 0.2, 0.5),
    ]


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def recency_reason(
    doc: str, claims: Claims, code_files: set[str], dirs: set[str], history: History,
    code_latest: tuple[int, str] | None, stale_days: int,
) -> Reason | None:
    """Compare the document's last change with the last change of the code it names (or of all code).

    The code it names: the current code files (``code_files``) it links,
    and those under the folders it links — never other documents or files
    deleted since. Named code that changed more than ``stale_days`` after the document →
    ``stale``; when it names no code, all code (``code_latest``: time and path
    of the last code change) changing that much later →
    a ``warn`` (weaker evidence). A shallow clone gives an ``info`` reason.
    """
    if history.shallow:
        return Reason(code="recency-unavailable", severity="info", message="Shallow clone: history is truncated, "
                      "so recency was not judged.", evidence=["git rev-parse --is-shallow-repository: true"])
    doc_time = history.last_change.get(doc)
    if doc_time is None:
        return None
    folders = tuple(f"{p}/" for p in claims.paths if p in dirs)
    named = [p for p in claims.paths if p in code_files] + ([p for p in code_files if p.startswith(folders)] if folders else [])
    latest = history.latest(named)
    scope, severity, penalty = "the code it references", "stale", 0.5
    if latest is None:
        latest = code_latest
        scope, severity, penalty = "the code overall", "warn", 0.2
    if latest is None:
        return None
    lag_days = (latest[0] - doc_time) // DAY
    if lag_days <= stale_days:
        return None
    return Reason(
        code="outdated" if severity == "stale" else "lagging", severity=severity, penalty=penalty,  # type: ignore[arg-type]
        message=f"Last changed {lag_days} days before {scope} (limit {stale_days} days).",
        evidence=[f"{doc} last changed {_date(doc_time)}", f"{latest[1]} changed {_date(latest[0])}"],
    )


def lifecycle_reason(claims: Claims) -> Reason | None:
    """Lifecycle markers: terminal states make the document stale, drafts suspect, implemented is noted."""
    state = claims.lifecycle
    if state is None:
        return None
    evidence = [claims.lifecycle_evidence] + ([f"superseded by {claims.superseded_by}"] if claims.superseded_by else [])
    if state in TERMINAL:
        return Reason(code=f"lifecycle-{state}", severity="stale", penalty=0.6,
                      message=f"The document is marked {state}.", evidence=evidence)
    if state in ("draft", "proposed"):
        return Reason(code=f"lifecycle-{state}", severity="warn", penalty=0.15,
                      message=f"The document is marked {state}: it may not describe what was built.", evidence=evidence)
    return Reason(code=f"lifecycle-{state}", severity="info", message=f"The document is marked {state}.", evidence=evidence)


def judge(reasons: list[Reason]) -> tuple[float, Status]:
    """Score in [0, 1] (two decimals) and status from ``reasons``, by the rule in the module docstring."""
    if any(r.severity == "exclude" for r in reasons):
        return 0.0, "excluded"
    score = round(max(0.0, 1.0 - sum(r.penalty for r in reasons)), 2)
    if any(r.severity == "stale" for r in reasons):
        return score, "stale"
    if any(r.severity == "warn" for r in reasons) or score < SUSPECT_BELOW:
        return score, "suspect"
    return score, "trusted"
