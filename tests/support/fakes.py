"""The one shared GitHub transport fake, and test settings.

``FakeGitHubAPI`` replaces only ``_request`` (and ``sleep``) of
``gidgethub.abc.GitHubAPI``, as gidgethub's own tests do with
``MockGitHubAPI``: URL templates, JSON encoding, pagination (``Link``) and
error mapping (``BadRequest`` …) stay gidgethub's real code.

Answers are programmed per method and URL (a full URL, or a path joined to
the base URL; the query string is ignored when no answer names it). Several
answers for one key are given in order and the last one repeats. Anything
not programmed answers ``200 {}``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import gidgethub.abc
import pytest

from config.settings import Settings

BASE_URL = "https://api.github.com"


@dataclass
class Call:
    """One request as gidgethub sent it; ``data`` is the decoded JSON body (or None)."""

    method: str
    url: str
    headers: dict[str, str]
    data: Any

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class FakeGitHubAPI(gidgethub.abc.GitHubAPI):
    """Records every request in ``calls`` and answers from a programmable table."""

    def __init__(self, base_url: str = BASE_URL) -> None:
        super().__init__("scenarioforge-tests", base_url=base_url)
        self.calls: list[Call] = []
        self.answers: dict[tuple[str, str], list[tuple[int, Any, dict[str, str]]]] = {}
        self.slept: list[float] = []

    def answer(self, method: str, url: str, body: Any = None, *, status: int = 200,
               headers: dict[str, str] | None = None) -> None:
        """Queue an answer for ``method url``.

        ``body`` is JSON-encoded (``None`` with status 204 sends no body), or a
        callable ``(call) -> (status, body)``.
        """
        key = (method.upper(), urljoin(self.base_url + "/", url.lstrip("/")) if url.startswith("/") else url)
        self.answers.setdefault(key, []).append((status, body, headers or {}))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Call]:
        """Recorded calls, filtered by method and/or exact path."""
        return [call for call in self.calls
                if (method is None or call.method == method) and (path is None or call.path == path)]

    async def _request(self, method: str, url: str, headers, body: bytes = b""):
        call = Call(method, url, dict(headers), json.loads(body) if body else None)
        self.calls.append(call)
        queue = self.answers.get((method, url)) or self.answers.get((method, url.split("?", 1)[0]))
        if not queue:
            return 200, {"content-type": "application/json"}, b"{}"
        status, answer, extra = queue[0] if len(queue) == 1 else queue.pop(0)
        if callable(answer):
            status, answer = answer(call)
        payload = b"" if answer is None and status == 204 else json.dumps(answer).encode()
        return status, {"content-type": "application/json; charset=utf-8", **extra}, payload

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def make_settings(**overrides: Any) -> Settings:
    """Settings with test values and no ``.env`` file: app 1, secret "secret", min write."""
    values = {"app_id": 1, "webhook_secret": "secret", "min_permission": "write",
              "github_api_url": BASE_URL, **overrides}
    return Settings(_env_file=None, **values)


@pytest.fixture
def fake_gh() -> FakeGitHubAPI:
    return FakeGitHubAPI()


@pytest.fixture
def settings() -> Settings:
    return make_settings()
