"""Setup mode: register the GitHub App from ``app.yml`` through GitHub's manifest flow.

The manifest is ``bot/app.yml``, shipped as package data (the repository's
top-level ``app.yml`` is a symlink to it) and read through
``importlib.resources``, so the working directory does not matter.

Probot's convention for a first run without credentials: ``GET /`` shows a
page whose form POSTs the manifest to GitHub; GitHub registers the App and
redirects the browser to ``GET /setup/callback?code=…&state=…``; the bot
exchanges the code (``POST /app-manifests/{code}/conversions``, no
authentication) for the App id, private key and webhook secret, stores them in
``.env`` (mode 600, the key in a PEM file next to it, mode 600) and hands the
new settings to ``on_configured`` so the process continues serving normally.

Flow and parameters:
https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
Conversion endpoint:
https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest
"""
from __future__ import annotations

import asyncio
import html
import io
import json
import os
import re
import secrets
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any

import aiohttp
import gidgethub
import yaml
from aiohttp import web
from dotenv.parser import parse_stream
from gidgethub.aiohttp import GitHubAPI
from pydantic import BaseModel, SecretStr, ValidationError
from yarl import URL

from bot.errors import ConfigError
from config.settings import Settings

#: A GitHub login: alphanumerics and single hyphens, not at either end, at most 39 characters.
ORG_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")

#: Where GitHub sends the browser back to with ``?code=…&state=…``.
CALLBACK_PATH = "/setup/callback"
#: Where GitHub sends a user back after "Sign in with GitHub" on the board (bot/board/auth.py).
LOGIN_CALLBACK_PATH = "/login/callback"
#: The webhook route served in normal mode (bot/ingress/webhook.py).
WEBHOOK_PATH = "/webhook"
#: File name of the App's private key, written next to the ``.env`` file.
PRIVATE_KEY_FILE = "scenarioforge.private-key.pem"
USER_AGENT = "scenarioforge-setup"
#: The App manifest registered by setup mode (package data of ``bot``).
MANIFEST = resources.files("bot").joinpath("app.yml")

OnConfigured = Callable[[Settings], Awaitable[None]]


class AppConversion(BaseModel):
    """The part of GitHub's conversion answer the bot keeps (extra keys ignored)."""

    id: int
    name: str
    html_url: str
    pem: str
    #: Nullable in GitHub's OpenAPI description.
    webhook_secret: str | None = None
    #: The App's OAuth client, for the board's "Sign in with GitHub".
    client_id: str | None = None
    client_secret: str | None = None


def registration_url(web_url: str, org: str | None = None) -> URL:
    """Where the manifest form posts: ``{web}/settings/apps/new`` for the signed-in user,
    ``{web}/organizations/{org}/settings/apps/new`` for an organisation
    (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest#implementing-the-github-app-manifest-flow)."""
    root = URL(web_url.rstrip("/"))
    return root / "organizations" / org / "settings/apps/new" if org else root / "settings/apps/new"


def build_manifest(
    template: Mapping[str, Any], origin: str, webhook_url: str | None = None
) -> dict[str, Any]:
    """Return the manifest to POST: ``template`` (app.yml) with this bot's URLs.

    ``origin`` is where the browser reaches the bot (``scheme://host:port``):
    GitHub sends the browser back to ``redirect_url`` = ``origin +
    /setup/callback``, ``callback_urls`` (where "Sign in with GitHub" on the
    board returns) is ``[origin + /login/callback]``, and ``url`` (the App's homepage, required by GitHub)
    is ``origin`` when app.yml does not set one. ``hook_attributes.url`` is
    where GitHub posts webhooks: ``webhook_url`` exactly as given (e.g. a
    webhook proxy channel such as ``https://smee.io/<channel>``, which
    forwards to this bot's ``/webhook`` itself), default ``origin + /webhook``.
    """
    manifest = dict(template)
    manifest.setdefault("url", origin)
    manifest["hook_attributes"] = {
        **manifest.get("hook_attributes", {}),
        "url": webhook_url or origin + WEBHOOK_PATH,
    }
    manifest["redirect_url"] = origin + CALLBACK_PATH
    manifest["callback_urls"] = [origin + LOGIN_CALLBACK_PATH]
    return manifest


