"""The board in headless Chromium: sign in with GitHub, watch a run live, read untrusted text as text.

Screenshots of every page go under the test's ``tmp_path`` (paths printed).
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.board import REPO, SCRIPT, add_event, finish, seed_run, sign_in


def _shoot(browser, tmp_path: Path, name: str) -> None:
    """A full-page screenshot, 1366 px wide (a laptop screen), at most 4000 px high."""
    height = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1366, "height": min(int(height), 4000), "deviceScaleFactor": 1, "mobile": False})
    path = tmp_path / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    print(f"screenshot: {path}")


def _events(browser) -> list[str]:
    return [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#events li")]


async def test_sign_in_then_the_run_page_follows_the_run_live(browser, board_app, github_server, tmp_path):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database, state="running")

    def sign_in_and_open() -> str:
        browser.delete_all_cookies()
        browser.get(f"{board_app.url}/board/runs/{run_id}")  # → /login → GitHub → /login/callback → back here
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "live") and
                                         b.find_element(By.ID, "live").is_displayed())
        return browser.current_url

    assert await asyncio.to_thread(sign_in_and_open) == f"{board_app.url}/board/runs/{run_id}"
    assert browser.find_element(By.ID, "login").text == "octocat"
    before = len(_events(browser))
    await add_event(board_app.database, run_id, "scenario", "passed", f"SC-001 passed {SCRIPT}",
                    {"scenario_id": "SC-001"})
    await asyncio.to_thread(WebDriverWait(browser, 20).until, lambda b: len(_events(b)) == before + 1)
    assert _events(browser)[-1].endswith(f"SC-001 passed {SCRIPT}")  # shown as text
    await finish(board_app.database, run_id, "failed")
    await asyncio.to_thread(WebDriverWait(browser, 20).until,
                            lambda b: b.find_element(By.ID, "live").text == "finished")
    assert browser.find_element(By.ID, "run-state").text == "failed"
    assert browser.find_element(By.ID, "state-detail").text == "failed (done)"
    assert len(_events(browser)) == before + 2
    assert browser.title == f"Run {run_id} · ScenarioForge"  # no script ran
    assert SCRIPT in browser.find_element(By.ID, "command").text
    await asyncio.to_thread(_shoot, browser, tmp_path, "run")


async def test_every_page_renders_untrusted_text_as_text(browser, board_app, github_server, tmp_path):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    pages = {"board": "/board", "run-finished": f"/board/runs/{run_id}", "repository": f"/board/{REPO}",
             "scenario": f"/board/{REPO}/scenarios/SC-002", "analytics": "/board/analytics"}
    report = tmp_path / "report.html"
    async with await sign_in(board_app.url) as http:
        async with http.get(f"{board_app.url}/board/runs/{run_id}/report.html") as answer:
            report.write_bytes(await answer.read())

    def visit() -> dict[str, str]:
        browser.delete_all_cookies()
        texts = {}
        for name, path in {**pages, "report": report.as_uri()}.items():
            browser.get(path if name == "report" else board_app.url + path)  # the report: the downloaded file
            WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.TAG_NAME, "h1"))
            texts[name] = browser.find_element(By.TAG_NAME, "body").text
            _shoot(browser, tmp_path, name)
        return texts

    texts = await asyncio.to_thread(visit)
    assert f"HTTP 200 {SCRIPT}" in texts["run-finished"]  # a checkpoint's observation
    assert f"FAILED {SCRIPT}" in texts["run-finished"]  # command output
    assert f"Saw {SCRIPT} in the page" in texts["run-finished"]  # notes, through Markdown
    assert "pay now " + SCRIPT in texts["scenario"]  # a scenario step, Markdown rendered
    assert "docs/checkout.md" in texts["repository"] and "code-defect" in texts["repository"]
    assert "first-attempt pass rate" in texts["analytics"]
    assert f"FAILED {SCRIPT}" in texts["report"]
    assert browser.title != "pwned"
