"""Issue 5, "Done when": execute → classify → fix → rerun → draft PR, end to end over HTTP.

Everything is real but the model: signed deliveries to the running app
(``tests.support.world``), its worker, git against the local bare remote
holding the target repository of ``tests.support.target_repo`` (one real bug:
``tests/test_cart.py::test_discount`` fails), the ``codex`` binary running the
repository's tests in its sandbox, and the local GitHub server validating
every request. The scripted model (``cart_model``) runs the tests honestly
and reports what they printed; a stored pack revision (``store_pack``) is
what ``execute`` runs.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.pack import PackDocument, Revision
from bot.domain.results import FixReport
from bot.domain.sources import ScanResult, Source
from bot.execution.action import BRANCH_PREFIX, CHECK_NAME
from bot.execution.render import FIX_ACTION, PR_ACTION
from bot.github import messages
from bot.github.publish import BOT_NAME
from bot.jobs import steps
from storage import executions, manifests, packs
from storage.models import ExecutionResult, Run
from tests.support.model_server import assistant_message, exec_call, this_turn, user_texts
from tests.support.target_repo import (
    BUGGY_FILE,
    DISCOUNT_TEST,
    FIX_COMMAND,
    SPEC,
    SPEC_TEXT,
    TOTAL_TEST,
    build_pack,
    build_target_repo,
)
from tests.support.world import WRITER
from tests.handlers.test_check_run_handler import check_run_payload, click

EXPECTED = {"SC-001": "45.00", "SC-002": "55.00"}
REVIEWERS = "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"


@pytest.fixture
def world_settings(codex_settings) -> dict[str, Any]:
    """The world's app talks to the scripted model with its own empty ``CODEX_HOME``."""
    names = ("codex_model", "codex_base_url", "codex_home", "codex_config", "turn_timeout_s")
    return {name: getattr(codex_settings, name) for name in names}


@pytest.fixture
def world_repo(tmp_path):
    """The world's repository is the target repository (pulled into the empty working copy)."""
    target = build_target_repo(tmp_path / "target-source")
    return lambda repo: repo.git("pull", "-q", str(target.path), "HEAD")


# ---------------------------------------------------------------- the scripted model


def turn_kind(request: dict[str, Any]) -> str:
    """``run``, ``fix`` or ``rerun`` from the turn's prompt (bot/codex/templates)."""
    text = user_texts(request)[-1]
    return "fix" if "failed on real output" in text else "rerun" if text.startswith("Rerun") else "run"


def result(sid: str, status: str, command: str | None, observed: str) -> dict[str, Any]:
    return {"scenario_id": sid, "status": status, "commands": [command] if command else [],
            "rerun_command": command or "", "files_written": [], "notes": "",
            "checkpoints": [{"checkpoint": f"The total shown is {EXPECTED[sid]}", "expected": EXPECTED[sid],
                             "observed": observed, "passed": status == "passed"}]}


def report(*results: dict[str, Any]) -> list[dict[str, Any]]:
    return [assistant_message(json.dumps({"scenarios": list(results)}))]


def cart_model(fix: str | None = FIX_COMMAND):
    """Run: SC-001's test (fails on the bug), SC-002's test; fix: run ``fix``; rerun: SC-001's test."""
    def script(request: dict[str, Any]) -> list[dict[str, Any]]:
        kind, done = turn_kind(request), this_turn(request)
        if kind == "fix":
            return [exec_call(fix)] if fix and not done else [assistant_message(FixReport(
                summary="Divide the percentage by 100, not 1000.", changed_files=[BUGGY_FILE],
                residual_risk="Rounding of odd percentages is untested.").model_dump_json())]
        if len(done) < (2 if kind == "run" else 1):
            return [exec_call((DISCOUNT_TEST, TOTAL_TEST)[len(done)])]
        passed = "1 passed" in done[0]
        results = [result("SC-001", "passed" if passed else "failed", DISCOUNT_TEST,
                          "45.0" if passed else "49.5, assert 49.5 == 45.0 at tests/test_cart.py:9")]
        return report(*results, *([result("SC-002", "passed", TOTAL_TEST, "55.0")] if kind == "run" else []))
    return script


# ---------------------------------------------------------------- world helpers


