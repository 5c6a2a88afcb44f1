"""Sign in with GitHub (the App's user authorization, OAuth web flow) and who sees what.

Flow (https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app):
``GET /login`` stores a random ``state`` and the local ``next`` path in the
session and redirects to ``{web}/login/oauth/authorize?client_id&redirect_uri&state``;
GitHub sends the browser back to ``GET /login/callback?code&state``; the
state must match, the code is exchanged at ``POST {web}/login/oauth/access_token``
and ``GET /user`` names the user. The session is then replaced by a fresh one
holding the login and the user token (the cookie is Fernet-encrypted by
aiohttp-session). ``GET /logout`` ends it.

Access: a user sees the repositories their own token can see among the App's
installations (``GET /user/installations`` and ``GET
/user/installations/{installation_id}/repositories``), cached per token for
``ACCESS_TTL_S`` seconds.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiohttp_session import get_session, new_session
from cachetools import TTLCache
from gidgethub.aiohttp import GitHubAPI
from yarl import URL

from config.settings import Settings

LOGIN, CALLBACK, LOGOUT = "/login", "/login/callback", "/logout"
HOME = "/board"
ACCESS_TTL_S = 300
USER_AGENT = "scenarioforge-board"


def local_next(value: str | None) -> str:
    """``value`` when it is a path inside the board (``/board…``), else ``/board``.

    Absolute URLs, scheme-relative ``//host`` and backslash tricks are refused
    so that a ``next=`` link can never send a user elsewhere.
    """
    if not value or "\\" in value or not value.startswith(HOME) or value.startswith("//"):
        return HOME
    url = URL(value)
    if url.scheme or url.host or not (url.path == HOME or url.path.startswith(HOME + "/")):
        return HOME
    return value


@dataclass(frozen=True)
class User:
    """The signed-in user: ``login`` and their user access token."""

    login: str
    token: str


class GitHubSignIn:
    """The three routes and the access cache; ``http`` is the app's shared ClientSession."""

    def __init__(self, settings: Settings, http: Callable[[], aiohttp.ClientSession]) -> None:
        self.settings = settings
        self._http = http
        self._access: TTLCache[str, dict[str, int]] = TTLCache(maxsize=4096, ttl=ACCESS_TTL_S)

    @property
    def enabled(self) -> bool:
        """True when the App's client id and secret are configured."""
        return bool(self.settings.client_id and self.settings.client_secret)

    def _gh(self, token: str | None = None) -> GitHubAPI:
        return GitHubAPI(self._http(), USER_AGENT, oauth_token=token, base_url=self.settings.github_api_url)

    def _redirect_uri(self, request: web.Request) -> str:
        origin = self.settings.board_url or str(request.url.origin())
        return origin + CALLBACK

    async def login(self, request: web.Request) -> web.Response:
        """``GET /login?next=PATH``: redirect to GitHub's authorize page."""
        if not self.enabled:
            raise web.HTTPFound(HOME)
        session = await get_session(request)
        session["oauth_state"] = state = secrets.token_urlsafe(24)
        session["next"] = local_next(request.query.get("next"))
        authorize = URL(self.settings.web_url + "/login/oauth/authorize").with_query(
            client_id=self.settings.client_id or "", redirect_uri=self._redirect_uri(request), state=state)
        raise web.HTTPFound(str(authorize))

    async def callback(self, request: web.Request) -> web.Response:
        """``GET /login/callback?code&state``: check the state, exchange the code, start a fresh session."""
        session = await get_session(request)
        expected, code = session.get("oauth_state"), request.query.get("code", "")
        if not expected or not secrets.compare_digest(request.query.get("state", ""), expected) or not code:
            raise web.HTTPBadRequest(text="This sign-in was not started here (state mismatch). Start again at /login.")
        token = await self._exchange(request, code)
        user = await self._gh(token).getitem("/user")
        target = local_next(session.get("next"))
        fresh = await new_session(request)
        fresh["login"], fresh["token"] = user["login"], token
        raise web.HTTPFound(target)

    async def _exchange(self, request: web.Request, code: str) -> str:
        secret = self.settings.client_secret.get_secret_value() if self.settings.client_secret else ""
        form = {"client_id": self.settings.client_id or "", "client_secret": secret, "code": code,
                "redirect_uri": self._redirect_uri(request)}
        async with self._http().post(self.settings.web_url + "/login/oauth/access_token", data=form,
                                     headers={"Accept": "application/json", "User-Agent": USER_AGENT}) as answer:
            body = await answer.json(content_type=None) if answer.status == 200 else {}
        if "access_token" not in body:
            raise web.HTTPBadGateway(text=f"GitHub refused the sign-in: {body.get('error_description') or answer.status}")
        return body["access_token"]

    async def logout(self, request: web.Request) -> web.Response:
        """``GET /logout``: forget the session."""
        (await get_session(request)).invalidate()
        raise web.HTTPFound(HOME)

    async def user(self, request: web.Request) -> User | None:
        """The signed-in user of ``request``, or ``None``."""
        session = await get_session(request)
        if "login" not in session:
            return None
        return User(session["login"], session["token"])

    async def repositories(self, user: User) -> dict[str, int]:
        """``owner/name`` → installation id of every repository ``user`` can see among the App's
        installations."""
        key = hashlib.sha256(user.token.encode()).hexdigest()
        if (cached := self._access.get(key)) is not None:
            return cached
        gh, names = self._gh(user.token), {}
        async for installation in gh.getiter("/user/installations", iterable_key="installations"):
            async for repository in gh.getiter("/user/installations/{installation_id}/repositories",
                                               {"installation_id": installation["id"]}, iterable_key="repositories"):
                names[repository["full_name"]] = installation["id"]
        self._access[key] = names
        return dict(names)
