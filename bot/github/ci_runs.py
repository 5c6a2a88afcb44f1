"""What GitHub says about a failed CI run: its failed jobs and their logs (the Actions API edge).

Endpoints: "List jobs for a workflow run"
(https://docs.github.com/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run, ``filter=latest``:
the jobs of the latest attempt), "Download job logs for a workflow run"
(https://docs.github.com/rest/actions/workflow-jobs#download-job-logs-for-a-workflow-run: a 302 to
a short-lived plain-text URL, which the HTTP client follows) and, for a check suite of another CI
app, "List check runs in a check suite"
(https://docs.github.com/rest/checks/runs#list-check-runs-in-a-check-suite), whose failed runs'
``output`` is all the log there is. All need ``actions: read`` / ``checks: read``.
"""
from __future__ import annotations

from typing import Any

from gidgethub.abc import GitHubAPI

JOBS = "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs{?filter,per_page}"
JOB_LOGS = "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"
SUITE_RUNS = "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs{?filter,per_page}"
#: Conclusions that make a job (or a check run, a workflow run) failed.
FAILED = frozenset({"failure", "timed_out", "startup_failure"})


def _names(repository: str) -> dict[str, str]:
    owner, repo = repository.split("/", 1)
    return {"owner": owner, "repo": repo}


async def failed_jobs(gh: GitHubAPI, repository: str, run_id: int) -> list[dict[str, Any]]:
    """The failed jobs of workflow run ``run_id``'s latest attempt as ``{"id", "name", "html_url",
    "steps": [names of the failed steps]}``, in GitHub's order."""
    found = []
    async for job in gh.getiter(JOBS, url_vars={**_names(repository), "run_id": str(run_id), "filter": "latest",
                                                "per_page": "100"}, iterable_key="jobs"):
        if job.get("conclusion") in FAILED:
            steps = [step["name"] for step in job.get("steps") or [] if step.get("conclusion") in FAILED]
            found.append({"id": job["id"], "name": job["name"], "html_url": job.get("html_url") or "",
                          "steps": steps})
    return found


async def failed_suite_runs(gh: GitHubAPI, repository: str, suite_id: int) -> list[dict[str, Any]]:
    """The failed check runs of check suite ``suite_id`` in the shape of :func:`failed_jobs`, with
    their ``output`` (title, summary and text joined) as ``log``."""
    found = []
    async for check in gh.getiter(SUITE_RUNS, url_vars={**_names(repository), "check_suite_id": str(suite_id),
                                                        "filter": "latest", "per_page": "100"},
                                  iterable_key="check_runs"):
        if check.get("conclusion") in FAILED:
            output = check.get("output") or {}
            log = "\n\n".join(part for part in (output.get("title"), output.get("summary"), output.get("text"))
                              if part)
            found.append({"id": check["id"], "name": check["name"], "html_url": check.get("html_url") or "",
                          "steps": [], "log": log})
    return found


async def job_log(gh: GitHubAPI, repository: str, job_id: int) -> str:
    """The plain-text log of job ``job_id`` (followed through GitHub's redirect)."""
    answer = await gh.getitem(JOB_LOGS, url_vars={**_names(repository), "job_id": str(job_id)})
    return answer if isinstance(answer, str) else str(answer or "")
