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

The request checks live in ``tests/support/github_checks.py`` (``RequestChecks``),
the endpoints in ``tests/support/github_endpoints.py`` (``Endpoints``); this
module holds the state, the set-up helpers and the fixtures.

Fixtures: ``github_server`` (running, ``.url``), ``github_clock`` (settable
clock) and ``github_auth`` (an ``AppAuth`` of the test App against the server).
"""
from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web

from bot.github.client import AppAuth
from config.settings import Settings
from tests.support.github_checks import (
    RecordedRequest,
    RequestChecks,
    _Injected,
    openapi,
)
from tests.support.github_endpoints import (
    DOCS_URL,
    HTML_ROOT,
    Endpoints,
    _node_id,
    _timestamp,
)
from tests.support.github_hooks import HookDeliveries
from tests.support.github_oauth import OAuthUsers


@dataclass
class GitHubServer(RequestChecks, Endpoints):
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
        self.hooks = HookDeliveries(self)

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
