"""Issue 14 end to end: a real execute run (the real codex binary, the scripted model) under an org
file with an ``_extends`` base and a custom pack, then what ``/scenarioforge status --config`` answers
and what the board's run and repository pages show of it."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from bot.github.governance import cell
from tests.execution.test_execute_e2e import report, result, store_pack, world_repo  # noqa: F401
from tests.execution.test_execute_e2e import world_settings as execute_world_settings
from tests.support.board import sign_in, table_rows
from tests.support.github_oauth import CLIENT_SECRET
from tests.support.model_server import exec_call, tool_outputs
from tests.support.target_repo import TOTAL_TEST

CONFIG = ".github/scenarioforge.yml"
ORG_REPO, SHARED = "Codertocat/.github", "Codertocat/shared"
ORG, BASE, OWN = f"{ORG_REPO}:{CONFIG}", f"{SHARED}:conf/base.yml", f"Codertocat/Hello-World:{CONFIG}"
BASE_TEXT = "budget:\n  monthly_usd: 50\nexecute:\n  max_fix_attempts: 4\n"
ORG_TEXT = ("_extends: shared:conf/base.yml\npolicy:\n  pack: acme@1\n  packs:\n    acme@1:\n      extends: default@1\n"
            "      rules:\n        execute.missing-rerun-command: info\n")
OWN_TEXT = "execute:\n  wall_clock_minutes: 30\npolicy:\n  rules:\n    generate.no-edge-variant: 'off'\n"


@pytest.fixture
def world_settings(codex_settings, github_server) -> dict[str, Any]:
    """The execute world, a price for the scripted model, and the board's sign-in."""
    return {**execute_world_settings.__wrapped__(codex_settings),
            "model_prices": {"scripted": {"input": 10, "cached_input": 1, "output": 100}},
            "client_id": github_server.oauth.client_id, "client_secret": SecretStr(CLIENT_SECRET)}


def shared_commands(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Both scenarios pass on the one command they share; SC-002 reports no rerun command."""
    if not tool_outputs(request):
        return [exec_call(TOTAL_TEST)]
    return report(result("SC-001", "passed", TOTAL_TEST, "45.0"),
                  {**result("SC-002", "passed", TOTAL_TEST, "55.0"), "rerun_command": ""})


async def test_a_real_runs_findings_and_config_on_github_and_on_the_board(world, model_server):
    for name in (ORG_REPO, SHARED):
        world.github.add_repo(name, installation_id=world.installation_id)
    world.github.set_file(ORG_REPO, CONFIG, ORG_TEXT)
    world.github.set_file(SHARED, "conf/base.yml", BASE_TEXT)
    world.remote.commit({CONFIG: OWN_TEXT})
    world.github.oauth.grant("octocat", world.repository)
    await store_pack(world)
    model_server.script = shared_commands

    await world.comment("/scenarioforge execute")
    await world.settle()
    await world.comment("/scenarioforge status --config")
    await world.settle()

    [run] = await world.runs()
    assert (run.state, run.policy_key) == ("passed", "acme@1")
    status = world.comments()[-1]
    assert f"| {cell('execute.max_fix_attempts')} | {cell(4)} | _extends base | {cell(BASE)} |" in status
    assert f"| {cell('policy.pack')} | {cell('acme@1')} | org file | {cell(ORG)} |" in status
    assert f"| {cell('execute.wall_clock_minutes')} | {cell(30.0)} | repository file | {cell(OWN)} |" in status
    [event] = [e for e in await world.events(run.id) if e.phase == "findings:execute"]
    reported = [f["code"] for f in event.payload["findings"]]
    assert reported == ["execute.passed-without-specific-command", "execute.passed-without-specific-command",
                        "execute.missing-rerun-command"]
    print("\n/scenarioforge status --config answered:\n\n" + status)
    print("\nthe run's findings event:\n\n" + event.message)

    async with await sign_in(world.running.url) as http:
        async with http.get(f"{world.running.url}/board/runs/{run.id}") as answer:
            run_page = await answer.text()
        async with http.get(f"{world.running.url}/board/{world.repository}") as answer:
            repository_page = await answer.text()

    findings = table_rows(run_page, "findings-table")
    assert [(row[0], row[1], row[2], row[3]) for row in findings] == [
        ("execute", "warning", "execute.passed-without-specific-command", "SC-001"),
        ("execute", "warning", "execute.passed-without-specific-command", "SC-002"),
        ("execute", "info", "execute.missing-rerun-command", "SC-002")]
    assert findings[2][4:] == ["SC-002 has no rerun command", "report the one command that reruns this scenario"]
    turns = table_rows(run_page, "turns-table")
    assert turns and all(row[-1].startswith("US$ 0.") for row in turns)  # every turn priced
    assert f'<dd id="cost">US$ {run.cost_usd:,.4f}</dd>' in run_page
    assert f"<code>acme@1</code> · effective hash <code>{run.policy_effective_hash}</code>" in run_page
    keys = {row[0]: row[1:] for row in table_rows(repository_page, "config-keys")}
    assert keys["execute.max_fix_attempts"] == ["4", "_extends base", BASE]
    assert keys["policy.packs.acme@1.rules.execute.missing-rerun-command"] == ["info", "org file", ORG]
    assert keys["policy.rules.generate.no-edge-variant"] == ["off", "repository file", OWN]
    assert f"<code>policy_effective_hash</code> <code>{run.policy_effective_hash}</code>" in repository_page
    print("\nthe board's findings panel:\n\n" + "\n".join(" | ".join(row) for row in findings))
