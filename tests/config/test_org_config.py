"""Issue 14, "Org-wide config": the org file, the repository's file, ``_extends`` and provenance,
read through the real client from the local GitHub server."""
from __future__ import annotations

import pytest

from bot.github.config_files import load_effective
from config.org import parse_extends

ORG_FILE = ("acme/.github", ".github/scenarioforge.yml")
ORG = "acme/.github:.github/scenarioforge.yml"


@pytest.fixture
def acme(github_server):
    """Installation 1 with ``acme/.github``, ``acme/app``, ``acme/tool``, ``acme/base``; installation 2
    with ``other/secret`` (not readable by installation 1's token)."""
    for name in ("acme/.github", "acme/app", "acme/tool", "acme/base"):
        github_server.add_repo(name, installation_id=1)
    github_server.add_repo("other/secret", installation_id=2)
    return github_server


async def effective_of(github_auth, repository: str):
    return await load_effective(github_auth.installation_client(1), repository)


async def test_the_org_file_alone_applies_with_its_source(acme, github_auth):
    acme.set_file(*ORG_FILE, "execute:\n  mode: fix\nbudget:\n  monthly_usd: 50\n")
    found = await effective_of(github_auth, "acme/app")
    assert (found.config.execute.mode, found.config.budget.monthly_usd, found.errors) == ("fix", 50, [])
    rows = {key: (value, source, kind) for key, value, source, kind in found.rows()}
    assert rows["execute.mode"] == ("fix", ORG, "org file")
    assert rows["execute.max_fix_attempts"] == (3, "default", "default")


async def test_the_repository_file_alone_applies(acme, github_auth):
    acme.set_file("acme/app", ".github/scenarioforge.yml", "generate:\n  refine_rounds: 4\n")
    found = await effective_of(github_auth, "acme/app")
    assert found.config.generate.refine_rounds == 4
    assert found.sources["generate.refine_rounds"] == "acme/app:.github/scenarioforge.yml"


async def test_the_repository_overrides_the_org_key_by_key(acme, github_auth):
    acme.set_file(*ORG_FILE, "execute:\n  mode: fix\n  max_fix_attempts: 5\nsources:\n  exclude: [old/**]\n")
    acme.set_file("acme/app", ".github/scenarioforge.yml", "execute:\n  mode: pr\n")
    found = await effective_of(github_auth, "acme/app")
    ex = found.config.execute
    assert (ex.mode, ex.max_fix_attempts, found.config.sources.exclude) == ("pr", 5, ["old/**"])
    assert (found.sources["execute.mode"], found.sources["execute.max_fix_attempts"]) == (
        "acme/app:.github/scenarioforge.yml", ORG)


async def test_extends_pulls_a_base_file_under_the_one_naming_it(acme, github_auth):
    acme.set_file("acme/base", "shared/sf.yml", "execute:\n  mode: full\n  max_fix_attempts: 7\n")
    acme.set_file("acme/app", ".github/scenarioforge.yml", "_extends: acme/base:shared/sf.yml\nexecute:\n  mode: run\n")
    acme.set_file("acme/tool", ".github/scenarioforge.yml", "_extends: base\n")  # same owner, default path
    acme.set_file("acme/base", ".github/scenarioforge.yml", "generate:\n  refine_rounds: 0\n")
    app, tool = await effective_of(github_auth, "acme/app"), await effective_of(github_auth, "acme/tool")
    assert (app.config.execute.mode, app.config.execute.max_fix_attempts) == ("run", 7)
    assert app.sources["execute.max_fix_attempts"] == "acme/base:shared/sf.yml"
    kinds = {key: kind for key, _, _, kind in app.rows()}
    assert (kinds["execute.max_fix_attempts"], kinds["execute.mode"]) == ("_extends base", "repository file")
    assert tool.config.generate.refine_rounds == 0 and tool.errors == []


async def test_an_extends_the_app_cannot_read_is_an_error_and_the_rest_applies(acme, github_auth):
    acme.set_file("other/secret", ".github/scenarioforge.yml", "execute:\n  mode: full\n")
    acme.set_file("acme/app", ".github/scenarioforge.yml", "_extends: other/secret\nexecute:\n  max_fix_attempts: 2\n")
    found = await effective_of(github_auth, "acme/app")
    assert (found.config.execute.mode, found.config.execute.max_fix_attempts) == ("run", 2)
    assert found.errors == ["acme/app:.github/scenarioforge.yml: _extends names other/secret:.github/scenarioforge.yml, "
                            "which does not exist or cannot be read by this App"]


async def test_an_extends_cycle_stops(acme, github_auth):
    acme.set_file("acme/app", ".github/scenarioforge.yml", "_extends: tool\n")
    acme.set_file("acme/tool", ".github/scenarioforge.yml", "_extends: app\n")
    found = await effective_of(github_auth, "acme/app")
    assert any("makes a cycle" in error for error in found.errors)


async def test_an_invalid_org_file_is_reported_and_the_repositorys_valid_keys_used(acme, github_auth):
    acme.set_file(*ORG_FILE, "execute:\n  mode: sometimes\n")
    acme.set_file("acme/app", ".github/scenarioforge.yml", "execute:\n  max_fix_attempts: 2\n")
    found = await effective_of(github_auth, "acme/app")
    assert (found.config.execute.mode, found.config.execute.max_fix_attempts) == ("run", 2)
    [error] = found.errors
    assert error.startswith(f"{ORG}: 1 validation error") and "execute.mode" in error


