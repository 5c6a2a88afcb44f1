"""GitHub's user sign-in for the local GitHub server: the OAuth web flow and ``/user…`` endpoints.

The web side (not in the REST description, served plainly, like github.com):
``GET /login/oauth/authorize`` signs in as ``browser_login`` (a test sets who
is "signed in on GitHub") and redirects back with a one-time code;
``POST /login/oauth/access_token`` exchanges it for a user token when the
client id and secret are the App's. REST (validated by the server's slice):
``GET /user``, ``GET /user/installations`` and
``GET /user/installations/{installation_id}/repositories``, answering only for
the repositories a test ``grant``ed the user.
Flow: https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

if TYPE_CHECKING:
    from tests.support.github_server import GitHubServer

CLIENT_SECRET = "test-client-secret"


class OAuthUsers:
    """Users, their grants, codes and tokens (state of the server's sign-in side)."""

    def __init__(self, server: GitHubServer) -> None:
        self.server = server
        self.browser_login = "octocat"
        self.client_secret = CLIENT_SECRET
        self.grants: defaultdict[str, set[str]] = defaultdict(set)  # login → repository full names
        self.codes: dict[str, tuple[str, str]] = {}  # code → (login, redirect_uri)
        self.tokens: dict[str, str] = {}  # user token → login
        self.authorize_requests: list[dict[str, str]] = []

    @property
    def client_id(self) -> str:
        return self.server._app()["client_id"]

    def grant(self, login: str, *full_names: str) -> None:
        """Let ``login`` see ``full_names`` (repositories of the server) through the App."""
        self.grants[login].update(full_names)

    def web_routes(self) -> list[web.RouteDef]:
        return [web.get("/login/oauth/authorize", self._authorize),
                web.post("/login/oauth/access_token", self._access_token)]

    def rest_endpoints(self) -> dict[str, Any]:
        return {"GET /user": self._user, "GET /user/installations": self._installations,
                "GET /user/installations/{installation_id}/repositories": self._repositories}

    def login_of(self, authorization: str) -> str | None:
        """The login of a ``token …`` / ``Bearer …`` user token header, or ``None``."""
        _, _, credential = authorization.partition(" ")
        return self.tokens.get(credential)

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
            return web.Response(status=404, text="The client id or redirect URI is not this App's.")
        code = secrets.token_hex(10)
        self.codes[code] = (self.browser_login, query["redirect_uri"])
        target = URL(query["redirect_uri"]).update_query(code=code, state=query.get("state", ""))
        raise web.HTTPFound(str(target))

    async def _access_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        entry = self.codes.pop(str(form.get("code", "")), None)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return web.json_response({"error": "incorrect_client_credentials",
                                      "error_description": "The client_id and/or client_secret passed are incorrect."})
        if entry is None or form.get("redirect_uri") != entry[1]:
            return web.json_response({"error": "bad_verification_code",
                                      "error_description": "The code passed is incorrect or expired."})
        token = f"ghu_{secrets.token_urlsafe(27)}"
        self.tokens[token] = entry[0]
        return web.json_response({"access_token": token, "token_type": "bearer", "scope": ""})

    def _visible(self, request: web.Request) -> list[dict[str, Any]]:
        login = self.login_of(request.headers.get("authorization", ""))
        return [repo for name, repo in sorted(self.server.repos.items()) if name in self.grants[login]]

    async def _user(self, request: web.Request) -> web.Response:
        return web.json_response(self.server.user(self.login_of(request.headers["authorization"])))

    async def _installations(self, request: web.Request) -> web.Response:
        ids = sorted({repo["_installation_id"] for repo in self._visible(request)})
        installations = [{"id": i, "account": self.server.user("octo-org", "Organization"), "app_id": self.server.app_id,
                          "target_type": "Organization", "repository_selection": "selected"} for i in ids]
        return web.json_response({"total_count": len(installations), "installations": installations})

    async def _repositories(self, request: web.Request) -> web.Response:
        installation_id = int(request.match_info["installation_id"])
        repos = [{k: v for k, v in repo.items() if not k.startswith("_")} for repo in self._visible(request)
                 if repo["_installation_id"] == installation_id]
        return web.json_response({"total_count": len(repos), "repositories": repos})
