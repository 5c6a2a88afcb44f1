"""The execute action's own parts: config → limits and mode, when to publish, texts, the chosen pack.

The whole action runs end to end in tests/test_execute_e2e.py; here the pure
parts and ``choose_pack`` against a real (migrated SQLite) database.
"""
from __future__ import annotations

import pytest

from bot.domain.pack import PackDocument, Revision
from bot.domain.results import (
    CheckpointResult,
    Classification,
    ExecutionOutcome,
    FixAttempt,
    ScenarioOutcome,
)
from bot.domain.sources import ScanResult, Source
from bot.errors import CodexError, ScenarioForgeError
from bot.execution.action import (
    ChosenPack,
    check_output,
    choose_pack,
    commit_message,
    final_message,
    fixed_ids,
    limits_of,
    mode_of,
    publishes,
)
from bot.execution.loop import Limits
from bot.github import checks
from bot.jobs.context import JobContext
from config.repo import ExecuteConfig, load_repo_config
from config.settings import Settings
from storage import manifests, packs
from storage.models import Run
from tests.support.target_repo import SPEC, build_pack

REPOSITORY = "octo/cart"


def scenario(sid: str, status: str, cause: str | None = None, sources: tuple[str, ...] = ()) -> ScenarioOutcome:
    observed = "45.0" if status == "passed" else "49.5 at tests/test_cart.py:9"
    return ScenarioOutcome(
        scenario_id=sid, status=status, reported_status=status, commands=["pytest -q"],
        checkpoints=[CheckpointResult(checkpoint="total", expected="45.0", observed=observed,
                                      passed=status == "passed")],
        classification=Classification(cause=cause, reason="r", action={
            "code-defect": "fix the code", "stale-spec": "update the document"}[cause], source_ids=list(sources))
        if cause else None,
    )


def outcome(mode: str = "full", *, stop: str | None = "passed", diff: str = "diff --git a/x b/x\n") -> ExecutionOutcome:
    initial = [scenario("SC-001", "failed", "code-defect"), scenario("SC-002", "failed", "stale-spec", (SPEC,)),
               scenario("SC-003", "passed")]
    final = [scenario("SC-001", "passed"), initial[1], initial[2]]
    attempt = FixAttempt(number=1, scenario_ids=["SC-001"], summary="Divide by 100.", diff=diff,
                         rerun_outcome="passed", results=[final[0]])
    return ExecutionOutcome(mode=mode, status="failed", scenario_ids=["SC-001", "SC-002", "SC-003"],
                            initial=initial, results=final, attempts=[attempt], diff=diff, stop_reason=stop)


CHOSEN = ChosenPack(revision=3, document=PackDocument(pack=build_pack(), revision=Revision(
    revision=3, mode="update", prompt_version="p", model="m", thread_id="t", turn_ids=[])),
    manifest_hash="abc123", stale_source_ids=frozenset({SPEC}))


def test_the_config_section_gives_the_limits_and_the_default_mode():
    assert limits_of(ExecuteConfig()) == Limits(max_fix_attempts=3, token_budget=2_000_000, wall_clock_s=3600.0)
    config, error = load_repo_config("execute:\n  mode: full\n  max_fix_attempts: 1\n  token_budget: null\n"
                                     "  wall_clock_minutes: 0.5\n")
    assert error is None
    assert limits_of(config.execute) == Limits(max_fix_attempts=1, token_budget=None, wall_clock_s=30.0)
    assert (mode_of({"mode": None}, config.execute), mode_of({"mode": "fix"}, config.execute)) == ("full", "fix")
    assert load_repo_config("execute:\n  max_fix_attempts: 0\n")[1] is not None
    assert load_repo_config("execute:\n  mode: sometimes\n")[1] is not None


@pytest.mark.parametrize(("mode", "stop", "diff", "expected"), [
    ("full", "passed", "diff --git a/x b/x\n", True),
    ("pr", "passed", "diff --git a/x b/x\n", True),
    ("fix", "passed", "diff --git a/x b/x\n", False),  # fix mode leaves the change to a button
    ("full", "max_fix_attempts", "diff --git a/x b/x\n", False),
    ("full", "passed", "", False),  # passed without a change (flaky): nothing to propose
])
def test_only_a_passing_fix_in_pr_or_full_mode_is_published(mode, stop, diff, expected):
    assert publishes(outcome(mode, stop=stop, diff=diff)) is expected


