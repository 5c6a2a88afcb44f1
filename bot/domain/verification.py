"""What the bot itself proved by running commands, beside what the agent claims (issue 13).

:class:`Verification`: the bot's own runs of a scenario's ``rerun_command``
after a run or rerun turn (``bot.execution.verify``), the evidence of record:
its exit status wins over the agent's verdict, and a disagreement is kept in
``contradiction``. More than one run (``execute --repeat N``) with mixed exit
statuses makes the scenario ``flaky`` with ``pass_rate``.

:class:`FixProof`: the "fails before, passes after" proof of a fix
(``bot.execution.proof``): the scenario's ``rerun_command`` on the base commit
(the fix reverted, the scenario tests kept) and on the fix commit.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["passed", "failed", "blocked"]


class BotRun(BaseModel):
    """One run of a command by the bot: the command evidence's id and its exit code (``None``: none reported)."""

    evidence_id: str
    exit_code: int | None


class Verification(BaseModel):
    """The bot's runs of ``command`` for one scenario and the agent's verdict they were set against.

    ``agent_status`` is the verdict from the agent's own commands
    (``bot.execution.evidence.judge``), ``agent_reason`` why it was not a pass
    when it was ``blocked``; ``contradiction`` says how the two disagree
    (``None`` when they agree).
    """

    command: str
    runs: list[BotRun] = Field(default_factory=list)
    agent_status: Verdict
    agent_reason: str | None = None
    contradiction: str | None = None

    @property
    def passes(self) -> int:
        """Runs that exited 0."""
        return sum(run.exit_code == 0 for run in self.runs)

    @property
    def pass_rate(self) -> float:
        """``passes / len(runs)`` (0.0 without runs)."""
        return self.passes / len(self.runs) if self.runs else 0.0


class FixProof(BaseModel):
    """One fixed scenario run by the bot on the base commit and on the fix commit.

    ``base_sha`` is the commit the fix is on top of. ``detects`` is True when
    the base run failed (the scenario test detects the defect); ``passes`` when
    the fix run exited 0. A proof that does not detect means the scenario
    passes with or without the fix.
    """

    scenario_id: str
    command: str
    base_sha: str
    base: BotRun
    fix: BotRun

    @property
    def detects(self) -> bool:
        return self.base.exit_code != 0

    @property
    def passes(self) -> bool:
        return self.fix.exit_code == 0
