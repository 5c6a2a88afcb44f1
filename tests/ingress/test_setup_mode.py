"""Setup mode: the GitHub App manifest flow, clicked through in headless Chromium.

github.com's web side (the page at /settings/apps/new that registers the App
and redirects back with a code) is played by a small aiohttp app below; the
code conversion goes to the local GitHub API server (``github_server``).
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import stat
import sys
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from dotenv import dotenv_values
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from yarl import URL

from bot.errors import ConfigError
from bot.ingress.setup import (
    CALLBACK_PATH,
    MANIFEST,
    PRIVATE_KEY_FILE,
    build_manifest,
    load_manifest,
    merge_env,
    render,
    setup_routes,
)
from config.settings import Settings
from config.settings import web_root as github_web_url
from tests.support.webhooks import load_payload, post_delivery

ROOT = Path(__file__).resolve().parents[2]
APP_YML = ROOT / "app.yml"
EXISTING_ENV = "# kept as written\nOTHER_TOOL_TOKEN='keep me'\nSCENARIOFORGE_APP_ID=1\n"

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class SetupForm(HTMLParser):
    """The setup page's form as a browser would submit it: ``action`` and the ``manifest`` it POSTs."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.action = ""
        self.manifest: dict = {}
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and attributes.get("id") == "register":
            self.action = attributes["action"] or ""
        elif tag == "input" and attributes.get("name") == "manifest":
            self.manifest = json.loads(attributes["value"] or "")


async def _setup_form(url: str, **params: str) -> SetupForm:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as response:
        assert response.status == 200
        return SetupForm(await response.text())


@pytest.fixture
async def fake_github_web(aiohttp_server, github_server):
    """github.com's web side: registers the POSTed manifest, redirects with ``?code=&state=``.

    Registering means giving ``github_server`` a one-time code for the App
    named in the manifest. ``received`` holds each (manifest, state) it got;
    ``next_code`` set to a string hands out that code instead (unknown to
    ``github_server``, like an expired one).
    """
    record: dict = {"received": [], "next_code": None}

    async def new_app(request: web.Request) -> web.Response:
        form = await request.post()
        manifest = json.loads(form["manifest"])
        state = request.query["state"]
        record["received"].append((manifest, state))
        code = record["next_code"]
        if code is None:
            code = secrets.token_hex(10)
            github_server.add_manifest_code(code, name=manifest["name"])
        raise web.HTTPFound(URL(manifest["redirect_url"]).with_query(code=code, state=state))

    app = web.Application()
    app.router.add_post("/settings/apps/new", new_app)
    server = await aiohttp_server(app)
    record["url"] = str(server.make_url("")).rstrip("/")
    return record


@pytest.fixture
async def setup_bot(aiohttp_server, github_server, fake_github_web, tmp_path):
    """A setup-mode app on an ephemeral port; ``configured`` collects on_configured calls."""
    env_path = tmp_path / ".env"
    env_path.write_text(EXISTING_ENV, encoding="utf-8")
    settings = Settings(_env_file=None, github_api_url=github_server.url)
    configured: list[Settings] = []

    async def on_configured(new_settings: Settings) -> None:
        configured.append(new_settings)

    app = web.Application()
    setup_routes(
        app,
        settings,
        env_path=env_path,
        web_url=fake_github_web["url"],
        on_configured=on_configured,
    )
    server = await aiohttp_server(app)
    return {"server": server, "env_path": env_path, "configured": configured}


async def _register_in_browser(browser, url: str) -> str:
    """Open the setup page, click the button, follow GitHub back; return the result heading."""

    def click_through() -> str:
        browser.get(url)
        browser.find_element(By.ID, "register-button").click()
        result = WebDriverWait(browser, 20).until(
            expected_conditions.presence_of_element_located((By.ID, "result"))
        )
        return result.text

    return await asyncio.to_thread(click_through)