def merge_env(text: str, values: Mapping[str, str]) -> str:
    """Return the ``.env`` content ``text`` with ``values`` set.

    Lines that assign one of ``values``' keys are dropped, every other line
    (comments, unrelated settings, even unparsable lines) is kept as written,
    and the new assignments are appended single-quoted in python-dotenv's
    syntax (``\\`` and ``'`` escaped), which is what pydantic-settings reads.
    """
    kept = "".join(
        binding.original.string
        for binding in parse_stream(io.StringIO(text))
        if binding.key not in values
    )
    if kept and not kept.endswith("\n"):
        kept += "\n"
    assignments = "".join(
        "{}='{}'\n".format(key, value.replace("\\", "\\\\").replace("'", "\\'"))
        for key, value in values.items()
    )
    return kept + assignments


def write_private_file(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by its owner only (mode 600).

    The content goes to a temporary file in the same directory (created 600
    by ``mkstemp``), is flushed to disk, then renamed over ``path``.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def store_credentials(app: AppConversion, env_path: Path) -> dict[str, Any]:
    """Write the App's key and ``.env`` entries; return the matching Settings fields.

    The PEM goes to ``PRIVATE_KEY_FILE`` next to ``env_path`` first, then
    ``.env`` is rewritten in one rename, so ``.env`` never names a key that
    is not on disk. Both files get mode 600.
    """
    key_path = (env_path.parent / PRIVATE_KEY_FILE).resolve()
    write_private_file(key_path, app.pem)
    fields: dict[str, Any] = {"app_id": app.id, "private_key_path": key_path}
    env = {"app_id": str(app.id), "private_key_path": str(key_path)}
    for name in ("webhook_secret", "client_secret"):
        if (value := getattr(app, name)) is not None:
            fields[name] = SecretStr(value)
            env[name] = value
    if app.client_id is not None:
        fields["client_id"] = env["client_id"] = app.client_id
    prefix = Settings.model_config["env_prefix"]
    current = env_path.read_text(encoding="utf-8") if env_path.exists() else ""
    new = merge_env(current, {prefix + name.upper(): value for name, value in env.items()})
    write_private_file(env_path, new)
    return fields


def load_manifest(source: Traversable) -> dict[str, Any]:
    """Read the App manifest template (YAML mapping) from ``source``.

    Raises:
        ConfigError: ``source`` cannot be read, is not YAML, or is not a mapping.
    """
    try:
        template = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the App manifest {source}: {exc}") from exc
    if not isinstance(template, dict):
        raise ConfigError(f"the App manifest {source} is not a YAML mapping")
    return template


def render(template_name: str, **values: str) -> str:
    """Fill ``bot/ingress/templates/<template_name>`` with ``values``, each HTML-escaped."""
    source = resources.files("bot.ingress").joinpath("templates", template_name).read_text("utf-8")
    return Template(source).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def _page(template_name: str, *, status: int = 200, **values: str) -> web.Response:
    return web.Response(
        text=render(template_name, **values), status=status, content_type="text/html"
    )


def _error(message: str, status: int) -> web.Response:
    return _page("setup_error.html", status=status, message=message)


class ManifestFlow:
    """The two setup-mode handlers and the little state they share.

    One random ``state`` per process is sent to GitHub with the manifest and
    must come back with the code, so a callback the page did not start is
    refused. Once credentials are stored the flow is closed (409).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        env_path: Path,
        template: Mapping[str, Any],
        webhook_url: str | None,
        web_url: str | None,
        on_configured: OnConfigured | None,
    ) -> None:
        self._settings = settings
        self._env_path = env_path
        self._template = template
        self._webhook_url = webhook_url
        self._web_url = (web_url or settings.web_url).rstrip("/")
        self._on_configured = on_configured
        self._state = secrets.token_urlsafe(24)
        self._lock = asyncio.Lock()
        self._configured = False

    async def form(self, request: web.Request) -> web.Response:
        """``GET /``: the page with the "Register" button; ``?org=LOGIN`` registers the App
        under that organisation instead of the signed-in user."""
        if self._configured:
            return _error("The GitHub App is already registered; this bot is configured.", 409)
        org = request.query.get("org", "").strip()
        if org and not ORG_LOGIN.fullmatch(org):
            return _error(f"org: {org!r} is not a GitHub organisation login (letters, digits, single hyphens)", 400)
        manifest = build_manifest(self._template, str(request.url.origin()), self._webhook_url)
        return _page(
            "setup.html",
            action=str(registration_url(self._web_url, org or None).with_query(state=self._state)),
            owner=f"the organisation {org}" if org else "your account",
            manifest=json.dumps(manifest),
            name=str(manifest.get("name", "")),
            webhook_url=manifest["hook_attributes"]["url"],
        )

    async def callback(self, request: web.Request) -> web.Response:
        """``GET /setup/callback``: exchange the code, store credentials, switch over."""
        code = request.query.get("code", "")
        state = request.query.get("state", "")
        if not code:
            return _error("GitHub did not send a registration code. Start again from /.", 400)
        if not secrets.compare_digest(state, self._state):
            return _error("This registration was not started from this page. Start again from /.", 400)
        async with self._lock:
            if self._configured:
                return _error("The GitHub App is already registered; this bot is configured.", 409)
            try:
                app = await self._convert(code)
            except gidgethub.BadRequest as exc:  # 404: unknown or expired code; 422: spam guard
                return _error(f"GitHub answered {exc.status_code.value}: {exc}", 400)
            except gidgethub.HTTPException as exc:  # 5xx and unexpected redirects
                return _error(f"GitHub answered {exc.status_code.value}: {exc}", 502)
            except aiohttp.ClientError as exc:
                return _error(f"Could not reach {self._settings.github_api_url}: {exc}", 502)
            except ValidationError as exc:
                return _error(f"GitHub's answer lacks App credentials: {exc}", 502)
            fields = await asyncio.to_thread(store_credentials, app, self._env_path)
            self._configured = True
            new_settings = self._settings.model_copy(update=fields)
            if self._on_configured is not None:
                await self._on_configured(new_settings)
        return _page(
            "setup_done.html",
            name=app.name,
            install_url=f"{app.html_url.rstrip('/')}/installations/new",
            env_path=str(self._env_path.resolve()),
            next_step=(
                "The bot has loaded these credentials and is serving webhooks now."
                if self._on_configured is not None
                else "Restart scenarioforge serve to load them."
            ),
        )

    async def _convert(self, code: str) -> AppConversion:
        # Unauthenticated by design: the one-hour code is the credential.
        async with aiohttp.ClientSession() as session:
            gh = GitHubAPI(session, USER_AGENT, base_url=self._settings.github_api_url)
            data = await gh.post(
                "/app-manifests/{code}/conversions", url_vars={"code": code}, data=b""
            )
        return AppConversion.model_validate(data)


def setup_routes(
    app: web.Application,
    settings: Settings,
    *,
    env_path: Path = Path(".env"),
    manifest_path: Traversable = MANIFEST,
    public_url: str | None = None,
    web_url: str | None = None,
    on_configured: OnConfigured | None = None,
) -> None:
    """Add the setup-mode routes ``GET /`` and ``GET /setup/callback`` to ``app``.

    Args:
        settings: the process settings without App credentials; its
            ``github_api_url`` says where to register (github.com or GHES).
        env_path: the ``.env`` file to update (relative paths resolve against
            the working directory, as pydantic-settings does).
        manifest_path: the App manifest (YAML) to register; read here, once,
            so a missing or broken manifest fails at start-up.
        public_url: the URL GitHub posts webhooks to, registered exactly as
            given, e.g. a smee channel ``https://smee.io/<channel>``
            (``SCENARIOFORGE_PUBLIC_URL``); default: ``<browser origin>/webhook``.
            The redirect back to ``/setup/callback`` always goes to the
            origin the browser used for ``/``.
        web_url: GitHub's web root, where ``/settings/apps/new`` lives;
            default: ``settings.web_url`` (``SCENARIOFORGE_GITHUB_WEB_URL``, else
            derived from ``github_api_url``; Probot's ``GHE_HOST`` plays this part).
        on_configured: awaited once with the new Settings (App id, key path,
            webhook secret filled in) after ``.env`` is written, before the
            success page is sent.

    Raises:
        ConfigError: the manifest cannot be read or is not a YAML mapping.
    """
    flow = ManifestFlow(
        settings,
        env_path=env_path,
        template=load_manifest(manifest_path),
        webhook_url=public_url,
        web_url=web_url,
        on_configured=on_configured,
    )
    app.router.add_get("/", flow.form)
    app.router.add_get(CALLBACK_PATH, flow.callback)
