"""The local GitHub API server: strict validation, auth, and the state tests rely on."""
from __future__ import annotations

import base64

import aiohttp
import gidgethub
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = "octo-org/hello"
INSTALLATION = 3


@pytest.fixture
def world(github_server):
    """A repository with issue #1 and pull request #2."""
    github_server.add_repo(REPO, installation_id=INSTALLATION)
    github_server.add_issue(REPO, 1, labels=("scenarioforge:generate", "bug"))
    github_server.add_pull(REPO, 2, head="feature", head_sha="a" * 40)
    return github_server


@pytest.fixture
def gh(github_auth, world):
    return github_auth.installation_client(INSTALLATION)


async def raw(github_server, method: str, path: str, **kwargs) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, github_server.url + path, **kwargs) as response:
            return response.status, await response.json()


async def test_a_body_that_violates_the_schema_gets_422_and_is_recorded(gh, github_server):
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.post(f"/repos/{REPO}/issues/1/comments", data={"text": "no body field"})
    assert raised.value.status_code == 422
    assert "body" in str(raised.value)
    [violation] = github_server.take_violations()
    assert violation.startswith("POST /repos/{owner}/{repo}/issues/{issue_number}/comments")
    assert github_server.comments(REPO, 1) == []


async def test_bad_query_and_path_parameters_are_violations(gh, github_server):
    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem(f"/repos/{REPO}/issues/1/comments?per_page=many")
    with pytest.raises(gidgethub.BadRequest):
        await gh.getitem(f"/repos/{REPO}/issues/one")
    assert len(github_server.take_violations()) == 2


async def test_an_endpoint_outside_the_slice_is_a_violation(gh, github_server):
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.getitem(f"/repos/{REPO}/branches")
    assert raised.value.status_code == 404
    assert github_server.take_violations() == ["GET /repos/octo-org/hello/branches: no such endpoint in the slice"]


async def test_requests_without_valid_credentials_get_401(world, github_server, app_keys):
    status, body = await raw(github_server, "GET", f"/repos/{REPO}")
    assert (status, body["message"]) == (401, "Bad credentials")
    status, _ = await raw(github_server, "GET", f"/repos/{REPO}", headers={"authorization": "token ghs_forged"})
    assert status == 401
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iat": 0, "exp": 2**31, "iss": str(app_keys.app_id)},
                        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()), algorithm="RS256")
    status, _ = await raw(github_server, "POST", f"/app/installations/{INSTALLATION}/access_tokens",
                          headers={"authorization": f"bearer {forged}"})
    assert status == 401


async def test_an_expired_token_is_refused(github_auth, world, github_server):
    github_server.token_lifetime_s = -1
    with pytest.raises(gidgethub.BadRequest) as raised:
        await github_auth.installation_client(INSTALLATION).getitem(f"/repos/{REPO}")
    assert raised.value.status_code == 401


async def test_a_token_only_reaches_its_installations_repositories(github_auth, world, github_server):
    github_server.add_repo("someone/else", installation_id=INSTALLATION + 1)
    gh = github_auth.installation_client(INSTALLATION)
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.getitem("/repos/someone/else")
    assert raised.value.status_code == 404


async def test_permissions_as_set_by_the_test(gh, github_server):
    github_server.set_permission(REPO, "maintainer", "maintain")
    answer = await gh.getitem(f"/repos/{REPO}/collaborators/{{username}}/permission", {"username": "maintainer"})
    assert (answer["permission"], answer["role_name"], answer["user"]["login"]) == ("write", "maintain", "maintainer")
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.getitem(f"/repos/{REPO}/collaborators/stranger/permission")
    assert raised.value.status_code == 404


async def test_comments_are_kept_edited_and_paginated(gh, github_server):
    created = [await gh.post(f"/repos/{REPO}/issues/2/comments", data={"body": f"c{i}"}) for i in range(5)]
    assert created[0]["user"] == github_server.user(github_server.bot_login)
    assert created[0]["user"]["type"] == "Bot"
    edited = await gh.patch(created[0]["url"], data={"body": "edited"})
    assert edited["body"] == "edited"
    bodies = [c["body"] async for c in gh.getiter(f"/repos/{REPO}/issues/2/comments?per_page=2")]
    assert bodies == ["edited", "c1", "c2", "c3", "c4"]
    assert len(github_server.calls("GET /repos/{owner}/{repo}/issues/{issue_number}/comments")) == 3
    assert [c["body"] for c in github_server.comments(REPO, 2)] == bodies
    assert (await gh.getitem(created[4]["url"]))["body"] == "c4"


async def test_only_the_apps_own_comments_can_be_edited(gh, github_server):
    human = github_server.add_comment(REPO, 1, "/scenarioforge help", author="octocat")
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.patch(human["url"], data={"body": "hijacked"})
    assert raised.value.status_code == 403


