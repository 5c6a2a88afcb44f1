"""The findings engine: the rules of ``bot.domain.policy.RULES`` evaluated at each stage.

Pure functions from a stage's data to :class:`Finding` values whose severity
the effective policy decides (``off`` rules produce nothing). Stages (issue
14): ``scan`` (the manifest's sources), ``generate`` (the pack against the
selected sources), ``execute`` (the scenario results), ``pr`` (the paths a
fix changes).
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from bot.domain.pack import ScenarioPack
from bot.domain.policy import EffectivePolicy
from bot.domain.results import ScenarioOutcome

#: Words by which an edge variant names a failure or a boundary (``generate.no-edge-variant``; the
#: validator already requires one variant, this asks that one be about an edge).
EDGE_WORDS = re.compile(
    r"\b(fail\w*|error\w*|invalid|empty|expired?|refus\w*|reject\w*|den(y|ied)|limit\w*|zero|negative|"
    r"missing|timeout|time[sd] out|too (many|long|large|small)|boundary|max\w*|min\w*|duplicate\w*|"
    r"unauthori[sz]ed|forbidden|offline|conflict\w*|overflow\w*|without|no)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One finding. ``scope`` is what it is about (a path, a scenario id, an area); ``metadata`` holds
    the figures behind it (JSON-ready; ``path``: the repository file it can be annotated on)."""

    code: str
    severity: str
    message: str
    scope: str
    suggested_fix: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _found(policy: EffectivePolicy, code: str, message: str, scope: str, fix: str, **metadata: Any) -> list[Finding]:
    severity = policy.rules.get(code, "off")
    return [] if severity == "off" else [Finding(code, severity, message, scope, fix, metadata)]


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings whose rule the policy marks ``block``."""
    return [finding for finding in findings if finding.severity == "block"]


def scan_findings(policy: EffectivePolicy, sources: Iterable[tuple[str, str, bool]]) -> list[Finding]:
    """``sources``: ``(path, status, selected)``. An area is a path's first folder (``(root)`` for
    top-level files); one whose selected sources include none ``trusted`` is a finding."""
    areas: defaultdict[str, list[str]] = defaultdict(list)
    for path, status, selected in sources:
        if selected:
            areas[path.split("/", 1)[0] if "/" in path else "(root)"].append(status)
    found: list[Finding] = []
    for area, statuses in sorted(areas.items()):
        if "trusted" not in statuses:
            found += _found(policy, "scan.area-without-trusted-source",
                            f"no selected source of `{area}` is trusted ({', '.join(sorted(set(statuses)))})",
                            area, "update a document of this area to match the code, or confirm it",
                            statuses=dict(Counter(statuses)))
    return found


def generate_findings(policy: EffectivePolicy, pack: ScenarioPack, selected: Sequence[str]) -> list[Finding]:
    """Selected sources no scenario cites; scenarios without an edge variant."""
    cited = {source for _, _, scenario in pack.scenarios() for source in scenario.source_ids}
    found: list[Finding] = []
    for path in selected:
        if path not in cited:
            found += _found(policy, "generate.uncited-source", f"no scenario cites the selected source `{path}`",
                            path, "add a scenario for what it specifies, or leave it out of the selection", path=path)
    for _, _, scenario in pack.scenarios():
        if not any(EDGE_WORDS.search(variant) for variant in scenario.edge_variants):
            found += _found(policy, "generate.no-edge-variant", f"no edge variant of {scenario.id} names a failure "
                            "or a boundary", scenario.id, "add a variation that exercises an edge or a failure",
                            edge_variants=scenario.edge_variants)
    return found


def execute_findings(policy: EffectivePolicy, results: Sequence[ScenarioOutcome]) -> list[Finding]:
    """Passed scenarios whose every command another scenario ran too; results without a rerun command."""
    runs_of: Counter[str] = Counter(command for result in results for command in set(result.commands))
    found: list[Finding] = []
    for result in results:
        if result.status == "passed" and all(runs_of[command] > 1 for command in result.commands):
            found += _found(policy, "execute.passed-without-specific-command",
                            f"{result.scenario_id} passed on commands shared with other scenarios only",
                            result.scenario_id, "give the scenario a command that checks its own checkpoints",
                            commands=result.commands)
        if not result.rerun_command:
            found += _found(policy, "execute.missing-rerun-command", f"{result.scenario_id} has no rerun command",
                            result.scenario_id, "report the one command that reruns this scenario")
    return found


def pr_findings(policy: EffectivePolicy, paths: Sequence[str], *, pull: str = "fix") -> list[Finding]:
    """A pull request changing more than ``max_fix_files`` files; each changed path under ``protected_paths``.

    ``pull`` names the pull request in the messages and the scope: ``"fix"`` (the fix PR) or
    ``"documentation PR"`` (a stale-spec remedy, ``bot.execution.remedies``): both are held to the same limits.
    """
    found: list[Finding] = []
    if len(paths) > policy.max_fix_files:
        found += _found(policy, "pr.too-many-files", f"the {pull} touches {len(paths)} files "
                        f"(policy.max_fix_files is {policy.max_fix_files})", pull,
                        "split the change, or raise policy.max_fix_files", files=len(paths))
    for path in paths:
        if any(fnmatchcase(path, glob) for glob in policy.protected_paths):
            found += _found(policy, "pr.protected-path", f"the {pull} changes the protected path `{path}`", path,
                            "change it by hand, or remove it from policy.protected_paths", path=path)
    return found
