"""Who sees what on the board: the shared state, the signed-in viewer, 404 for everything else.

A signed-in user sees the repositories ``GitHubSignIn.repositories`` lists;
any other repository, run or report answers 404 (not 403: its existence is not
revealed). Without a client secret the board explains how to enable sign-in.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from gidgethub.abc import GitHubAPI
from sqlalchemy.ext.asyncio import AsyncSession

from bot.board.auth import LOGIN, GitHubSignIn, User
from config.settings import Settings
from storage.db import Database
from storage.models import Run

if TYPE_CHECKING:
    from bot.board.stream import Feeds


@dataclass
class Board:
    """What the board's handlers share; ``installation_client`` gives the App's GitHub client of an
    installation id (``bot.github.client.AppAuth.installation_client``)."""

    settings: Settings
    database: Database
    signin: GitHubSignIn
    feeds: Feeds
    installation_client: Callable[[int], GitHubAPI]


BOARD = web.AppKey("board", Board)


@dataclass(frozen=True)
class Viewer:
    """The signed-in user, the repositories (``owner/name``) they may see and each one's installation id."""

    user: User
    installations: Mapping[str, int]

    @property
    def repositories(self) -> frozenset[str]:
        return frozenset(self.installations)


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
        raise web.HTTPFound(f"{LOGIN}?next=" + quote(request.path_qs, safe=""))
    return Viewer(user, MappingProxyType(await board.signin.repositories(user)))


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
