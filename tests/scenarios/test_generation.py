"""The generate loop with the real ``codex`` binary: prompt, skill, refinement in the same thread, revisions."""
from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess

import pytest

from bot.codex.engine import Engine
from bot.codex.prompts import PROMPT_VERSION, SourceText
from bot.domain.pack import PackDocument
from bot.scenarios.generation import (
    PackInvalid,
    check_output,
    generate_command,
    generate_pack,
    repository_facts,
)
from tests.support.model_server import (
    assistant_message,
    exec_call,
    sample_pack,
    tool_outputs,
    user_texts,
)

PRD = "# PRD\nCustomers pay with a saved card; the order total is shown in EUR.\n"
SOURCES = [SourceText("docs/prd.md", "docs/prd.md", PRD)]
FACTS = {"languages": {"python": "3 files"}, "test_commands": ["python -m pytest"]}


@pytest.fixture
def worktree(tmp_path):
    path = tmp_path / "repo"
    (path / "docs").mkdir(parents=True)
    (path / "docs" / "prd.md").write_text(PRD)
    return path


def vague_pack() -> dict:
    pack = sample_pack()
    pack["feature_areas"][0]["outcomes"][0]["scenarios"][0]["checkpoints"] = ["It works correctly"]
    return pack


def answers(*packs: dict):
    """A script: read the PRD once, then answer each turn with the next pack."""
    queue = list(packs)

    def script(request):
        if len(tool_outputs(request)) == 0:
            return [exec_call("cat docs/prd.md")]
        return [assistant_message(json.dumps(queue.pop(0) if len(queue) > 1 else queue[0]))]

    return script


async def test_initial_generation_sends_sources_facts_skill_and_stores_revision_1(
        model_server, codex_settings, worktree):
    model_server.script = answers(sample_pack())
    events = []
    result = await generate_pack(
        Engine(codex_settings), worktree=worktree, sources=SOURCES, inventory_facts=FACTS,
        instruction="Focus on paying.", on_event=events.append, manifest_hash="f" * 64, head_sha="a" * 40,
    )
    assert result.pack.scenario_ids() == ["SC-001", "SC-002"]
    revision = result.revision
    assert (revision.revision, revision.mode, revision.prompt_version) == (1, "initial", PROMPT_VERSION)
    assert revision.thread_id and len(revision.turn_ids) == 1
    assert revision.token_usage[0]["total_tokens"] == 240
    assert revision.change_summary == {"added": ["SC-001", "SC-002"], "changed": [], "removed": []}
    assert revision.manifest_hash == "f" * 64 and revision.findings_history == [[]]
    assert set(revision.timings_s) == {"prompt", "codex_start", "turns", "validation"}

    prompt = "\n".join(user_texts(model_server.requests[0]))
    assert "$scenario" in prompt
    assert "Customers pay with a saved card" in prompt
    assert "Focus on paying." in prompt and "`python -m pytest`" in prompt
    assert "Allowed source ids: docs/prd.md" in prompt
    # the skill's instructions reached the model
    assert "Scenario quality bar" in json.dumps(model_server.requests[0]["input"])
    assert ("validate", "passed") in [(e.phase, e.status) for e in events]


async def test_invalid_pack_is_refined_in_the_same_thread(model_server, codex_settings, worktree):
    model_server.script = answers(vague_pack(), sample_pack())
    events = []
    big = SourceText("docs/big.md", "docs/big.md", "y" * 4000)
    result = await generate_pack(
        Engine(codex_settings), worktree=worktree, sources=[*SOURCES, big], inventory_facts=FACTS, instruction="",
        token_budget=300, on_event=events.append,
    )
    assert result.revision.cut_sources == [
        {"source_id": "docs/big.md", "path": "docs/big.md", "total_tokens": 1000, "kept_tokens": 282}]
    assert events[0].phase == "prompt" and events[0].payload["cut"] == result.revision.cut_sources
    assert len(result.turns) == 2
    assert {turn.thread_id for turn in result.turns} == {result.revision.thread_id}
    assert [len(findings) for findings in result.revision.findings_history] == [1, 0]
    [refine] = [text for text in user_texts(model_server.requests[-1]) if "validator found" in text]
    assert "untestable_checkpoint" in refine and "It works correctly" in refine
    # same thread: the second turn's request still holds the first prompt
    assert any("Customers pay with a saved card" in text for text in user_texts(model_server.requests[-1]))


async def test_pack_still_invalid_after_the_rounds_fails_with_findings(model_server, codex_settings, worktree):
    model_server.script = answers(vague_pack())
    events = []
    with pytest.raises(PackInvalid) as caught:
        await generate_pack(
            Engine(codex_settings), worktree=worktree, sources=SOURCES, inventory_facts=FACTS,
            instruction="", refine_rounds=1, on_event=events.append,
        )
    assert [f.code for f in caught.value.findings] == ["untestable_checkpoint"]
    assert "It works correctly" in caught.value.message
    assert caught.value.context["thread_id"] and caught.value.context["turn_id"]
    assert [(e.phase, e.status) for e in events if e.phase == "validate"] == [("validate", "failed")] * 2


