"""The docs turn: ``stale-spec`` failures → their stale documents edited to match the code (issue 13).

In modes ``fix | pr | full``, after the fix loop, :func:`revise_documents`
asks Codex, in the same thread (workspace-write sandbox, network off), to
edit the stale source documents of the scenarios classified ``stale-spec``
(``Classification.source_ids``: the manifest's stale sources the scenario
cites) so that they describe the code. Only those paths may change: anything
else is reverted and recorded (``Turns.guarded_diff``, a ``guard`` event).
The documents' new text is kept in the :class:`DocumentRevision` and the
documents are put back, so the worktree holds only the code fix: the bot
publishes the documents on a branch of their own (``bot.execution.remedies``).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.domain.results import DocumentRevision, FixReport, ScenarioOutcome, fix_schema
from bot.execution import evidence as ev
from bot.execution.phases import Turns
from bot.execution.prompts import docs_prompt


def stale_failures(results: Sequence[ScenarioOutcome]) -> tuple[list[ScenarioOutcome], list[str]]:
    """The failures classified ``stale-spec`` and their stale documents (sorted, without repeats)."""
    failures = [r for r in results if r.status == "failed" and r.classification
                and r.classification.cause == "stale-spec"]
    return failures, sorted({path for r in failures if r.classification for path in r.classification.source_ids})


def _new_text(worktree: Path, path: str) -> str | None:
    """The document's text after the turn; ``None`` when it is gone or not UTF-8 text."""
    try:
        return (worktree / path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


async def revise_documents(loop: Turns, results: Sequence[ScenarioOutcome], *, attempt: int) -> DocumentRevision | None:
    """The docs turn for the ``stale-spec`` failures of ``results`` (``None`` when there are none); the
    worktree ends as it began. A document the turn deleted or made unreadable is reverted too.

    Raises:
        CodexError: the turn failed or answered outside the fix schema.
        GitError: a git command on the worktree failed.
    """
    failures, documents = stale_failures(results)
    if not failures:
        return None
    ids = [failure.scenario_id for failure in failures]
    await loop.event("docs", "running", f"editing {', '.join(documents)} to match the code ({', '.join(ids)})",
                     scenario_ids=ids, documents=documents)
    before = await ev.snapshot(loop.worktree)
    result = await loop.turn(docs_prompt(loop.pack, failures, loop.evidence, documents), fix_schema(), kind="docs",
                             attempt=attempt)
    report = result.answer(FixReport)
    commands = ev.command_evidence(result.commands, turn_id=result.turn_id, attempt=attempt)
    diff, files, reverted = await loop.guarded_diff(
        before, allowed=documents.__contains__, why=f"the docs turn changed files other than {', '.join(documents)}")
    texts = {path: _new_text(loop.worktree, path) for path in files}
    unreadable = [path for path, text in texts.items() if text is None]
    if unreadable:
        await ev.restore(loop.worktree, before, unreadable)
        await loop.event("guard", "running", f"the docs turn deleted or garbled {', '.join(unreadable)}; reverted",
                         paths=unreadable)
        diff, files = await ev.diff(loop.worktree, before, await ev.snapshot(loop.worktree))
    change = ev.diff_evidence(diff, files, turn_id=result.turn_id, attempt=attempt, scenario_ids=ids)
    loop.evidence += commands + ([change] if change else [])
    await ev.restore(loop.worktree, before, files)  # published on a branch of its own, never with a code fix
    revision = DocumentRevision(
        scenario_ids=ids, documents=documents, turn_id=result.turn_id, summary=report.summary,
        residual_risk=report.residual_risk, diff=diff,
        files={path: text for path, text in texts.items() if path in files and text is not None},
        reverted_paths=reverted + unreadable, evidence_ids=[item.id for item in commands] + ([change.id] if change else []),
    )
    await loop.event("docs", "complete", f"docs turn: {len(revision.files)} document(s) changed"
                     + (f", reverted {', '.join(revision.reverted_paths)}" if revision.reverted_paths else ""),
                     files=sorted(revision.files), reverted=revision.reverted_paths, turn_id=result.turn_id)
    return revision
