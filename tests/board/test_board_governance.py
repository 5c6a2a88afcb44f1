"""Issue 14's board panels over real HTTP: a run's findings and cost per turn, a repository's
effective config with where each value came from (files served by the local GitHub server, read
with the App's real installation client)."""
from __future__ import annotations

import asyncio
import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import update

from bot.domain.findings import Finding
from bot.domain.policy import effective_policy
from config.org import effective, parse_layer
from storage.models import Run
from tests.support.board import REPO, SCRIPT, add_event, seed_run, sign_in, table_rows

CONFIG = ".github/scenarioforge.yml"
ORG_REPO = "octo-org/.github"
ORG = f"{ORG_REPO}:{CONFIG}"
OWN = f"{REPO}:{CONFIG}"
BASE = "octo-org/shared:conf/base.yml"
ORG_TEXT = "_extends: shared:conf/base.yml\nexecute:\n  mode: fix\npolicy:\n  pack: strict@1\n"
BASE_TEXT = "execute:\n  mode: full\n  max_fix_attempts: 6\nbudget:\n  monthly_usd: 40\n"
OWN_TEXT = f"execute:\n  mode: pr\nsources:\n  exclude: [\"{SCRIPT}/**\"]\npolicy:\n  rules:\n    pr.too-many-files: warning\n"


async def page_of(board_app, path: str) -> str:
    async with await sign_in(board_app.url) as http:
        async with http.get(board_app.url + path) as answer:
            assert answer.status == 200, path
            return await answer.text()


async def seed_findings(database, run_id: int) -> None:
    """A run that followed ``strict@1`` and reported findings at two stages (as ``stage_findings`` does)."""
    async with database.session() as session:
        await session.execute(update(Run).where(Run.id == run_id).values(
            policy_key="strict@1", policy_version=1, policy_effective_hash="ab" * 32, cost_usd=0.03595))
    uncited = Finding("generate.uncited-source", "warning", f"no scenario cites the selected source `{SCRIPT}.md`",
                      f"{SCRIPT}.md", "add a scenario for what it specifies", {"path": f"{SCRIPT}.md"})
    shared = Finding("execute.passed-without-specific-command", "block", "SC-001 passed on commands shared with "
                     "other scenarios only", "SC-001", "give the scenario a command that checks its own checkpoints")
    await add_event(database, run_id, "findings:generate", "complete", "1 finding(s) at generate",
                    {"stage": "generate", "findings": [uncited.as_dict()]})
    await add_event(database, run_id, "findings:execute", "failed", "1 finding(s) at execute",
                    {"stage": "execute", "findings": [shared.as_dict()]})


def org_files(github_server, org_text: str = ORG_TEXT) -> None:
    for name in (ORG_REPO, "octo-org/shared"):
        github_server.add_repo(name, installation_id=1)
    github_server.set_file(ORG_REPO, CONFIG, org_text)
    github_server.set_file("octo-org/shared", "conf/base.yml", BASE_TEXT)


