"""A local GitHub REST API for end-to-end tests: stateful, and strict about requests.

Every request is checked, in this order, as GitHub would: the route exists
(else 404), the request validates against ``tests/github/rest-openapi.slice.json``
— a slice of GitHub's official OpenAPI description, see tests/github/README.md —
(else 422), the credentials are valid (else 401: a live installation token,
or the App's RS256 JWT for ``/app…``), then an injected failure if a test queued
one, then the endpoint. Unknown routes, unparsable JSON and schema failures are
also kept in ``violations``; the ``github_server`` fixture fails the test when
any is left at the end (``take_violations()`` consumes expected ones).

State is plain dicts and lists of GitHub-shaped JSON, readable by tests:
``comments(repo, number)``, ``reactions(comment_id)``, ``check_runs``,
``pulls``, ``issues``, ``requests``/``calls(route)``. Tests set up the world
with ``add_repo``, ``add_issue``, ``add_pull``, ``add_comment``,
``adopt_payload`` (all of that from a webhook payload), ``set_permission``,
``set_file``, ``add_manifest_code``, ``token_lifetime_s`` and ``oauth`` (users who sign in
with GitHub, ``tests/support/github_oauth.py``), and inject rate
limits or errors with ``fail_next``/``secondary_rate_limit``.

Fixtures: ``github_server`` (running, ``.url``), ``github_clock`` (settable
clock) and ``github_auth`` (an ``AppAuth`` of the test App against the server).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import jwt
import pytest
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.contrib.aiohttp import AIOHTTPOpenAPIWebRequest

from bot.github.client import AppAuth
from tests.support.github_oauth import OAuthUsers
from config.settings import Settings

SLICE_PATH = Path(__file__).resolve().parents[1] / "github" / "rest-openapi.slice.json"
HTML_ROOT = "https://github.com"
DOCS_URL = "https://docs.github.com/rest"
#: Repository roles → the legacy ``permission`` field of "Get repository
#: permissions for a user" (https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
LEGACY_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}

PARAMS = web.RequestKey("params", dict)  # path parameters, typed by the description
BODY = web.RequestKey("body", object)  # the parsed JSON body
INSTALLATION_ID = web.RequestKey("installation_id", int)  # whose token authenticated

Handler = Callable[[web.Request], Awaitable[web.Response]]


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


def _timestamp(epoch: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def _node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


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


@dataclass
class GitHubServer:
    """The server and its state; see the module docstring. Start with ``start()``."""

    app_id: int
    public_pem: str
    private_pem: str
    app_slug: str = "scenarioforge-test"
    #: GitHub Enterprise Server shape: the API under ``prefix`` (``/api/v3``), pages under
    #: ``html_root``, and webhook payloads (``payloads``: a folder of tests/payloads) whose API
    #: URLs start with ``payload_api_url``; ``adopt_payload`` points those at this server.
    prefix: str = ""
    html_root: str = HTML_ROOT
    payloads: str = ""
    payload_api_url: str = "https://api.github.com"
    #: Lifetime of newly minted installation tokens (GitHub: one hour).
    token_lifetime_s: float = 3600.0
    url: str = ""
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    issues: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (repo full name, login) → role (read|triage|write|maintain|admin).
    permissions: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (repo full name, ref, path) → text; ref None = the default branch.
    files: dict[tuple[str, str | None, str], str] = field(default_factory=dict)
    #: (repo full name, branch) → head SHA shown in pull requests.
    refs: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    #: installation token → (installation id, expires at epoch seconds).
    tokens: dict[str, tuple[int, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1001)
        self._comments: dict[int, dict[str, Any]] = {}
        self._comment_issue: dict[int, tuple[str, int]] = {}
        self._reactions: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self._users: dict[str, dict[str, Any]] = {}
        self._manifest_codes: dict[str, dict[str, Any]] = {}
        self._injected: defaultdict[str, deque[_Injected]] = defaultdict(deque)
        self._routes: dict[Any, str] = {}
        self._runner: web.AppRunner | None = None
        self.oauth = OAuthUsers(self)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on an ephemeral port; sets ``url``."""
        openapi()
        app = web.Application(middlewares=[self._middleware], client_max_size=50 * 1024**2)
        for route, handler in self._endpoints().items():
            method, template = route.split(" ", 1)
            # GitHub lets {path} span slashes (contents API).
            aio_template = self.prefix + template.replace("{path}", "{path:.+}")
            self._routes[app.router.add_route(method, aio_template, handler)] = route
        app.add_routes(self.oauth.web_routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}{self.prefix}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------- test set-up API

    @property
    def bot_login(self) -> str:
        """The App's bot account, author of everything an installation writes."""
        return f"{self.app_slug}[bot]"

    def add_repo(
        self, full_name: str, *, installation_id: int = 1, default_branch: str = "main",
        private: bool = False, repo_id: int | None = None,
    ) -> dict[str, Any]:
        """A repository reachable by ``installation_id``'s tokens."""
        owner, name = full_name.split("/")
        repo_id = repo_id or next(self._ids)
        repo = {
            "id": repo_id, "node_id": _node_id("Repository", repo_id), "name": name,
            "full_name": full_name, "private": private, "owner": self.user(owner),
            "html_url": f"{self.html_root}/{full_name}", "description": None, "fork": False,
            "url": f"{self.url}/repos/{full_name}",
            "clone_url": f"{self.html_root}/{full_name}.git", "default_branch": default_branch,
            "visibility": "private" if private else "public", "archived": False,
            "created_at": _timestamp(), "updated_at": _timestamp(), "pushed_at": _timestamp(),
        }
        self.repos[full_name] = {**repo, "_installation_id": installation_id}
        return repo

    def add_issue(
        self, full_name: str, number: int, *, title: str = "An issue", body: str | None = None,
        author: str = "octocat", labels: tuple[str, ...] = (), issue_id: int | None = None,
    ) -> dict[str, Any]:
        """An open issue (also used under each pull request, as on GitHub)."""
        issue_id = issue_id or next(self._ids)
        api = f"{self.url}/repos/{full_name}/issues/{number}"
        issue = {
            "id": issue_id, "node_id": _node_id("Issue", issue_id), "number": number,
            "title": title, "body": body, "state": "open", "user": self.user(author),
            "labels": [self._label(full_name, name) for name in labels], "assignees": [],
            "comments": 0, "url": api, "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments", "html_url": f"{self.html_root}/{full_name}/issues/{number}",
            "repository_url": f"{self.url}/repos/{full_name}", "author_association": "OWNER",
            "locked": False, "created_at": _timestamp(), "updated_at": _timestamp(), "closed_at": None,
        }
        self.issues[(full_name, number)] = issue
        return issue

    def add_pull(
        self, full_name: str, number: int, *, head: str = "feature", base: str | None = None,
        head_sha: str | None = None, title: str = "A pull request", body: str | None = None,
        author: str = "octocat", draft: bool = False, labels: tuple[str, ...] = (),
        head_repo: str | None = None,
    ) -> dict[str, Any]:
        """An open pull request from branch ``head`` of ``head_repo`` (default: the same
        repository; a fork must be added with ``add_repo`` first) into ``base``."""
        base = base or self.repos[full_name]["default_branch"]
        head_repo = head_repo or full_name
        if head_sha is not None:
            self.refs[(head_repo, head)] = head_sha
        issue = self.add_issue(full_name, number, title=title, body=body, author=author, labels=labels)
        issue["pull_request"] = {
            "url": f"{self.url}/repos/{full_name}/pulls/{number}",
            "html_url": f"{self.html_root}/{full_name}/pull/{number}",
        }
        pr_id = next(self._ids)
        pull = {
            "id": pr_id, "node_id": _node_id("PullRequest", pr_id), "number": number,
            "state": "open", "title": title, "body": body, "draft": draft, "locked": False,
            "user": self.user(author), "url": issue["pull_request"]["url"],
            "html_url": issue["pull_request"]["html_url"], "issue_url": issue["url"],
            "comments_url": issue["comments_url"], "head": self._branch(head_repo, head),
            "base": self._branch(full_name, base), "requested_reviewers": [], "labels": issue["labels"],
            "merged": False, "merged_at": None, "closed_at": None, "mergeable": None,
            "created_at": _timestamp(), "updated_at": _timestamp(), "author_association": "OWNER",
        }
        self.pulls[(full_name, number)] = pull
        return pull

    def add_comment(
        self, full_name: str, number: int, body: str, *, author: str = "octocat",
        comment_id: int | None = None, user_type: str | None = None,
    ) -> dict[str, Any]:
        """A comment on issue/PR ``number`` (e.g. the one a webhook payload announces)."""
        comment_id = comment_id or next(self._ids)
        issue = self.issues[(full_name, number)]
        comment = {
            "id": comment_id, "node_id": _node_id("IssueComment", comment_id), "body": body,
            "user": self.user(author, user_type), "url": f"{self.url}/repos/{full_name}/issues/comments/{comment_id}",
            "html_url": f"{issue['html_url']}#issuecomment-{comment_id}", "issue_url": issue["url"],
            "author_association": "OWNER" if author == full_name.split("/")[0] else "NONE",
            "created_at": _timestamp(), "updated_at": _timestamp(),
        }
        self._comments[comment_id] = comment
        self._comment_issue[comment_id] = (full_name, number)
        issue["comments"] += 1
        return comment

    def adopt_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Seed repo, issue/PR and comment from a webhook payload; return the payload
        with its API URLs (``payload_api_url``) pointing at this server."""
        payload = json.loads(json.dumps(payload).replace(self.payload_api_url, self.url))
        repo = payload["repository"]
        full_name = repo["full_name"]
        installation_id = payload.get("installation", {}).get("id", 1)
        if full_name not in self.repos:
            self.add_repo(full_name, installation_id=installation_id,
                          default_branch=repo.get("default_branch", "main"), repo_id=repo["id"])
        issue = payload.get("issue")
        pull = payload.get("pull_request")
        if pull is not None and (full_name, pull["number"]) not in self.issues:
            self.add_pull(full_name, pull["number"], head=pull["head"]["ref"], base=pull["base"]["ref"],
                          head_sha=pull["head"]["sha"], title=pull["title"], author=pull["user"]["login"],
                          labels=tuple(label["name"] for label in pull.get("labels", [])))
        elif issue is not None and (full_name, issue["number"]) not in self.issues:
            labels = tuple(label["name"] for label in issue.get("labels", []))
            if issue.get("pull_request"):
                self.add_pull(full_name, issue["number"], title=issue["title"],
                              author=issue["user"]["login"], labels=labels)
            else:
                self.add_issue(full_name, issue["number"], title=issue["title"], body=issue.get("body"),
                               author=issue["user"]["login"], labels=labels, issue_id=issue["id"])
        comment = payload.get("comment")
        if comment is not None and issue is not None and comment["id"] not in self._comments:
            self.add_comment(full_name, issue["number"], comment["body"], author=comment["user"]["login"],
                             comment_id=comment["id"], user_type=comment["user"].get("type"))
        return payload

    def set_permission(self, full_name: str, login: str, role: str) -> None:
        """``login``'s role on the repository (read|triage|write|maintain|admin)."""
        self.permissions[(full_name, login)] = role

    def set_file(self, full_name: str, path: str, text: str, *, ref: str | None = None) -> None:
        """A file served by the contents API (``ref`` None = the default branch)."""
        self.files[(full_name, ref, path)] = text

    def add_manifest_code(self, code: str, *, owner: str = "octo-org", name: str = "ScenarioForge") -> None:
        """A one-time code that POST /app-manifests/{code}/conversions exchanges for this App."""
        self._manifest_codes[code] = {"owner": owner, "name": name}

    def fail_next(
        self, route: str, *, status: int, times: int = 1, headers: dict[str, str] | None = None,
        message: str = "Injected failure",
    ) -> None:
        """Answer the next ``times`` valid, authenticated calls of ``route``
        ("METHOD /openapi/template") with ``status`` and ``headers``."""
        body = {"message": message, "documentation_url": DOCS_URL, "status": str(status)}
        for _ in range(times):
            self._injected[route].append(_Injected(status, dict(headers or {}), body))

    def secondary_rate_limit(self, route: str, *, retry_after: int = 1, status: int = 403, times: int = 1) -> None:
        """GitHub's secondary-rate-limit answer (403 or 429 with ``retry-after``)
        (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits)."""
        self.fail_next(
            route, status=status, times=times, headers={"retry-after": str(retry_after)},
            message="You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        )

    # ------------------------------------------------------------------ state reads

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """Comments on issue/PR ``number`` in creation order."""
        return [c for cid, c in self._comments.items() if self._comment_issue[cid] == (full_name, number)]

    def comment(self, comment_id: int) -> dict[str, Any]:
        return self._comments[comment_id]

    def reactions(self, comment_id: int) -> list[dict[str, Any]]:
        return list(self._reactions[comment_id])

    def calls(self, route: str) -> list[RecordedRequest]:
        """Recorded requests of one route ("METHOD /openapi/template")."""
        return [r for r in self.requests if r.route == route]

    def take_violations(self) -> list[str]:
        """Return and forget the violations (for tests that provoke them)."""
        taken, self.violations[:] = list(self.violations), []
        return taken

    def user(self, login: str, user_type: str | None = None) -> dict[str, Any]:
        """A GitHub user object, stable per login."""
        if login not in self._users:
            user_id = next(self._ids)
            self._users[login] = {
                "login": login, "id": user_id, "node_id": _node_id("User", user_id),
                "type": user_type or ("Bot" if login.endswith("[bot]") else "User"),
                "site_admin": False, "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}",
                "url": f"{self.url}/users/{quote(login)}", "html_url": f"{self.html_root}/{quote(login)}",
            }
        return self._users[login]

    # ------------------------------------------------------------------- the checks

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/login/oauth/"):  # github.com's web side, not the REST API
            return await handler(request)
        raw = await request.read()
        route = self._routes.get(request.match_info.route)
        recorded = RecordedRequest(
            request.method, request.path, route, dict(request.query), None,
            request.headers.get("authorization"),
        )
        self.requests.append(recorded)
        response = await self._check(request, raw, route, recorded) or await handler(request)
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

    def _endpoints(self) -> dict[str, Handler]:
        r = "/repos/{owner}/{repo}"
        return {
            "GET /app": self._get_app,
            "POST /app/installations/{installation_id}/access_tokens": self._create_token,
            "POST /app-manifests/{code}/conversions": self._convert_manifest,
            f"GET {r}": self._get_repo,
            f"GET {r}/collaborators/{{username}}/permission": self._get_permission,
            f"GET {r}/issues/{{issue_number}}": self._get_issue,
            f"GET {r}/issues/{{issue_number}}/comments": self._list_comments,
            f"POST {r}/issues/{{issue_number}}/comments": self._create_comment,
            f"GET {r}/issues/comments/{{comment_id}}": self._get_comment,
            f"PATCH {r}/issues/comments/{{comment_id}}": self._update_comment,
            f"POST {r}/issues/comments/{{comment_id}}/reactions": self._create_reaction,
            f"DELETE {r}/issues/{{issue_number}}/labels/{{name}}": self._remove_label,
            f"GET {r}/pulls": self._list_pulls,
            f"POST {r}/pulls": self._create_pull,
            f"GET {r}/pulls/{{pull_number}}": self._get_pull,
            f"PATCH {r}/pulls/{{pull_number}}": self._update_pull,
            f"POST {r}/pulls/{{pull_number}}/requested_reviewers": self._request_reviewers,
            f"POST {r}/check-runs": self._create_check_run,
            f"GET {r}/check-runs/{{check_run_id}}": self._get_check_run,
            f"PATCH {r}/check-runs/{{check_run_id}}": self._update_check_run,
            f"GET {r}/contents/{{path}}": self._get_contents,
            **self.oauth.rest_endpoints(),
        }

    def _app(self) -> dict[str, Any]:
        return {
            "id": self.app_id, "slug": self.app_slug, "node_id": _node_id("Integration", self.app_id),
            "client_id": f"Iv1.{self.app_id:016x}", "owner": self.user("octo-org", "Organization"),
            "name": "ScenarioForge", "description": "Scenario packs from planning documents",
            "external_url": "https://scenarioforge.example", "html_url": f"{self.html_root}/apps/{self.app_slug}",
            "created_at": _timestamp(), "updated_at": _timestamp(),
            "permissions": {"checks": "write", "contents": "write", "issues": "write",
                            "metadata": "read", "pull_requests": "write"},
            "events": ["issue_comment", "issues", "pull_request", "check_run", "check_suite"],
            "installations_count": len({r["_installation_id"] for r in self.repos.values()}),
        }

    async def _get_app(self, request: web.Request) -> web.Response:
        return web.json_response(self._app())

    async def _create_token(self, request: web.Request) -> web.Response:
        installation_id = request[PARAMS]["installation_id"]
        if installation_id not in {r["_installation_id"] for r in self.repos.values()}:
            return _error(404, "Not Found")
        token = f"ghs_{secrets.token_urlsafe(27)}"
        expires_at = time.time() + self.token_lifetime_s
        self.tokens[token] = (installation_id, expires_at)
        return web.json_response(
            {"token": token, "expires_at": _timestamp(expires_at), "permissions": self._app()["permissions"],
             "repository_selection": "selected"},
            status=201,
        )

    async def _convert_manifest(self, request: web.Request) -> web.Response:
        manifest = self._manifest_codes.pop(request[PARAMS]["code"], None)
        if manifest is None:
            return _error(404, "Not Found")
        app = self._app() | {"name": manifest["name"], "owner": self.user(manifest["owner"], "Organization")}
        secrets_ = {"client_secret": secrets.token_hex(20), "webhook_secret": secrets.token_hex(20),
                    "pem": self.private_pem}
        return web.json_response(app | secrets_, status=201)

    def _repo(self, request: web.Request) -> dict[str, Any] | None:
        """The repository of the URL if the caller's installation can see it."""
        params = request[PARAMS]
        repo = self.repos.get(f"{params['owner']}/{params['repo']}")
        if repo is None or repo["_installation_id"] != request[INSTALLATION_ID]:
            return None
        return repo

    async def _get_repo(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if repo is None:
            return _error(404, "Not Found")
        return web.json_response({k: v for k, v in repo.items() if not k.startswith("_")})

    async def _get_permission(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        login = request[PARAMS]["username"]
        role = self.permissions.get((repo["full_name"], login)) if repo else None
        if role is None:
            return _error(404, "Not Found")
        return web.json_response(
            {"permission": LEGACY_PERMISSION[role], "role_name": role, "user": self.user(login)}
        )

    def _in_repo(self, request: web.Request, table: dict[Any, dict[str, Any]], param: str) -> dict[str, Any] | None:
        """The ``table`` entry (issues or pulls) that the request's repository and ``param`` name, if any."""
        repo = self._repo(request)
        return None if repo is None else table.get((repo["full_name"], request[PARAMS][param]))

    def _issue(self, request: web.Request) -> dict[str, Any] | None:
        return self._in_repo(request, self.issues, "issue_number")

    async def _get_issue(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        return _error(404, "Not Found") if issue is None else web.json_response(issue)

    async def _list_comments(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if issue is None:
            return _error(404, "Not Found")
        params = request[PARAMS]
        items = self.comments(f"{params['owner']}/{params['repo']}", issue["number"])
        return _paginated(request, items)

    async def _create_comment(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if issue is None:
            return _error(404, "Not Found")
        params = request[PARAMS]
        comment = self.add_comment(
            f"{params['owner']}/{params['repo']}", issue["number"], request[BODY]["body"],
            author=self.bot_login,
        )
        return web.json_response(comment, status=201, headers={"location": comment["url"]})

    def _own_comment(self, request: web.Request) -> dict[str, Any] | None:
        repo = self._repo(request)
        comment_id = request[PARAMS]["comment_id"]
        if repo is None or self._comment_issue.get(comment_id, ("",))[0] != repo["full_name"]:
            return None
        return self._comments[comment_id]

    async def _get_comment(self, request: web.Request) -> web.Response:
        comment = self._own_comment(request)
        return _error(404, "Not Found") if comment is None else web.json_response(comment)

    async def _update_comment(self, request: web.Request) -> web.Response:
        comment = self._own_comment(request)
        if comment is None:
            return _error(404, "Not Found")
        if comment["user"]["login"] != self.bot_login:
            return _error(403, "Resource not accessible by integration")
        comment.update(body=request[BODY]["body"], updated_at=_timestamp())
        return web.json_response(comment)

    async def _create_reaction(self, request: web.Request) -> web.Response:
        comment = self._own_comment(request)
        if comment is None:
            return _error(404, "Not Found")
        content = request[BODY]["content"]
        reactions = self._reactions[comment["id"]]
        for reaction in reactions:
            if reaction["content"] == content and reaction["user"]["login"] == self.bot_login:
                return web.json_response(reaction)  # 200: "Reaction exists"
        reaction_id = next(self._ids)
        reaction = {"id": reaction_id, "node_id": _node_id("Reaction", reaction_id),
                    "user": self.user(self.bot_login), "content": content, "created_at": _timestamp()}
        reactions.append(reaction)
        return web.json_response(reaction, status=201)

    async def _remove_label(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if issue is None:
            return _error(404, "Not Found")
        name = request[PARAMS]["name"]
        if not any(label["name"] == name for label in issue["labels"]):
            return _error(404, "Label does not exist")
        issue["labels"][:] = [label for label in issue["labels"] if label["name"] != name]
        return web.json_response(issue["labels"])

    def _pull(self, request: web.Request) -> dict[str, Any] | None:
        return self._in_repo(request, self.pulls, "pull_number")

    async def _get_pull(self, request: web.Request) -> web.Response:
        pull = self._pull(request)
        return _error(404, "Not Found") if pull is None else web.json_response(pull)

    async def _list_pulls(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if repo is None:
            return _error(404, "Not Found")
        query = request.query
        state = query.get("state", "open")
        pulls = [
            p for (full_name, _), p in self.pulls.items()
            if full_name == repo["full_name"]
            and state in ("all", p["state"])
            and query.get("head") in (None, p["head"]["label"])
            and query.get("base") in (None, p["base"]["ref"])
        ]
        return _paginated(request, pulls)

    async def _create_pull(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if repo is None:
            return _error(404, "Not Found")
        body, full_name = request[BODY], repo["full_name"]
        head = body["head"].split(":")[-1]
        if any(p["head"]["ref"] == head and p["base"]["ref"] == body["base"] and p["state"] == "open"
               for (name, _), p in self.pulls.items() if name == full_name):
            return _error(422, "Validation Failed", errors=[{
                "resource": "PullRequest", "code": "custom",
                "message": f"A pull request already exists for {repo['owner']['login']}:{head}.",
            }])
        number = 1 + max((n for name, n in self.issues if name == full_name), default=0)
        pull = self.add_pull(full_name, number, head=head, base=body["base"], title=body.get("title", ""),
                             body=body.get("body"), author=self.bot_login, draft=body.get("draft", False))
        return web.json_response(pull, status=201)

    async def _update_pull(self, request: web.Request) -> web.Response:
        pull = self._pull(request)
        if pull is None:
            return _error(404, "Not Found")
        changes = {k: v for k, v in request[BODY].items() if k in ("title", "body", "state")}
        pull.update(changes, updated_at=_timestamp())
        if "base" in request[BODY]:
            pull["base"] = self._branch(pull["base"]["repo"]["full_name"], request[BODY]["base"])
        return web.json_response(pull)

    async def _request_reviewers(self, request: web.Request) -> web.Response:
        pull = self._pull(request)
        if pull is None:
            return _error(404, "Not Found")
        full_name = pull["base"]["repo"]["full_name"]
        for login in request[BODY].get("reviewers", []):
            if (full_name, login) not in self.permissions or login == pull["user"]["login"]:
                return _error(422, "Reviews may only be requested from collaborators. "
                                   "One or more of the users or teams you specified is not a collaborator "
                                   f"of the {full_name} repository.")
            if all(u["login"] != login for u in pull["requested_reviewers"]):
                pull["requested_reviewers"].append(self.user(login))
        return web.json_response(pull, status=201)

    async def _create_check_run(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if repo is None:
            return _error(404, "Not Found")
        run_id = next(self._ids)
        body = request[BODY]
        check_run = {
            "status": "queued", "conclusion": None, "started_at": _timestamp(), "completed_at": None,
            "details_url": None, "external_id": None, "output": {}, "actions": [],
        } | body | {
            "id": run_id, "node_id": _node_id("CheckRun", run_id), "head_sha": body["head_sha"],
            "url": f"{repo['url']}/check-runs/{run_id}",
            "html_url": f"{repo['html_url']}/runs/{run_id}", "app": self._app(),
            "check_suite": {"id": next(self._ids)}, "pull_requests": [],
            "_repo": repo["full_name"],
        }
        self.check_runs[run_id] = check_run
        return web.json_response(_public(check_run), status=201)

    def _check_run(self, request: web.Request) -> dict[str, Any] | None:
        repo = self._repo(request)
        check_run = self.check_runs.get(request[PARAMS]["check_run_id"])
        if repo is None or check_run is None or check_run["_repo"] != repo["full_name"]:
            return None
        return check_run

    async def _get_check_run(self, request: web.Request) -> web.Response:
        check_run = self._check_run(request)
        return _error(404, "Not Found") if check_run is None else web.json_response(_public(check_run))

    async def _update_check_run(self, request: web.Request) -> web.Response:
        check_run = self._check_run(request)
        if check_run is None:
            return _error(404, "Not Found")
        check_run.update(request[BODY])
        if check_run.get("conclusion") is not None:
            check_run["status"] = "completed"  # GitHub: a conclusion completes the run
            check_run["completed_at"] = check_run["completed_at"] or _timestamp()
        return web.json_response(_public(check_run))

    async def _get_contents(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if repo is None:
            return _error(404, "Not Found")
        path = request[PARAMS]["path"].strip("/")
        ref = request.query.get("ref")
        text = self.files.get((repo["full_name"], ref, path))
        if text is None and ref in (None, repo["default_branch"]):
            text = self.files.get((repo["full_name"], None, path))
        if text is None:
            return _error(404, "Not Found")
        raw = text.encode("utf-8")
        sha = hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()
        api = f"{repo['url']}/contents/{path}"
        html = f"{repo['html_url']}/blob/{ref or repo['default_branch']}/{path}"
        git = f"{repo['url']}/git/blobs/{sha}"
        return web.json_response({
            "type": "file", "encoding": "base64", "size": len(raw), "name": path.rsplit("/", 1)[-1],
            "path": path, "sha": sha, "content": base64.encodebytes(raw).decode(), "url": api,
            "html_url": html, "git_url": git, "download_url": None,
            "_links": {"self": api, "git": git, "html": html},
        })

    def _label(self, full_name: str, name: str) -> dict[str, Any]:
        label_id = next(self._ids)
        return {"id": label_id, "node_id": _node_id("Label", label_id), "name": name, "color": "ededed",
                "default": False, "description": None,
                "url": f"{self.url}/repos/{full_name}/labels/{quote(name, safe='')}"}

    def _branch(self, full_name: str, ref: str) -> dict[str, Any]:
        repo = {k: v for k, v in self.repos[full_name].items() if not k.startswith("_")}
        return {"label": f"{repo['owner']['login']}:{ref}", "ref": ref,
                "sha": self.refs.get((full_name, ref), "0" * 40), "user": repo["owner"], "repo": repo}


def _public(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if not k.startswith("_")}


def _error(status: int, message: str, **extra: Any) -> web.Response:
    """GitHub's error body (https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api)."""
    body = {"message": message, "documentation_url": DOCS_URL, "status": str(status), **extra}
    return web.json_response(body, status=status)


def _paginated(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    """``per_page`` (default 30, max 100) / ``page`` with GitHub's ``Link`` header
    (https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api)."""
    per_page = min(int(request.query.get("per_page", 30)), 100)
    page = int(request.query.get("page", 1))
    last = max(1, -(-len(items) // per_page))

    def link(number: int, rel: str) -> str:
        query = {**request.query, "per_page": str(per_page), "page": str(number)}
        return f'<{request.url.with_query(None)}?{urlencode(query)}>; rel="{rel}"'

    links = []
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first"), link(page - 1, "prev")]
    headers = {"link": ", ".join(links)} if links else {}
    return web.json_response(items[(page - 1) * per_page: page * per_page], headers=headers)


@pytest.fixture
def github_shape() -> dict[str, str]:
    """``GitHubServer`` fields that shape the instance (``prefix``, ``html_root``, ``payloads``,
    ``payload_api_url``); empty = github.com. Override in a module to test GHES."""
    return {}


@pytest.fixture
async def github_server(app_keys, github_shape):
    """A running ``GitHubServer`` for the ``app_keys`` App; base URL in ``.url``.

    Fails the test at teardown if a request violated the OpenAPI slice or hit
    an endpoint it does not describe.
    """
    server = GitHubServer(app_id=app_keys.app_id, public_pem=app_keys.public_pem, private_pem=app_keys.private_pem,
                          **github_shape)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
    if server.violations:
        pytest.fail("GitHub API requests violated the OpenAPI description:\n" + "\n".join(server.violations))


class Clock:
    """A settable UTC epoch clock for ``AppAuth(clock=…)``; starts at the real time."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def github_clock() -> Clock:
    return Clock()


@pytest.fixture
async def github_auth(github_server, app_keys, github_clock):
    """An ``AppAuth`` for the test App against ``github_server``, on its own
    ``aiohttp.ClientSession``, with ``github_clock`` as its clock."""
    settings = Settings(
        _env_file=None, app_id=app_keys.app_id, private_key_path=app_keys.private_key_path,
        github_api_url=github_server.url,
    )
    async with aiohttp.ClientSession() as session:
        yield AppAuth(session, settings, clock=github_clock)
