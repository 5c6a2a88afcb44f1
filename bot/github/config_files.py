"""Read a repository's effective config from GitHub: the org file, ``_extends`` bases, its own file.

Files come from "Get repository content"
(https://docs.github.com/rest/repos/contents#get-repository-content) on each
repository's DEFAULT branch, never a pull request's head (which anyone who
opens a PR controls, a fork's author included). The org file is
``.github/scenarioforge.yml`` in the owner's ``.github`` repository
(Probot's convention); merging and provenance are ``config.org``. Nothing is
cached, so one repository's file can never be served to another.
"""
from __future__ import annotations

import base64
import time
from dataclasses import replace

import gidgethub
from gidgethub.abc import GitHubAPI

from bot.domain.policy import effective_policy
from bot.github.client import rate_limit_delay
from config.org import (
    EXTENDS,
    EXTENDS_BASE,
    ORG_FILE,
    ORG_REPO,
    REPOSITORY_FILE,
    Effective,
    Layer,
    effective,
    parse_extends,
    parse_layer,
    source_name,
)
from config.repo import CONFIG_PATH

#: ``{+path}`` keeps the slashes of the path. Without ``ref`` GitHub reads the default branch.
CONTENTS = "/repos/{owner}/{repo}/contents/{+path}"
#: How many ``_extends`` hops one file may take (a cycle stops earlier).
MAX_EXTENDS = 3


async def file_text(gh: GitHubAPI, repository: str, path: str) -> tuple[str | None, str | None]:
    """``(text, None)`` of ``path`` on ``repository``'s default branch, ``(None, None)`` when there is
    none (404), ``(None, error)`` when it is not a readable UTF-8 file: a directory, a symlink or a
    submodule, a file GitHub does not return inline (over 1 MB), content that is not base64 or not
    UTF-8, or a refusal (a 4xx other than 404, e.g. 403 "Resource not accessible by integration").
    Rate limits (``gidgethub.RateLimitExceeded``, or a 403/429 ``rate_limit_delay`` recognises) and
    5xx (``gidgethub.GitHubBroken``) propagate, for the worker to retry."""
    owner, repo = repository.split("/", 1)
    name = source_name(repository, path)
    try:
        answer = await gh.getitem(CONTENTS, url_vars={"owner": owner, "repo": repo, "path": path})
    except gidgethub.BadRequest as exc:
        message = str(exc.args[0]) if exc.args else ""
        if exc.status_code == 404:
            return None, None
        if isinstance(exc, gidgethub.RateLimitExceeded) or rate_limit_delay(
                exc.status_code, exc.headers, now=time.time(), message=message) is not None:
            raise
        return None, f"{name}: GitHub refused to read it ({exc.status_code}: {message})"
    kind = "directory" if isinstance(answer, list) else answer.get("type") if isinstance(answer, dict) else None
    if kind != "file":
        return None, f"{name}: a {kind or 'non-file'}, not a file"
    if answer.get("encoding") != "base64" or not isinstance(answer.get("content"), str):
        return None, f"{name}: GitHub does not return its content inline (over 1 MB?)"
    try:
        return base64.b64decode("".join(answer["content"].split()), validate=True).decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"{name}: not valid UTF-8 ({exc})"
    except ValueError as exc:  # binascii.Error
        return None, f"{name}: its content is not base64 ({exc})"


async def _chain(gh: GitHubAPI, repository: str, path: str, *, org: bool, missing: str | None = None) -> list[Layer]:
    """The layers of one file (``ORG_FILE`` or ``REPOSITORY_FILE`` by ``org``) and its ``_extends``
    bases (``EXTENDS_BASE``), weakest first (empty when it does not exist), marked ``org`` when they
    are the org file's or lie in the org's ``.github`` repository (a repository file may extend
    the org file). A cycle (repository names compared case-insensitively, as GitHub does) or more
    than ``MAX_EXTENDS`` hops ends the chain with an error. The errors of a file in another
    repository than ``repository`` never quote its text (``config.org.parse_layer``, ``quote``).

    ``missing`` is the error of a file that must exist (an ``_extends`` target)."""
    layers: list[Layer] = []
    owner = repository.split("/", 1)[0]
    home, configured = f"{owner}/{ORG_REPO}".lower(), repository.lower()
    seen: set[tuple[str, str]] = set()
    kind = ORG_FILE if org else REPOSITORY_FILE
    while True:
        name, trusted = source_name(repository, path), org or repository.lower() == home
        text, error = await file_text(gh, repository, path)
        if text is None:
            if error or missing:
                layers.insert(0, Layer(name, None, error or missing, org=trusted, kind=kind))
            return layers
        layer = replace(parse_layer(name, text, quote=repository.lower() == configured), org=trusted, kind=kind)
        seen.add((repository.lower(), path))
        layers.insert(0, layer)
        if layer.extends is None:
            return layers
        try:
            repository, path = parse_extends(layer.extends, owner)
        except ValueError as exc:
            layers[0] = Layer(name, None, f"{name}: {exc}", org=trusted, kind=kind)
            return layers
        target = source_name(repository, path)
        problem = ("makes a cycle" if (repository.lower(), path) in seen
                   else f"is one hop more than {MAX_EXTENDS}" if len(seen) > MAX_EXTENDS else None)
        if problem:
            layers.insert(0, Layer(target, None, f"{name}: {EXTENDS} {target} {problem}; it is not read",
                                   org=trusted, kind=EXTENDS_BASE))
            return layers
        kind = EXTENDS_BASE
        missing = f"{name}: {EXTENDS} names {target}, which does not exist or cannot be read by this App"
        owner = repository.split("/", 1)[0]


async def load_effective(gh: GitHubAPI, repository: str) -> Effective:
    """The effective config of ``repository`` (``owner/name``): defaults ← org file ← the repository's
    file, each with its ``_extends`` bases (``config.org.effective``). A file whose ``policy:`` does
    not resolve over the files under it (``bot.domain.policy.effective_policy``: an unknown rule or
    pack) is left out whole like any invalid file, so the org's policy still applies."""
    owner = repository.split("/", 1)[0]
    org = f"{owner}/{ORG_REPO}"
    layers = await _chain(gh, org, CONFIG_PATH, org=True) if repository != org else []
    layers += await _chain(gh, repository, CONFIG_PATH, org=repository == org)
    return effective(layers, check=lambda config: effective_policy(config.policy))
