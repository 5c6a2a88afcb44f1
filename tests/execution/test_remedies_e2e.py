"""Issue 13, "three-way triage, three kinds of outcome", end to end over HTTP.

The world and the scripted model of ``tests.execution.test_execute_e2e``:
a ``stale-spec`` failure becomes a documentation PR on
``scenarioforge/docs-<run>`` that changes only the stale document (a docs
turn editing code too has that edit reverted and recorded), and the manifest
asks for the document to be confirmed again, at later commits too while the
document is unchanged; a ``scenario-defect`` (the
scenario misread its source) becomes ONE revision proposal comment on the
pack PR, with no fix turn and no pull request.
"""
from __future__ import annotations

from typing import Any

from bot.domain.results import FixReport
from bot.execution.remedies import DOCS_PREFIX
from bot.execution.render_remedies import PROPOSAL_MARKER
from bot.jobs import steps
from storage import manifests
from tests.execution.test_execute_e2e import (  # noqa: F401  (fixtures)
    REVIEWERS,
    check_of,
    git_show,
    outcome_of,
    remote_branches,
    report,
    result,
    store_pack,
    the_run,
    turn_kind,
    world_repo,
    world_settings,
)
from tests.execution.test_proof_e2e import keep
from tests.scenarios.test_generate_e2e import sample_pack, scripted
from tests.sources.test_e2e_sources import manifest_comments, row
from tests.support.model_server import assistant_message, exec_call, this_turn, user_texts
from tests.support.target_repo import BUGGY_FILE, DISCOUNT_TEST, FIX_COMMAND, PYTEST, SPEC, build_pack
from tests.support.world import WRITER

#: The first words of the docs turn's prompt (bot/codex/templates/docs_fix.md).
DOCS_TURN = "These scenarios failed because their source document is stale"
#: The spec said 45.00; the code (taken as right for a stale document) gives 49.50.
EDIT_SPEC = "sed -i 's/10 % off 2 x 25.00 is 45.00/10 % off 2 x 25.00 is 49.50/' docs/spec.md"
OBSERVED = "49.5: shop/cart.py:7 takes discount_percent / 1000 off"


def stale_model(docs_command: str = EDIT_SPEC):
    """Run: SC-001's test fails; docs turn: run ``docs_command`` and report the document change."""
    def script(request: dict[str, Any]) -> list[dict[str, Any]]:
        done = this_turn(request)
        if DOCS_TURN in user_texts(request)[-1]:
            return [exec_call(docs_command)] if not done else [assistant_message(FixReport(
                summary="The spec's discount example now says 49.50, as shop/cart.py computes it.",
                changed_files=[SPEC], residual_risk="<b>@everyone</b> other examples were not checked").model_dump_json())]
        return [exec_call(DISCOUNT_TEST)] if not done else report(result("SC-001", "failed", DISCOUNT_TEST, OBSERVED))
    return script


async def test_a_stale_spec_failure_opens_one_documentation_pr_changing_only_the_document(world, model_server,
                                                                                         monkeypatch):
    monkeypatch.setattr(steps, "RETRY_INTERVAL_S", 0.01)
    manifest_hash = await store_pack(world, spec_status="stale")
    async with world.database.session() as session:  # someone had accepted the stale spec before
        await manifests.confirm(session, await manifests.latest_manifest(session, world.repository), "octocat")
    model_server.script = stale_model()
    world.github.fail_next(REVIEWERS, status=502)  # the first attempt dies after opening the PR: retried
    await world.comment("/scenarioforge execute --mode pr --scenarios SC-001")
    await world.settle()

    run = await the_run(world)
    outcome = await outcome_of(world, run)
    [sc1] = outcome.results
    assert (run.state, sc1.classification.cause, outcome.stop_reason, outcome.attempts) == (
        "failed", "stale-spec", "nothing_to_fix", [])
    assert not any(turn_kind(request) == "fix" for request in model_server.requests)
    (pull,) = world.github.pulls.values()  # one PR, though the run's step ran twice
    assert len(world.github.calls("POST /repos/{owner}/{repo}/pulls")) == 1
    branch = f"{DOCS_PREFIX}{run.id}"
    assert (pull["draft"], pull["head"]["ref"], pull["base"]["ref"]) == (True, branch, "master")
    assert sorted(remote_branches(world)) == ["master", branch]  # no fix branch
    assert git_show(world, "--format=", "--name-only", branch).split() == [SPEC]
    assert "10 % off 2 x 25.00 is 49.50" in git_show(world, f"{branch}:{SPEC}")
    assert "/ 1000" in git_show(world, f"{branch}:{BUGGY_FILE}")  # the code is not touched

    body = pull["body"]
    assert "changes only `docs/spec.md` to describe what the code does, and no code" in body
    assert f"```\ncheckpoint: The total shown is 45.00\nexpected:   45.00\nobserved:   {OBSERVED}\n```" in body
    assert f"`shop/cart.py:7` at `{world.remote.sha()[:12]}`:" in body
    assert "   7 |     return round(subtotal - subtotal * discount_percent / 1000, 2)" in body
    assert "```\n<b>@everyone</b> other examples were not checked\n```" in body  # untrusted: inert
    assert f"marked for re-confirmation in manifest `{manifest_hash}`" in body
    keep("docs-pr-body.md", body)

    async with world.database.session() as session:
        manifest = await manifests.latest_manifest(session, world.repository)
        [spec] = manifest.sources
        assert spec.reconfirm_reason == f"documentation PR #{pull['number']} (run {run.id}) rewrites it to match the code"
        assert [s.path for s in await manifests.pending_confirmation(session, manifest)] == [SPEC]  # asked again
    said = f"Documentation PR: [#{pull['number']}]({pull['html_url']}) on `{branch}` changes only `{SPEC}`"
    assert said in await world.tracking(run.id) and said in check_of(world, run)["output"]["summary"]
    assert "No fix PR: no failure here is one a code change fixes" in await world.tracking(run.id)
    keep("docs-check-run.md", check_of(world, run)["output"]["summary"])