async def test_register_app_in_browser_writes_credentials(
    browser, setup_bot, fake_github_web, github_server, app_keys
):
    bot_url = str(setup_bot["server"].make_url("/"))

    heading = await _register_in_browser(browser, bot_url)

    assert heading == "GitHub App registered"
    (manifest, _state), = fake_github_web["received"]
    origin = bot_url.rstrip("/")
    assert manifest["hook_attributes"]["url"] == origin + "/webhook"
    assert manifest["redirect_url"] == origin + CALLBACK_PATH
    assert manifest["callback_urls"] == [origin + "/login/callback"]  # the board's sign-in
    assert manifest["default_permissions"] == {
        "contents": "write",
        "issues": "write",
        "pull_requests": "write",
        "checks": "write",
        "actions": "read",
        "metadata": "read",
    }
    env_path: Path = setup_bot["env_path"]
    key_path = env_path.parent / PRIVATE_KEY_FILE
    assert _mode(env_path) == 0o600
    assert _mode(key_path) == 0o600
    (settings,) = setup_bot["configured"]
    assert settings.has_app_credentials
    assert settings.app_id == app_keys.app_id
    assert settings.private_key() == app_keys.private_pem
    secret = settings.webhook_secret.get_secret_value()
    assert len(secret) == 40
    assert dotenv_values(env_path) == {
        "OTHER_TOOL_TOKEN": "keep me",
        "SCENARIOFORGE_APP_ID": str(app_keys.app_id),
        "SCENARIOFORGE_PRIVATE_KEY_PATH": str(key_path.resolve()),
        "SCENARIOFORGE_WEBHOOK_SECRET": secret,
        "SCENARIOFORGE_CLIENT_ID": settings.client_id,
        "SCENARIOFORGE_CLIENT_SECRET": settings.client_secret.get_secret_value(),
    }
    assert settings.client_id == f"Iv1.{app_keys.app_id:016x}" and len(settings.client_secret.get_secret_value()) == 40
    assert env_path.read_text(encoding="utf-8").startswith("# kept as written\n")
    assert settings.private_key_path == key_path.resolve()
    assert browser.find_element(By.ID, "app-name").text == manifest["name"]
    install = browser.find_element(By.ID, "install").get_attribute("href")
    assert install == f"https://github.com/apps/{github_server.app_slug}/installations/new"
    async with aiohttp.ClientSession() as http, http.get(bot_url) as again:
        assert again.status == 409  # the flow is closed once credentials are stored


async def test_expired_code_shows_githubs_error_and_writes_nothing(
    browser, setup_bot, fake_github_web
):
    fake_github_web["next_code"] = "expired-code"

    heading = await _register_in_browser(browser, str(setup_bot["server"].make_url("/")))

    assert heading == "Setup failed"
    assert browser.find_element(By.ID, "message").text == "GitHub answered 404: Not Found"
    env_path: Path = setup_bot["env_path"]
    assert env_path.read_text(encoding="utf-8") == EXISTING_ENV
    assert not (env_path.parent / PRIVATE_KEY_FILE).exists()
    assert setup_bot["configured"] == []


async def test_callback_not_started_by_the_page_is_refused(aiohttp_client, setup_bot):
    client = await aiohttp_client(setup_bot["server"])

    response = await client.get(CALLBACK_PATH, params={"code": "abc", "state": "forged"})

    assert response.status == 400
    assert "not started from this page" in await response.text()
    assert setup_bot["env_path"].read_text(encoding="utf-8") == EXISTING_ENV


