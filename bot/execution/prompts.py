"""The execute loop's prompts: run, rerun and check turns, the fix turn and the docs turn (templates in
``bot/codex/templates``)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from bot.codex.prompts import template
from bot.domain.pack import Scenario, ScenarioPack
from bot.domain.results import Evidence, ScenarioOutcome
from bot.execution.classify import mismatch

#: Stored with every outcome; bump when a template or what fills it changes.
PROMPT_VERSION = "execute-v3"  # v3: the report may claim a misread source; the docs turn
#: Characters of a failing command's output tail quoted in the fix turn.
FIX_EXCERPT_CHARS = 3_000
RunTurn = Literal["run", "rerun", "check"]
#: The first paragraph of a run-like turn's prompt: the first run, the rerun of the scenarios a fix
#: targeted, the check of every selected scenario before a PR.
INTROS: dict[RunTurn, str] = {
    "run": "Execute these end-to-end scenarios of the scenario pack against this repository and report "
           "what really happened.",
    "rerun": "Rerun these scenarios after the fix, exactly as a first run would: run the commands again "
             "and report what they show now.",
    "check": "Run every one of these scenarios once more, now that the fix is in place, exactly as a first "
             "run would, including those that passed before: report what the commands show now.",
}

def _scenarios_json(pack: ScenarioPack, ids: Sequence[str]) -> str:
    chosen = [
        {"feature_area": area.name, "user_outcome": outcome.outcome, **scenario.model_dump()}
        for area, outcome, scenario in pack.scenarios() if scenario.id in ids
    ]
    return json.dumps(chosen, indent=2, ensure_ascii=False)


def run_prompt(pack: ScenarioPack, ids: Sequence[str], *, turn: RunTurn = "run") -> str:
    """The run, rerun or check turn's text from ``bot/codex/templates/execute_run.md`` (:data:`INTROS`)."""
    return template("execute_run").substitute(
        intro=INTROS[turn], count=len(ids), scenarios=_scenarios_json(pack, ids),
    )


def failure_blocks(pack: ScenarioPack, failures: Sequence[ScenarioOutcome], evidence: Sequence[Evidence]) -> str:
    """Each failure's scenario, pass criteria, mismatch and command output tail, as Markdown sections."""
    scenarios = {scenario.id: scenario for _, _, scenario in pack.scenarios()}
    index = {item.id: item for item in evidence}
    blocks = []
    for failure in failures:
        scenario: Scenario = scenarios[failure.scenario_id]
        runs = [index[eid] for eid in failure.evidence_ids if eid in index and index[eid].kind == "command"]
        outputs = [
            f"`{run.command}` exited {run.exit_code}:\n```text\n{run.output[-FIX_EXCERPT_CHARS:]}\n```" for run in runs
        ]
        blocks.append(
            f"### {scenario.id}: {scenario.title}\n\nPass criteria: {scenario.pass_criteria}\n\n"
            f"Failing checkpoints:\n{mismatch(failure)}\n\n" + ("\n\n".join(outputs) or "(no command output)")
        )
    return "\n\n".join(blocks)


def fix_prompt(pack: ScenarioPack, failures: Sequence[ScenarioOutcome], evidence: Sequence[Evidence]) -> str:
    """The fix turn's text from ``bot/codex/templates/fix_scenarios.md``: each failure's mismatch and output tail."""
    return template("fix_scenarios").substitute(
        scenario_ids=", ".join(failure.scenario_id for failure in failures),
        failures=failure_blocks(pack, failures, evidence),
    )


def docs_prompt(pack: ScenarioPack, failures: Sequence[ScenarioOutcome], evidence: Sequence[Evidence],
                documents: Sequence[str]) -> str:
    """The docs turn's text from ``bot/codex/templates/docs_fix.md``: the stale documents to edit, then the
    failures as in the fix turn."""
    return template("docs_fix").substitute(
        scenario_ids=", ".join(failure.scenario_id for failure in failures),
        documents=", ".join(f"`{path}`" for path in documents), failures=failure_blocks(pack, failures, evidence),
    )
