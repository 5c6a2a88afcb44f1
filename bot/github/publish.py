"""Publish files as the bot: commit on a branch, push with the installation token, one draft PR.

The bot, never the agent, commits and pushes (DESIGN.md "Engine": Codex
never sees the installation token). Commits are authored and committed by
the App's bot identity, with a ``Co-authored-by`` trailer for the person who
asked (https://docs.github.com/pull-requests/committing-changes-to-your-project/creating-and-editing-commits/creating-a-commit-with-multiple-authors).

A published branch is always "the run's commit plus the bot's own commits":
when the remote branch already holds the run's commit and nothing but bot
commits on top, the new commit goes on top (reviewers see one commit per
revision); otherwise the branch is rebuilt on the run's commit and pushed
with ``--force-with-lease`` (``bot.workspace.worktrees.push``).

Pull requests (https://docs.github.com/rest/pulls/pulls): ONE open pull
request per branch, found by ``head=owner:branch`` and updated in place;
created as a draft otherwise. Review is requested from the requester
("Request reviewers for a pull request",
https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request);
GitHub refuses the pull request's author and non-collaborators with 422,
which is reported, not raised.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gidgethub
from gidgethub.abc import GitHubAPI

from bot.errors import GitError
from bot.workspace.git import git
from bot.workspace.worktrees import Workspace, push

BOT_NAME = "scenarioforge[bot]"
BOT_EMAIL = "scenarioforge[bot]@users.noreply.github.com"
PULLS = "/repos/{owner}/{repo}/pulls"
PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"
REVIEWERS = "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"


@dataclass(frozen=True)
class Published:
    """Where files went: ``branch`` at ``commit_sha`` and its pull request (GitHub's JSON).

    ``created``: the pull request is new; ``review_note``: why review could not be requested.
    """

    branch: str
    base: str
    commit_sha: str
    pull: dict[str, Any]
    created: bool
    review_note: str | None = None

    def file_url(self, path: str) -> str:
        """The page of ``path`` on the branch on GitHub."""
        return f"{self.pull['head']['repo']['html_url']}/blob/{self.branch}/{path}"


def co_author(login: str) -> str:
    """The ``Co-authored-by`` trailer of a GitHub user (their no-reply address)."""
    return f"Co-authored-by: {login} <{login}@users.noreply.github.com>"


def _names(repository: str) -> dict[str, str]:
    owner, repo = repository.split("/", 1)
    return {"owner": owner, "repo": repo}


async def _ref(workspace: Workspace, ref: str) -> str | None:
    """The commit ``ref`` points at in the mirror, or ``None``."""
    try:
        return (await git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=workspace.path)).strip()
    except GitError:
        return None


async def base_branch(workspace: Workspace, *, head: str | None = None) -> str:
    """The branch a pull request from ``head`` should target: the run's branch when the
    repository has it (a fork's pull request head does not) and it is not ``head`` itself,
    else the default branch (the mirror's ``HEAD``)."""
    if workspace.ref and workspace.ref != head and await _ref(workspace, f"refs/heads/{workspace.ref}"):
        return workspace.ref
    return (await git("symbolic-ref", "--short", "HEAD", cwd=workspace.mirror)).strip()


async def branch_parent(workspace: Workspace, branch: str) -> tuple[str, bool]:
    """``(parent, force)`` for the next commit on ``branch`` (see the module docstring)."""
    tip = await _ref(workspace, f"refs/heads/{branch}")
    if tip is None:
        return workspace.sha, False
    try:
        await git("merge-base", "--is-ancestor", workspace.sha, tip, cwd=workspace.path)
    except GitError:  # exit 1: the run's commit is not on the branch
        return workspace.sha, True
    authors = (await git("log", "--format=%an", f"{workspace.sha}..{tip}", cwd=workspace.path)).split("\n")
    if all(author in ("", BOT_NAME) for author in authors):
        return tip, False
    return workspace.sha, True


async def commit(workspace: Workspace, paths: Sequence[str], *, message: str, parent: str | None = None) -> str:
    """Commit ``paths`` as they are in the worktree (added, changed or deleted) on top of ``parent``
    (default: the worktree's ``HEAD``) as the bot; returns the new commit's SHA.

    Only ``HEAD`` and the index move; other files of the worktree stay as they are. The
    paths are named explicitly, so they are committed even where ``.gitignore`` matches.

    Raises:
        GitError: git refused (e.g. nothing changed).
    """
    context = {"repository": workspace.repository}
    identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    if parent is not None:
        await git("reset", "--quiet", parent, cwd=workspace.path, **context)
    await git("add", "--all", "--force", "--", *paths, cwd=workspace.path, **context)
    await git(*identity, "commit", "--quiet", "--no-verify", "--message", message, cwd=workspace.path, **context)
    return (await git("rev-parse", "HEAD", cwd=workspace.path, **context)).strip()


async def _holds(workspace: Workspace, commit_sha: str, paths: Sequence[str]) -> bool:
    """True when every file of ``paths`` in the worktree is the blob ``commit_sha`` has there."""
    context = {"cwd": workspace.path, "repository": workspace.repository}
    for path in paths:
        try:
            committed = (await git("rev-parse", "--verify", "--quiet", f"{commit_sha}:{path}", **context)).strip()
        except GitError:  # not in that commit
            return False
        if committed != (await git("hash-object", "--no-filters", "--", path, **context)).strip():
            return False
    return True


async def fork_pull(gh: GitHubAPI, repository: str, number: int) -> dict[str, Any] | None:
    """Pull request ``number`` of ``repository`` (GitHub's JSON) when its head lives in another
    repository — a fork, or a deleted one (``head.repo`` null) — else ``None``
    (GET /repos/{owner}/{repo}/pulls/{pull_number}, https://docs.github.com/rest/pulls/pulls#get-a-pull-request).

    The App never pushes to a fork: a fix for a fork's pull request goes on a bot
    branch of ``repository`` against the pull request's base branch (issue 14).
    """
    pull = await gh.getitem(PULL, url_vars={**_names(repository), "pull_number": str(number)})
    head_repo = pull["head"].get("repo") or {}
    return pull if head_repo.get("full_name") != repository else None


def fork_note(pull: Mapping[str, Any], branch: str) -> str:
    """The fix PR's paragraph naming the fork's pull request, its author and where the fix lives."""
    source = (pull["head"].get("repo") or {}).get("full_name") or "a deleted fork"
    return (f"Proposed for #{pull['number']} by @{pull['user']['login']} (from `{source}`): the App never pushes "
            f"to a fork, so this fix is on `{branch}` of this repository, against `{pull['base']['ref']}`.")


async def open_or_update_pull(
    gh: GitHubAPI, repository: str, *, branch: str, base: str, title: str, body: str,
) -> tuple[dict[str, Any], bool]:
    """The open pull request from ``branch`` with ``title``, ``body`` and ``base`` set, created as
    a draft if there is none. Returns ``(pull, created)``."""
    names = _names(repository)
    existing = await _find_pull(gh, repository, branch)
    if existing is None:
        try:
            pull = await gh.post(PULLS, url_vars=names, data={
                "title": title, "head": branch, "base": base, "body": body, "draft": True})
            return pull, True
        except gidgethub.BadRequest as exc:  # 422: another run opened it meanwhile
            existing = await _find_pull(gh, repository, branch) if exc.status_code == 422 else None
            if existing is None:
                raise
    changes: dict[str, Any] = {"title": title, "body": body}
    if existing["base"]["ref"] != base:
        changes["base"] = base
    pull = await gh.patch(PULL, url_vars={**names, "pull_number": str(existing["number"])}, data=changes)
    return pull, False


async def _find_pull(gh: GitHubAPI, repository: str, branch: str) -> dict[str, Any] | None:
    names = _names(repository)
    query = {"head": f"{names['owner']}:{branch}", "state": "open"}
    async for pull in gh.getiter(PULLS + "{?head,state}", url_vars={**names, **query}):
        return pull
    return None


async def request_review(gh: GitHubAPI, repository: str, pull: dict[str, Any], login: str) -> str | None:
    """Ask ``login`` to review ``pull``; returns why not (author, or GitHub's 422 message) or ``None``."""
    if login == pull["user"]["login"]:
        return f"@{login} opened the pull request and cannot review it"
    if any(user["login"] == login for user in pull.get("requested_reviewers") or []):
        return None
    try:
        await gh.post(REVIEWERS, url_vars={**_names(repository), "pull_number": str(pull["number"])},
                      data={"reviewers": [login]})
    except gidgethub.BadRequest as exc:
        if exc.status_code != 422:
            raise
        return f"review could not be requested from @{login}: {exc}"
    return None


async def publish_files(
    gh: GitHubAPI,
    workspace: Workspace,
    token: str | None,
    *,
    files: Mapping[str, str],
    branch: str,
    message: str,
    title: str,
    body: str,
    requester: str,
) -> Published:
    """Write ``files`` (repository path → text) into the worktree, commit them as the bot on
    ``branch`` (see :func:`branch_parent`), push with ``token``, open or update the branch's
    draft pull request and request ``requester``'s review.

    Raises:
        GitError: commit or push failed (git's stderr unchanged).
        gidgethub.GitHubException: GitHub refused the pull request.
    """
    for path, text in files.items():
        target = workspace.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    parent, force = await branch_parent(workspace, branch)
    if parent != workspace.sha and await _holds(workspace, parent, list(files)):
        sha = parent  # a retried step: the branch already carries these files, pushed by the first attempt
    else:
        sha = await commit(workspace, list(files), message=f"{message}\n\n{co_author(requester)}", parent=parent)
        await push(workspace, branch, token, force=force)
    base = await base_branch(workspace, head=branch)
    pull, created = await open_or_update_pull(gh, workspace.repository, branch=branch, base=base,
                                              title=title, body=body)
    note = await request_review(gh, workspace.repository, pull, requester)
    return Published(branch=branch, base=base, commit_sha=sha, pull=pull, created=created, review_note=note)
