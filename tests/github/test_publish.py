"""Publishing as the bot: real git (mirror, worktree, bare remote) and the local GitHub server."""
import pytest

from bot.github import checks
from bot.github.publish import BOT_NAME, base_branch, publish_files
from bot.workspace.worktrees import Workspaces
from tests.support.git_remote import run_git

REPO = "octo/app"
BRANCH = "scenarioforge/scenarios"


@pytest.fixture
def gh(github_server, github_auth):
    github_server.add_repo(REPO, installation_id=1)
    github_server.set_permission(REPO, "alice", "write")
    return github_auth.installation_client(1)


@pytest.fixture
def checkout(git_remote, tmp_path):
    workspaces = Workspaces(tmp_path / "work")

    async def checkout(**where):
        return await workspaces.prepare(repository=REPO, clone_url=git_remote.url, token=None, **where)
    return checkout


async def publish(gh, workspace, text, *, requester="alice"):
    return await publish_files(
        gh, workspace, None, files={"scenarios/scenarios.md": text, "scenarios/scenario-pack.json": "{}\n"},
        branch=BRANCH, message="ScenarioForge: scenario pack", title="Scenarios", body=f"body {text}",
        requester=requester,
    )


def show(git_remote, what):
    return run_git("show", "-s", f"--format={what}", BRANCH, cwd=git_remote.bare)


async def test_first_publish_commits_as_the_bot_pushes_and_opens_one_draft_pr(gh, checkout, git_remote,
                                                                            github_server):
    workspace = await checkout()
    published = await publish(gh, workspace, "revision 1\n")

    assert run_git("show", f"{BRANCH}:scenarios/scenarios.md", cwd=git_remote.bare) == "revision 1"
    assert run_git("show", f"{BRANCH}:scenarios/scenario-pack.json", cwd=git_remote.bare) == "{}"
    assert run_git("rev-parse", BRANCH, cwd=git_remote.bare) == published.commit_sha
    assert show(git_remote, "%P") == git_remote.shas["main"]
    assert show(git_remote, "%an|%cn") == f"{BOT_NAME}|{BOT_NAME}"
    assert "Co-authored-by: alice <alice@users.noreply.github.com>" in show(git_remote, "%B")
    assert run_git("diff", "--name-only", "main", BRANCH, cwd=git_remote.bare).split() == [
        "scenarios/scenario-pack.json", "scenarios/scenarios.md"]

    pull = github_server.pulls[(REPO, published.pull["number"])]
    assert published.created and pull["draft"] is True
    assert (pull["head"]["ref"], pull["base"]["ref"], pull["body"]) == (BRANCH, "main", "body revision 1\n")
    assert [user["login"] for user in pull["requested_reviewers"]] == ["alice"]
    assert published.review_note is None
    assert published.file_url("scenarios/scenarios.md") == (
        f"https://github.com/{REPO}/blob/{BRANCH}/scenarios/scenarios.md")


async def test_a_later_revision_goes_on_top_and_updates_the_same_pr(gh, checkout, git_remote, github_server):
    first = await publish(gh, await checkout(), "revision 1\n")
    second = await publish(gh, await checkout(), "revision 2\n")

    assert show(git_remote, "%P") == first.commit_sha
    assert run_git("show", f"{BRANCH}:scenarios/scenarios.md", cwd=git_remote.bare) == "revision 2"
    assert not second.created and second.pull["number"] == first.pull["number"]
    assert [p["body"] for p in github_server.pulls.values()] == ["body revision 2\n"]
    assert len(github_server.calls("POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")) == 1


async def test_the_branch_is_rebuilt_on_a_newer_commit(gh, checkout, git_remote, github_server):
    first = await publish(gh, await checkout(), "revision 1\n")
    newer = git_remote.commit("main", "docs.md", "plan v2\n")
    second = await publish(gh, await checkout(), "revision 2\n")

    assert show(git_remote, "%P") == newer
    assert run_git("rev-list", "--count", f"main..{BRANCH}", cwd=git_remote.bare) == "1"
    assert second.pull["number"] == first.pull["number"] and len(github_server.pulls) == 1


async def test_review_refusals_are_reported_not_raised(gh, checkout, github_server):
    published = await publish(gh, await checkout(), "revision 1\n", requester="stranger")
    assert "review could not be requested from @stranger" in published.review_note
    assert "not a collaborator" in published.review_note
    again = await publish(gh, await checkout(), "revision 2\n", requester=github_server.bot_login)
    assert again.review_note == f"@{github_server.bot_login} opened the pull request and cannot review it"


async def test_pull_requests_target_the_run_branch_when_the_repository_has_it(checkout):
    assert await base_branch(await checkout(ref="feature")) == "feature"
    assert await base_branch(await checkout(ref="feature"), head="feature") == "main"  # never into itself
    assert await base_branch(await checkout(pull_number=7, ref="fork-work")) == "main"
    assert await base_branch(await checkout()) == "main"


async def test_named_paths_are_committed_even_when_ignored(gh, checkout, git_remote):
    git_remote.commit("main", ".gitignore", "scenarios/\n")
    await publish(gh, await checkout(), "revision 1\n")
    assert run_git("show", f"{BRANCH}:scenarios/scenarios.md", cwd=git_remote.bare) == "revision 1"


async def test_check_runs_start_in_progress_and_complete_with_batched_annotations(gh, github_server):
    check = await checks.start(gh, REPO, name="ScenarioForge / generate", head_sha="a" * 40,
                               details_url="https://github.com/octo/app/issues/1#issuecomment-9", external_id="5")
    stored = github_server.check_runs[check.id]
    assert (stored["status"], stored["details_url"], stored["external_id"]) == (
        "in_progress", "https://github.com/octo/app/issues/1#issuecomment-9", "5")
    annotations = [{"path": "docs/prd.md", "start_line": n, "end_line": n, "annotation_level": "warning",
                    "message": f"finding {n}"} for n in range(1, 121)]
    output = checks.Output("Pack invalid", "x" * 70_000, text="details", annotations=annotations)
    await check.complete("failure", output, actions=[{"label": "Re-run", "description": "Run again",
                                                      "identifier": "rerun"}])

    patches = github_server.calls("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}")
    assert [len(p.body["output"].get("annotations", [])) for p in patches] == [50, 50, 20]
    assert patches[0].body["conclusion"] == "failure" and "conclusion" not in patches[1].body
    assert len(patches[0].body["output"]["summary"]) == checks.TEXT_LIMIT
    assert (stored["status"], stored["conclusion"], stored["actions"][0]["identifier"]) == (
        "completed", "failure", "rerun")
