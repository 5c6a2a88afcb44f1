"""May this GitHub user run ScenarioForge commands on this repository?

The actor's role comes from "Get repository permissions for a user"
(``GET /repos/{owner}/{repo}/collaborators/{username}/permission``,
https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user)
and must reach ``Settings.min_permission`` in ``PERMISSION_ORDER``. The check
fails closed: any API or transport error refuses.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import gidgethub
from gidgethub.abc import GitHubAPI

from bot.errors import GitHubError
from config.settings import PERMISSION_ORDER


@dataclass(frozen=True)
class Decision:
    """The outcome of a permission check.

    ``permission`` is the actor's role (``None`` when the check failed);
    ``error`` is the upstream error text when it failed.
    """

    allowed: bool
    required: str
    permission: str | None = None
    error: str | None = None


def rank(role: str | None) -> int:
    """Position of ``role`` in ``PERMISSION_ORDER``; -1 for unknown (e.g. custom) roles."""
    return PERMISSION_ORDER.index(role) if role in PERMISSION_ORDER else -1


async def check(gh: GitHubAPI, repository: str, login: str, required: str) -> Decision:
    """Check ``login``'s permission on ``repository`` (``owner/name``) against ``required``.

    ``role_name`` distinguishes triage and maintain; a custom role falls back
    to the base ``permission`` (admin | write | read | none) GitHub returns beside it.
    """
    owner, repo = repository.split("/", 1)
    try:
        answer = await gh.getitem(
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            url_vars={"owner": owner, "repo": repo, "username": login},
        )
    except (gidgethub.GitHubException, GitHubError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return Decision(allowed=False, required=required, error=str(exc) or type(exc).__name__)
    role = max((answer.get("role_name"), answer.get("permission")), key=rank)
    return Decision(allowed=rank(role) >= rank(required), required=required, permission=role or "none")
