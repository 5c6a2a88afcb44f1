"""Process settings read from the environment (prefix ``SCENARIOFORGE_``) and ``.env``.

Settings are built once at start-up by the CLI and passed down explicitly; no
module reads them at import time.
"""
from __future__ import annotations

import json
from pathlib import Path
from string import Formatter
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from yarl import URL

Permission = Literal["read", "triage", "write", "maintain", "admin"]

#: The placeholders ``clone_url_template`` may use (filled in by ``bot.jobs.workflow.checkout``).
CLONE_URL_FIELDS = frozenset({"full_name", "owner", "repo"})

#: GitHub's repository roles from weakest to strongest, as returned in
#: ``role_name`` by "Get repository permissions for a user"
#: (https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
PERMISSION_ORDER: tuple[str, ...] = ("none", "read", "triage", "write", "maintain", "admin")


class ModelPrice(BaseModel):
    """What one model costs, in US dollars per million tokens (input, cached input, output)."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    cached_input: float = Field(ge=0)
    output: float = Field(ge=0)


#: Default price table: OpenAI's published API prices of the GPT-5 family
#: (https://platform.openai.com/docs/pricing, USD per 1M tokens); override or
#: extend with ``SCENARIOFORGE_MODEL_PRICES`` (JSON: model → {input, cached_input, output}).
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-5.1-codex": ModelPrice(input=1.25, cached_input=0.125, output=10.0),
    "gpt-5-codex": ModelPrice(input=1.25, cached_input=0.125, output=10.0),
}


def web_root(api_url: str) -> str:
    """Return the web root of the GitHub instance that serves ``api_url``.

    ``https://api.github.com`` → ``https://github.com``; GitHub Enterprise
    Server's ``https://HOST/api/v3`` → ``https://HOST``
    (https://docs.github.com/enterprise-server@latest/rest/overview/resources-in-the-rest-api);
    any other URL (a local test server) is returned unchanged, without a
    trailing slash.
    """
    url = URL(api_url.rstrip("/"))
    if url.host == "api.github.com":
        return str(url.with_host("github.com").with_path(""))
    if url.path.endswith("/api/v3"):
        return str(url.with_path(url.path.removesuffix("/api/v3")))
    return str(url)


class Settings(BaseSettings):
    """Everything the process needs to know about its environment.

    ``app_id`` and ``private_key_path`` are optional only so that ``serve`` can
    start in setup mode on a fresh machine (see ``bot.ingress.setup``).
    """

    model_config = SettingsConfigDict(
        env_prefix="SCENARIOFORGE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    app_id: int | None = None
    private_key_path: Path | None = None
    webhook_secret: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///./scenarioforge.db"
    github_api_url: str = "https://api.github.com"
    #: GitHub's web root (pages, app registration); ``None`` → derived from
    #: ``github_api_url`` by ``web_root`` (GHES: ``https://HOST``).
    github_web_url: str | None = None
    #: ``None`` means the payload's ``repository.clone_url``; otherwise a
    #: template with ``{full_name}``, ``{owner}`` and ``{repo}``.
    clone_url_template: str | None = None
    workdir: Path = Path("./workdir")
    #: Runs this process executes at once; 0 makes ``serve`` a web replica that only
    #: records deliveries and enqueues runs (``bot.jobs.runtime``).
    workers: int = Field(default=2, ge=0, le=64)
    #: The DBOS executor id of this process: stable across restarts so a restarted
    #: process resumes its own runs. Default ``<host name>-<worker_slot>``.
    executor_id: str | None = None
    worker_slot: int = Field(default=0, ge=0)
    #: Seconds between a worker's polls of the run queue.
    queue_poll_s: float = Field(default=1.0, gt=0)
    #: An executor whose heartbeat is older than this many seconds is dead; its runs are taken over.
    heartbeat_timeout_s: float = Field(default=120.0, gt=0)
    #: Seconds between two passes of the missed-delivery reconciler (a divisor of a minute or an hour).
    reconcile_every_s: int = Field(default=300, gt=0, le=3600)
    min_permission: Permission = "write"
    #: The URL GitHub posts webhooks to, e.g. a smee channel
    #: ``https://smee.io/<channel>`` that forwards to this bot's ``/webhook``;
    #: setup mode registers it exactly as given. Default: ``/webhook`` at the
    #: address the browser used for the setup page, which also receives
    #: GitHub's redirect back (``/setup/callback``) in either case.
    public_url: str | None = None
    allowed_bots: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Review board (issue 12): sign in with GitHub through the App's user authorization.
    #: The App's OAuth client id and secret (setup mode stores them from the manifest
    #: conversion); without a secret the board explains how to enable sign-in.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    #: Where people reach the board, e.g. ``https://forge.example.com``; tracking
    #: comments and check runs link to a run's page and report only when it is set.
    board_url: str | None = None
    #: A Fernet key (``cryptography.fernet.Fernet.generate_key()``) that encrypts the
    #: session cookie; give every web replica the same one. Default: a random key per
    #: process (sessions end when it restarts).
    session_key: SecretStr | None = None

    # Codex engine (issue: generate)
    codex_model: str = "gpt-5.1-codex"
    codex_effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None
    codex_base_url: str | None = None
    codex_config: str = ""
    codex_home: Path | None = None
    turn_timeout_s: float = Field(default=1800.0, gt=0)
    #: Model → price (``ModelPrice``); entries here replace the defaults of the same model.
    model_prices: Annotated[dict[str, ModelPrice], NoDecode] = Field(default_factory=dict)

    @field_validator("codex_config")
    @classmethod
    def _sandbox_is_ours(cls, value: str) -> str:
        """Codex overrides may not touch the sandbox: its writable roots are the worktree alone
        (``bot.codex.engine``), which keeps WORKDIR, database, mirrors and key out of the agent's reach."""
        for line in value.splitlines():
            key = line.split("=", 1)[0].strip()
            if key.startswith("sandbox"):
                raise ValueError(f"`{key}` may not be overridden: the bot sets the sandbox (the worktree is its "
                                 "only writable root)")
        return value

    @field_validator("model_prices", mode="before")
    @classmethod
    def _prices_json(cls, value: object) -> object:
        """``SCENARIOFORGE_MODEL_PRICES`` is JSON; text that is not is named with the expected shape.

        Raises:
            ValueError: not JSON (the decoder's message, with its position).
        """
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc}); expected e.g. "
                             '{"MODEL": {"input": 1.25, "cached_input": 0.125, "output": 10}} '
                             "(US dollars per million tokens)") from None

    @field_validator("reconcile_every_s")
    @classmethod
    def _divides_a_minute_or_an_hour(cls, value: int) -> int:
        """The reconciler is a cron schedule (``bot.jobs.schedules.cron``): every N seconds of a
        minute or every N minutes of an hour."""
        if not (60 % value == 0 if value < 60 else value % 60 == 0 and 3600 % value == 0):
            raise ValueError(f"{value} s must divide a minute (e.g. 20) or an hour (e.g. 300)")
        return value

    @field_validator("allowed_bots", mode="before")
    @classmethod
    def _split_logins(cls, value: object) -> object:
        """Accept a comma-separated string as well as a JSON list."""
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [login.strip() for login in value.split(",") if login.strip()]
        return value

    @field_validator("github_api_url", "github_web_url", "board_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value is not None else None

    @field_validator("session_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        """A Fernet key: 32 bytes in URL-safe base64 (https://cryptography.io/en/latest/fernet/).

        Raises:
            ValueError: anything else.
        """
        if value is not None:
            from cryptography.fernet import Fernet

            try:
                Fernet(value.get_secret_value())
            except ValueError:
                raise ValueError("not a Fernet key: 32 bytes in URL-safe base64, e.g. from "
                                 "cryptography.fernet.Fernet.generate_key()") from None
        return value

    def price_of(self, model: str) -> ModelPrice | None:
        """The price of ``model`` (``model_prices`` first, then ``DEFAULT_PRICES``), ``None`` if unknown."""
        return self.model_prices.get(model) or DEFAULT_PRICES.get(model)

    @field_validator("database_url")
    @classmethod
    def _async_database(cls, value: str) -> str:
        """A plain ``postgresql://USER@HOST:PORT/DB`` (given the async psycopg driver,
        ``postgresql+psycopg``, which DBOS installs anyway) or a SQLAlchemy URL (https://docs.sqlalchemy.org/core/engines.html#database-urls)
        whose driver is an installed asyncio driver (what ``create_async_engine`` loads,
        https://docs.sqlalchemy.org/orm/extensions/asyncio.html); a SQLite file's
        folder must exist (SQLite creates the file, not the folder).

        Raises:
            ValueError: unparsable URL, unknown or synchronous driver, driver
                module not installed, or missing SQLite folder.
        """
        if value.startswith(("postgresql://", "postgres://")):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL such as sqlite+aiosqlite:///./scenarioforge.db") from None
        try:
            # _is_async: the dialect create_async_engine picks (postgresql+psycopg → its async variant).
            dialect = url.get_dialect(_is_async=True)
        except ArgumentError:
            raise ValueError(f"unknown database driver {url.drivername!r}") from None
        if not dialect.is_async:
            raise ValueError(
                f"{url.drivername!r} is not an asyncio driver; use e.g. sqlite+aiosqlite or postgresql+asyncpg"
            )
        try:
            dialect.import_dbapi()
        except ImportError as exc:
            raise ValueError(f"the driver of {url.drivername!r} is not installed ({exc})") from None
        if dialect.name == "sqlite" and url.database not in (None, "", ":memory:"):
            folder = Path(url.database).parent
            if not folder.is_dir():
                raise ValueError(f"the folder of the SQLite file does not exist: {folder}")
        return value

    @field_validator("clone_url_template")
    @classmethod
    def _known_placeholders(cls, value: str | None) -> str | None:
        """Only ``{full_name}``, ``{owner}`` and ``{repo}``, in ``str.format`` syntax.

        Raises:
            ValueError: malformed braces or any other placeholder.
        """
        if value is None:
            return value
        try:
            fields = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template: {exc}") from None
        if unknown := fields - CLONE_URL_FIELDS:
            placeholders = ", ".join("{%s}" % name for name in sorted(unknown))
            allowed = ", ".join("{%s}" % name for name in sorted(CLONE_URL_FIELDS))
            raise ValueError(f"unknown placeholder {placeholders}; use {allowed}")
        return value

    @property
    def web_url(self) -> str:
        """GitHub's web root: ``github_web_url``, else derived from ``github_api_url``
        (``https://api.github.com`` → ``https://github.com``, GHES ``https://HOST/api/v3`` →
        ``https://HOST``, any other URL unchanged)."""
        return self.github_web_url or web_root(self.github_api_url)

    @property
    def has_app_credentials(self) -> bool:
        """True when the App id and private key are configured (else setup mode)."""
        return self.app_id is not None and self.private_key_path is not None

    def half_set_credentials(self) -> str | None:
        """The problem when only one of the App id and key path is set, else None.

        Setup mode is for a machine with neither; one alone is a mistake.
        """
        names = {"app_id": self.app_id, "private_key_path": self.private_key_path}
        missing = [name for name, value in names.items() if value is None]
        if len(missing) != 1:
            return None
        prefix = self.model_config["env_prefix"]
        (absent,) = missing
        (present,) = set(names) - {absent}
        return (
            f"{prefix}{absent.upper()} is not set, but {prefix}{present.upper()} is: "
            "set both, or neither to start setup mode"
        )

    def private_key(self) -> str:
        """Return the App's PEM private key.

        Raises:
            FileNotFoundError: the configured key file does not exist.
            RuntimeError: no key path is configured.
        """
        if self.private_key_path is None:
            raise RuntimeError("SCENARIOFORGE_PRIVATE_KEY_PATH is not set")
        return self.private_key_path.read_text(encoding="utf-8")