async def test_two_repositories_of_one_installation_never_mix(acme, github_auth):
    acme.set_file(*ORG_FILE, "execute:\n  max_fix_attempts: 4\n")
    acme.set_file("acme/app", ".github/scenarioforge.yml", "execute:\n  mode: full\nbudget:\n  monthly_usd: 1\n")
    acme.set_file("acme/tool", ".github/scenarioforge.yml", "sources:\n  exclude: [tool-only/**]\n")
    app = await effective_of(github_auth, "acme/app")
    tool = await effective_of(github_auth, "acme/tool")
    app_again = await effective_of(github_auth, "acme/app")
    assert (app.config.execute.mode, app.config.sources.exclude, app.config.budget.monthly_usd) == ("full", [], 1)
    assert (tool.config.execute.mode, tool.config.sources.exclude, tool.config.budget.monthly_usd) == (
        "run", ["tool-only/**"], None)
    assert app.config.execute.max_fix_attempts == tool.config.execute.max_fix_attempts == 4
    assert "acme/app" not in str(tool.sources) and "acme/tool" not in str(app.sources)
    assert app_again.config == app.config


@pytest.mark.parametrize(("value", "expected"), [
    ("base", ("acme/base", ".github/scenarioforge.yml")),
    ("other/base", ("other/base", ".github/scenarioforge.yml")),
    ("other/base:conf/sf.yml", ("other/base", "conf/sf.yml")),
])
def test_parse_extends(value, expected):
    assert parse_extends(value, "acme") == expected


@pytest.mark.parametrize("value", [
    "", "a b", "o/r:../../etc", ["base"], "o/r/x", "..", ".", "acme/..", "https://evil.example/x",
    "o/r:/etc/passwd", "o/r:a//b", "o/r:a/", "o/r:%2e%2e/x", "o/r:a/./b", "o/r:conf.yml?ref=main", "o/r:a#b",
])
def test_a_bad_extends_names_the_key(value):
    with pytest.raises(ValueError, match="_extends: "):
        parse_extends(value, "acme")


async def test_only_the_org_file_sets_the_installation_ceiling(acme, github_auth):
    acme.set_file(*ORG_FILE, "budget:\n  installation_monthly_usd: 100\n")
    acme.set_file("acme/app", ".github/scenarioforge.yml",
                  "budget:\n  installation_monthly_usd: 100000\n  monthly_usd: 5\n")
    found = await effective_of(github_auth, "acme/app")
    assert (found.config.budget.installation_monthly_usd, found.config.budget.monthly_usd) == (100, 5)
    assert found.sources["budget.installation_monthly_usd"] == ORG
    assert found.errors == ["acme/app:.github/scenarioforge.yml: budget.installation_monthly_usd is set by the "
                            "org file only; ignored here"]


async def test_a_repository_file_may_extend_the_org_file_without_an_org_only_error(acme, github_auth):
    acme.set_file(*ORG_FILE, "budget:\n  installation_monthly_usd: 100\n")
    acme.set_file("acme/app", ".github/scenarioforge.yml", "_extends: .github\nexecute:\n  mode: fix\n")
    found = await effective_of(github_auth, "acme/app")
    assert (found.config.budget.installation_monthly_usd, found.config.execute.mode, found.errors) == (100, "fix", [])


async def test_an_extends_chain_stops_after_three_hops_and_a_cycle_ignores_the_names_case(acme, github_auth):
    for name in ("b1", "b2", "b3", "b4"):
        acme.add_repo(f"acme/{name}", installation_id=1)
        acme.set_file(f"acme/{name}", ".github/scenarioforge.yml", f"_extends: {name[0]}{int(name[1]) + 1}\n")
    acme.set_file("acme/app", ".github/scenarioforge.yml", "_extends: b1\nexecute:\n  mode: fix\n")
    acme.set_file("acme/tool", ".github/scenarioforge.yml", "_extends: ACME/Tool\nexecute:\n  mode: pr\n")
    app, tool = await effective_of(github_auth, "acme/app"), await effective_of(github_auth, "acme/tool")
    assert app.config.execute.mode == "fix" and app.errors == [
        "acme/b3:.github/scenarioforge.yml: _extends acme/b4:.github/scenarioforge.yml is one hop more than 3; "
        "it is not read"]
    assert tool.config.execute.mode == "pr" and tool.errors == [
        "acme/tool:.github/scenarioforge.yml: _extends ACME/Tool:.github/scenarioforge.yml makes a cycle; it is not read"]


@pytest.mark.parametrize(("secret", "named"), [
    ("deploy_key: sk-live-4242\n", "deploy_key\n  Extra inputs are not permitted"),
    ("execute:\n  mode: sk-live-4242\n", "execute.mode\n  Input should be 'run', 'fix', 'pr' or 'full'"),
    ("token: 'sk-live-4242\n", "invalid YAML at line 2, column 1: found unexpected end of stream"),
])
async def test_an_extends_of_another_repositorys_file_never_quotes_its_text(acme, github_auth, secret, named):
    acme.add_repo("acme/private", installation_id=1)
    acme.set_file("acme/private", "ops/secrets.yml", secret)
    acme.set_file("acme/app", ".github/scenarioforge.yml", "_extends: private:ops/secrets.yml\n")
    found = await effective_of(github_auth, "acme/app")
    [error] = found.errors
    assert error.startswith("acme/private:ops/secrets.yml: ") and named in error
    assert "sk-live" not in error
