"""Issue 4, "Done when": ``/scenarioforge generate`` from a signed delivery to a published pack.

Everything is real but the model: signed ``issue_comment`` deliveries over
HTTP to the running app (``tests.support.world``), its worker, git against a
local bare remote, the ``codex`` binary driven through the SDK and pointed at
the scripted Responses API server (``tests.support.model_server``), and the
local GitHub server validating every request against GitHub's OpenAPI slice.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from bot.domain.pack import PackDocument, Revision, ScenarioPack
from bot.errors import CodexError
from bot.github import checks, messages
from bot.github.publish import BOT_NAME
from bot.jobs import steps
from bot.scenarios.action import BRANCH, CHECK_NAME, JSON_PATH, MD_PATH, numbered
from bot.scenarios.generation import GenerationResult
from bot.scenarios.validate import change_summary
from storage import packs
from storage.models import Manifest
from tests.support.model_server import (
    Failure,
    assistant_message,
    exec_call,
    sample_pack,
    tool_outputs,
    user_texts,
)
from tests.support.world import WRITER, small_app

REVIEWERS = "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"
#: The phrase each generation or refinement prompt carries once (bot/codex/templates).
TURN_MARKERS = ("Allowed source ids:", "source ids exist:")


@pytest.fixture
def world_settings(codex_settings) -> dict[str, Any]:
    """The world's app talks to the scripted model with its own empty ``CODEX_HOME``."""
    names = ("codex_model", "codex_base_url", "codex_home", "codex_config", "turn_timeout_s")
    return {name: getattr(codex_settings, name) for name in names}


def spec_id(request: dict[str, Any]) -> str:
    """The manifest source id the prompt gives ``docs/spec.md`` (bot/codex/templates/source.md)."""
    return re.findall(r"^### (\S+) — `docs/spec.md`", "\n".join(user_texts(request)), re.MULTILINE)[0]


def turn_number(request: dict[str, Any]) -> int:
    """1 for the generation turn, 2 for the first refinement turn, …"""
    return sum(any(marker in text for marker in TURN_MARKERS) for text in user_texts(request))


def vague(pack: dict[str, Any]) -> dict[str, Any]:
    """``pack`` with an untestable checkpoint in its first scenario."""
    pack["feature_areas"][0]["outcomes"][0]["scenarios"][0]["checkpoints"] = ["It works correctly"]
    return pack


def scripted(*packs: Callable[[str], dict[str, Any]]) -> Callable[[dict[str, Any]], Any]:
    """A model that reads the spec once, then answers turn n with ``packs[n-1]`` (the last repeats),
    built for the spec's source id."""

    def script(request: dict[str, Any]) -> Any:
        if turn_number(request) == 1 and not tool_outputs(request):
            return [exec_call("cat docs/spec.md")]
        make = packs[min(turn_number(request), len(packs)) - 1]
        return [assistant_message(json.dumps(make(spec_id(request))))]

    return script


def git_show(world, *args: str) -> str:
    """``git show`` in the bare remote."""
    return world.remote.work.git("--git-dir", str(world.remote.bare), "show", *args)


async def only_run(world):
    (run,) = await world.runs()
    return run


async def stored_revisions(world) -> list:
    async with world.database.session() as session:
        latest = await packs.latest_revision(session, world.repository)
        return [await packs.get_revision(session, world.repository, n) for n in range(1, latest.revision + 1)] \
            if latest else []


