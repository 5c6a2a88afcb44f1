"""The ``ScenarioForge / CI`` check run: a failed CI run's jobs and steps, and the **Fix CI failure** button.

Posted on the failing head SHA when ``ci.on_failure`` is ``button`` (or ``auto`` on a pull
request from a fork, which never gets an automatic run). It is completed at once with
conclusion ``action_required`` — "additional details should be provided on the site
specified by ``details_url``": the workflow run's page — and one requested action
(https://docs.github.com/rest/checks/runs#check-runs-and-requested-actions: label ≤ 20
characters, description ≤ 40, identifier ≤ 20). ``external_id`` is ``ci-failure:<id>``, the
stored failure (``storage.models.CIFailure``) that the click (``handlers.check_run``)
starts a fix run for.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gidgethub.abc import GitHubAPI

from bot.github import checks

CHECK_NAME = "ScenarioForge / CI"
FIX_CI_ACTION = {"label": "Fix CI failure", "description": "Reproduce offline, fix, open a draft PR",
                 "identifier": "fix-ci"}
EXTERNAL_PREFIX = "ci-failure:"


def span(text: str) -> str:
    """CI-provided text (workflow, job and step names) as a code span: no Markdown, no @mention."""
    return "`" + text.replace("`", "'").replace("\n", " ") + "`"


def jobs_list(jobs: Sequence[dict[str, Any]]) -> str:
    """One Markdown line per failed job naming its failed steps (names are CI data: in code spans)."""
    lines = [f"- job [{span(job['name'])}]({job['html_url']})" if job.get("html_url") else f"- job {span(job['name'])}"
             for job in jobs]
    return "\n".join(line + (f": failed step {', '.join(span(step) for step in job['steps'])}" if job["steps"]
                             else "") for line, job in zip(lines, jobs, strict=True)) or "- (GitHub listed no failed job)"


def button_output(workflow: str, url: str, head_sha: str, jobs: Sequence[dict[str, Any]], *,
                  note: str | None = None) -> checks.Output:
    """The button check run's output: what failed where, what the button does, ``note`` if any."""
    summary = "\n\n".join(part for part in (
        f"The CI run [{span(workflow or 'workflow run')}]({url}) failed on `{head_sha[:12]}`.",
        jobs_list(jobs),
        "**Fix CI failure** reads the failed jobs' logs, reproduces the failing step offline in a fresh "
        "checkout, lets Codex fix it, reruns the step to prove the fix and opens a draft pull request with "
        "the output before and after.",
        note) if part)
    return checks.Output(f"CI failed: {len(jobs)} failed job(s)", summary)


async def post_button(gh: GitHubAPI, repository: str, *, failure_id: int, head_sha: str, workflow: str,
                      url: str, jobs: Sequence[dict[str, Any]], note: str | None = None) -> checks.CheckRun:
    """Create the completed ``action_required`` check run with the button on ``head_sha``."""
    check = await checks.start(gh, repository, name=CHECK_NAME, head_sha=head_sha, details_url=url or None,
                               external_id=f"{EXTERNAL_PREFIX}{failure_id}")
    await check.complete("action_required", button_output(workflow, url, head_sha, jobs, note=note),
                         actions=[FIX_CI_ACTION])
    return check


def failure_id_of(external_id: str | None) -> int | None:
    """The stored failure id a button check run's ``external_id`` names, else ``None``."""
    rest = (external_id or "").removeprefix(EXTERNAL_PREFIX)
    return int(rest) if external_id and external_id.startswith(EXTERNAL_PREFIX) and rest.isdigit() else None
