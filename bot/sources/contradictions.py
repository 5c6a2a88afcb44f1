"""Contradiction hints between documents: one route or one setting defined differently.

Issue 3 ("contradiction hints"): two sources that define the same route,
setting or term differently. A route conflicts when two documents give the
same ``METHOD /path`` status codes that have nothing in common ("201" against
"200", not "200" against "200 or 404"); a setting when two documents give the
same key (``KEY = value``, "X defaults to N") different values. Every hint
names both documents with their lines. Callers leave out documents that are
withdrawn or superseded: they may rightly disagree with the current ones.
"""
from __future__ import annotations

from collections import defaultdict

from bot.domain.sources import Reason
from bot.sources.references import Claims

PENALTY = 0.25
MAX_EVIDENCE = 3


def find(claims: dict[str, Claims]) -> dict[str, list[Reason]]:
    """Document path → its contradiction reasons (empty lists are omitted)."""
    routes: dict[tuple[str, str], dict[str, tuple[frozenset[str], str]]] = defaultdict(dict)
    settings: dict[str, dict[str, tuple[str, int]]] = defaultdict(dict)
    for doc, found in claims.items():
        for route in found.routes:
            if route.codes:
                routes[(route.method, route.path)].setdefault(
                    doc, (frozenset(route.codes), f"{doc} line {route.line}: {route.raw} → {', '.join(route.codes)}")
                )
        for key, value in found.settings.items():
            settings[key][doc] = value
    reasons: dict[str, list[Reason]] = defaultdict(list)
    for (method, path), by_doc in routes.items():
        for doc, (codes, evidence) in by_doc.items():
            others = [ev for other, (c, ev) in by_doc.items() if other != doc and not c & codes]
            if others:
                reasons[doc].append(Reason(
                    code="contradiction-route", severity="warn", penalty=PENALTY,
                    message=f"Another document gives {method} {path} different status codes.",
                    evidence=[evidence, *others[:MAX_EVIDENCE]],
                ))
    for key, by_doc in settings.items():
        for doc, (value, line) in by_doc.items():
            others = [f"{o} line {ln}: {key} = {v}" for o, (v, ln) in by_doc.items() if o != doc and v != value]
            if others:
                reasons[doc].append(Reason(
                    code="contradiction-setting", severity="warn", penalty=PENALTY,
                    message=f"Another document gives the setting {key} a different value.",
                    evidence=[f"{doc} line {line}: {key} = {value}", *others[:MAX_EVIDENCE]],
                ))
    return dict(reasons)
