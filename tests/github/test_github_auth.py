"""GitHub App auth and the client's rate-limit handling, against the local GitHub server."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import gidgethub
import jwt
import pytest

from bot import metrics
from bot.github.client import TOKEN_RENEW_BEFORE_S, GitHubClient, rate_limit_delay

MINT = "POST /app/installations/{installation_id}/access_tokens"
GET_REPO = "GET /repos/{owner}/{repo}"
INSTALLATION = 7


@pytest.fixture
def repo(github_server):
    return github_server.add_repo("octo-org/hello", installation_id=INSTALLATION)


def record_sleeps(gh) -> list[float]:
    """Replace the client's sleep with one that only records the seconds asked for."""
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    gh.sleep = sleep
    return sleeps


def test_app_jwt_is_backdated_60_s_and_expires_within_9_minutes(github_auth, app_keys):
    before = int(time.time())
    token = github_auth.app_jwt()
    after = int(time.time())
    claims = jwt.decode(token, app_keys.public_pem, algorithms=["RS256"])
    assert claims["iss"] == str(app_keys.app_id)
    assert before - 60 <= claims["iat"] <= after - 60
    assert claims["exp"] - claims["iat"] == 600
    assert claims["exp"] <= after + 540


async def test_app_client_authenticates_with_the_jwt(github_auth, github_server, app_keys):
    app = await github_auth.app_client().getitem("/app")
    assert app["id"] == app_keys.app_id
    assert github_server.calls("GET /app")[0].authorization.startswith("bearer ")


async def test_token_is_minted_once_and_reused(github_auth, github_server, repo):
    first = await github_auth.installation_token(INSTALLATION)
    second = await github_auth.installation_token(INSTALLATION)
    assert first == second
    assert len(github_server.calls(MINT)) == 1


async def test_token_is_renewed_five_minutes_before_expiry(github_auth, github_server, github_clock, repo):
    github_server.token_lifetime_s = 3600
    first = await github_auth.installation_token(INSTALLATION)
    github_clock.advance(3600 - TOKEN_RENEW_BEFORE_S - 10)
    assert await github_auth.installation_token(INSTALLATION) == first
    github_clock.advance(11)
    renewed = await github_auth.installation_token(INSTALLATION)
    assert renewed != first
    assert len(github_server.calls(MINT)) == 2


async def test_concurrent_callers_share_one_mint(github_auth, github_server, repo):
    tokens = await asyncio.gather(*(github_auth.installation_token(INSTALLATION) for _ in range(8)))
    assert len(set(tokens)) == 1
    assert len(github_server.calls(MINT)) == 1


async def test_installations_have_their_own_tokens(github_auth, github_server, repo):
    github_server.add_repo("other/repo", installation_id=8)
    assert await github_auth.installation_token(INSTALLATION) != await github_auth.installation_token(8)


async def test_installation_client_mints_lazily_on_first_request(github_auth, github_server, repo):
    gh = github_auth.installation_client(INSTALLATION)
    assert github_server.requests == []
    assert (await gh.getitem("/repos/octo-org/hello"))["full_name"] == "octo-org/hello"
    await gh.getitem("/repos/octo-org/hello")
    assert [r.route for r in github_server.requests] == [MINT, GET_REPO, GET_REPO]
    assert github_server.calls(GET_REPO)[0].authorization.startswith("token ghs_")


async def test_unknown_installation_surfaces_githubs_404(github_auth, github_server):
    with pytest.raises(gidgethub.BadRequest) as raised:
        await github_auth.installation_token(99)
    assert raised.value.status_code == 404


@pytest.mark.parametrize("status", [403, 429])
async def test_secondary_rate_limit_is_waited_out(github_auth, github_server, repo, status):
    github_server.secondary_rate_limit(GET_REPO, retry_after=7, status=status, times=2)
    gh = github_auth.installation_client(INSTALLATION)
    sleeps = record_sleeps(gh)
    assert (await gh.getitem("/repos/octo-org/hello"))["name"] == "hello"
    assert sleeps == [7.0, 7.0]
    assert [r.status for r in github_server.calls(GET_REPO)] == [status, status, 200]


async def test_retries_are_bounded(github_auth, github_server, repo):
    github_server.secondary_rate_limit(GET_REPO, retry_after=1, times=5)
    gh = github_auth.installation_client(INSTALLATION)
    sleeps = record_sleeps(gh)
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.getitem("/repos/octo-org/hello")
    assert raised.value.status_code == 403
    assert "secondary rate limit" in str(raised.value)
    assert sleeps == [1.0, 1.0, 1.0]
    assert len(github_server.calls(GET_REPO)) == 4


async def test_primary_limit_waits_until_reset(github_auth, github_server, github_clock, repo):
    reset = int(github_clock.now) + 30
    github_server.fail_next(GET_REPO, status=403, message="API rate limit exceeded", headers={
        "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset),
    })
    gh = github_auth.installation_client(INSTALLATION)
    sleeps = record_sleeps(gh)
    await gh.getitem("/repos/octo-org/hello")
    assert sleeps == [30.0]


async def test_a_wait_beyond_the_cap_raises_at_once(github_auth, github_server, github_clock, repo):
    github_server.fail_next(GET_REPO, status=403, message="API rate limit exceeded", headers={
        "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(github_clock.now) + 3600),
    })
    gh = github_auth.installation_client(INSTALLATION)
    sleeps = record_sleeps(gh)
    with pytest.raises(gidgethub.RateLimitExceeded):
        await gh.getitem("/repos/octo-org/hello")
    assert sleeps == []


async def test_a_plain_403_is_not_retried(github_auth, github_server, repo):
    github_server.fail_next(GET_REPO, status=403, message="Resource not accessible by integration")
    gh = github_auth.installation_client(INSTALLATION)
    sleeps = record_sleeps(gh)
    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem("/repos/octo-org/hello")
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "headers", "delay"),
    [
        (403, {"retry-after": "5"}, 5.0),
        (429, {"retry-after": "0"}, 0.0),
        (429, {}, 60.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010"}, 10.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "990"}, 0.0),
        (403, {"x-ratelimit-remaining": "12", "x-ratelimit-reset": "1010"}, None),
        (404, {"retry-after": "5"}, None),
    ],
)
def test_rate_limit_delay(status, headers, delay):
    assert rate_limit_delay(status, headers, now=1000.0) == delay


async def test_calls_are_counted_by_status(github_auth, github_server, repo):
    def count(status: str) -> float:
        return metrics.REGISTRY.get_sample_value("scenarioforge_github_calls_total", {"status": status}) or 0.0

    ok, created, missing = count("200"), count("201"), count("404")
    gh = github_auth.installation_client(INSTALLATION)
    await gh.getitem("/repos/octo-org/hello")
    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem("/repos/octo-org/nope")
    assert (count("200") - ok, count("201") - created, count("404") - missing) == (1, 1, 1)


async def test_calls_without_an_answer_are_counted_as_errors(unused_tcp_port):
    before = metrics.REGISTRY.get_sample_value("scenarioforge_github_calls_total", {"status": "error"}) or 0.0
    async with aiohttp.ClientSession() as session:
        gh = GitHubClient(session, base_url=f"http://127.0.0.1:{unused_tcp_port}")
        with pytest.raises(aiohttp.ClientConnectionError):
            await gh.getitem("/app")
    after = metrics.REGISTRY.get_sample_value("scenarioforge_github_calls_total", {"status": "error"})
    assert after - before == 1