async def store_pack(world, *, spec_status: str = "trusted", number: int = 1) -> str:
    """Store the target's pack as revision ``number``, generated from a manifest of the default
    branch's commit where ``docs/spec.md`` has ``spec_status``; returns the manifest hash."""
    sha = world.remote.sha()
    spec = Source(path=SPEC, blob_sha=world.remote.sha(f"{sha}:{SPEC}"), size=len(SPEC_TEXT), type="spec",
                  status=spec_status, score=0.9 if spec_status == "trusted" else 0.3, selected=True)
    async with world.database.session() as session:
        manifest = await manifests.save_manifest(session, world.repository, ScanResult(commit_sha=sha, sources=[spec]))
        revision = Revision(revision=number, mode="initial", prompt_version="generate-v1", model="scripted",
                            thread_id="thread", turn_ids=["turn"], manifest_id=str(manifest.id),
                            manifest_hash=manifest.manifest_hash, repository=world.repository, head_sha=sha)
        document = PackDocument(pack=build_pack(), revision=revision)  # citing the spec by path
        await packs.save_revision(session, document, repository=world.repository)
        return manifest.manifest_hash


async def the_run(world, index: int = -1) -> Run:
    return (await world.runs())[index]


def check_of(world, run: Run) -> dict[str, Any]:
    return world.github.check_runs[run.check_run_id]


async def outcome_of(world, run: Run):
    async with world.database.session() as session:
        return await executions.load_outcome(session, run.id)


def git_show(world, *args: str) -> str:
    """``git show`` in the bare remote."""
    return world.remote.work.git("--git-dir", str(world.remote.bare), "show", *args)


def remote_branches(world) -> list[str]:
    return world.remote.work.git("--git-dir", str(world.remote.bare), "for-each-ref", "--format=%(refname:short)",
                                 "refs/heads").splitlines()


# ---------------------------------------------------------------- the tests


async def test_run_mode_shows_the_real_failure_and_the_fix_button_fixes_it(world, model_server):
    manifest_hash = await store_pack(world)
    model_server.script = cart_model()
    assert (await world.comment("/scenarioforge execute")).status == 202
    await world.settle()

    run = await the_run(world)
    assert (run.state, run.phase, run.error, run.args["mode"]) == ("failed", "complete", None, None)
    check = check_of(world, run)
    tracking = world.github.comment(run.tracking_comment_id)
    assert (check["name"], check["head_sha"], check["conclusion"], check["external_id"]) == (
        CHECK_NAME, world.remote.sha(), "failure", str(run.id))
    assert check["details_url"] == tracking["html_url"]
    assert check["actions"] == [FIX_ACTION, PR_ACTION]
    assert {(a["path"], a["start_line"]) for a in check["output"]["annotations"]} == {("tests/test_cart.py", 9)}
    assert "| SC-001 | ❌ failed — code-defect |" in check["output"]["summary"]
    assert "| SC-002 | ✅ passed |" in check["output"]["summary"]

    # the evidence is the command that really ran, with its real output, stored by id
    outcome = await outcome_of(world, run)
    sc1 = outcome.results[0]
    async with world.database.session() as session:
        proof, own = [await executions.evidence_of(session, run.id, eid) for eid in sc1.evidence_ids]
    assert (DISCOUNT_TEST in proof.command, proof.exit_code, proof.scenario_ids) == (True, 1, ["SC-001"])
    assert (own.by, own.command, own.exit_code) == ("bot", DISCOUNT_TEST, 1)  # the bot's own run, of record
    assert "assert 49.5 == 45.0" in proof.output and "1 failed" in proof.output
    assert f"`{proof.id}`" in tracking["body"]

    # the tracking comment ends with the table, the check run link, duration and token usage
    body = tracking["body"]
    assert "**Execute failed** (run) — 1 passed, 1 failed, 0 blocked" in body
    assert f"[check run]({check['html_url']})" in body and "tokens · 1 turn(s)" in body
    assert f"manifest `{manifest_hash}`" in body and "--scenarios SC-001 --revision 1`" in body
    for phase in ("workspace", "config", "pack", "scenario", "command", "codex", "complete"):
        assert f"**{phase}**" in body, phase

    # "Fix failures": a signed requested_action delivery → a fix run that edits the code, and the rerun passes
    payload = check_run_payload(world, run, "requested_action")
    payload["requested_action"] = {"identifier": "fix"}
    assert (await world.post(payload, "check_run")).status == 202
    await world.settle()

    fixed = await the_run(world)
    assert (fixed.id != run.id, fixed.state, fixed.args["mode"], fixed.requester) == (True, "passed", "fix", WRITER)
    outcome = await outcome_of(world, fixed)
    [attempt] = outcome.attempts
    assert (outcome.stop_reason, attempt.rerun_outcome, attempt.scenario_ids) == ("passed", "passed", ["SC-001"])
    assert "+    return round(subtotal - subtotal * discount_percent / 100, 2)" in attempt.diff
    assert [r.status for r in outcome.results] == ["passed", "passed"]
    again = check_of(world, fixed)
    assert (again["conclusion"], again["actions"]) == ("success", [PR_ACTION])  # the fix can still become a PR
    assert remote_branches(world) == ["master"]  # mode fix proposes nothing
    assert "Fix attempts (1, stop: passed)" in await world.tracking(fixed.id)