async def test_a_generate_comment_ends_in_a_draft_pr_holding_both_files(world, model_server):
    model_server.script = scripted(sample_pack)
    answer = await world.comment("/scenarioforge generate Cover the items API")
    assert answer.status == 202
    await world.settle()

    run = await only_run(world)
    assert (run.state, run.phase, run.error) == ("passed", "complete", None)
    (revision,) = await stored_revisions(world)
    document = packs.document_of(revision)
    assert (revision.revision, revision.mode, revision.run_id, revision.head_sha) == (1, "initial", run.id,
                                                                                     world.remote.sha())
    assert document.pack.scenario_ids() == ["SC-001", "SC-002"]
    assert spec_id(model_server.requests[0]) == "docs/spec.md"  # source ids are paths
    assert {sid for _, _, s in document.pack.scenarios() for sid in s.source_ids} == {"docs/spec.md"}
    assert set(revision.timings) >= {"config", "scan", "sources", "prompt", "codex_start", "turns", "validation",
                                     "publish"}

    # the prompt carried the selected sources and the instruction; the agent really read the spec
    prompt = "\n".join(user_texts(model_server.requests[0]))
    assert "Items API specification" in prompt and "Cover the items API" in prompt
    assert "Items API specification" in tool_outputs(model_server.requests[-1])[0]

    # the branch on the bare remote: the run's commit plus one bot commit with both files
    assert PackDocument.model_validate_json(git_show(world, f"{BRANCH}:{JSON_PATH}")) == document
    markdown = git_show(world, f"{BRANCH}:{MD_PATH}")
    assert markdown.startswith("# Shop scenarios") and "[`docs/spec.md`](../docs/spec.md)" in markdown
    assert git_show(world, "--no-patch", "--format=%P|%an", BRANCH) == f"{world.remote.sha()}|{BOT_NAME}"
    assert f"Co-authored-by: {WRITER} <" in git_show(world, "--no-patch", "--format=%B", BRANCH)

    # one draft PR, the requester asked to review
    (pull,) = world.github.pulls.values()
    assert (pull["draft"], pull["head"]["ref"], pull["base"]["ref"]) == (True, BRANCH, "master")
    assert [u["login"] for u in pull["requested_reviewers"]] == [WRITER]
    assert revision.pr_number == pull["number"] and revision.commit_sha == world.remote.sha(BRANCH)
    assert "revision 1 (initial): 2 scenarios" in pull["body"]

    # the check run: in progress on the commit, linked to the tracking comment, completed with the overview
    (check,) = world.github.check_runs.values()
    tracking = world.github.comment(run.tracking_comment_id)
    assert (check["name"], check["head_sha"], check["status"], check["conclusion"]) == (
        CHECK_NAME, world.remote.sha(), "completed", "success")
    assert check["details_url"] == tracking["html_url"] and run.check_run_id == check["id"]
    assert "| Checkout | 1 | 2 |" in check["output"]["summary"]
    assert revision.manifest_hash in check["output"]["summary"]

    # ONE tracking comment, ending with counts, revision, manifest hash, links and tokens
    (body,) = [c for c in world.comments() if messages.marker(run.id) in c]
    assert body == tracking["body"]
    assert "revision 1 (initial): 2 scenarios in 1 feature area(s)" in body
    assert f"[#{pull['number']}]({pull['html_url']})" in body and check["html_url"] in body
    assert f"/blob/{BRANCH}/{MD_PATH}" in body and revision.manifest_hash in body
    assert "240 tokens" in body
    for phase in ("config", "scan", "manifest", "gate", "sources", "codex", "validate", "store", "publish"):
        assert f"**{phase}**" in body, phase



def previous_pack(request: dict[str, Any]) -> dict[str, Any]:
    """The previous revision's pack as the update prompt shows it (bot/codex/templates/update.md)."""
    text = "\n".join(user_texts(request))
    return json.loads(re.search(r"^```json\n(.*?)\n```$", text, re.MULTILINE | re.DOTALL).group(1))


