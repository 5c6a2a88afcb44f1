"""``scenarioforge report RUN_ID [--format md|html|json] [--out FILE]``: a run's report from the database.

The same bytes as ``/board/runs/{run_id}/report.{format}`` (``bot.board.report``),
written to ``FILE`` or standard output.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.board.queries import load_run
from bot.board.report import render
from config.settings import Settings
from storage.db import Database


async def export(database_url: str, run_id: int, fmt: str) -> bytes | None:
    """The report of ``run_id`` in ``fmt``, or ``None`` when there is no such run."""
    database = Database(database_url)
    try:
        async with database.session() as session:
            view = await load_run(session, run_id)
            return None if view is None else render(view, fmt)
    finally:
        await database.dispose()


def report_command(settings: Settings, run_id: int, fmt: str, out: Path | None) -> int:
    """Write the report; returns the exit code (1: no such run)."""
    body = asyncio.run(export(settings.database_url, run_id, fmt))
    if body is None:
        print(f"no run {run_id} in {settings.database_url}", file=sys.stderr)
        return 1
    if out is None:
        sys.stdout.buffer.write(body)
    else:
        out.write_bytes(body)
        print(f"wrote {out}", file=sys.stderr)
    return 0
