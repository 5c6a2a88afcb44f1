"""GitHub API clients authenticated as the App (JWT) or as one of its installations.

One ``AppAuth`` per process holds the App key, the shared ``aiohttp.ClientSession``
and the cache of installation tokens; it hands out ``GitHubClient`` objects,
which are gidgethub's aiohttp client plus three things: the GitHub-calls metric,
waiting out rate limits, and authorization headers filled in lazily at request
time (so a client built for a job mints its token only when it is first used,
and picks up a renewed token in a long job).
"""
from __future__ import annotations

import asyncio
import functools
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

import aiohttp
import gidgethub
import gidgethub.aiohttp
import gidgethub.apps

from bot import metrics
from bot.errors import ConfigError, GitHubError
from bot.github.urls import under_base
from config.settings import Settings

#: The ``User-Agent`` gidgethub sends; GitHub asks for the app's name
#: (https://docs.github.com/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent).
REQUESTER = "scenarioforge"

#: ``gidgethub.apps.get_jwt`` backdates ``iat`` by 60 s for clock drift and sets
#: ``exp = iat + expiration``; 600 s therefore gives ``exp = now + 540`` — at most
#: 9 minutes ahead, inside GitHub's 10-minute limit
#: (https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app).
JWT_EXPIRATION_S = 600

#: An installation token is renewed this many seconds before its ``expires_at``
#: so that no request starts with a token about to lapse (tokens live 1 hour:
#: https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-an-installation-access-token-for-a-github-app).
TOKEN_RENEW_BEFORE_S = 5 * 60

#: Retries of one request after rate-limit answers, and the longest wait we
#: accept before one; a longer wait surfaces the error instead of blocking a worker.
MAX_RETRIES = 3
MAX_WAIT_S = 60.0
#: A secondary rate limit without ``retry-after``: the first wait, doubled at each further
#: attempt up to the last one (60, 120, 240 s with ``MAX_RETRIES`` = 3).
SECONDARY_FIRST_WAIT_S = 60.0
SECONDARY_MAX_WAIT_S = 240.0

#: Returns the full ``authorization`` header value ("token …" / "bearer …").
Authorization = Callable[[], Awaitable[str]]


def rate_limit_delay(status: int, headers: Mapping[str, str], *, now: float, message: str = "",
                     attempt: int = 1) -> float | None:
    """Seconds to wait before retrying an answer, or ``None`` if it is not a rate limit.

    Follows "Exceeding the rate limit"
    (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit):
    a 403 or 429 with ``retry-after`` → that many seconds; with
    ``x-ratelimit-remaining: 0`` → until ``x-ratelimit-reset`` (UTC epoch
    seconds, compared with ``now``); a 429 with neither → at least one minute;
    a 403 whose ``message`` names a secondary rate limit, with neither → "wait
    for at least one minute", then "an exponentially increasing amount of time
    between retries": ``SECONDARY_FIRST_WAIT_S * 2 ** (attempt - 1)``, ``attempt``
    counting from 1, capped at ``SECONDARY_MAX_WAIT_S``.
    ``headers`` must be case-insensitive or lower-case.
    """
    if status not in (403, 429):
        return None
    if "retry-after" in headers:
        return max(0.0, float(headers["retry-after"]))
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        return max(0.0, float(headers["x-ratelimit-reset"]) - now)
    if status == 429:
        return 60.0
    if "secondary rate limit" in message.lower():
        return min(SECONDARY_MAX_WAIT_S, SECONDARY_FIRST_WAIT_S * 2 ** (attempt - 1))
    return None


def require_id(value: object, name: str = "installation id") -> int:
    """``value`` when it is a positive ``int`` (never a ``bool``, a float or a numeric string), so
    that no other shape reaches a URL such as ``/app/installations/{installation_id}/…``.

    Raises:
        ValueError: naming ``name``, the value and its JSON-ish type.
    """
    if type(value) is not int or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r} ({type(value).__name__})")
    return value


