"""Issue 14: a payload whose URLs name another host never receives the installation token.

The "other host" is a second local server that records every request; the
payload's ``comment.url`` and ``issue.comments_url`` point at it. The bot
rebuilds those URLs from the configured API base, and its client refuses any
absolute URL outside that base before sending anything.
"""
from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from gidgethub.sansio import Event

from bot.errors import GitHubError
from bot.github import messages
from bot.github.client import GitHubClient
from bot.github.urls import api_url, under_base
from handlers import router
from tests.support.fakes import make_settings
from tests.support.webhooks import load_payload

REPO = "Codertocat/Hello-World"


@pytest.fixture
async def other_host(aiohttp_server):
    """A server on another port that answers everything and keeps what it was sent."""
    seen: list[tuple[str, str | None]] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append((request.path, request.headers.get("authorization")))
        return web.json_response({"id": 1}, status=201)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    server = await aiohttp_server(app)
    server.seen = seen
    return server


async def test_a_command_whose_payload_names_another_host_is_answered_on_github_only(
        github_server, github_auth, database, app_keys, other_host):
    data = github_server.adopt_payload(load_payload("issue_comment.created.4.json"))
    data["comment"]["body"] = "/scenarioforge help"
    github_server.add_comment(REPO, 1, "/scenarioforge help", comment_id=data["comment"]["id"] + 1)
    data["comment"]["id"] += 1
    evil = str(other_host.make_url(""))
    data["comment"]["url"] = f"{evil}/repos/{REPO}/issues/comments/{data['comment']['id']}"
    data["issue"]["comments_url"] = f"{evil}/repos/{REPO}/issues/1/comments"
    github_server.set_permission(REPO, data["comment"]["user"]["login"], "write")
    settings = make_settings(app_id=app_keys.app_id, github_api_url=github_server.url)

    await router.dispatch(Event(data, event="issue_comment", delivery_id="d-evil"),
                          github_auth.installation_client(1), db=database, settings=settings,
                          auth=github_auth, delivery_id="d-evil", wake=lambda: None)

    assert other_host.seen == []
    assert [c["body"] for c in github_server.comments(REPO, 1)][-1] == messages.help_text()
    assert [r["content"] for r in github_server.reactions(data["comment"]["id"])] == ["eyes"]


async def test_the_client_refuses_an_absolute_url_outside_its_base(other_host):
    sent: list[str] = []

    async def authorization() -> str:
        sent.append("asked")
        return "token secret"

    async with aiohttp.ClientSession() as session:
        gh = GitHubClient(session, base_url="https://ghe.example.com/api/v3", authorization=authorization)
        with pytest.raises(GitHubError, match="refusing to send GitHub credentials"):
            await gh.getitem(str(other_host.make_url("/repos/a/b")))
    assert (sent, other_host.seen) == ([], [])


@pytest.mark.parametrize(("url", "inside"), [
    ("https://ghe.example.com/api/v3/repos/a/b", True),
    ("https://ghe.example.com/api/v3", True),
    ("https://ghe.example.com/api/v3evil/repos/a/b", False),  # a path that only starts like the base
    ("https://ghe.example.com/repos/a/b", False),
    ("http://ghe.example.com/api/v3/repos/a/b", False),  # another scheme
    ("https://ghe.example.com:8443/api/v3/repos/a/b", False),  # another port
    ("https://ghe.example.com.evil.net/api/v3/repos", False),
    ("https://ghe.example.com@evil.net/api/v3/repos", False),  # userinfo: the host is evil.net
    ("https://user@ghe.example.com/api/v3/repos", False),
    ("/repos/a/b", False),
    ("https://GHE.EXAMPLE.COM/api/v3/repos/a/b", True),  # host names are case-insensitive
    ("https://ghe.example.com:443/api/v3/repos/a/b", True),  # the default port spelt out
    ("https://ghe.example.com/API/V3/repos/a/b", False),
    ("https://ghe.example.com/api/v3/../repos/a/b", False),
    ("https://ghe.example.com/api/v3/%2e%2e/%2E%2E/x", False),
    ("https://ghe.example.com/api/v3/..%2f..%2fx", False),  # decodes to /api/v3/../../x
    ("https://ghe.example.com/api/v3/repos/%2e%2e%2fx", False),
    ("https://ghe.example.com./api/v3/repos/a/b", False),  # another host name
    ("https://evil.net#@ghe.example.com/api/v3/repos", False),
    ("https://ghe.example.com\\@evil.net/api/v3/repos", False),
])
def test_under_base(url, inside):
    assert under_base(url, "https://ghe.example.com/api/v3/") is inside


def test_a_foreign_payload_url_is_rebuilt_from_the_base():
    base = "https://ghe.example.com/api/v3"
    assert api_url("https://evil.net/api/v3/x", base, "rebuilt") == "rebuilt"
    assert api_url(None, base, "rebuilt") == "rebuilt"
    assert api_url(f"{base}/x", base, "rebuilt") == f"{base}/x"