def update_without_first(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Revision 2 as a model following the update prompt answers it: SC-001 dropped, SC-002 kept
    exactly as the previous revision holds it (citations included), SC-003 added citing the spec."""
    if not tool_outputs(request):
        return [exec_call("cat docs/spec.md")]
    pack = previous_pack(request)
    scenarios = pack["feature_areas"][0]["outcomes"][0]["scenarios"]
    added = sample_pack(spec_id(request), count=3)["feature_areas"][0]["outcomes"][0]["scenarios"][2]
    scenarios[:] = [scenarios[1], added]
    return [assistant_message(json.dumps(pack))]


async def test_update_on_a_new_commit_stores_revision_2_with_its_changes_and_updates_the_same_pr(
        world, model_server):
    model_server.script = scripted(sample_pack)
    await world.comment("/scenarioforge generate")
    await world.settle()
    # a new commit that touches the spec: a new manifest, the same sources
    spec = git_show(world, f"{world.remote.sha()}:docs/spec.md")
    world.remote.commit({"docs/spec.md": spec + "\nReviewed for the 2025 release.\n"})
    model_server.requests.clear()
    model_server.script = update_without_first
    await world.comment("/scenarioforge generate --update Drop the single-item case, add three items")
    await world.settle()

    first, second = await world.runs()
    assert (first.state, second.state) == ("passed", "passed")
    rev1, rev2 = await stored_revisions(world)
    assert (rev2.revision, rev2.mode, rev2.run_id, rev2.head_sha) == (2, "update", second.id, world.remote.sha())
    assert rev1.manifest_id != rev2.manifest_id and rev1.manifest_hash != rev2.manifest_hash
    assert rev2.change_summary == {"added": ["SC-003"], "changed": [], "removed": ["SC-001"]}
    validations = [(e.status, e.payload.get("round")) for e in await world.events(second.id) if e.phase == "validate"]
    assert validations == [("passed", 0)]  # the kept scenario's citation is still valid
    document = packs.document_of(rev2)
    assert {sid for _, _, s in document.pack.scenarios() for sid in s.source_ids} == {"docs/spec.md"}
    prompt = "\n".join(user_texts(model_server.requests[0]))
    assert "This is an update of revision 1" in prompt and "Drop the single-item case" in prompt
    # the revision's audit: the manifest (id, hash) and the blob SHA of each source read
    (sources,) = [e for e in await world.events(second.id) if e.phase == "sources"]
    assert sources.payload["manifest_hash"] == rev2.manifest_hash
    assert sources.payload["blob_shas"]["docs/spec.md"] == world.remote.sha(f"{rev2.head_sha}:docs/spec.md")

    (pull,) = world.github.pulls.values()
    assert rev1.pr_number == rev2.pr_number == pull["number"]
    assert len(world.github.calls("POST /repos/{owner}/{repo}/pulls")) == 1
    assert pull["title"].endswith("(revision 2)") and "revision 2 (update): 2 scenarios" in pull["body"]
    assert len(world.github.calls(REVIEWERS)) == 1  # already requested on revision 1
    # the branch restarts from the new commit (bot.github.publish.branch_parent)
    assert git_show(world, "--no-patch", "--format=%P", BRANCH) == world.remote.sha()
    assert PackDocument.model_validate_json(git_show(world, f"{BRANCH}:{JSON_PATH}")) == document
    markdown = git_show(world, f"{BRANCH}:{MD_PATH}")
    assert markdown.count("**Sources:** [`docs/spec.md`](../docs/spec.md)") == 2  # every scenario links its source
    assert "+1 added (SC-003), ~0 changed, -1 removed (SC-001)" in await world.tracking(second.id)


async def test_a_retried_publish_step_keeps_the_revision_and_does_not_repeat_the_turn(world, model_server,
                                                                                      monkeypatch):
    monkeypatch.setattr(steps, "RETRY_INTERVAL_S", 0.01)  # the step's backoff, not waited for
    model_server.script = scripted(sample_pack)
    # the generation step stores revision 1; the publish step opens the PR, then GitHub answers 502
    # (transient: the publish step is retried, the finished generation step is not)
    world.github.fail_next(REVIEWERS, status=502)
    await world.comment("/scenarioforge generate")
    await world.settle()

    run = await only_run(world)
    assert (run.state, run.error) == ("passed", None)
    assert [call.status for call in world.github.calls(REVIEWERS)] == [502, 201]
    assert len(model_server.requests) == 2  # one turn: the spec read, then the pack; not paid twice
    (revision,) = await stored_revisions(world)  # not a revision 2 from the retry
    document = packs.document_of(revision)
    assert (revision.revision, revision.mode, revision.run_id) == (1, "initial", run.id)
    assert document.revision.change_summary == {"added": ["SC-001", "SC-002"], "changed": [], "removed": []}
    (pull,) = world.github.pulls.values()
    assert (revision.pr_number, revision.commit_sha) == (pull["number"], world.remote.sha(BRANCH))
    assert PackDocument.model_validate_json(git_show(world, f"{BRANCH}:{JSON_PATH}")) == document
    assert "revision 1 (initial)" in pull["title"] + pull["body"]


async def test_an_invalid_pack_is_refined_once_and_accepted(world, model_server):
    model_server.script = scripted(lambda source_id: vague(sample_pack(source_id)), sample_pack)
    await world.comment("/scenarioforge generate")
    await world.settle()

    run = await only_run(world)
    assert run.state == "passed"
    (revision,) = await stored_revisions(world)
    meta = packs.document_of(revision).revision
    assert [[f["code"] for f in findings] for findings in meta.findings_history] == [["untestable_checkpoint"], []]
    assert len(revision.turn_ids) == 2 and len(revision.token_usage) == 2
    (refine,) = [text for text in user_texts(model_server.requests[-1]) if "validator found" in text]
    assert "It works correctly" in refine
    validations = [(e.status, e.payload.get("round")) for e in await world.events(run.id) if e.phase == "validate"]
    assert validations == [("failed", 0), ("passed", 1)]


async def test_a_pack_still_invalid_after_the_rounds_fails_with_the_findings_shown(world, model_server):
    world.remote.commit({".github/scenarioforge.yml": "generate:\n  refine_rounds: 1\n"})
    model_server.script = scripted(lambda source_id: vague(sample_pack(source_id)))
    await world.comment("/scenarioforge generate")
    await world.settle()

    run = await only_run(world)
    assert (run.state, run.error["type"]) == ("failed", "PackInvalid")
    assert "still invalid after 1 refinement round(s)" in run.error["message"]
    context = run.error["context"]
    assert context["repository"] == world.repository and context["run_id"] == run.id
    assert context["delivery_id"] == run.delivery_id and context["turn_id"] and context["thread_id"]
    assert turn_number(model_server.requests[-1]) == 2  # the generation turn and one refinement

    body = await world.tracking(run.id)
    assert "[untestable_checkpoint] SC-001: checkpoint 'It works correctly'" in body
    assert "Error: PackInvalid" in body
    (check,) = world.github.check_runs.values()
    assert (check["status"], check["conclusion"]) == ("completed", "failure")
    assert "[untestable_checkpoint] SC-001" in check["output"]["summary"]
    assert world.github.pulls == {} and await stored_revisions(world) == []
    assert BRANCH not in world.remote.work.git("--git-dir", str(world.remote.bare), "branch", "--list")


async def test_a_codex_error_is_shown_raw_and_stored_on_the_run(world, model_server):
    model_server.script = lambda request: Failure("Rate limit reached for scripted-model in org-42",
                                                  "rate_limit_exceeded")
    await world.comment("/scenarioforge generate")
    await world.settle()

    run = await only_run(world)
    assert (run.state, run.error["type"]) == ("failed", "rateLimitExceeded")
    assert "Rate limit reached for scripted-model in org-42" in run.error["message"]
    assert {"repository", "run_id", "delivery_id", "thread_id", "turn_id"} <= set(run.error["context"])
    body = await world.tracking(run.id)
    assert "Rate limit reached for scripted-model in org-42" in body
    assert f"turn_id={run.error['context']['turn_id']}" in body and f"delivery_id={run.delivery_id}" in body
    (check,) = world.github.check_runs.values()
    assert check["conclusion"] == "failure" and "Rate limit reached" in check["output"]["summary"]
    assert world.github.pulls == {}


def app_with_a_drifting_plan(repo) -> None:
    """The small app plus a draft plan of code not built yet: suspect, yet selected by default.

    (Issue 10: names that never existed in the history cost nothing, so the plan declares itself a draft.)
    """
    repo.write("docs/plan.md", "# Payments plan\n\n- Status: Draft\n- Owner: payments\n\nCards will be charged by "
               "`charge_card()` in [app/payments.py](../app/payments.py).\n")
    small_app(repo)


@pytest.mark.parametrize("world_repo", [app_with_a_drifting_plan])
async def test_the_gate_blocks_a_suspect_selection_until_confirm_resumes_it(world, model_server):
    model_server.script = scripted(sample_pack)
    await world.comment("/scenarioforge generate")
    await world.settle()

    (run,) = await world.runs()
    assert (run.state, run.phase) == ("blocked", "needs-confirmation")
    assert "docs/plan.md" in await world.tracking(run.id)
    assert model_server.requests == [] and world.github.check_runs == {}

    await world.comment("/scenarioforge confirm")
    await world.settle()

    generate = next(r for r in await world.runs() if r.action == "generate")
    assert (generate.id, generate.state) == (run.id, "passed")
    assert "Payments plan" in "\n".join(user_texts(model_server.requests[0]))  # the confirmed source went in
    (pull,) = world.github.pulls.values()
    (revision,) = await stored_revisions(world)
    assert revision.pr_number == pull["number"] and revision.run_id == run.id
    (check,) = world.github.check_runs.values()
    assert check["conclusion"] == "success"


def app_with_long_documents(repo) -> None:
    """The small app, then a spec longer than a 1,000-token budget and an old plan as long, with
    ``generate.token_budget: 1000`` in the repository config."""
    small_app(repo)
    item = "- `GET /api/items` returns the items in creation order, each with its id and name.\n"
    repo.write("docs/spec.md", "# Items API specification\n\n" + item * 60)
    repo.write("docs/old-plan.md", "# Old plan\n\n" + "- OLD-PLAN-MARKER: store the items in Redis.\n" * 120)
    repo.write(".github/scenarioforge.yml", "generate:\n  token_budget: 1000\n")
    repo.commit("Longer documents", "2025-06-02T12:00:00+00:00")


@pytest.mark.parametrize("world_repo", [app_with_long_documents])
async def test_the_cut_notice_names_only_selected_sources(world, model_server):
    await world.comment("/scenarioforge sources --exclude docs/old-plan.md")
    await world.settle()
    model_server.script = scripted(sample_pack)
    await world.comment("/scenarioforge generate")
    await world.settle()

    generate = next(run for run in await world.runs() if run.action == "generate")
    assert generate.state == "passed"
    (revision,) = await stored_revisions(world)
    async with world.database.session() as session:
        manifest = await session.get(Manifest, revision.manifest_id)
        assert {row.path: row.selected for row in manifest.sources}["docs/old-plan.md"] is False  # a source, excluded
    cut = [entry["path"] for entry in packs.document_of(revision).revision.cut_sources]
    assert "docs/spec.md" in cut and "docs/old-plan.md" not in cut
    prompt = "\n".join(user_texts(model_server.requests[0]))
    notice = prompt.split("did not fit the prompt budget")[1].split("## Instruction")[0]
    named = re.findall(r"^- \S+ `([^`]+)`", notice, re.MULTILINE)
    assert named == cut  # the sources to `cat` are the cut selected ones, nothing else
    assert "old-plan" not in prompt and "OLD-PLAN-MARKER" not in prompt


def test_a_fresh_generation_over_a_stored_pack_is_numbered_after_it():
    """Without ``--update`` the pack is built from scratch, but numbers are per repository."""
    def result(number: int, count: int) -> GenerationResult:
        pack = ScenarioPack.model_validate(sample_pack("2", count=count))
        revision = Revision(revision=number, mode="initial", prompt_version="v", model="m", thread_id="t",
                            turn_ids=["u"], change_summary=change_summary(None, pack).as_dict())
        return GenerationResult(pack, revision, change_summary(None, pack), [])

    previous = numbered(result(3, 2).document(), None)
    assert previous.revision.revision == 3
    fresh = numbered(result(1, 3).document(), previous)
    assert (fresh.revision.revision, fresh.revision.mode) == (4, "initial")
    assert fresh.revision.change_summary == {"added": ["SC-003"], "changed": [], "removed": []}


def test_a_failed_check_run_shows_the_raw_error_and_its_context():
    error = CodexError("stream disconnected: ```boom```", error_type="responseStreamDisconnected",
                       thread_id="thr", turn_id="turn-9")
    output = checks.failure_output("Generation failed", error)
    assert output.title == "Generation failed: responseStreamDisconnected"
    assert output.summary.startswith("````\nstream disconnected: ```boom```\n````")
    assert "- turn_id: `turn-9`" in output.summary