def manifest_comment(world) -> str:
    """The body of the one manifest comment on the issue."""
    (comment,) = manifest_comments(world)
    return comment["body"]


async def test_a_later_commit_leaving_the_document_as_it_was_asks_for_it_again_until_confirmed(world, model_server):
    await store_pack(world, spec_status="stale")
    model_server.script = stale_model()
    await world.comment("/scenarioforge execute --mode pr --scenarios SC-001")
    await world.settle()
    execute = await the_run(world)
    (pull,) = world.github.pulls.values()
    world.remote.commit({"shop/__init__.py": '"""The shop."""\n'}, message="Name the package")  # not the document
    await world.comment("/scenarioforge generate")
    await world.settle()

    generate = await the_run(world)
    assert (generate.state, generate.phase, generate.head_sha) == ("blocked", "needs-confirmation", world.remote.sha())
    reason = f"documentation PR #{pull['number']} (run {execute.id}) rewrites it to match the code"
    blocked = await world.tracking(generate.id)
    assert "1 selected source(s) are stale, suspect or marked for re-confirmation and need a look" in blocked
    assert f"  - `{SPEC}` (trusted): marked for re-confirmation: {reason}\n" in blocked  # the new scan trusts it
    assert f"); unchanged since marked for re-confirmation: `{SPEC}`" in blocked  # the manifest event
    assert world.github.check_runs.keys() == {execute.check_run_id}  # generation did not start
    await world.comment("/scenarioforge sources")
    await world.settle()
    assert f"- `{SPEC}` (trusted): marked for re-confirmation: {reason}\n" in manifest_comment(world)

    model_server.script = scripted(sample_pack)
    await world.comment("/scenarioforge confirm")
    await world.settle()
    generate = next(run for run in await world.runs() if run.id == generate.id)
    assert generate.state == "passed"
    assert f"✅ **gate** — confirmed by @{WRITER} for hash" in await world.tracking(generate.id)
    assert "A discount code takes a percentage off" in "\n".join(user_texts(model_server.requests[-1]))

    # the documentation PR merged: the document changed, the new scan alone judges it
    world.remote.commit({SPEC: git_show(world, f"{DOCS_PREFIX}{execute.id}:{SPEC}")}, message="Merge the docs PR")
    await world.comment("/scenarioforge sources")
    await world.settle()
    assert (await the_run(world)).state == "passed"
    body = manifest_comment(world)
    assert "need a look" not in body and "re-confirmation" not in body and "| trusted |" in row(body, SPEC)


async def test_a_docs_turn_editing_code_has_that_edit_reverted_and_recorded(world, model_server):
    await store_pack(world, spec_status="stale")
    model_server.script = stale_model(f"{EDIT_SPEC} && {FIX_COMMAND}")
    await world.comment("/scenarioforge execute --mode fix --scenarios SC-001")
    await world.settle()

    run = await the_run(world)
    documentation = (await outcome_of(world, run)).documentation
    assert (documentation.documents, sorted(documentation.files), documentation.reverted_paths) == (
        [SPEC], [SPEC], [BUGGY_FILE])
    assert BUGGY_FILE not in documentation.diff and "is 49.50" in documentation.diff
    tracking = await world.tracking(run.id)
    assert f"the docs turn changed files other than {SPEC}; reverted {BUGGY_FILE}" in tracking
    (pull,) = world.github.pulls.values()
    branch = f"{DOCS_PREFIX}{run.id}"
    assert git_show(world, "--format=", "--name-only", branch).split() == [SPEC]
    assert "## Reverted" in pull["body"] and f"- `{BUGGY_FILE}`" in pull["body"].split("## Reverted")[1]
    advice = f"- **SC-001** — stale-spec: update the document (`{SPEC}`)"
    assert advice in tracking and advice in check_of(world, run)["output"]["summary"]
    assert f"(reverted `{BUGGY_FILE}`)" in tracking