@pytest.mark.parametrize(
    ("api_url", "web_url"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("http://127.0.0.1:8080/api/v3/", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_github_web_url_from_api_url(api_url, web_url):
    assert github_web_url(api_url) == web_url


def test_manifest_gets_the_bots_urls_and_keeps_app_yml():
    template = load_manifest(MANIFEST)

    manifest = build_manifest(template, "https://bot.example.com")

    assert manifest["url"] == "https://bot.example.com"
    assert manifest["hook_attributes"] == {"url": "https://bot.example.com/webhook"}
    assert manifest["redirect_url"] == "https://bot.example.com/setup/callback"
    proxied = build_manifest(template, "http://127.0.0.1:3000", "https://smee.io/AbC123")
    assert proxied["hook_attributes"] == {"url": "https://smee.io/AbC123"}
    assert proxied["redirect_url"] == "http://127.0.0.1:3000/setup/callback"
    assert set(manifest["default_events"]) == {
        "issue_comment", "issues", "pull_request", "pull_request_review", "check_run", "check_suite",
        "workflow_run", "push",
    }


def test_merge_env_replaces_only_its_keys_and_quotes_values(tmp_path):
    text = "A=1\nexport SCENARIOFORGE_APP_ID=7\n# note\nB=\"two\nlines\""

    merged = merge_env(text, {"SCENARIOFORGE_APP_ID": "8", "SECRET": "it's \\ odd"})

    path = tmp_path / ".env"
    path.write_text(merged, encoding="utf-8")
    assert dotenv_values(path) == {
        "A": "1", "B": "two\nlines", "SCENARIOFORGE_APP_ID": "8", "SECRET": "it's \\ odd"
    }
    assert "# note\n" in merged


def test_pages_escape_what_they_print():
    page = render("setup_error.html", message='<script>alert("x")</script>')

    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


async def test_setup_page_is_served_from_any_working_directory(start_app, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no app.yml here: the manifest comes with the package
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'setup.db'}")
    running = await start_app(settings)

    form = await _setup_form(running.url + "/")

    assert form.manifest["name"] == "ScenarioForge"
    assert form.manifest["default_events"] == load_manifest(MANIFEST)["default_events"]
    assert URL(form.action).path == "/settings/apps/new"


@pytest.mark.parametrize(
    ("text", "problem"),
    [(None, "cannot read the App manifest"), ("name: [unclosed\n", "cannot read the App manifest"),
     ("- a list\n", "is not a YAML mapping")],
)
def test_a_manifest_that_cannot_be_used_fails_when_the_routes_are_added(tmp_path, text, problem):
    manifest = tmp_path / "app.yml"
    if text is not None:
        manifest.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError, match=problem):
        setup_routes(web.Application(), Settings(_env_file=None), manifest_path=manifest)


# --- a webhook proxy (smee) ---------------------------------------------------------


async def test_public_url_is_the_webhook_url_and_github_sends_the_browser_back_to_the_bot(
    aiohttp_server, github_server, fake_github_web, tmp_path
):
    channel = "https://smee.io/AbC123"  # smee forwards to /webhook; it never sees /setup/callback
    app = web.Application()
    setup_routes(
        app, Settings(_env_file=None, github_api_url=github_server.url), env_path=tmp_path / ".env",
        public_url=channel, web_url=fake_github_web["url"],
    )
    bot = await aiohttp_server(app)
    origin = str(bot.make_url("")).rstrip("/")

    form = await _setup_form(origin + "/")
    async with aiohttp.ClientSession() as http:  # what the browser does with the form
        async with http.post(
            form.action, data={"manifest": json.dumps(form.manifest)}, allow_redirects=False
        ) as registered:
            back = registered.headers["Location"]
        async with http.get(back) as done:
            page = await done.text()

    assert form.manifest["hook_attributes"]["url"] == channel
    assert form.manifest["redirect_url"] == origin + CALLBACK_PATH
    assert URL(back).origin() == URL(origin)
    assert done.status == 200, page
    assert "GitHub App registered" in page


# --- serve: setup mode, then webhooks, in one process ---------------------------------


async def _until_logged(stream: asyncio.StreamReader, prefix: str, *, timeout_s: float = 30) -> None:
    """Read the server's JSON log lines until one's message starts with ``prefix``."""
    seen: list[str] = []

    async def scan() -> None:
        while line := await stream.readline():
            seen.append(line.decode().rstrip())
            try:
                message = json.loads(line)["message"]
            except (ValueError, KeyError):
                continue  # not a log record (a traceback): kept in ``seen`` for the failure message
            if message.startswith(prefix):
                return
        raise AssertionError(f"serve stopped before logging {prefix!r}:\n" + "\n".join(seen))

    try:
        await asyncio.wait_for(scan(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"no {prefix!r} within {timeout_s} s:\n" + "\n".join(seen)) from None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_registers_the_app_then_serves_webhooks_in_the_same_process(github_server, tmp_path):
    port = _free_port()
    bot = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("SCENARIOFORGE_")}
    env["SCENARIOFORGE_GITHUB_API_URL"] = github_server.url  # its web root is the same URL (github_web_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", str(port),
        cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _until_logged(process.stderr, "serving setup mode on")
        form = await _setup_form(bot + "/")
        action = URL(form.action)
        assert str(action.with_query(None)) == f"{github_server.url}/settings/apps/new"
        # What github.com does with the form: register the App, send the browser back with a code.
        code = secrets.token_hex(10)
        github_server.add_manifest_code(code, name=form.manifest["name"])
        back = URL(form.manifest["redirect_url"]).with_query(code=code, state=action.query["state"])
        async with aiohttp.ClientSession() as http, http.get(back) as done:
            assert done.status == 200, await done.text()

        await _until_logged(process.stderr, "serving webhooks on")

        secret = dotenv_values(tmp_path / ".env")["SCENARIOFORGE_WEBHOOK_SECRET"]
        answer = await post_delivery(f"{bot}/webhook", load_payload("ping.event.1.json"), "ping", secret=secret)
        assert answer.status == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
