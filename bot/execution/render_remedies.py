"""Pure renderers of the remedies a code fix is not (issue 13): the documentation PR body and the pack
revision proposal.

Everything the agent or the repository wrote — checkpoints, observed output,
quotes, summaries, code lines, the scenario's steps — is untrusted data: it is
shown only inside fenced blocks (``bot.sources.gate.code_block``: a fence
longer than any backtick run inside), where Markdown, HTML and @-mentions are
inert text.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.pack import ScenarioPack
from bot.domain.results import DocumentRevision, Evidence, ExecutionOutcome, ScenarioOutcome
from bot.execution.render import DIFF_LIMIT, LOCATION, cap
from bot.sources.gate import code_block

#: ``file:line`` places quoted as "the code it contradicts", at most.
MAX_LOCATIONS = 5
#: Lines shown around each such place.
CONTEXT_LINES = 1
#: Marks the pack PR's ONE revision proposal comment (``bot.github.tracking.upsert_comment``).
PROPOSAL_MARKER = "<!-- scenarioforge:pack-revision-proposal -->"


def block(text: str) -> str:
    """``text`` as an inert fenced block."""
    return code_block(text, indent="")


def _run_ref(run_id: int, run_url: str | None) -> str:
    return f"[run {run_id}]({run_url})" if run_url else f"run {run_id}"


def code_locations(results: Sequence[ScenarioOutcome], evidence: Sequence[Evidence], *, root: str,
                   exclude: Sequence[str]) -> list[tuple[str, int]]:
    """The ``file:line`` places the failures name: their failing checkpoints first, then their commands'
    output (absolute paths under ``root`` made relative; others, ``..`` paths and ``exclude`` left out),
    without repeats, at most :data:`MAX_LOCATIONS`."""
    index = {item.id: item for item in evidence}
    texts = []
    for result in results:
        texts += [f"{c.observed} {c.expected}" for c in result.failing_checkpoints]
        texts += [index[eid].output for eid in result.evidence_ids if eid in index]
    prefix, found = root.rstrip("/") + "/", []
    for text in texts:
        for match in LOCATION.finditer(text.replace(prefix, "")):
            place = (match.group(1), int(match.group(2)))
            if place[1] >= 1 and not place[0].startswith(("/", "..")) and place[0] not in exclude \
                    and place not in found:
                found.append(place)
    return found[:MAX_LOCATIONS]


def excerpt(text: str, line: int) -> str | None:
    """Lines ``line ± CONTEXT_LINES`` of ``text``, numbered; ``None`` when the file has no such line."""
    lines = text.splitlines()
    if line > len(lines):
        return None
    first, last = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
    return "\n".join(f"{n:>4} | {lines[n - 1]}" for n in range(first, last + 1))


def _checkpoints(result: ScenarioOutcome) -> str:
    return block("\n\n".join(f"checkpoint: {c.checkpoint}\nexpected:   {c.expected}\nobserved:   {c.observed}"
                             for c in result.failing_checkpoints) or result.notes or "no failing checkpoint reported")


def _runs(result: ScenarioOutcome, index: Mapping[str, Evidence]) -> str:
    runs = [index[eid] for eid in result.evidence_ids if eid in index and index[eid].kind == "command"]
    return block("\n".join(f"{item.id} · exit {item.exit_code} · run by {'the bot' if item.by == 'bot' else 'the agent'}"
                            f"\n$ {item.command}" for item in runs)) if runs else "No command evidence."


def failing_checkpoint(result: ScenarioOutcome, pack: ScenarioPack, index: Mapping[str, Evidence]) -> str:
    """One failure: the scenario's title and steps, its failing checkpoints (expected vs observed), the runs."""
    scenario = next(s for _, _, s in pack.scenarios() if s.id == result.scenario_id)
    steps = "\n".join(f"{n}. {step}" for n, step in enumerate(scenario.steps, 1))
    return (f"### {result.scenario_id}\n\n{block(scenario.title)}\n\nSteps:\n\n{block(steps)}\n\n"
            f"Failing checkpoint (the scenario's expectation, and what the code did):\n\n{_checkpoints(result)}\n\n"
            f"Evidence (commands and their exit codes, stored with the run):\n\n{_runs(result, index)}")


