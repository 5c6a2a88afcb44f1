"""How the local GitHub REST API checks a request before an endpoint answers it.

:class:`RequestChecks` is the half of ``tests.support.github_server.GitHubServer``
that GitHub's own front end plays: the route exists (else 404), the request
validates against the OpenAPI slice ``tests/github/rest-openapi.slice.json``
(else 422), the credentials are valid (else 401: a live installation token, or
the App's RS256 JWT for ``/app…``), then a failure a test injected; an endpoint
whose lookup raises ``NotFound`` gets GitHub's 404. Everything
is recorded in ``requests``; problems also in ``violations``.
"""
from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.contrib.aiohttp import AIOHTTPOpenAPIWebRequest

from tests.support.github_endpoints import (
    BODY,
    INSTALLATION_ID,
    PARAMS,
    Handler,
    NotFound,
    _error,
)

SLICE_PATH = Path(__file__).resolve().parents[1] / "github" / "rest-openapi.slice.json"


@functools.cache
def openapi() -> OpenAPI:
    """The slice loaded once per test session (~0.4 s)."""
    spec = json.loads(SLICE_PATH.read_text(encoding="utf-8"))
    # The description's server is https://api.github.com; ours is 127.0.0.1:<port>.
    spec["servers"] = [{"url": "/"}]
    return OpenAPI.from_dict(spec)


class _OpenAPIRequest(AIOHTTPOpenAPIWebRequest):
    """openapi-core's aiohttp adapter with the path rebuilt from the matched route.

    GitHub takes ``contents/{path}`` with raw slashes, which an OpenAPI path
    template cannot match; re-encoding every path parameter fixes that.
    """

    __slots__ = ("_path",)

    def __init__(self, request: web.Request, *, body: bytes | None, path: str) -> None:
        super().__init__(request, body=body)
        self._path = path

    @property
    def path(self) -> str:
        return self._path


def _describe(error: BaseException) -> str:
    """openapi-core's error with its causes and schema errors, one line."""
    parts = [str(error)]
    cause = error.__cause__
    while cause is not None:
        parts.append(str(cause))
        parts.extend(e.message for e in getattr(cause, "schema_errors", ()) or ())
        cause = cause.__cause__
    return ": ".join(parts)


@dataclass
class RecordedRequest:
    """One request as the server saw it. ``route`` is "METHOD /openapi/template"
    (None if unknown); ``body`` is the parsed JSON (None if empty)."""

    method: str
    path: str
    route: str | None
    query: dict[str, str]
    body: Any
    authorization: str | None
    status: int = 0


@dataclass
class _Injected:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]



class RequestChecks:
    """The request checks of :class:`tests.support.github_server.GitHubServer` (a mixin)."""

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(("/login/oauth/", self.prefix + "/_downloads/")):  # web side, log storage: not REST
            return await handler(request)
        raw = await request.read()
        route = self._routes.get(request.match_info.route)
        recorded = RecordedRequest(
            request.method, request.path, route, dict(request.query), None,
            request.headers.get("authorization"),
        )
        self.requests.append(recorded)
        try:
            response = await self._check(request, raw, route, recorded) or await handler(request)
        except NotFound:
            response = _error(404, "Not Found")
        recorded.status = response.status
        return response

    async def _check(
        self, request: web.Request, raw: bytes, route: str | None, recorded: RecordedRequest
    ) -> web.Response | None:
        if route is None:
            self.violations.append(f"{request.method} {request.path}: no such endpoint in the slice")
            return _error(404, "Not Found")
        if raw:
            try:
                recorded.body = json.loads(raw)
            except ValueError:
                self.violations.append(f"{route}: body is not JSON")
                return _error(400, "Problems parsing JSON")
        template = route.split(" ", 1)[1]
        path = template.format(**{k: quote(v, safe="") for k, v in request.match_info.items()})
        result = openapi().unmarshal_request(_OpenAPIRequest(request, body=raw or None, path=path))
        if result.errors:
            details = "; ".join(_describe(e) for e in result.errors)
            self.violations.append(f"{route}: {details}")
            return _error(422, f"Invalid request.\n\n{details}")
        # Integers come typed from the description; strings as aiohttp decoded them
        # (openapi-core leaves them percent-encoded).
        request[PARAMS] = {
            name: request.match_info[name] if isinstance(value, str) else value
            for name, value in result.parameters.path.items()
        }
        request[BODY] = recorded.body
        denied = self._authenticate(request, template)
        if denied is not None:
            return denied
        if self._injected[route]:
            injected = self._injected[route].popleft()
            return web.json_response(injected.body, status=injected.status, headers=injected.headers)
        return None

    def _authenticate(self, request: web.Request, template: str) -> web.Response | None:
        """Installation token everywhere; the App JWT for /app…; nothing for manifests
        (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest)."""
        if template.startswith("/app-manifests/"):
            return None
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if template.startswith("/user"):  # a user access token (tests/support/github_oauth.py)
            return None if self.oauth.login_of(request.headers.get("authorization", "")) else _error(
                401, "Bad credentials")
        if template.startswith("/app"):
            if scheme.lower() != "bearer":
                return _error(401, "A JSON web token could not be decoded")
            return self._check_jwt(credential)
        installation = self.tokens.get(credential) if scheme.lower() == "token" else None
        if installation is None or installation[1] <= time.time():
            return _error(401, "Bad credentials")
        request[INSTALLATION_ID] = installation[0]
        return None

    def _check_jwt(self, token: str) -> web.Response | None:
        """RS256 with the App key, ``iss`` = app id, ``exp`` ≤ now + 10 min
        (https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app)."""
        try:
            claims = jwt.decode(
                token, self.public_pem, algorithms=["RS256"], issuer=str(self.app_id),
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError as exc:
            return _error(401, f"A JSON web token could not be decoded: {exc}")
        if claims["exp"] > time.time() + 600:
            return _error(401, "'Expiration time' claim ('exp') is too far in the future")
        return None

    # ------------------------------------------------------------------ endpoints
