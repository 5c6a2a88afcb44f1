"""Versioned prompt templates for generation turns (``bot/codex/templates/*.md``).

The generation prompt carries only the selected sources of the confirmed
manifest (seed 000 §4.1 step 2, §7 "Only selected sources are provided to
Codex"), within a token budget; whatever is cut is said in the prompt and
returned so the run can say it too (issue 4). It also carries repository facts
from the code inventory and the maintainer's instruction, and invokes the
``$scenario`` skill (seed 000 §4.1 step 3). Pure functions of plain inputs.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template
from typing import Any

from bot.codex.untrusted import fence, strip_hidden
from bot.domain.pack import Finding, ScenarioPack
from config.repo import DEFAULT_TOKEN_BUDGET

#: Stored on every pack revision; bump when a template or its inputs change.
#: v2: source ids are repository paths; cut notice names only selected sources. v3: sources and the instruction
#: are cleaned of hidden text and fenced as untrusted data (``bot.codex.untrusted``).
PROMPT_VERSION = "generate-v3"
#: Default budget for source text in a prompt, in estimated tokens.
#: A source is only included partially if at least this many tokens of it fit.
MIN_PARTIAL_TOKENS = 200
CHARS_PER_TOKEN = 4

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class SourceText:
    """A selected source: source id (its repository path on GitHub and locally), repository path, full text."""

    source_id: str
    path: str
    text: str


@dataclass(frozen=True)
class CutSource:
    """A source shortened or left out to fit the budget (tokens are estimates)."""

    source_id: str
    path: str
    total_tokens: int
    kept_tokens: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt and the sources that did not fit in full."""

    text: str
    cut: list[CutSource]


def estimate_tokens(text: str) -> int:
    """Rough token count: characters / 4."""
    return -(-len(text) // CHARS_PER_TOKEN)


def template(name: str) -> Template:
    """The prompt template ``bot/codex/templates/<name>.md`` (``string.Template`` placeholders)."""
    return Template((TEMPLATES / f"{name}.md").read_text(encoding="utf-8"))


def _fit_sources(sources: Sequence[SourceText], budget: int) -> tuple[list[str], list[CutSource]]:
    """Render sources in order until ``budget`` tokens are used; later ones are cut."""
    blocks: list[str] = []
    cut: list[CutSource] = []
    left = budget
    for source in sources:
        text = strip_hidden(source.text)
        total = estimate_tokens(text)
        keep = total if total <= left else (left if left >= MIN_PARTIAL_TOKENS else 0)
        if keep < total:
            cut.append(CutSource(source.source_id, source.path, total, keep))
        if keep == 0:
            continue
        left -= keep
        partial = "" if keep == total else f" (first ~{keep} of ~{total} tokens)"
        blocks.append(template("source").substitute(
            source_id=source.source_id, path=source.path, partial=partial,
            text=fence(text[: keep * CHARS_PER_TOKEN].rstrip("\n"),
                       origin=f"the repository document `{source.path}`"),
        ))
    return blocks, cut


def _cut_notice(cut: list[CutSource]) -> str:
    """What the prompt says about the sources cut to fit the budget. ``cut`` holds only sources
    given to :func:`generation_prompt`, i.e. selected ones, so no other document is ever named
    here (seed 000 §7: only selected sources are provided to Codex)."""
    if not cut:
        return "All selected sources are included in full."
    lines = ["Some selected sources did not fit the prompt budget. Before relying on one of them,",
             "read it from the working directory (e.g. with `cat`); only the sources listed here",
             "may be read that way, no other document:"]
    for source in cut:
        what = ("left out" if source.kept_tokens == 0
                else f"cut after ~{source.kept_tokens} of ~{source.total_tokens} tokens")
        lines.append(f"- {source.source_id} `{source.path}`: {what}")
    return "\n".join(lines)


def _facts(facts: Mapping[str, Any]) -> str:
    lines = []
    for key, value in facts.items():
        if isinstance(value, Mapping):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, (list, tuple, set)):
            value = ", ".join(f"`{v}`" if key == "test_commands" else str(v) for v in value)
        lines.append(f"- {key.replace('_', ' ')}: {value or 'none found'}")
    return "\n".join(lines) or "- none recorded"


def generation_prompt(
    sources: Sequence[SourceText],
    facts: Mapping[str, Any],
    instruction: str,
    *,
    repository: str = "",
    previous: ScenarioPack | None = None,
    previous_revision: int | None = None,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
) -> Prompt:
    """The first turn's prompt; with ``previous`` it is the update prompt (ids kept stable).

    ``sources`` are the selected manifest sources in priority order; source
    text beyond ``token_budget`` (estimated tokens) is cut and listed in
    :attr:`Prompt.cut`. The previous pack's JSON is not counted in the budget.
    """
    blocks, cut = _fit_sources(sources, token_budget)
    text = template("generate").substitute(
        repository=repository or "this repository",
        facts=_facts(facts),
        source_ids=", ".join(source.source_id for source in sources) or "(none)",
        sources="\n".join(blocks) or "(no source text fits the budget)",
        cut_notice=_cut_notice(cut),
        instruction=fence(instruction.strip(), origin="a GitHub user's comment") if strip_hidden(instruction).strip()
        else "(none: cover the sources' main user journeys)",
    )
    if previous is not None:
        ids = previous.scenario_ids()
        text += "\n" + template("update").substitute(
            revision=previous_revision or "?",
            last_id=max(ids, key=lambda sid: int(sid.split("-")[1]), default="SC-000"),
            previous_json=json.dumps(previous.model_dump(), indent=2, ensure_ascii=False),
        )
    return Prompt(text, cut)


def refine_prompt(findings: Sequence[Finding], source_ids: Sequence[str]) -> str:
    """The follow-up prompt (same thread) listing the validator's findings."""
    return template("refine").substitute(
        findings="\n".join(f"- {finding}" for finding in findings),
        source_ids=", ".join(source_ids) or "(none)",
    )
