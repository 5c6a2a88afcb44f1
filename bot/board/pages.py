"""The board's HTML pages and report downloads (handlers; the data comes from ``bot.board.queries``).

``/board``: the viewer's repositories with their latest runs, latest execute
pass rate, open failures and open fix PRs. ``/board/runs/{run_id}``: one run,
its live event stream, results, evidence, fix attempts, PR and raw error.
``/board/runs/{run_id}/report.{md|html|json}``: the export (``bot.board.report``).
The review board of a repository and the traceability of a scenario are
built by ``bot.board.review`` and ``bot.board.trace``.
"""
from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from bot.board import governance, review, trace
from bot.board import report as reports
from bot.board.access import board_of, check_repository, viewer, visible_run
from bot.board.queries import duration_s, load_run, results_of, runs_of

#: The run page lists the latest events only (the live tail); the report has them all.
EVENTS_SHOWN = 200


async def index(request: web.Request) -> web.Response:
    """``GET /board``."""
    who = await viewer(request)
    async with board_of(request).database.session() as session:
        runs = await runs_of(session, who.repositories)
        summaries = await review.summaries(session, sorted(who.repositories), runs)
    return aiohttp_jinja2.render_template("index.html", request, {
        "viewer": who, "summaries": summaries, "runs": runs[:50], "duration_s": duration_s,
    })


async def run_page(request: web.Request) -> web.Response:
    """``GET /board/runs/{run_id}``."""
    board = board_of(request)
    who = await viewer(request)
    async with board.database.session() as session:
        run = await visible_run(request, session, who)
        view = await load_run(session, run.id, tail=EVENTS_SHOWN)
        findings = await governance.findings_of(session, run.id)
    outcome = view.outcome
    evidence = {item.id: item for item in outcome.evidence} if outcome else {}
    return aiohttp_jinja2.render_template("run.html", request, {
        "viewer": who, "view": view, "run": view.run, "outcome": outcome, "evidence": evidence,
        "duration": duration_s(view.run), "findings": findings,
        "last_event_id": view.events[-1].event_id if view.events else "",
        "earlier_events": view.event_count - len(view.events),
    })


async def report(request: web.Request) -> web.Response:
    """``GET /board/runs/{run_id}/report.{fmt}``: the run's report as a download."""
    fmt = request.match_info["fmt"]
    who = await viewer(request)
    async with board_of(request).database.session() as session:
        run = await visible_run(request, session, who)
        body = reports.render(await load_run(session, run.id), fmt)
    return web.Response(body=body, headers={
        "Content-Type": f"{reports.FORMATS[fmt]}; charset=utf-8",
        "Content-Disposition": f'attachment; filename="scenarioforge-run-{run.id}.{fmt}"',
    })


async def repository(request: web.Request) -> web.Response:
    """``GET /board/{owner}/{repo}``: the review board of one repository (SF-6001)."""
    who = await viewer(request)
    full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    check_repository(who, full_name)
    board = board_of(request)
    async with board.database.session() as session:
        runs = await runs_of(session, [full_name], limit=50)
        context = await review.review_board(session, full_name, runs, await results_of(session, [r.id for r in runs]))
    return aiohttp_jinja2.render_template("repository.html", request, {
        "viewer": who, "repository": full_name, "runs": runs, "duration_s": duration_s, **context,
        **await governance.effective_config(board, who, full_name),
    })


async def scenario(request: web.Request) -> web.Response:
    """``GET /board/{owner}/{repo}/scenarios/{scenario_id}``: source documents → scenario → results → fixes."""
    who = await viewer(request)
    full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    check_repository(who, full_name)
    async with board_of(request).database.session() as session:
        context = await trace.traceability(session, full_name, request.match_info["scenario_id"])
    if context is None:
        raise web.HTTPNotFound(text="Not found")
    return aiohttp_jinja2.render_template("scenario.html", request, {
        "viewer": who, "repository": full_name, **context,
    })
