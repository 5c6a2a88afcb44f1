"""Who sees what on the board: the shared state, the signed-in viewer, 404 for everything else.

A signed-in user sees the repositories ``GitHubSignIn.repositories`` lists;
any other repository, run or report answers 404 (not 403: its existence is not
revealed). Without a client secret the board explains how to enable sign-in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.board.auth import GitHubSignIn, User
from config.settings import Settings
from storage.db import Database
from storage.models import Run

if TYPE_CHECKING:
    from bot.board.stream import Feeds


@dataclass
class Board:
    """What the board's handlers share."""

    settings: Settings
    database: Database
    signin: GitHubSignIn
    feeds: Feeds


BOARD = web.AppKey("board", Board)


@dataclass(frozen=True)
class Viewer:
    """The signed-in user and the repositories (``owner/name``) they may see."""

    user: User
    repositories: frozenset[str]


def board_of(request: web.Request) -> Board:
    return request.config_dict[BOARD]


async def viewer(request: web.Request) -> Viewer:
    """The signed-in viewer of ``request``.

    Raises:
        web.HTTPServiceUnavailable: sign-in is not configured (the page says how to enable it).
        web.HTTPFound: nobody is signed in; redirects to ``/login?next=<this page>``.
    """
    board = board_of(request)
    if not board.signin.enabled:
        text = aiohttp_jinja2.render_string("disabled.html", request, {"viewer": None})
        raise web.HTTPServiceUnavailable(text=text, content_type="text/html")
    user = await board.signin.user(request)
    if user is None:
        raise web.HTTPFound("/login?next=" + quote(request.path_qs, safe=""))
    return Viewer(user, await board.signin.repositories(user))


def check_repository(viewer_: Viewer, repository: str) -> None:
    """Raises ``web.HTTPNotFound`` unless ``viewer_`` may see ``repository``."""
    if repository not in viewer_.repositories:
        raise web.HTTPNotFound(text="Not found")


async def visible_run(request: web.Request, session: AsyncSession, viewer_: Viewer) -> Run:
    """The run of ``{run_id}`` in the path.

    Raises:
        web.HTTPNotFound: no such run, or the viewer may not see its repository.
    """
    run = await session.get(Run, int(request.match_info["run_id"]))
    if run is None:
        raise web.HTTPNotFound(text="Not found")
    check_repository(viewer_, run.repository)
    return run
