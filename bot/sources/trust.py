"""Signals of one document (lifecycle, drift, recency) and the rule that turns reasons into score and status.

The rule (seed 000 §7, backlog SF-2002, issue 10):

- score = 1.0 minus the sum of the reasons' penalties, floored at 0; it
  ranks documents, it does not decide staleness;
- ``excluded`` when any reason excludes the file (binary, oversized, not
  UTF-8, symlink leaving the tree, submodule) — score 0, never selected;
- ``stale`` only when a reason itself says so: a retired lifecycle
  (``bot.sources.lifecycle.RETIRED``), drift (a path or identifier of this
  repository that the history shows removed), or the code the document
  names changing more than ``stale_after_days`` after it;
- a document that declares itself not built yet (draft, proposed…) is at
  most ``suspect``: it describes intent, drift and age only warn; one that
  declares itself in force (final, accepted…) is a record that stands: its
  age against the code is noted, not held against it, and a link to a
  moved document only warns (drift of code still makes it stale);
- ``suspect`` when any warning stands or the score falls below ``SUSPECT_BELOW``;
- ``trusted`` otherwise. References that never existed in the history
  (examples, other projects' names) and a document naming no code of the
  repository cost nothing.
"""
from __future__ import annotations

from datetime import datetime, timezone

from bot.domain.sources import Reason, Severity, Status
from bot.sources.discovery import DOC_FORMATS, extension
from bot.sources.drift import Resolution
from bot.sources.history import History
from bot.sources.lifecycle import Declared
from bot.sources.references import Claims

SUSPECT_BELOW = 0.85
DAY = 86400
MAX_EVIDENCE = 5


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def _demote(severity: Severity, declared: Declared | None) -> Severity:
    """Not built: never more than a warning (it describes intent, not the code)."""
    if declared is not None and declared.cls == "not_built" and severity == "stale":
        return "warn"
    return severity


def lifecycle_reason(declared: Declared | None) -> Reason | None:
    """The declared lifecycle as a reason: retired → stale, not built → warn, in force → info, unknown → info."""
    if declared is None:
        return None
    evidence = [declared.evidence] + ([f"successor: {declared.successor}"] if declared.successor else [])
    if declared.cls == "retired":
        successor = f", succeeded by {declared.successor}" if declared.successor else ""
        return Reason(code=f"lifecycle-{declared.word.replace(' ', '-')}", severity="stale", penalty=0.6,
                      message=f"Declares itself {declared.word}{successor}.", evidence=evidence)
    if declared.cls == "not_built":
        return Reason(code="lifecycle-not-built", severity="warn", penalty=0.15,
                      message=f"Declares itself {declared.word}: it describes intent that is not built yet.",
                      evidence=evidence)
    if declared.cls == "in_force":
        return Reason(code="lifecycle-in-force", severity="info", message=f"Declares itself {declared.word}.",
                      evidence=evidence)
    return Reason(code="lifecycle-unknown", severity="info", evidence=evidence,
                  message=f"Declares the status '{declared.word}', which is no known lifecycle word: no signal.")


def drift_reasons(doc: str, res: Resolution, claims: Claims, declared: Declared | None,
                  missing_routes: list[str]) -> list[Reason]:
    """Paths and identifiers the history shows removed (stale), undeclared routes (warn), unresolved (info)."""
    reasons = []
    if res.gone:
        evidence = []
        for gone in res.gone[:MAX_EVIDENCE]:
            where = f"`{gone.ref.text}` ({doc} line {gone.ref.line})"
            when = f" was removed in {gone.removed[1][:12]} on {_date(gone.removed[0])}" if gone.removed else " is gone"
            evidence.append(where + when + (f"; it is now `{gone.successor}`" if gone.successor else ""))
        moved = [g for g in res.gone if g.successor]
        fix = f" Suggested fix: `{moved[0].ref.text}` → `{moved[0].successor}`." if moved else ""
        # a record in force that links a moved document (not code) needs a look, it is not outdated
        only_documents = all(extension(g.path) in DOC_FORMATS for g in res.gone)
        in_force = declared is not None and declared.cls == "in_force"
        severity: Severity = "warn" if in_force and only_documents else _demote("stale", declared)
        reasons.append(Reason(code="drift-path", severity=severity,
                              penalty=min(0.2 * len(res.gone), 0.6), evidence=evidence,
                              message=f"Names {len(res.gone)} path(s) this repository had and no longer has.{fix}"))
    if res.gone_identifiers:
        names = list(dict.fromkeys(r.text for r in res.gone_identifiers))
        reasons.append(Reason(
            code="drift-symbol", severity=_demote("stale", declared), penalty=min(0.15 * len(names), 0.45),
            message=f"Names {len(names)} identifier(s) the code had when this document was last changed and "
                    "no longer declares.",
            evidence=[f"`{r.text}` ({doc} line {r.line})" for r in res.gone_identifiers[:MAX_EVIDENCE]]))
    if missing_routes:
        unique = list(dict.fromkeys(missing_routes))
        reasons.append(Reason(code="missing-route", severity="warn", penalty=min(0.2 * len(unique), 0.5),
                              message=f"Names {len(unique)} HTTP route(s) the code does not declare.", evidence=unique))
    unresolved = list(dict.fromkeys(res.unresolved))
    if unresolved:
        reasons.append(Reason(code="unresolved", severity="info", evidence=unresolved[:MAX_EVIDENCE],
                              message=f"{len(unresolved)} reference(s) never existed in this repository's history "
                                      "(examples or other projects' names): not counted."))
    return reasons


def recency_reason(doc: str, res: Resolution, own_code: list[str], code_files: set[str], history: History,
                   stale_days: int, declared: Declared | None) -> Reason | None:
    """The document's last change against the last change of the code it talks about.

    That code: the code files it references (and under the folders it references), else the code in its
    own folder (not the repository root). None of either: no recency judgement at all.
    """
    if history.shallow:
        return Reason(code="recency-unavailable", severity="info", message="Shallow clone: history is truncated, "
                      "so recency was not judged.", evidence=["git rev-parse --is-shallow-repository: true"])
    doc_change = history.last_change.get(doc)
    if doc_change is None:
        return None
    folders = tuple(f"{p}/" for p in res.found if p not in code_files)
    named = [p for p in res.found if p in code_files]
    named += [p for p in code_files if p.startswith(folders)] if folders else []
    scope, latest = "the code it references", history.latest(named)
    if latest is None:
        scope, latest = "the code in its folder", history.latest(own_code)
    if latest is None or (latest[0] - doc_change[0]) // DAY <= stale_days:
        return None
    lag = (latest[0] - doc_change[0]) // DAY
    severity = "info" if declared is not None and declared.cls == "in_force" else _demote("stale", declared)
    return Reason(code="outdated", severity=severity, penalty=0.5 if severity == "stale" else 0.0,
                  message=f"Last changed {lag} days before {scope} (limit {stale_days} days).",
                  evidence=[f"{doc} last changed {_date(doc_change[0])} in {doc_change[1][:12]}",
                            f"{latest[1]} changed {_date(latest[0])} in {history.last_change[latest[1]][1][:12]}"])


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
