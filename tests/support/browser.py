"""Headless Chromium driven by Selenium (fixture ``browser``).

Needs the Debian packages ``chromium`` and ``chromium-driver``. Selenium
calls block, so async tests run them with ``asyncio.to_thread`` while the
event loop keeps serving the pages the browser asks for.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

#: Quiet, isolated, no network of its own: only the pages a test opens.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _installed(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(
        f"none of {names} is on PATH: install the Debian packages chromium and chromium-driver"
    )


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile, shared by the session's tests."""
    options = Options()
    options.binary_location = _installed("chromium", "chromium-browser")
    profile: Path = tmp_path_factory.mktemp("chromium-profile")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = Service(executable_path=_installed("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