async def test_a_documentation_pr_touching_a_protected_path_is_stopped_by_a_block_rule(world, model_server):
    await store_pack(world, spec_status="stale")
    world.remote.commit({".github/scenarioforge.yml": (
        "policy:\n  protected_paths: ['docs/**']\n  rules:\n    pr.protected-path: block\n")})
    model_server.script = stale_model()
    await world.comment("/scenarioforge execute --mode pr --scenarios SC-001")
    await world.settle()

    run = await the_run(world)
    assert (run.state, run.error["type"]) == ("failed", "PolicyBlocked")
    assert run.error["message"] == (f"stopped by policy `default@1` at pr: [pr.protected-path] "
                                    f"the documentation PR changes the protected path `{SPEC}`")
    assert (await outcome_of(world, run)).documentation.files  # the docs turn wrote it; nothing was proposed
    assert world.github.pulls == {} and remote_branches(world) == ["master"]
    assert check_of(world, run)["conclusion"] == "failure"


#: SC-002 misread the spec: it expects 60.00 where the spec (and the code) say 55.00.
MISREAD = "The total shown is 60.00"
SC002_TEST = "scenarioforge/test_sc002.py"
WRITE_SC002 = (f"mkdir -p scenarioforge && printf '%s\\n' 'from shop.cart import total' 'def test_sc002():' "
               f"'    assert total([(25.0, 2), (5.0, 1)]) == 60.0' > {SC002_TEST} && {PYTEST} {SC002_TEST}")


def misread_model(request: dict[str, Any]) -> list[dict[str, Any]]:
    if not this_turn(request):
        return [exec_call(WRITE_SC002)]
    item = result("SC-002", "failed", WRITE_SC002, "55.0 (assert 55.0 == 60.0)") | {
        "rerun_command": f"{PYTEST} {SC002_TEST}",
        "misread": {"source_id": SPEC, "quote": "2 x 25.00 and 1 x 5.00 is 55.00",
                    "source_says": "The total shown is 55.00 <!-- hidden -->"}}
    item["checkpoints"][0] |= {"checkpoint": MISREAD, "expected": "60.00"}
    return report(item)


async def test_a_scenario_defect_is_proposed_on_the_pack_pr_once_without_a_fix(world, model_server):
    pack = build_pack()
    pack.feature_areas[0].outcomes[0].scenarios[1].checkpoints = [MISREAD]
    world.open_pull(7)  # the pack PR
    await store_pack(world, pack=pack, pr_number=7)
    model_server.script = misread_model
    for _ in range(2):  # a second run updates the proposal instead of adding one
        await world.comment("/scenarioforge execute --mode full --scenarios SC-002")
        await world.settle()

    first, second = await world.runs()
    outcome = await outcome_of(world, second)
    [sc2] = outcome.results
    assert (second.state, sc2.status, sc2.classification.cause, sc2.classification.source_ids) == (
        "failed", "failed", "scenario-defect", [SPEC])
    assert (outcome.attempts, outcome.documentation, world.github.pulls.keys() - {(world.repository, 7)}) == (
        [], None, set())
    assert not any(turn_kind(request) == "fix" for request in model_server.requests)
    assert remote_branches(world) == ["master", "pr-7"]
    [proposal] = [body for body in world.comments(7) if PROPOSAL_MARKER in body]
    assert f"from [run {second.id}]" in proposal and "1 scenario(s) misread their source document" in proposal
    assert "Its source `docs/spec.md` says:\n\n```\n2 x 25.00 and 1 x 5.00 is 55.00\n```" in proposal
    assert "```\nThe total shown is 55.00 <!-- hidden -->\n```" in proposal  # the agent's text stays inert
    assert "/scenarioforge generate --update Revise SC-002:" in proposal
    said = "on the pack PR #7 proposes to revise SC-002, which misread their source; no code is changed"
    assert said in await world.tracking(second.id) and said in check_of(world, second)["output"]["summary"]
    keep("pack-proposal.md", proposal)
