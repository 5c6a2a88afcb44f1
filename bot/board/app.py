"""Wiring of the review board into the bot's aiohttp app (``bot.ingress.server.create_app``).

Routes (paths fixed so links from GitHub stay stable): ``/login``,
``/login/callback``, ``/logout``, ``/board``, ``/board/analytics``,
``/board/runs/{run_id}``, ``/board/runs/{run_id}/events``,
``/board/runs/{run_id}/report.{md|html|json}``, ``/board/{owner}/{repo}``,
``/board/{owner}/{repo}/analytics``, ``/board/{owner}/{repo}/scenarios/{scenario_id}``
and the one stylesheet and script under ``/board/static/``.

Every board response carries a Content-Security-Policy that allows scripts
only from the bot itself (no ``unsafe-inline``), no framing, and no other origin.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import aiohttp
import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet
from gidgethub.abc import GitHubAPI

from bot.board import analytics, pages, stream
from bot.board.access import BOARD, Board
from bot.board.auth import CALLBACK, HOME, LOGIN, LOGOUT, GitHubSignIn
from bot.board.render import FILTERS, LOADER
from config.settings import Settings
from storage.db import Database

COOKIE = "scenarioforge_session"
SESSION_MAX_AGE_S = 8 * 3600
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
#: The standalone HTML report carries its stylesheet inline and no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"
PREFIXES = (HOME, LOGIN, LOGOUT)


@web.middleware
async def security_headers(request: web.Request, handler):
    """CSP, no sniffing, no referrer to other origins, on every board response (errors included)."""
    board = request.path.startswith(PREFIXES)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # 302, 404, 503…: still a board page
        if board:
            _secure(request, exc)
        raise
    if board:
        _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:
        return
    report = request.path.endswith("/report.html")
    response.headers.setdefault("Content-Security-Policy", REPORT_CSP if report else CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")


def setup_board(app: web.Application, settings: Settings, database: Database,
                http: Callable[[], aiohttp.ClientSession], installation_client: Callable[[int], GitHubAPI]) -> Board:
    """Add the board's routes, session cookie, templates and headers to ``app``.

    ``http`` returns the app's shared ClientSession (it exists once the app runs);
    ``installation_client`` the App's client of an installation (it reads the repository page's
    effective config, as the bot does).
    The session cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when
    ``settings.board_url`` is https, encrypted with ``settings.session_key``
    (default: a random key per process).
    """
    key = settings.session_key.get_secret_value() if settings.session_key else Fernet.generate_key().decode()
    secure = bool(settings.board_url and settings.board_url.startswith("https://"))
    setup_session(app, EncryptedCookieStorage(
        key, cookie_name=COOKIE, httponly=True, samesite="Lax", secure=secure, max_age=SESSION_MAX_AGE_S))
    app.middlewares.append(security_headers)
    aiohttp_jinja2.setup(app, loader=LOADER, filters=FILTERS, autoescape=True)
    board = app[BOARD] = Board(settings, database, GitHubSignIn(settings, http), stream.Feeds(database),
                               installation_client)
    signin = board.signin
    app.router.add_get(LOGIN, signin.login)
    app.router.add_get(CALLBACK, signin.callback)
    app.router.add_get(LOGOUT, signin.logout)
    app.router.add_static("/board/static", str(resources.files("bot.board").joinpath("static")))
    app.router.add_get("/board", pages.index)
    app.router.add_get("/board/analytics", analytics.page)
    app.router.add_get("/board/runs/{run_id:\\d+}", pages.run_page)
    app.router.add_get("/board/runs/{run_id:\\d+}/events", stream.events)
    app.router.add_get("/board/runs/{run_id:\\d+}/report.{fmt:md|html|json}", pages.report)
    app.router.add_get("/board/{owner}/{repo}", pages.repository)
    app.router.add_get("/board/{owner}/{repo}/analytics", analytics.page)
    app.router.add_get("/board/{owner}/{repo}/scenarios/{scenario_id}", pages.scenario)
    app.on_cleanup.append(lambda _app: board.feeds.close())
    return board