def test_texts_name_the_fixed_scenarios_the_run_and_what_to_do():
    result = outcome()
    assert fixed_ids(result) == ["SC-001"]
    message = commit_message(result, run_id=12, run_url="https://github.com/o/r/issues/1#issuecomment-9",
                             chosen=CHOSEN, requester="ana")
    assert message.splitlines()[0] == "ScenarioForge: fix SC-001"
    assert "- attempt 1: Divide by 100." in message
    assert "ScenarioForge run 12: https://github.com/o/r/issues/1#issuecomment-9" in message
    assert "Pack revision 3, manifest abc123." in message
    assert message.splitlines()[-1] == "Co-authored-by: ana <ana@users.noreply.github.com>"

    pull = {"number": 5, "html_url": "https://github.com/o/r/pull/5"}
    comment = final_message(result, CHOSEN, check_url="https://github.com/o/r/runs/4", pull=pull, notes=["a note"])
    assert "[check run](https://github.com/o/r/runs/4) · [fix PR](https://github.com/o/r/pull/5)" in comment
    assert "- **SC-002** — stale-spec: update the document (`docs/spec.md`)" in comment
    assert "/scenarioforge execute --mode run --scenarios SC-001 --revision 3" in comment
    assert comment.endswith("a note\n\nPack revision 3 · manifest `abc123`")

    output = check_output(result, CHOSEN, root="/w", pull=pull)
    assert output.title == "Scenarios failed: 2 passed, 1 failed, 0 blocked"
    assert output.summary.endswith("Fix PR: [#5](https://github.com/o/r/pull/5)")
    assert "update the document (`docs/spec.md`)" in output.summary
    assert [(a["path"], a["start_line"]) for a in output.annotations] == [("tests/test_cart.py", 9)]


def test_a_failed_run_shows_the_raw_error_in_the_check_run():
    output = checks.failure_output("Execution failed", CodexError("stream disconnected", error_type="responseStreamDisconnected", turn_id="t9"))
    assert output.title == "Execution failed: responseStreamDisconnected"
    assert "stream disconnected" in output.summary and "- turn_id: `t9`" in output.summary
    assert checks.failure_output("Execution failed", OSError("disk full")).title == "Execution failed: OSError"


def context(database, **args) -> JobContext:
    run = Run(repository=REPOSITORY, args={"mode": None, "scenarios": [], "revision": None, **args})
    return JobContext(run=run, gh=None, db=database, settings=Settings(_env_file=None), auth=None)


async def store(database, number: int, spec_status: str, *, cite_row_ids: bool = False) -> None:
    """Store revision ``number`` from a manifest where the spec has ``spec_status``; its scenarios cite
    the spec by path, or (``cite_row_ids``, as revisions stored before paths did) by manifest row id."""
    spec = Source(path=SPEC, blob_sha="b" * 40, size=10, type="spec", status=spec_status, score=0.5, selected=True)
    readme = Source(path="README.md", blob_sha="c" * 40, size=10, type="readme", status="trusted", score=1.0,
                    selected=True)
    async with database.session() as session:
        manifest = await manifests.save_manifest(session, REPOSITORY, ScanResult(commit_sha="a" * 40,
                                                                                 sources=[spec, readme]))
        pack = build_pack()
        if cite_row_ids:
            spec_row = next(str(row.id) for row in manifest.sources if row.path == SPEC)
            for _, _, scenario in pack.scenarios():
                scenario.source_ids = [spec_row]
        await packs.save_revision(session, PackDocument(pack=pack, revision=Revision(
            revision=number, mode="initial", prompt_version="p", model="m", thread_id="t", turn_ids=[],
            manifest_id=str(manifest.id), manifest_hash=manifest.manifest_hash)), repository=REPOSITORY)


async def test_the_latest_or_the_asked_revision_is_chosen_with_its_stale_sources(database):
    with pytest.raises(ScenarioForgeError) as missing:
        await choose_pack(context(database))
    assert missing.value.error_type == "NoScenarioPack"
    assert "run `/scenarioforge generate` first" in missing.value.message

    await store(database, 1, "stale", cite_row_ids=True)
    await store(database, 2, "trusted")
    latest = await choose_pack(context(database))
    assert (latest.revision, latest.stale_source_ids) == (2, frozenset())
    asked = await choose_pack(context(database, revision=1))
    assert (asked.revision, asked.stale_source_ids) == (1, frozenset({SPEC}))
    # an old revision's row ids are read as paths, so its stale citations are still found
    assert asked.document.pack == build_pack() and len(asked.manifest_hash) == 64

    with pytest.raises(ScenarioForgeError) as unknown:
        await choose_pack(context(database, revision=9))
    assert (unknown.value.error_type, unknown.value.message) == (
        "UnknownRevision", f"{REPOSITORY} has no scenario pack revision 9 (the latest is 2)")