async def test_reactions_and_label_removal(gh, github_server):
    comment = github_server.add_comment(REPO, 1, "/scenarioforge help", author="octocat")
    await gh.post(f"/repos/{REPO}/issues/comments/{comment['id']}/reactions", data={"content": "eyes"})
    await gh.post(f"/repos/{REPO}/issues/comments/{comment['id']}/reactions", data={"content": "eyes"})
    assert [r["content"] for r in github_server.reactions(comment["id"])] == ["eyes"]
    await gh.delete(f"/repos/{REPO}/issues/1/labels/{{name}}", {"name": "scenarioforge:generate"})
    assert [label["name"] for label in github_server.issues[(REPO, 1)]["labels"]] == ["bug"]
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.delete(f"/repos/{REPO}/issues/1/labels/{{name}}", {"name": "scenarioforge:generate"})
    assert raised.value.status_code == 404


async def test_pull_requests(gh, github_server):
    github_server.set_permission(REPO, "reviewer", "write")
    pull = await gh.post(f"/repos/{REPO}/pulls", data={
        "title": "Scenario pack", "head": "scenarioforge/scenarios", "base": "main", "body": "b", "draft": True,
    })
    assert (pull["number"], pull["draft"], pull["head"]["ref"]) == (3, True, "scenarioforge/scenarios")
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.post(f"/repos/{REPO}/pulls", data={"title": "again", "head": "scenarioforge/scenarios", "base": "main"})
    assert raised.value.status_code == 422
    found = await gh.getitem(f"/repos/{REPO}/pulls?head=octo-org:scenarioforge/scenarios&state=open")
    assert [p["number"] for p in found] == [3]
    await gh.patch(f"/repos/{REPO}/pulls/3", data={"body": "revision 2"})
    await gh.post(f"/repos/{REPO}/pulls/3/requested_reviewers", data={"reviewers": ["reviewer"]})
    pull = await gh.getitem(f"/repos/{REPO}/pulls/3")
    assert pull["body"] == "revision 2"
    assert [u["login"] for u in pull["requested_reviewers"]] == ["reviewer"]
    assert (await gh.getitem(f"/repos/{REPO}/pulls/2"))["head"]["sha"] == "a" * 40
    assert (await gh.getitem(f"/repos/{REPO}/issues/3"))["pull_request"]["html_url"].endswith("/pull/3")


async def test_check_runs(gh, github_server):
    created = await gh.post(f"/repos/{REPO}/check-runs", data={
        "name": "ScenarioForge / generate", "head_sha": "a" * 40, "status": "in_progress",
    })
    with pytest.raises(gidgethub.BadRequest):
        await gh.patch(created["url"], data={"status": "completed"})  # no conclusion
    assert github_server.take_violations()
    await gh.patch(created["url"], data={"conclusion": "success", "output": {"title": "t", "summary": "s"}})
    check_run = await gh.getitem(f"/repos/{REPO}/check-runs/{created['id']}")
    assert (check_run["status"], check_run["conclusion"]) == ("completed", "success")
    assert github_server.check_runs[created["id"]]["output"]["summary"] == "s"


@pytest.mark.parametrize("path", [".github/scenarioforge.yml", "{path}"])
async def test_contents_from_the_default_branch(gh, github_server, path):
    github_server.set_file(REPO, ".github/scenarioforge.yml", "sources:\n  include: [docs]\n")
    answer = await gh.getitem(f"/repos/{REPO}/contents/{path}", {"path": ".github/scenarioforge.yml"})
    assert base64.b64decode(answer["content"]).decode() == "sources:\n  include: [docs]\n"
    with pytest.raises(gidgethub.BadRequest) as raised:
        await gh.getitem(f"/repos/{REPO}/contents/missing.yml")
    assert raised.value.status_code == 404


async def test_manifest_code_is_exchanged_once(github_server, app_keys):
    github_server.add_manifest_code("c0de")
    status, app = await raw(github_server, "POST", "/app-manifests/c0de/conversions")
    assert status == 201
    assert (app["id"], app["pem"]) == (app_keys.app_id, app_keys.private_pem)
    assert {"slug", "webhook_secret", "client_id", "client_secret", "html_url", "owner"} <= app.keys()
    status, _ = await raw(github_server, "POST", "/app-manifests/c0de/conversions")
    assert status == 404


async def test_adopt_payload_seeds_the_world_and_points_urls_here(github_auth, github_server):
    payload = {
        "action": "created",
        "installation": {"id": 11},
        "repository": {"id": 5, "full_name": "acme/app", "default_branch": "trunk",
                       "url": "https://api.github.com/repos/acme/app"},
        "issue": {"id": 6, "number": 9, "title": "t", "body": None, "user": {"login": "alice"}, "labels": [],
                  "comments_url": "https://api.github.com/repos/acme/app/issues/9/comments"},
        "comment": {"id": 77, "body": "/scenarioforge help", "user": {"login": "alice", "type": "User"}},
    }
    adopted = github_server.adopt_payload(payload)
    assert adopted["issue"]["comments_url"] == f"{github_server.url}/repos/acme/app/issues/9/comments"
    gh = github_auth.installation_client(11)
    await gh.post(adopted["issue"]["comments_url"], data={"body": "reply"})
    assert [c["body"] for c in github_server.comments("acme/app", 9)] == ["/scenarioforge help", "reply"]
    assert github_server.comment(77)["user"]["login"] == "alice"
