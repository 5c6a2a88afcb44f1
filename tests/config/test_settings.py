"""Settings validation: bad values are named at start-up, not found later as a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec

import pytest
from pydantic import ValidationError

from bot.ingress.server import serve
from config.settings import Settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No ``.env`` and no SCENARIOFORGE_* variables from the outside; cwd is ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("SCENARIOFORGE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def problem(**values) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, **values)
    (error,) = caught.value.errors()
    return str(error["ctx"]["error"])


# --- DATABASE_URL --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["sqlite+aiosqlite:///./scenarioforge.db", "sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite://"],
)
def test_async_database_urls_are_accepted(clean_env, url):
    assert Settings(_env_file=None, database_url=url).database_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("nosuchdb+x://host/db", "unknown database driver 'nosuchdb+x'"),
        ("sqlite+nosuch:///x.db", "unknown database driver 'sqlite+nosuch'"),
        ("sqlite:///x.db", "'sqlite' is not an asyncio driver"),
        pytest.param(
            "postgresql+asyncpg://bot@db/scenarioforge",
            "the driver of 'postgresql+asyncpg' is not installed",
            marks=pytest.mark.skipif(find_spec("asyncpg") is not None, reason="asyncpg is installed"),
        ),
    ],
)
def test_bad_database_urls_are_refused(clean_env, url, message):
    assert problem(database_url=url).startswith(message)


def test_a_sqlite_file_needs_an_existing_folder(clean_env, tmp_path):
    missing = tmp_path / "no-such-folder"
    assert problem(database_url=f"sqlite+aiosqlite:///{missing}/sf.db") == (
        f"the folder of the SQLite file does not exist: {missing}"
    )


# --- CLONE_URL_TEMPLATE --------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    ["file:///srv/remotes/{full_name}.git", "https://git.example.com/{owner}/{repo}.git", "file:///fixed.git"],
)
def test_clone_url_templates_with_known_placeholders_are_accepted(clean_env, template):
    assert Settings(_env_file=None, clone_url_template=template).clone_url_template == template
    template.format(full_name="o/r", owner="o", repo="r")  # as bot.jobs.workflow.checkout fills it in


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("file:///srv/{name}.git", "unknown placeholder {name}; use {full_name}, {owner}, {repo}"),
        ("https://h/{owner.login}/{repo}", "unknown placeholder {owner.login}"),
        ("https://h/{}/{repo}", "unknown placeholder {}"),
        ("file:///srv/{full_name.git", "not a valid template"),
    ],
)
def test_clone_url_templates_with_other_placeholders_are_refused(clean_env, template, message):
    assert problem(clone_url_template=template).startswith(message)


# --- serve names each problem and exits 2 ---------------------------------------------


def test_serve_prints_one_line_per_invalid_setting_and_exits_2(clean_env, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SCENARIOFORGE_")},
        "SCENARIOFORGE_DATABASE_URL": "mysql+nosuch://db/sf",
        "SCENARIOFORGE_CLONE_URL_TEMPLATE": "file:///srv/{name}.git",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--port", "0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "invalid setting SCENARIOFORGE_DATABASE_URL: unknown database driver 'mysql+nosuch'",
        "invalid setting SCENARIOFORGE_CLONE_URL_TEMPLATE: unknown placeholder {name}; "
        "use {full_name}, {owner}, {repo}",
    ]


@pytest.mark.parametrize(
    ("name", "missing", "present"),
    [
        ("SCENARIOFORGE_APP_ID", "SCENARIOFORGE_PRIVATE_KEY_PATH", "SCENARIOFORGE_APP_ID"),
        ("SCENARIOFORGE_PRIVATE_KEY_PATH", "SCENARIOFORGE_APP_ID", "SCENARIOFORGE_PRIVATE_KEY_PATH"),
    ],
)
def test_serve_refuses_half_set_app_credentials_instead_of_setup_mode(
    clean_env, app_keys, capsys, name, missing, present
):
    value = str(app_keys.app_id) if name == "SCENARIOFORGE_APP_ID" else str(app_keys.private_key_path)
    clean_env.setenv(name, value)
    clean_env.setenv("SCENARIOFORGE_WEBHOOK_SECRET", "secret")

    assert serve("127.0.0.1", 0) == 2

    assert capsys.readouterr().err == (
        f"invalid settings: {missing} is not set, but {present} is: set both, or neither to start setup mode\n"
    )