async def test_the_run_page_lists_every_finding_with_its_severity_escaped(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    await seed_findings(board_app.database, run_id)

    page = await page_of(board_app, f"/board/runs/{run_id}")

    assert table_rows(page, "findings-table") == [
        ["generate", "warning", "generate.uncited-source", f"{SCRIPT}.md",
         f"no scenario cites the selected source `{SCRIPT}.md`", "add a scenario for what it specifies"],
        ["execute", "block", "execute.passed-without-specific-command", "SC-001",
         "SC-001 passed on commands shared with other scenarios only",
         "give the scenario a command that checks its own checkpoints"],
    ]
    assert SCRIPT not in page and "&lt;script&gt;" in page
    assert f"<code>strict@1</code> · effective hash <code>{'ab' * 32}</code>" in page
    assert table_rows(page, "turns-table") == [["t-1", "run", "0", "10000", "0", "2345", "US$ 0.0360"]]
    assert '<dd id="cost">US$ 0.0360</dd>' in page


async def test_the_downloaded_reports_carry_the_findings_and_the_policy(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    await seed_findings(board_app.database, run_id)

    report = json.loads(await page_of(board_app, f"/board/runs/{run_id}/report.json"))
    markdown = await page_of(board_app, f"/board/runs/{run_id}/report.md")
    html = await page_of(board_app, f"/board/runs/{run_id}/report.html")

    assert report["policy"] == {"key": "strict@1", "effective_hash": "ab" * 32}
    assert [(f["stage"], f["severity"], f["code"], f["scope"]) for f in report["findings"]] == [
        ("generate", "warning", "generate.uncited-source", f"{SCRIPT}.md"),
        ("execute", "block", "execute.passed-without-specific-command", "SC-001")]
    assert "## Findings (2) of policy ` strict@1 `" in markdown
    assert "- execute · block · ` execute.passed-without-specific-command ` on ` SC-001 `" in markdown
    assert [row[:4] for row in table_rows(html, "findings-table")] == [
        ["generate", "warning", "generate.uncited-source", f"{SCRIPT}.md"],
        ["execute", "block", "execute.passed-without-specific-command", "SC-001"]]
    assert SCRIPT not in html and "&lt;script&gt;" in html


async def test_a_run_without_findings_says_none(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    page = await page_of(board_app, f"/board/runs/{run_id}")
    assert "<h2>Findings (0)</h2>" in page and "None (this run resolved no policy)." in page


async def test_the_repository_page_shows_each_value_with_the_file_it_came_from(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    org_files(github_server)
    github_server.set_file(REPO, CONFIG, OWN_TEXT)

    page = await page_of(board_app, f"/board/{REPO}")

    keys = {row[0]: row[1:] for row in table_rows(page, "config-keys")}
    assert keys["execute.mode"] == ["pr", "repository file", OWN]
    assert keys["execute.max_fix_attempts"] == ["6", "_extends base", BASE]
    assert keys["budget.monthly_usd"] == ["40.0", "_extends base", BASE]
    assert keys["policy.pack"] == ["strict@1", "org file", ORG]
    assert keys["policy.rules.pr.too-many-files"] == ["warning", "repository file", OWN]
    assert keys["generate.refine_rounds"] == ["2", "default", ""]
    assert keys["sources.exclude"] == [f'["{SCRIPT}/**"]', "repository file", OWN]
    assert table_rows(page, "config-files") == [[OWN, "repository file", "complete used"],
                                                [ORG, "org file", "complete used"],
                                                [BASE, "_extends base", "complete used"]]
    layers = [parse_layer(name, text) for name, text in ((BASE, BASE_TEXT), (ORG, ORG_TEXT), (OWN, OWN_TEXT))]
    expected = effective_policy(effective(layers).config.policy)
    assert "Policy <code>strict@1</code> (pack strict, version 1)" in page
    assert f"<code>policy_effective_hash</code> <code>{expected.effective_hash}</code>" in page
    assert SCRIPT not in page


async def test_an_invalid_org_file_is_shown_as_such_and_the_repositorys_keys_apply(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    org_files(github_server, "execute:\n  mode: sometimes\n")
    github_server.set_file(REPO, CONFIG, "execute:\n  max_fix_attempts: 2\n")

    page = await page_of(board_app, f"/board/{REPO}")

    own, org = table_rows(page, "config-files")
    assert own == [OWN, "repository file", "complete used"]
    assert org[:2] == [ORG, "org file"]
    assert org[2].startswith(f"failed invalid org file, left out: {ORG}: 1 validation error") and "execute.mode" in org[2]
    keys = {row[0]: row[1:] for row in table_rows(page, "config-keys")}
    assert (keys["execute.mode"], keys["execute.max_fix_attempts"]) == (["run", "default", ""],
                                                                        ["2", "repository file", OWN])


async def test_a_file_whose_policy_does_not_resolve_is_shown_left_out_with_its_error(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    github_server.set_file(REPO, CONFIG, "policy:\n  pack: nope@1\n")
    page = await page_of(board_app, f"/board/{REPO}")
    assert (f"invalid repository file, left out: <code>{OWN} (merged with the layers under it): "
            "policy.pack: unknown pack &#39;nope@1&#39;") in page
    assert "<code>default@1</code>" in page and "invalid policy</span>" not in page


async def test_two_repositories_of_one_installation_show_only_their_own_config(board_app, github_server):
    github_server.add_repo("octo-org/api", installation_id=1)
    github_server.oauth.grant("octocat", REPO, "octo-org/api")
    github_server.set_file(REPO, CONFIG, "execute:\n  mode: full\n")
    github_server.set_file("octo-org/api", CONFIG, "sources:\n  exclude: [api-only/**]\n")

    shop, api = await page_of(board_app, f"/board/{REPO}"), await page_of(board_app, "/board/octo-org/api")

    shop_keys = {row[0]: row[1:] for row in table_rows(shop, "config-keys")}
    api_keys = {row[0]: row[1:] for row in table_rows(api, "config-keys")}
    assert (shop_keys["execute.mode"], shop_keys["sources.exclude"]) == (["full", "repository file", OWN],
                                                                         ["[]", "default", ""])
    assert (api_keys["execute.mode"], api_keys["sources.exclude"]) == (
        ["run", "default", ""], ['["api-only/**"]', "repository file", f"octo-org/api:{CONFIG}"])
    assert "octo-org/api" not in shop.split('id="config"')[1] and REPO not in api.split('id="config"')[1]


async def test_a_github_failure_leaves_the_page_up_and_says_the_config_is_unreadable(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    github_server.fail_next("GET /repos/{owner}/{repo}/contents/{path}", status=500, message="GitHub is down")
    page = await page_of(board_app, f"/board/{REPO}")
    assert "The config could not be read from GitHub: GitHubBroken" in page and "<h2>Runs</h2>" in page


async def test_a_browser_shows_the_findings_and_the_config_panels(browser, board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    org_files(github_server)
    github_server.set_file(REPO, CONFIG, OWN_TEXT)
    run_id = await seed_run(board_app.database)
    await seed_findings(board_app.database, run_id)

    def visit() -> tuple[list[str], list[str]]:
        browser.delete_all_cookies()
        browser.get(f"{board_app.url}/board/runs/{run_id}")  # through the sign-in
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "findings-table"))
        findings = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr")]
        browser.get(f"{board_app.url}/board/{REPO}")
        WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "config-keys"))
        config = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#config-keys tbody tr")]
        return findings, config

    findings, config = await asyncio.to_thread(visit)
    assert findings[0] == (f"generate warning generate.uncited-source {SCRIPT}.md no scenario cites the selected "
                           f"source `{SCRIPT}.md` add a scenario for what it specifies")
    assert findings[1].startswith("execute block execute.passed-without-specific-command SC-001")
    assert f"execute.mode pr repository file {OWN}" in config
    assert f"execute.max_fix_attempts 6 _extends base {BASE}" in config
    assert browser.title == f"{REPO} · ScenarioForge"
