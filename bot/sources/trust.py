"""Signals of one document (lifecycle, drift, recency) and the rule that turns reasons into score and status.

The rule (seed 000 §7, backlog SF-2002, issue 10):

- score = 1.0 minus the sum of the reasons' penalties, floored at 0; it
  ranks documents, it does not decide staleness;
- ``excluded`` when any reason excludes the file (binary, oversized, not
  UTF-8, symlink leaving the tree, submodule) — score 0, never selected;
- ``stale`` only when a reason itself says so: a retired lifecycle
  (``bot.sources.lifecycle.RETIRED``), drift (a code path or identifier of
  this repository that the history shows removed), or the code the document
  names changing more than ``stale_after_days`` after it; a link to a
  document or image that moved or went only warns (the link needs fixing,
  not the content);
- a document that declares itself not built yet (draft, proposed…) is at
  most ``suspect``: it describes intent, drift and age only warn; one that
  declares itself in force (final, accepted, implemented…) is a record that
  stands (decision records are not rewritten as the code moves on, Nygard's
  ADRs and PEP 1 alike): its drift and age are noted, not held against it;
- ``suspect`` when any warning stands or the score falls below ``SUSPECT_BELOW``;
- ``trusted`` otherwise. References that never existed in the history
  (examples, other projects' names) and a document naming no code of the
  repository cost nothing.
"""
from __future__ import annotations

from datetime import datetime, timezone

from bot.domain.sources import Reason, Severity, Status
from bot.sources.drift import Gone, Resolution
from bot.sources.history import History
from bot.sources.inventory import is_test_file
from bot.sources.lifecycle import Declared
from bot.sources.references import Claims, Ref

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


_RECORD = " It declares itself in force: a record of a decision, which is not rewritten as the code moves on."


def _gone_evidence(doc: str, gone: list[Gone]) -> list[str]:
    """Per reference: what, where, the removing commit and the successor when there is one."""
    evidence = []
    for g in gone[:MAX_EVIDENCE]:
        where = f"`{g.ref.text}` ({doc} line {g.ref.line})"
        when = f" was removed in {g.removed[1][:12]} on {_date(g.removed[0])}" if g.removed else " is gone"
        now = (f"; it is probably now `{g.successor}` (the only file of that name)" if g.guessed else
               f"; it is now `{g.successor}`") if g.successor else ""
        evidence.append(where + when + now)
    return evidence


def _first_each(refs: list[Ref]) -> list[Ref]:
    """Each name once, at its first line."""
    first: dict[str, Ref] = {}
    for ref in refs:
        first.setdefault(ref.text, ref)
    return list(first.values())


def _fix(gone: list[Gone]) -> str:
    moved = [g for g in gone if g.successor]
    return f" Suggested fix: `{moved[0].ref.text}` → `{moved[0].successor}`." if moved else ""


def drift_reasons(doc: str, res: Resolution, claims: Claims, declared: Declared | None,
                  missing_routes: list[str]) -> list[Reason]:
    """Code paths and identifiers the history shows removed (stale), moved or removed documents (warn),
    undeclared routes (warn), unresolved references (info). A document in force keeps its drift as notes."""
    reasons = []
    in_force = declared is not None and declared.cls == "in_force"
    code = [g for g in res.gone if not g.document]
    documents = [g for g in res.gone if g.document]
    if code:  # the project's own code or build files: the document describes something that is gone
        severity: Severity = "info" if in_force else _demote("stale", declared)
        reasons.append(Reason(code="drift-path", severity=severity, penalty=0.0 if in_force else
                              min(0.2 * len(code), 0.6), evidence=_gone_evidence(doc, code),
                              message=f"Names {len(code)} path(s) this repository had and no longer has."
                                      f"{_fix(code)}{_RECORD if in_force else ''}"))
    if documents:  # a link to a document or image that moved or went: the link needs fixing, not the content
        reasons.append(Reason(code="drift-document", severity="info" if in_force else "warn",
                              penalty=0.0 if in_force else min(0.1 * len(documents), 0.3),
                              evidence=_gone_evidence(doc, documents),
                              message=f"Links {len(documents)} document(s) or image(s) this repository moved or "
                                      f"removed.{_fix(documents)}"))
    if res.gone_identifiers:
        names = list(dict.fromkeys(r.text for r in res.gone_identifiers))
        reasons.append(Reason(
            code="drift-symbol", severity="info" if in_force else _demote("stale", declared),
            penalty=0.0 if in_force else min(0.15 * len(names), 0.45),
            message=f"Names {len(names)} identifier(s) the code had when this document was last changed and "
                    f"no longer declares.{_RECORD if in_force else ''}",
            evidence=[f"`{r.text}` ({doc} line {r.line})" for r in _first_each(res.gone_identifiers)[:MAX_EVIDENCE]]))
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
    own folder (not the repository root); test files left out of both. None of either: no recency judgement.
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
    # tests change with every fix and say nothing about whether the behaviour a document describes changed
    scope, latest = "the code it references", history.latest([p for p in named if not is_test_file(p)])
    if latest is None:
        scope, latest = "the code in its folder", history.latest([p for p in own_code if not is_test_file(p)])
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
