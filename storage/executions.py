"""Persist and reload what an execute loop produced (seed 000 §9.3, "Auditability").

An :class:`~bot.domain.results.ExecutionOutcome` is stored as one ``execution_results``
row, one ``scenario_results`` row per scenario and turn (attempt 0 = first run,
n = rerun after fix n), one ``evidence`` row per evidence id and one
``fix_attempts`` row per attempt, so any historical run can be re-reported with
:func:`load_outcome`. ``pull_request_links`` ties a run to its fix PR and the
scenario ids it fixes. All functions work in the caller's session/transaction.
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.results import (
    DocumentRevision,
    Evidence,
    ExecutionOutcome,
    FixAttempt,
    ScenarioOutcome,
    TurnUsage,
)
from bot.domain.verification import FixProof
from storage import models

_PER_RUN = (models.ScenarioResult, models.Evidence, models.FixAttempt, models.ExecutionResult)


async def save_outcome(
    session: AsyncSession,
    run_id: int,
    outcome: ExecutionOutcome,
    *,
    pack_revision: int | None = None,
    manifest_hash: str | None = None,
) -> None:
    """Store ``outcome`` for ``run_id``, replacing what an earlier save of the same run stored."""
    for table in _PER_RUN:
        await session.execute(delete(table).where(table.run_id == run_id))
    session.add(models.ExecutionResult(
        run_id=run_id, mode=outcome.mode, status=outcome.status, pack_revision=pack_revision,
        manifest_hash=manifest_hash, scenario_ids=outcome.scenario_ids, stop_reason=outcome.stop_reason,
        thread_id=outcome.thread_id, turn_ids=outcome.turn_ids, prompt_version=outcome.prompt_version,
        tokens=outcome.tokens, duration_s=outcome.duration_s, codex_s=outcome.codex_s,
        diff=outcome.diff, turns=[turn.model_dump(mode="json") for turn in outcome.turns],
        check=[result.model_dump(mode="json") for result in outcome.check],
        proofs=[proof.model_dump(mode="json") for proof in outcome.proofs],
        documentation=outcome.documentation.model_dump(mode="json") if outcome.documentation else None,
    ))
    turns = [(0, outcome.initial)] + [(attempt.number, attempt.results) for attempt in outcome.attempts]
    for number, results in turns:
        for result in results:
            session.add(models.ScenarioResult(
                run_id=run_id, attempt=number, scenario_id=result.scenario_id, status=result.status,
                reported_status=result.reported_status, data=result.model_dump(mode="json"),
            ))
    for item in {item.id: item for item in outcome.evidence}.values():  # an id names one content
        session.add(models.Evidence(
            run_id=run_id, id=item.id, kind=item.kind, attempt=item.attempt, turn_id=item.turn_id,
            scenario_ids=item.scenario_ids, data=item.model_dump(mode="json"),
        ))
    for attempt in outcome.attempts:
        session.add(models.FixAttempt(
            run_id=run_id, number=attempt.number, scenario_ids=attempt.scenario_ids, turn_id=attempt.turn_id,
            diff=attempt.diff, rerun_outcome=attempt.rerun_outcome, evidence_ids=attempt.evidence_ids,
            data=attempt.model_dump(mode="json", include={"summary", "residual_risk", "reverted_paths"}),
        ))
    await session.flush()


async def load_outcome(session: AsyncSession, run_id: int) -> ExecutionOutcome | None:
    """The outcome stored for ``run_id`` (``results`` = each scenario's latest result), or ``None``."""
    row = await session.get(models.ExecutionResult, run_id)
    if row is None:
        return None
    results = (await session.scalars(
        select(models.ScenarioResult).where(models.ScenarioResult.run_id == run_id)
        .order_by(models.ScenarioResult.attempt, models.ScenarioResult.id)
    )).all()
    by_attempt: dict[int, list[ScenarioOutcome]] = {}
    latest: dict[str, ScenarioOutcome] = {}
    for result in results:
        outcome = ScenarioOutcome.model_validate(result.data)
        by_attempt.setdefault(result.attempt, []).append(outcome)
        latest[result.scenario_id] = outcome
    attempts = (await session.scalars(
        select(models.FixAttempt).where(models.FixAttempt.run_id == run_id).order_by(models.FixAttempt.number)
    )).all()
    check = [ScenarioOutcome.model_validate(item) for item in row.check]
    latest.update((result.scenario_id, result) for result in check)  # the check is the last word
    evidence = (await session.scalars(
        select(models.Evidence).where(models.Evidence.run_id == run_id).order_by(models.Evidence.created_at)
    )).all()
    return ExecutionOutcome(
        mode=row.mode, status=row.status, scenario_ids=row.scenario_ids, initial=by_attempt.get(0, []),
        results=[latest[sid] for sid in row.scenario_ids if sid in latest],
        attempts=[
            FixAttempt(
                number=item.number, scenario_ids=item.scenario_ids, turn_id=item.turn_id, diff=item.diff,
                rerun_outcome=item.rerun_outcome, evidence_ids=item.evidence_ids,
                results=by_attempt.get(item.number, []), **item.data,
            )
            for item in attempts
        ],
        evidence=[Evidence.model_validate(item.data) for item in evidence],
        diff=row.diff, stop_reason=row.stop_reason, thread_id=row.thread_id, turn_ids=row.turn_ids,
        tokens=row.tokens, duration_s=row.duration_s, codex_s=row.codex_s, prompt_version=row.prompt_version,
        turns=[TurnUsage.model_validate(item) for item in row.turns], check=check,
        proofs=[FixProof.model_validate(item) for item in row.proofs],
        documentation=DocumentRevision.model_validate(row.documentation) if row.documentation else None,
    )


async def evidence_of(session: AsyncSession, run_id: int, evidence_id: str) -> Evidence | None:
    """One stored evidence artifact by id (``ev-…``), or ``None``."""
    row = await session.get(models.Evidence, (run_id, evidence_id))
    return None if row is None else Evidence.model_validate(row.data)


async def link_pull_request(
    session: AsyncSession, run_id: int, *, repository: str, number: int, url: str, branch: str,
    scenario_ids: list[str],
) -> models.PullRequestLink:
    """Record (or update: one PR per run) the fix PR of ``run_id`` and the scenario ids it fixes."""
    link = await session.get(models.PullRequestLink, run_id)
    if link is None:
        link = models.PullRequestLink(run_id=run_id)
        session.add(link)
    link.repository, link.number, link.url, link.branch = repository, number, url, branch
    link.scenario_ids = list(scenario_ids)
    await session.flush()
    return link


async def pull_request_of(session: AsyncSession, run_id: int) -> models.PullRequestLink | None:
    """The fix PR linked to ``run_id``, if any."""
    return await session.get(models.PullRequestLink, run_id)
