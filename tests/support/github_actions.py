"""GitHub Actions and check-suite reads, and issue creation, for the local GitHub server.

:class:`ActionsEndpoints` is a mixin of ``tests.support.github_server.GitHubServer``. Tests
set up a failed workflow run with :meth:`add_workflow_run` (its jobs, their steps and
logs) or a check suite's check runs with :meth:`add_suite_runs`. "Download job logs"
answers a 302 to ``/_downloads/job-logs/<job id>?token=…`` on this server, served outside
the REST checks like GitHub's log storage host
(https://docs.github.com/rest/actions/workflow-jobs#download-job-logs-for-a-workflow-run).
"""
from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web

from tests.support.github_endpoints import BODY, PARAMS, NotFound, _found, _node_id, _paginated, _timestamp

DOWNLOADS = "/_downloads/"


class ActionsEndpoints:
    """Workflow run jobs and logs, check suites' check runs, new issues (a mixin of ``GitHubServer``)."""

    def actions_endpoints(self) -> dict[str, Any]:
        r = "/repos/{owner}/{repo}"
        return {
            f"GET {r}/actions/runs/{{run_id}}/jobs": self._list_jobs,
            f"GET {r}/actions/jobs/{{job_id}}/logs": self._job_logs,
            f"GET {r}/check-suites/{{check_suite_id}}/check-runs": self._suite_runs,
            f"POST {r}/issues": self._create_issue,
        }

    def download_routes(self) -> list[web.RouteDef]:
        return [web.get(self.prefix + DOWNLOADS + "job-logs/{job_id}", self._download_log)]

    @property
    def _actions_state(self) -> dict[str, dict[Any, Any]]:
        if not hasattr(self, "_actions"):
            self._actions = {"jobs": {}, "logs": {}, "suites": {}, "downloads": {}}
        return self._actions

    def add_workflow_run(self, full_name: str, run_id: int, head_sha: str,
                         jobs: list[tuple[str, list[tuple[str, str]], str]]) -> list[dict[str, Any]]:
        """Workflow run ``run_id`` on ``head_sha`` with ``jobs``: (name, [(step name, conclusion)], log);
        a job fails when one of its steps does. Returns the jobs as the API lists them."""
        listed = []
        for name, steps, log in jobs:
            job_id = next(self._ids)
            failed = any(conclusion == "failure" for _, conclusion in steps)
            listed.append({
                "id": job_id, "run_id": run_id, "node_id": _node_id("CheckRun", job_id), "head_sha": head_sha,
                "url": f"{self.url}/repos/{full_name}/actions/jobs/{job_id}",
                "html_url": f"{self.html_root}/{full_name}/actions/runs/{run_id}/job/{job_id}",
                "status": "completed", "conclusion": "failure" if failed else "success", "name": name,
                "started_at": _timestamp(), "completed_at": _timestamp(), "labels": ["ubuntu-latest"],
                "steps": [{"name": step, "status": "completed", "conclusion": conclusion, "number": number}
                          for number, (step, conclusion) in enumerate(steps, 1)],
            })
            self._actions_state["logs"][(full_name, job_id)] = log
        self._actions_state["jobs"][(full_name, run_id)] = listed
        return listed

    def add_suite_runs(self, full_name: str, suite_id: int, runs: list[dict[str, Any]]) -> None:
        """The check runs of check suite ``suite_id`` (GitHub-shaped dicts with ``id``, ``name``,
        ``conclusion``, ``output``)."""
        self._actions_state["suites"][(full_name, suite_id)] = runs

    async def _list_jobs(self, request: web.Request) -> web.Response:
        run = (self._repo(request)["full_name"], request[PARAMS]["run_id"])
        jobs = _found(self._actions_state["jobs"].get(run))
        response = _paginated(request, jobs)
        link = {"link": response.headers["link"]} if "link" in response.headers else {}
        return web.json_response({"total_count": len(jobs), "jobs": _page_items(response)}, headers=link)

    async def _job_logs(self, request: web.Request) -> web.Response:
        key = (self._repo(request)["full_name"], request[PARAMS]["job_id"])
        if key not in self._actions_state["logs"]:
            raise NotFound
        token = secrets.token_urlsafe(12)
        self._actions_state["downloads"][token] = key
        return web.Response(status=302, headers={"Location": f"{self.url}{DOWNLOADS}job-logs/{key[1]}?token={token}"})

    async def _download_log(self, request: web.Request) -> web.Response:
        key = self._actions_state["downloads"].pop(request.query.get("token", ""), None)
        if key is None or str(key[1]) != request.match_info["job_id"]:
            return web.Response(status=403, text="expired")
        return web.Response(text=self._actions_state["logs"][key], content_type="text/plain")

    async def _suite_runs(self, request: web.Request) -> web.Response:
        suite = (self._repo(request)["full_name"], request[PARAMS]["check_suite_id"])
        runs = _found(self._actions_state["suites"].get(suite))
        return web.json_response({"total_count": len(runs), "check_runs": runs})

    async def _create_issue(self, request: web.Request) -> web.Response:
        full_name = self._repo(request)["full_name"]
        number = 1 + max((n for name, n in self.issues if name == full_name), default=0)
        issue = self.add_issue(full_name, number, title=request[BODY]["title"], body=request[BODY].get("body"),
                               author=self.bot_login)
        return web.json_response(issue, status=201)


def _page_items(response: web.Response) -> list[dict[str, Any]]:
    """The items of a ``_paginated`` answer (its JSON list body)."""
    return json.loads(response.body)
