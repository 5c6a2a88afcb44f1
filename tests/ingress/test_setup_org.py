"""Issue 14, GHES: the setup page registers the App under a user or an organisation, on GHES's web root."""
from __future__ import annotations

import aiohttp
from yarl import URL

from config.settings import Settings
from tests.ingress.test_setup_mode import _setup_form

GHES_API = "https://ghe.example.com/api/v3"


def _settings(tmp_path, **fields) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'setup.db'}", **fields)


async def test_an_organisation_registers_on_the_ghes_web_root(start_app, tmp_path):
    running = await start_app(_settings(tmp_path, github_api_url=GHES_API))

    mine = URL((await _setup_form(running.url + "/")).action)
    org = URL((await _setup_form(running.url + "/", org="acme-corp")).action)

    assert (mine.host, mine.path) == ("ghe.example.com", "/settings/apps/new")
    assert (org.host, org.path) == ("ghe.example.com", "/organizations/acme-corp/settings/apps/new")
    assert org.query["state"] == mine.query["state"]  # the same flow: the callback checks one state


async def test_github_web_url_setting_wins_over_the_derived_root(start_app, tmp_path):
    settings = _settings(tmp_path, github_api_url=GHES_API, github_web_url="https://git.example.net/")
    running = await start_app(settings)

    action = URL((await _setup_form(running.url + "/", org="acme")).action)

    assert str(action.with_query(None)) == "https://git.example.net/organizations/acme/settings/apps/new"


async def test_an_invalid_organisation_login_is_refused_naming_the_field(start_app, tmp_path):
    running = await start_app(_settings(tmp_path))
    async with aiohttp.ClientSession() as http, \
            http.get(running.url + "/", params={"org": "../evil/<b>"}) as response:
        page = await response.text()
    assert response.status == 400
    assert "org: &#x27;../evil/&lt;b&gt;&#x27; is not a GitHub organisation login" in page