async def test_update_builds_revision_2_with_change_summary(model_server, codex_settings, worktree):
    model_server.script = answers(sample_pack(count=2))
    engine = Engine(codex_settings)
    first = await generate_pack(engine, worktree=worktree, sources=SOURCES, inventory_facts=FACTS, instruction="")
    updated = sample_pack(count=3)
    del updated["feature_areas"][0]["outcomes"][0]["scenarios"][0]  # drop SC-001, keep SC-002, add SC-003
    model_server.requests.clear()
    model_server.script = answers(updated)
    second = await generate_pack(
        engine, worktree=worktree, sources=SOURCES, inventory_facts=FACTS,
        instruction="Drop the single-item case.", previous=first.document(),
    )
    assert (second.revision.revision, second.revision.mode) == (2, "update")
    assert second.revision.change_summary == {"added": ["SC-003"], "changed": [], "removed": ["SC-001"]}
    prompt = "\n".join(user_texts(model_server.requests[0]))
    assert "update of revision 1" in prompt and '"id": "SC-001"' in prompt and "after SC-002" in prompt


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True)


async def test_local_command_scans_asks_generates_and_writes_both_files(model_server, codex_settings, worktree,
                                                                        tmp_path, monkeypatch, capsys):
    (worktree / "README.md").write_text("# Shop\nRun `make test`.\n")
    (worktree / "Makefile").write_text("test:\n\tpytest\n")
    git(worktree, "init", "-q", "-b", "main")
    git(worktree, "add", ".")
    git(worktree, "commit", "-q", "-m", "docs")
    env = {"CODEX_MODEL": "scripted", "CODEX_BASE_URL": model_server.base_url,
           "CODEX_HOME": str(codex_settings.codex_home), "CODEX_CONFIG": codex_settings.codex_config}
    for key, value in env.items():
        monkeypatch.setenv(f"SCENARIOFORGE_{key}", value)
    monkeypatch.chdir(tmp_path)
    model_server.script = answers(sample_pack())
    out = tmp_path / "out"

    code = await asyncio.to_thread(generate_command, worktree, "Cover checkout.", out, True)

    printed = capsys.readouterr()
    assert code == 0, printed.err
    document = PackDocument.model_validate_json((out / "scenario-pack.json").read_text())
    assert document.revision.revision == 1 and document.revision.head_sha
    markdown = (out / "scenarios.md").read_text()
    assert "#### SC-001" in markdown
    assert f"]({os.path.relpath(worktree / 'docs/prd.md', out)})" in markdown
    assert "[codex] running: Codex turn started" in printed.out and "Wrote" in printed.out
    assert "make test" in "\n".join(user_texts(model_server.requests[0]))

    # a second run finds the stored pack and writes revision 2 with its change summary
    model_server.script = answers(sample_pack(count=3))
    assert await asyncio.to_thread(generate_command, worktree, "", out, True) == 0
    document = PackDocument.model_validate_json((out / "scenario-pack.json").read_text())
    assert (document.revision.revision, document.revision.change_summary["added"]) == (2, ["SC-003"])


def test_repository_facts_find_test_commands(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (tmp_path / "package.json").write_text('{"scripts": {"test": "vitest run"}}')
    (tmp_path / "Makefile").write_text("build:\n\ttrue\ntest:\n\ttrue\n")
    facts = repository_facts(tmp_path, {"python": 2, "typescript": 5})
    assert facts["test_commands"] == ["python -m pytest", "npm test  # vitest run", "make test"]
    assert list(facts["languages"]) == ["typescript", "python"]


def test_local_command_refuses_suspect_sources_without_a_terminal_or_yes(tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    # a draft describes intent not built yet: at most suspect (issue 10), so the terminal must confirm
    (repo / "docs" / "prd.md").write_text("# PRD\n\nStatus: Draft\n\nThe handler lives in `src/orders.py`.\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "docs")
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal, even if it says yes

    code = generate_command(repo, "", tmp_path / "out", assume_yes=False)

    assert code == 2
    assert "confirm with --yes" in capsys.readouterr().err
    assert not (tmp_path / "out" / "scenarios.md").exists()


def test_schema_breaks_become_findings_for_the_refine_turn():
    pack = sample_pack()
    pack["feature_areas"][0]["outcomes"][0]["scenarios"][0]["id"] = "scenario-1"
    parsed, findings = check_output(pack, {"docs/prd.md"})
    assert parsed is None
    assert [f.code for f in findings] == ["schema"]
    assert "feature_areas.0.outcomes.0.scenarios.0.id" in findings[0].message