async def test_full_mode_opens_one_draft_pr_with_the_fix_and_its_evidence_even_when_retried(world, model_server,
                                                                                            monkeypatch):
    monkeypatch.setattr(steps, "RETRY_INTERVAL_S", 0.01)  # the step's backoff, not waited for
    manifest_hash = await store_pack(world)
    model_server.script = cart_model()
    # the first attempt dies right after opening the PR (GitHub 502: transient, its step is retried)
    world.github.fail_next(REVIEWERS, status=502)
    await world.comment("/scenarioforge execute --mode full")
    await world.settle()

    run = await the_run(world)
    assert (len(await world.runs()), run.state, run.error and run.error["message"]) == (1, "passed", None)
    (pull,) = world.github.pulls.values()
    branch = f"{BRANCH_PREFIX}{run.id}"
    assert (pull["draft"], pull["head"]["ref"], pull["base"]["ref"]) == (True, branch, "master")
    assert [user["login"] for user in pull["requested_reviewers"]] == [WRITER]
    assert [call.status for call in world.github.calls(REVIEWERS)] == [502, 201]  # two attempts of the run…
    assert len(world.github.calls("POST /repos/{owner}/{repo}/pulls")) == 1  # …and the second updated the PR

    # the branch on the bare remote: the head SHA plus one bot commit holding the fix
    assert git_show(world, "--no-patch", "--format=%P|%an", branch) == f"{world.remote.sha()}|{BOT_NAME}"
    message = git_show(world, "--no-patch", "--format=%B", branch)
    assert message.startswith("ScenarioForge: fix SC-001") and f"Co-authored-by: {WRITER} <" in message
    tracking_url = world.github.comment(run.tracking_comment_id)["html_url"]
    assert f"ScenarioForge run {run.id}: {tracking_url}" in message
    assert git_show(world, "--format=", "--name-only", branch).split() == [BUGGY_FILE]
    assert "discount_percent / 100, 2)" in git_show(world, f"{branch}:{BUGGY_FILE}")

    # the body: scenario ids, cause, changes, before/after evidence, residual risk, manifest hash, revision
    body = pull["body"]
    assert "- **SC-001**: failed → passed" in body and "**SC-001** — code-defect" in body
    before, after = body.split("**Before**")[1].split("**After**")
    assert "exit 1" in before and "assert 49.5 == 45.0" in before
    assert "exit 0" in after and "1 passed" in after
    assert "Rounding of odd percentages is untested." in body
    assert f"manifest hash: `{manifest_hash}`" in body and "pack revision: 1" in body

    async with world.database.session() as session:
        link = await executions.pull_request_of(session, run.id)
    assert (link.number, link.branch, link.scenario_ids) == (pull["number"], branch, ["SC-001"])
    final = await world.tracking(run.id)
    assert f"[fix PR]({pull['html_url']})" in final and "**Execute passed** (full)" in final


async def test_open_fix_pr_clicked_twice_after_fix_failures_updates_one_pr_on_the_same_revision(
        world, model_server):
    await store_pack(world)
    model_server.script = cart_model()
    await world.comment("/scenarioforge execute")
    await world.settle()
    await store_pack(world, number=2)  # a newer revision is generated meanwhile
    await click(world, await the_run(world), "fix")
    fixed = await the_run(world)
    await click(world, fixed, "pr")
    await click(world, fixed, "pr")  # clicked again: the same chain of runs

    first, fixed, opened, again = await world.runs()
    assert [run.state for run in (first, fixed, opened, again)] == ["failed", "passed", "passed", "passed"]
    assert (opened.args["origin_run"], again.args["origin_run"], fixed.args["origin_run"]) == (
        fixed.id, fixed.id, first.id)
    # one branch named after the chain's first run, one draft PR, updated by the second click
    branch = f"{BRANCH_PREFIX}{first.id}"
    (pull,) = world.github.pulls.values()
    assert (pull["head"]["ref"], sorted(remote_branches(world))) == (branch, ["master", branch])
    assert len(world.github.calls("POST /repos/{owner}/{repo}/pulls")) == 1
    assert len(world.github.calls("PATCH /repos/{owner}/{repo}/pulls/{pull_number}")) == 1
    assert f"run {again.id}" in pull["title"]
    assert git_show(world, "--no-patch", "--format=%P|%an", branch) == f"{world.remote.sha()}|{BOT_NAME}"
    async with world.database.session() as session:
        links = [await executions.pull_request_of(session, run.id) for run in (opened, again)]
    assert [(link.number, link.branch) for link in links] == [(pull["number"], branch)] * 2
    assert "opened at" in await world.tracking(opened.id) and "updated at" in await world.tracking(again.id)
    # every run of the chain executes the revision the first one executed, not the newer one
    async with world.database.session() as session:
        results = [await session.get(ExecutionResult, run.id) for run in (first, fixed, opened, again)]
    revisions = [result.pack_revision for result in results]
    assert revisions == [1, 1, 1, 1] and "pack revision: 1" in pull["body"]
    (pack,) = [e for e in await world.events(opened.id) if e.phase == "pack"]
    assert (pack.payload["revision"], pack.payload["pinned_by"]) == (1, fixed.id)


