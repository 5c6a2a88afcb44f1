"""The local mode: ``scenarioforge execute --repo PATH --pack FILE [--mode run|fix]`` (issue 5).

Runs :func:`bot.execution.loop.execute_pack` on a checkout with the settings of
the environment, prints each transition to stderr and the results table to
stdout; fixes stay in the working tree as an uncommitted diff, and so does the docs turn's change of
stale documents (the bot publishes it on its own branch on GitHub; here it is written back).
"""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.codex.engine import Engine
from bot.codex.turns import EngineEvent
from bot.domain.pack import PackDocument, ScenarioPack
from bot.errors import ScenarioForgeError
from bot.execution.loop import execute_pack


def load_pack(path: Path) -> ScenarioPack:
    """A pack from ``scenario-pack.json`` (a :class:`PackDocument`) or a bare :class:`ScenarioPack` file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "pack" in data and "revision" in data:
        return PackDocument.model_validate(data).pack
    return ScenarioPack.model_validate(data)


def stale_sources(repo: Path) -> set[str]:
    """Paths of the sources the trust gate marks stale at HEAD (local source ids are paths)."""
    from bot.sources.scan import scan_checkout

    return {source.path for source in scan_checkout(repo).sources if source.status == "stale"}


def _print_event(event: EngineEvent) -> None:
    if event.phase in {"scenario", "verify", "fix", "check", "proof", "guard", "docs", "execute"}:
        print(f"[{event.phase}] {event.message}", file=sys.stderr, flush=True)
    elif event.phase == "command" and event.status == "running":
        print(f"    $ {event.message}", file=sys.stderr, flush=True)


def execute_command(repo: Path, pack: Path, mode: str) -> int:
    """``scenarioforge execute --repo PATH --pack FILE [--mode run|fix]``: run the loop locally, print the table.

    Fixes stay in the working tree as an uncommitted diff. Returns 0 when every
    scenario passed, 1 when one failed or is blocked, 2 on an error (printed raw).
    """
    from bot.execution.render import terminal_table
    from config.settings import Settings

    repo = repo.resolve()
    try:
        scenario_pack = load_pack(pack)
        outcome = asyncio.run(execute_pack(
            Engine(Settings()), worktree=repo, pack=scenario_pack, mode=mode,  # type: ignore[arg-type]
            stale_source_ids=stale_sources(repo), on_event=_print_event,
        ))
    except (ScenarioForgeError, ValueError, OSError) as exc:
        kind = getattr(exc, "error_type", type(exc).__name__)
        print(f"{kind}: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    print(terminal_table(outcome))
    if outcome.diff:
        print(f"\nThe fix is left uncommitted in {repo} (git diff to review it).")
    for path, text in (outcome.documentation.files if outcome.documentation else {}).items():
        (repo / path).write_text(text, encoding="utf-8")
        print(f"The stale document {path} is rewritten to match the code, uncommitted.")
    return 0 if outcome.status == "passed" else 1