class GitHubClient(gidgethub.aiohttp.GitHubAPI):
    """gidgethub's aiohttp client with metrics, rate-limit waits and lazy credentials.

    ``authorization`` (optional) is awaited before each request that has no
    ``authorization`` header yet (an explicit ``jwt=``/``oauth_token=`` wins).
    Rate-limited answers are waited out through ``self.sleep`` and retried up to
    ``max_retries`` times; a wait GitHub asks for above ``max_wait_s`` (our own
    backoff: above ``SECONDARY_MAX_WAIT_S``) or a further failure
    raises gidgethub's exception (``BadRequest``/``RateLimitExceeded``) unchanged.
    ``clock`` returns UTC epoch seconds (for ``x-ratelimit-reset``).
    A request to a URL outside ``base_url`` (``bot.github.urls.under_base``) is
    refused with ``GitHubError`` before anything is sent, so credentials never
    leave the configured GitHub host.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        authorization: Authorization | None = None,
        clock: Callable[[], float] = time.time,
        max_retries: int = MAX_RETRIES,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        super().__init__(session, REQUESTER, base_url=base_url)
        self._authorization = authorization
        self._clock = clock
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        if not under_base(url, self.base_url):
            raise GitHubError(f"refusing to send GitHub credentials to {url!r}: not under {self.base_url}",
                              error_type="ForeignHost")
        # sansio.create_headers lower-cases every key, so this lookup is exact.
        if self._authorization is not None and "authorization" not in headers:
            headers = {**headers, "authorization": await self._authorization()}
        try:
            status, response_headers, data = await super()._request(method, url, headers, body)
        except (aiohttp.ClientError, TimeoutError):
            metrics.GITHUB_CALLS.labels(status="error").inc()
            raise
        metrics.GITHUB_CALLS.labels(status=str(status)).inc()
        return status, response_headers, data

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: gidgethub.HTTPException, attempt: int
    ) -> bool:
        """gidgethub's retry hook: sleep out a rate limit and ask for a retry."""
        if attempt > self.max_retries:
            return False
        message = str(exception.args[0]) if exception.args else ""
        delay = rate_limit_delay(exception.status_code, exception.headers, now=self._clock(), message=message,
                                 attempt=attempt)
        backoff = "retry-after" not in exception.headers and "x-ratelimit-reset" not in exception.headers
        if delay is None or delay > (SECONDARY_MAX_WAIT_S if backoff else self.max_wait_s):
            return False
        await self.sleep(delay)
        return True


class AppAuth:
    """The App's credentials: JWTs, cached installation tokens and clients.

    ``session`` is the process's one shared ``aiohttp.ClientSession``;
    ``settings`` gives ``app_id``, the private key and ``github_api_url``
    (GitHub Enterprise Server and tests point it elsewhere); ``clock`` returns
    UTC epoch seconds and decides token renewal.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        # installation id -> (token, expires_at as epoch seconds)
        self._tokens: dict[int, tuple[str, float]] = {}
        self._mint_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    @functools.cached_property
    def _credentials(self) -> tuple[str, str]:
        """``(app id, PEM key)``; raises ``ConfigError`` in setup mode (no credentials)."""
        if not self._settings.has_app_credentials:
            raise ConfigError("GitHub App id and private key are not configured")
        return str(self._settings.app_id), self._settings.private_key()

    def app_jwt(self) -> str:
        """A fresh RS256 App JWT: ``iat`` = now − 60 s, ``exp`` = now + 540 s, ``iss`` = app id.

        Raises:
            ConfigError: no App id / key configured.
        """
        app_id, private_key = self._credentials
        return gidgethub.apps.get_jwt(
            app_id=app_id, private_key=private_key, expiration=JWT_EXPIRATION_S
        )

    async def installation_token(self, installation_id: int) -> str:
        """The installation's access token, minted on demand and cached.

        A cached token is reused until ``TOKEN_RENEW_BEFORE_S`` before its
        ``expires_at``; at most one mint per installation is in flight and
        concurrent callers share its result
        (POST /app/installations/{installation_id}/access_tokens,
        https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app).

        Raises:
            ConfigError: no App id / key configured.
            gidgethub.HTTPException: GitHub refused (e.g. 404 for an uninstalled app).
            ValueError: ``installation_id`` is not a positive integer (:func:`require_id`).
        """
        require_id(installation_id)
        async with self._mint_locks[installation_id]:
            cached = self._tokens.get(installation_id)
            if cached is None or cached[1] - self._clock() <= TOKEN_RENEW_BEFORE_S:
                app_id, private_key = self._credentials
                answer = await gidgethub.apps.get_installation_access_token(
                    self.app_client(),
                    installation_id=str(installation_id),
                    app_id=app_id,
                    private_key=private_key,
                )
                expires_at = datetime.fromisoformat(answer["expires_at"]).timestamp()
                cached = self._tokens[installation_id] = (answer["token"], expires_at)
            return cached[0]

    def installation_client(self, installation_id: int) -> GitHubClient:
        """A client acting as the installation; its token is fetched at each request
        through ``installation_token`` (so minted on first use, renewed when due).

        Raises:
            ValueError: ``installation_id`` is not a positive integer (:func:`require_id`).
        """
        require_id(installation_id)

        async def authorization() -> str:
            return f"token {await self.installation_token(installation_id)}"

        return self._client(authorization)

    def app_client(self) -> GitHubClient:
        """A client acting as the App itself (``bearer`` JWT), for ``/app…`` endpoints."""

        async def authorization() -> str:
            return f"bearer {self.app_jwt()}"

        return self._client(authorization)

    def _client(self, authorization: Authorization) -> GitHubClient:
        return GitHubClient(
            self._session,
            base_url=self._settings.github_api_url,
            authorization=authorization,
            clock=self._clock,
        )