async def test_a_model_claiming_passed_without_running_anything_is_contradicted_or_blocked(world, model_server):
    world.remote.commit({".github/scenarioforge.yml": "execute:\n  max_fix_attempts: 0\n"})  # invalid: ≥ 1
    await store_pack(world)
    model_server.script = lambda request: report(result("SC-001", "passed", DISCOUNT_TEST, "45.0"),
                                                 result("SC-002", "passed", None, "55.0"))
    await world.label("scenarioforge:execute")  # the label runs the command with its defaults
    await world.settle()

    run = await the_run(world)
    assert (run.state, run.args["trigger"]) == ("failed", "label")
    check = check_of(world, run)
    assert check["conclusion"] == "failure"
    summary = check["output"]["summary"]
    # SC-001's rerun command, run by the bot, fails: the claim is contradicted and the bot's result wins
    assert (f"- **SC-001**: `{DISCOUNT_TEST}` → exit 1 (0/1 passed) → **failed**; the agent's commands: blocked "
            "(reported passed without proof: cited command(s) never ran in the turn") in summary
    assert f"**contradiction**: the agent reported passed; the bot's run of `{DISCOUNT_TEST}` exited 1" in summary
    # SC-002 names no command: the bot has nothing to run, it stays blocked
    assert "reported passed without proof: the result cites no command" in summary
    assert "**Execute failed** (run) — 0 passed, 1 failed, 1 blocked" in await world.tracking(run.id)
    # the invalid repository config is said, not silently replaced by the defaults
    assert "A config file is invalid and was left out; the defaults and the valid files were used" in summary
    assert "max_fix_attempts" in summary.split("valid files were used")[1]
    assert "is invalid and left out; the defaults and the valid files are used" in await world.tracking(run.id)


async def test_a_fix_that_never_passes_stops_at_max_fix_attempts_without_a_pr(world, model_server):
    world.remote.commit({".github/scenarioforge.yml": "execute:\n  max_fix_attempts: 1\n"})
    await store_pack(world)
    model_server.script = cart_model(fix=None)
    await world.comment("/scenarioforge execute --mode full")
    await world.settle()

    run = await the_run(world)
    assert run.state == "failed"
    outcome = await outcome_of(world, run)
    assert (outcome.stop_reason, len(outcome.attempts), outcome.attempts[0].rerun_outcome) == (
        "max_fix_attempts", 1, "failed")
    assert world.github.pulls == {} and remote_branches(world) == ["master"]
    assert check_of(world, run)["conclusion"] == "failure"
    assert "No fix PR: the fix loop ended with `max_fix_attempts`" in await world.tracking(run.id)


async def test_a_failure_from_a_stale_source_is_stale_spec_not_a_code_fix(world, model_server):
    await store_pack(world, spec_status="stale")
    model_server.script = cart_model()
    await world.comment("/scenarioforge execute --mode fix --scenarios SC-001")
    await world.settle()

    run = await the_run(world)
    outcome = await outcome_of(world, run)
    [sc1] = outcome.results
    assert (run.state, sc1.classification.cause, outcome.stop_reason, outcome.attempts) == (
        "failed", "stale-spec", "nothing_to_fix", [])
    assert not any(turn_kind(request) == "fix" for request in model_server.requests)
    advice = f"- **SC-001** — stale-spec: update the document (`{SPEC}`)"
    assert advice in await world.tracking(run.id) and advice in check_of(world, run)["output"]["summary"]


async def test_without_a_pack_the_run_fails_asking_for_generate(world, model_server):
    await world.comment("/scenarioforge execute")
    await world.settle()

    run = await the_run(world)
    assert (run.state, run.error["type"], run.check_run_id) == ("failed", "NoScenarioPack", None)
    assert "run `/scenarioforge generate` first" in await world.tracking(run.id)
    assert model_server.requests == [] and messages.marker(run.id) in world.comments()[0]
