"""The endpoints of the local GitHub REST API (``tests/support/github_server.py``).

:class:`Endpoints` is the half of ``GitHubServer`` that answers requests: one
method per operation of the OpenAPI slice, reading and changing the server's
state (``repos``, ``issues``, ``pulls``, ``check_runs``, …). Responses are
GitHub-shaped JSON as the REST documentation gives them
(https://docs.github.com/rest).
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from aiohttp import web

HTML_ROOT = "https://github.com"
DOCS_URL = "https://docs.github.com/rest"
#: Repository roles → the legacy ``permission`` field of "Get repository
#: permissions for a user" (https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
LEGACY_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}

PARAMS = web.RequestKey("params", dict)  # path parameters, typed by the description
BODY = web.RequestKey("body", object)  # the parsed JSON body
INSTALLATION_ID = web.RequestKey("installation_id", int)  # whose token authenticated

Handler = Callable[[web.Request], Awaitable[web.Response]]
T = TypeVar("T")


class NotFound(Exception):
    """A lookup found nothing the caller may see: ``RequestChecks`` answers GitHub's 404 ``Not Found``, the
    same for a missing resource and one the token cannot see
    (https://docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api)."""


def _found(resource: T | None) -> T:
    """``resource``; raises :class:`NotFound` when it is ``None``."""
    if resource is None:
        raise NotFound
    return resource


def _timestamp(epoch: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def _node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()



class Endpoints:
    """The request handlers of :class:`tests.support.github_server.GitHubServer` (a mixin)."""

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
            **self.actions_endpoints(),
            **self.hooks.rest_endpoints(),
        }

    def _app(self) -> dict[str, Any]:
        return {
            "id": self.app_id, "slug": self.app_slug, "node_id": _node_id("Integration", self.app_id),
            "client_id": f"Iv1.{self.app_id:016x}", "owner": self.user("octo-org", "Organization"),
            "name": "ScenarioForge", "description": "Scenario packs from planning documents",
            "external_url": "https://scenarioforge.example", "html_url": f"{self.html_root}/apps/{self.app_slug}",
            "created_at": _timestamp(), "updated_at": _timestamp(),
            "permissions": {"actions": "read", "checks": "write", "contents": "write", "issues": "write",
                            "metadata": "read", "pull_requests": "write"},
            "events": ["issue_comment", "issues", "pull_request", "check_run", "check_suite", "workflow_run",
                       "push"],
            "installations_count": len({r["_installation_id"] for r in self.repos.values()}),
        }

    async def _get_app(self, request: web.Request) -> web.Response:
        return web.json_response(self._app())

    async def _create_token(self, request: web.Request) -> web.Response:
        installation_id = request[PARAMS]["installation_id"]
        if installation_id not in {r["_installation_id"] for r in self.repos.values()}:
            raise NotFound
        token = f"ghs_{secrets.token_urlsafe(27)}"
        expires_at = time.time() + self.token_lifetime_s
        self.tokens[token] = (installation_id, expires_at)
        return web.json_response(
            {"token": token, "expires_at": _timestamp(expires_at), "permissions": self._app()["permissions"],
             "repository_selection": "selected"},
            status=201,
        )

    async def _convert_manifest(self, request: web.Request) -> web.Response:
        manifest = _found(self._manifest_codes.pop(request[PARAMS]["code"], None))
        app = self._app() | {"name": manifest["name"], "owner": self.user(manifest["owner"], "Organization")}
        secrets_ = {"client_secret": secrets.token_hex(20), "webhook_secret": secrets.token_hex(20),
                    "pem": self.private_pem}
        return web.json_response(app | secrets_, status=201)

    def _repo(self, request: web.Request) -> dict[str, Any]:
        """The repository of the URL; raises :class:`NotFound` unless the caller's installation can see it."""
        params = request[PARAMS]
        repo = _found(self.repos.get(f"{params['owner']}/{params['repo']}"))
        if repo["_installation_id"] != request[INSTALLATION_ID]:
            raise NotFound
        return repo

    async def _get_repo(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        return web.json_response({k: v for k, v in repo.items() if not k.startswith("_")})

    async def _get_permission(self, request: web.Request) -> web.Response:
        login = request[PARAMS]["username"]
        role = _found(self.permissions.get((self._repo(request)["full_name"], login)))
        return web.json_response(
            {"permission": LEGACY_PERMISSION[role], "role_name": role, "user": self.user(login)}
        )

    def _in_repo(self, request: web.Request, table: dict[Any, dict[str, Any]], param: str) -> dict[str, Any]:
        """The ``table`` entry (issues or pulls) that the request's repository and ``param`` name; raises
        :class:`NotFound` when there is none."""
        return _found(table.get((self._repo(request)["full_name"], request[PARAMS][param])))

    def _issue(self, request: web.Request) -> dict[str, Any]:
        return self._in_repo(request, self.issues, "issue_number")

    async def _get_issue(self, request: web.Request) -> web.Response:
        return web.json_response(self._issue(request))

    async def _list_comments(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        params = request[PARAMS]
        items = self.comments(f"{params['owner']}/{params['repo']}", issue["number"])
        return _paginated(request, items)

    async def _create_comment(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        params = request[PARAMS]
        comment = self.add_comment(
            f"{params['owner']}/{params['repo']}", issue["number"], request[BODY]["body"],
            author=self.bot_login,
        )
        return web.json_response(comment, status=201, headers={"location": comment["url"]})

    def _own_comment(self, request: web.Request) -> dict[str, Any]:
        """The comment of the URL; raises :class:`NotFound` unless it is on the request's repository."""
        repo = self._repo(request)
        comment_id = request[PARAMS]["comment_id"]
        if self._comment_issue.get(comment_id, ("",))[0] != repo["full_name"]:
            raise NotFound
        return self._comments[comment_id]

    async def _get_comment(self, request: web.Request) -> web.Response:
        return web.json_response(self._own_comment(request))

    async def _update_comment(self, request: web.Request) -> web.Response:
        comment = self._own_comment(request)
        if comment["user"]["login"] != self.bot_login:
            return _error(403, "Resource not accessible by integration")
        comment.update(body=request[BODY]["body"], updated_at=_timestamp())
        return web.json_response(comment)

    async def _create_reaction(self, request: web.Request) -> web.Response:
        comment = self._own_comment(request)
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
        name = request[PARAMS]["name"]
        if not any(label["name"] == name for label in issue["labels"]):
            return _error(404, "Label does not exist")
        issue["labels"][:] = [label for label in issue["labels"] if label["name"] != name]
        return web.json_response(issue["labels"])

    def _pull(self, request: web.Request) -> dict[str, Any]:
        return self._in_repo(request, self.pulls, "pull_number")

    async def _get_pull(self, request: web.Request) -> web.Response:
        return web.json_response(self._pull(request))

    async def _list_pulls(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
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
        changes = {k: v for k, v in request[BODY].items() if k in ("title", "body", "state")}
        pull.update(changes, updated_at=_timestamp())
        if "base" in request[BODY]:
            pull["base"] = self._branch(pull["base"]["repo"]["full_name"], request[BODY]["base"])
        return web.json_response(pull)

    async def _request_reviewers(self, request: web.Request) -> web.Response:
        pull = self._pull(request)
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

    def _check_run(self, request: web.Request) -> dict[str, Any]:
        """The check run of the URL; raises :class:`NotFound` unless it is on the request's repository."""
        repo = self._repo(request)
        check_run = _found(self.check_runs.get(request[PARAMS]["check_run_id"]))
        if check_run["_repo"] != repo["full_name"]:
            raise NotFound
        return check_run

    async def _get_check_run(self, request: web.Request) -> web.Response:
        return web.json_response(_public(self._check_run(request)))

    async def _update_check_run(self, request: web.Request) -> web.Response:
        check_run = self._check_run(request)
        check_run.update(request[BODY])
        if check_run.get("conclusion") is not None:
            check_run["status"] = "completed"  # GitHub: a conclusion completes the run
            check_run["completed_at"] = check_run["completed_at"] or _timestamp()
        return web.json_response(_public(check_run))

    async def _get_contents(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        path = request[PARAMS]["path"].strip("/")
        ref = request.query.get("ref")
        text = self.files.get((repo["full_name"], ref, path))
        if text is None and ref in (None, repo["default_branch"]):
            text = self.files.get((repo["full_name"], None, path))
        raw = _found(text).encode("utf-8")
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