def docs_pr_body(outcome: ExecutionOutcome, revision: DocumentRevision, pack: ScenarioPack, *, run_id: int,
                 run_url: str | None, manifest_hash: str | None, pack_revision: int, base_sha: str,
                 code: Mapping[tuple[str, int], str]) -> str:
    """The documentation PR body: why (the failing checkpoints), the code the document contradicts
    (``code``: ``(path, line)`` → :func:`excerpt` at ``base_sha``), the change, what was reverted, the
    re-confirmation the manifest now asks for, the audit."""
    index = {item.id: item for item in outcome.evidence}
    failed = [r for r in outcome.results if r.scenario_id in revision.scenario_ids]
    documents = ", ".join(f"`{path}`" for path in sorted(revision.files))
    parts = [
        f"ScenarioForge documentation fix from {_run_ref(run_id, run_url)}: the scenario(s) "
        f"{', '.join(revision.scenario_ids)} failed because the document they come from is stale. The code is "
        f"taken as right: this pull request changes only {documents} to describe what the code does, and no code.",
        "## Failing checkpoint\n\n" + "\n\n".join(failing_checkpoint(r, pack, index) for r in failed),
        "## The code it contradicts\n\n" + ("\n\n".join(
            f"`{path}:{line}` at `{base_sha[:12]}`:\n\n{block(text)}" for (path, line), text in code.items())
            or "The failures name no line of code; see the evidence above."),
        "## Document change\n\n" + block(revision.summary or "no summary") + "\n\nFiles:\n"
        + "\n".join(f"- `{path}`" for path in sorted(revision.files))
        + f"\n\n{block_diff(revision.diff)}",
    ]
    if revision.reverted_paths:
        parts.append("## Reverted\n\nThe docs turn may change only the stale document(s) "
                     f"({', '.join(f'`{p}`' for p in revision.documents)}); it also changed these, which were put "
                     "back and are not part of this pull request:\n"
                     + "\n".join(f"- `{path}`" for path in revision.reverted_paths))
    if revision.residual_risk:
        parts.append("## Residual risk\n\n" + block(revision.residual_risk))
    parts.append(
        f"## Re-confirmation\n\n{documents} is marked for re-confirmation in manifest `{manifest_hash or 'unknown'}`: "
        "the trust gate asks a person to confirm it again (`/scenarioforge confirm`) before scenarios are generated "
        "from it. Once this is merged, `/scenarioforge generate --update` brings the pack in line.")
    parts.append(
        f"## Audit\n\n- manifest hash: `{manifest_hash or 'unknown'}`\n- pack revision: {pack_revision}\n"
        f"- base commit: `{base_sha}`\n- Codex thread: `{outcome.thread_id or 'n/a'}`, docs turn: "
        f"`{revision.turn_id or 'n/a'}`\n- prompt version: `{outcome.prompt_version}`")
    return "\n\n".join(parts)


def block_diff(diff: str) -> str:
    """``diff`` (capped at ``DIFF_LIMIT``) as an inert ``diff`` block."""
    fenced = block(cap(diff, DIFF_LIMIT))
    fence = fenced.split("\n", 1)[0]
    return fence + "diff" + fenced[len(fence):]


def proposal_body(defects: Sequence[ScenarioOutcome], pack: ScenarioPack, *, run_id: int, run_url: str | None,
                  pack_revision: int, evidence: Sequence[Evidence]) -> str:
    """The pack PR's revision proposal: per scenario that misread its source, its failing checkpoint, the
    source's sentence, the expectation the source gives, and the command that applies the proposal."""
    index = {item.id: item for item in evidence}
    sections = []
    for result in defects:
        claim = result.misread
        assert claim is not None, "scenario-defect is only assigned on a believed claim"
        instruction = (f"Revise {result.scenario_id}: its checkpoint must expect what {claim.source_id} says: "
                       f"{' '.join(claim.source_says.split())}")
        sections.append(
            f"{failing_checkpoint(result, pack, index)}\n\nIts source `{claim.source_id}` says:\n\n{block(claim.quote)}"
            f"\n\n**Proposed revision**: expect what the source says instead:\n\n{block(claim.source_says)}\n\n"
            f"To apply it, reply:\n\n{block('/scenarioforge generate --update ' + instruction)}")
    return (f"{PROPOSAL_MARKER}\n**Pack revision proposal** for pack revision {pack_revision}, from "
            f"{_run_ref(run_id, run_url)}: {len(defects)} scenario(s) misread their source document. The bot's own "
            "runs show the code doing what the source says, so no code is changed and no fix is attempted; the "
            "scenario(s) should change instead. This comment is updated by later runs.\n\n" + "\n\n".join(sections))
