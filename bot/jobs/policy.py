"""A job's policy: the effective policy recorded on the run, and findings reported per stage.

``apply_policy`` resolves the policy of the run's effective config
(``bot.domain.policy``), stores ``policy_key``, ``policy_version`` and
``policy_effective_hash`` on the run and adds a ``policy`` event; the config
always resolves (``bot.github.config_files.load_effective`` leaves out a file
whose ``policy:`` does not, and says why). ``stage_findings`` adds one ``findings`` event per stage that
found something (its payload: the findings; its message: the table), and
stops the run when a finding's rule is ``block``.
"""
from __future__ import annotations

from collections.abc import Sequence
from textwrap import indent

from sqlalchemy import update

from bot.domain.findings import Finding, blocking
from bot.domain.policy import EffectivePolicy, effective_policy
from bot.errors import ScenarioForgeError
from bot.github.governance import findings_table
from bot.jobs.context import JobContext
from config.repo import RepoConfig
from storage.models import Run

#: Findings events are ``findings:<stage>`` (the board's findings panel reads them back).
FINDINGS_PHASE = "findings:"


async def apply_policy(ctx: JobContext, config: RepoConfig) -> EffectivePolicy:
    """The run's effective policy, recorded on the run and in a ``policy`` event."""
    policy = effective_policy(config.policy)
    columns = {"policy_key": policy.key, "policy_version": policy.version,
               "policy_effective_hash": policy.effective_hash}
    async with ctx.db.session() as session:
        await session.execute(update(Run).where(Run.id == ctx.run.id).values(**columns)
                              .execution_options(synchronize_session=False))
    for name, value in columns.items():
        setattr(ctx.run, name, value)
    blocks = sorted(code for code, severity in policy.rules.items() if severity == "block")
    text = (f"policy `{policy.key}`, effective hash `{policy.effective_hash[:12]}`"
            + (f"; blocking: {', '.join(f'`{code}`' for code in blocks)}" if blocks else "; warnings only"))
    await ctx.event("policy", "complete", text, {**columns, "rules": policy.rules})
    return policy


async def stage_findings(ctx: JobContext, stage: str, findings: Sequence[Finding]) -> list[Finding]:
    """Report ``findings`` of ``stage`` (nothing when empty) and return them.

    Raises:
        ScenarioForgeError: type ``PolicyBlocked`` when a finding is ``block``; the message names
            each blocking finding (the run then ends failed, its check run concluded with it).
    """
    if not findings:
        return []
    stopping = blocking(findings)
    await ctx.event(f"{FINDINGS_PHASE}{stage}", "failed" if stopping else "complete",
                    f"{len(findings)} finding(s) at {stage}:\n\n{indent(findings_table(findings), '  ')}",
                    {"stage": stage, "findings": [finding.as_dict() for finding in findings]})
    if stopping:
        listed = "; ".join(f"[{finding.code}] {finding.message}" for finding in stopping)
        raise ScenarioForgeError(f"stopped by policy `{ctx.run.policy_key}` at {stage}: {listed}",
                                 error_type="PolicyBlocked", repository=ctx.run.repository)
    await ctx.report()
    return list(findings)
