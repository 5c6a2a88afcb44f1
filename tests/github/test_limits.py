"""GitHub's limits and malformed ids (issue 9), against the local GitHub server; no test really waits."""
from __future__ import annotations

import gidgethub
import pytest

from bot.github.client import rate_limit_delay, require_id
from tests.github.test_github_auth import GET_REPO, INSTALLATION, MINT, record_sleeps

SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


@pytest.fixture
def repo(github_server):
    return github_server.add_repo("octo-org/hello", installation_id=INSTALLATION)


async def test_a_secondary_limit_without_retry_after_waits_a_minute_then_backs_off(github_auth, github_server,
                                                                                 repo):
    github_server.fail_next(GET_REPO, status=403, times=3, message=SECONDARY)
    gh = github_auth.installation_client(INSTALLATION)
    sleeps = record_sleeps(gh)
    assert (await gh.getitem("/repos/octo-org/hello"))["name"] == "hello"
    assert sleeps == [60.0, 120.0, 240.0]
    assert [r.status for r in github_server.calls(GET_REPO)] == [403, 403, 403, 200]


async def test_the_secondary_backoff_is_bounded(github_auth, github_server, repo):
    github_server.fail_next(GET_REPO, status=403, times=5, message=SECONDARY)
    gh = github_auth.installation_client(INSTALLATION)
    sleeps = record_sleeps(gh)
    with pytest.raises(gidgethub.BadRequest, match="secondary rate limit"):
        await gh.getitem("/repos/octo-org/hello")
    assert sleeps == [60.0, 120.0, 240.0]


@pytest.mark.parametrize(("attempt", "delay"), [(1, 60.0), (2, 120.0), (3, 240.0), (6, 240.0)])
def test_secondary_delay_doubles_from_one_minute(attempt, delay):
    assert rate_limit_delay(403, {}, now=0.0, message=SECONDARY, attempt=attempt) == delay
    assert rate_limit_delay(403, {}, now=0.0, message="Resource not accessible", attempt=attempt) is None


@pytest.mark.parametrize("bad", [1.5, True, "7", 0, -3, None])
async def test_an_id_that_is_not_a_positive_integer_never_reaches_a_url(github_auth, github_server, repo, bad):
    with pytest.raises(ValueError, match="installation id must be a positive integer"):
        await github_auth.installation_token(bad)
    with pytest.raises(ValueError, match="installation id must be a positive integer"):
        github_auth.installation_client(bad)
    assert github_server.calls(MINT) == []
    assert require_id(INSTALLATION) == INSTALLATION
