"""Render ``scenarios.md`` from a stored pack revision (pure function).

A readable document grouped by feature area and user outcome, with a table
of contents and links to the sources each scenario came from (issue 4,
"Rendering and publishing"; seed 000 §8 grouping).
"""
from __future__ import annotations

from collections.abc import Callable

from bot.domain.pack import PackDocument, Scenario

#: Maps a source id to ``(label, target)`` — the text shown (e.g. the source's
#: path) and the link target (URL or relative path); ``None`` = no link.
SourceLink = Callable[[str], tuple[str, str] | None]

_LIST_FIELDS = (
    ("Preconditions", "preconditions"),
    ("Test data", "test_data"),
    ("Edge variants", "edge_variants"),
)


def scenario_anchor(scenario_id: str) -> str:
    """The in-document anchor of a scenario (``SC-001`` → ``sc-001``)."""
    return scenario_id.lower()


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sources(scenario: Scenario, source_link: SourceLink) -> str:
    parts = []
    for source_id in scenario.source_ids:
        link = source_link(source_id)
        parts.append(f"[`{link[0]}`]({link[1]})" if link else f"`{source_id}`")
    return ", ".join(parts)


def _scenario(scenario: Scenario, source_link: SourceLink) -> list[str]:
    lines = [
        f'<a id="{scenario_anchor(scenario.id)}"></a>',
        f"#### {scenario.id} — {_escape(scenario.title)}",
        "",
        f"- **Persona:** {_escape(scenario.persona)}",
        f"- **Objective:** {_escape(scenario.objective)}",
        f"- **Sources:** {_sources(scenario, source_link)}",
        "",
    ]
    for label, name in _LIST_FIELDS[:2]:
        lines += [f"**{label}**", "", *(f"- {_escape(item)}" for item in getattr(scenario, name)), ""]
    lines += ["**Steps**", "", *(f"{n}. {_escape(step)}" for n, step in enumerate(scenario.steps, 1)), ""]
    lines += ["**Checkpoints**", "", *(f"- [ ] {_escape(item)}" for item in scenario.checkpoints), ""]
    label, name = _LIST_FIELDS[2]
    lines += [f"**{label}**", "", *(f"- {_escape(item)}" for item in getattr(scenario, name)), ""]
    lines += [f"**Pass criteria:** {_escape(scenario.pass_criteria)}", ""]
    return lines


def render_pack(document: PackDocument, *, source_link: SourceLink = lambda source_id: None) -> str:
    """Markdown for ``scenarios.md``: title, revision facts, table of contents, scenarios."""
    pack, revision = document.pack, document.revision
    ids = pack.scenario_ids()
    lines = [f"# {_escape(pack.title)}", "", pack.summary.strip(), ""]
    facts = [f"revision {revision.revision}", f"{len(ids)} scenarios", f"prompt {revision.prompt_version}",
             f"model {revision.model}"]
    if revision.manifest_hash:
        facts.append(f"manifest `{revision.manifest_hash[:12]}`")
    if revision.head_sha:
        facts.append(f"commit `{revision.head_sha[:12]}`")
    lines += [f"_{' · '.join(facts)}_", "", "## Contents", ""]
    for a, area in enumerate(pack.feature_areas, 1):
        lines.append(f"- [{_escape(area.name)}](#area-{a})")
        for o, outcome in enumerate(area.outcomes, 1):
            lines.append(f"  - [{_escape(outcome.outcome)}](#area-{a}-outcome-{o})")
            for scenario in outcome.scenarios:
                lines.append(f"    - [{scenario.id} — {_escape(scenario.title)}](#{scenario_anchor(scenario.id)})")
    lines.append("")
    for a, area in enumerate(pack.feature_areas, 1):
        lines += [f'<a id="area-{a}"></a>', f"## {_escape(area.name)}", ""]
        for o, outcome in enumerate(area.outcomes, 1):
            lines += [f'<a id="area-{a}-outcome-{o}"></a>', f"### Outcome: {_escape(outcome.outcome)}", ""]
            for scenario in outcome.scenarios:
                lines += _scenario(scenario, source_link)
    return "\n".join(lines).rstrip("\n") + "\n"
