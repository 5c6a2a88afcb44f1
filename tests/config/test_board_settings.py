"""The review board's settings: a bad session key or price table is named with its problem."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.ingress.server import load_settings
from config.settings import Settings


PRICES = "SCENARIOFORGE_MODEL_PRICES"


@pytest.mark.parametrize(("name", "value", "named", "problem"), [
    ("SCENARIOFORGE_SESSION_KEY", "not-a-key", "SCENARIOFORGE_SESSION_KEY", "not a Fernet key"),
    (PRICES, '{"m": {"input": 1, "cached_input": 0}}', PRICES, "m.output: Field required"),
    (PRICES, '{"m": {"input": 1, "cached_input": 0, "output": -2}}', PRICES, "m.output: Input should be greater than or equal to 0"),
    (PRICES, '{"gpt-5.1-codex": {"input": "cheap", "cached_input": 0, "output": 1}}', PRICES,
     "gpt-5.1-codex.input: Input should be a valid number"),
    (PRICES, '{"m": {"input": 1, cached_input: 0}', PRICES, "not JSON (Expecting property name enclosed in double quotes"),
    (PRICES, '[1, 2]', PRICES, "Input should be a valid dictionary"),
])
def test_a_bad_board_setting_is_named(monkeypatch, capsys, tmp_path, name, value, named, problem):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    assert load_settings() is None
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"invalid setting {named}: ") and problem in line


def test_web_url_follows_the_api_url_unless_set(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    key = Fernet.generate_key().decode()
    ghes = Settings(_env_file=None, github_api_url="https://ghe.example/api/v3", session_key=key)
    assert ghes.web_url == "https://ghe.example"
    assert Settings(_env_file=None).web_url == "https://github.com"
    assert Settings(_env_file=None, github_web_url="https://gh.example/").web_url == "https://gh.example"
