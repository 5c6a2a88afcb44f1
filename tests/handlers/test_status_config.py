"""Issue 14: ``/scenarioforge status --config`` shows the effective config with each key's source,
and a run that uses an invalid org file says so in its tracking comment."""
from __future__ import annotations

from bot.github.governance import cell, spend_line

ORG_REPO = "Codertocat/.github"
ORG = f"{ORG_REPO}:.github/scenarioforge.yml"
OWN = "Codertocat/Hello-World:.github/scenarioforge.yml"


def org_file(world, text: str) -> None:
    world.github.add_repo(ORG_REPO, installation_id=world.installation_id)
    world.github.set_file(ORG_REPO, ".github/scenarioforge.yml", text)


async def test_status_config_lists_every_key_with_its_source(world):
    org_file(world, "execute:\n  mode: fix\n  max_fix_attempts: 5\nbudget:\n  monthly_usd: 25\n")
    world.remote.commit({".github/scenarioforge.yml": "execute:\n  mode: pr\nsources:\n  exclude: ['<b>|x']\n"})

    await world.comment("/scenarioforge status --config")
    await world.settle()

    reply = world.comments()[-1]
    print("\n" + reply)
    assert reply.startswith("### ScenarioForge effective config")
    assert f"| {cell('execute.mode')} | {cell('pr')} | repository file | {cell(OWN)} |" in reply
    assert f"| {cell('execute.max_fix_attempts')} | {cell(5)} | org file | {cell(ORG)} |" in reply
    assert f"| {cell('budget.monthly_usd')} | {cell(25.0)} | org file | {cell(ORG)} |" in reply
    assert f"| {cell('generate.refine_rounds')} | {cell(2)} | default |  |" in reply
    assert "&lt;b&gt;&#124;x" in reply and "<b>" not in reply  # the file's text is data
    assert await world.runs() == []  # status is answered, not queued


async def test_a_run_using_an_invalid_org_file_reports_it_and_uses_the_repositorys_keys(world):
    org_file(world, "execute:\n  mode: sometimes\n")
    world.remote.commit({".github/scenarioforge.yml": "sources:\n  exclude: ['docs/**']\n"})

    await world.comment("/scenarioforge sources")
    await world.settle()

    [run] = await world.runs()
    tracking = await world.tracking(run.id)
    assert run.state == "passed"
    assert "a config file is invalid and left out" in tracking and f"{ORG}: 1 validation error" in tracking
    [config_event] = [event for event in await world.events(run.id) if event.phase == "config"]
    assert config_event.payload["sources"]["sources.exclude"] == OWN


async def test_status_config_names_an_invalid_org_file_as_such(world):
    org_file(world, "execute:\n  mode: sometimes\n")

    await world.comment("/scenarioforge status --config")
    await world.settle()

    reply = world.comments()[-1]
    assert f"**Left out (invalid):**\n- invalid org file: <code>{ORG}: 1 validation error" in reply
    assert f"| {cell('execute.mode')} | {cell('run')} | default |  |" in reply


def test_the_spend_line_of_a_zero_ceiling_says_every_run_is_refused():
    assert spend_line("o/r", "2026-12", 0.0, 0.0) == (
        "Month-to-date spend (2026-12) of o/r: $0.0000 of $0.0000 (every run refused).")
    assert spend_line("o/r", "2026-12", 5.0, None).endswith("$5.00 (no ceiling).")
    assert spend_line("o/r", "2026-12", 5.0, 20.0).endswith("$5.00 of $20.00 (25%).")
