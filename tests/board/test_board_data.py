"""Reports, the event stream and the pages' safety, over real HTTP with a signed-in client."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from tests.support.board import REPO, SCRIPT, add_event, finish, record_elsewhere, seed_run, sign_in
from tests.support.webhooks import post_delivery


async def _frames(response, count: int) -> list[dict]:
    """The next ``count`` SSE frames of ``response`` as dicts of their fields."""
    frames, fields = [], {}
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line == "":
            if fields:
                frames.append(fields)
                fields = {}
            if len(frames) == count:
                return frames
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            fields[key] = value
    return frames


async def test_report_downloaded_twice_is_byte_identical_and_matches_the_cli(board_app, github_server, tmp_path):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    async with await sign_in(board_app.url) as http:
        bodies = {}
        for fmt in ("md", "html", "json"):
            downloads = []
            for _ in range(2):
                async with http.get(f"{board_app.url}/board/runs/{run_id}/report.{fmt}") as answer:
                    assert answer.status == 200
                    assert "attachment" in answer.headers["Content-Disposition"]
                    downloads.append(await answer.read())
            assert downloads[0] == downloads[1], fmt
            bodies[fmt] = downloads[0]
    report = json.loads(bodies["json"])
    assert report["execution"]["results"][1]["checkpoints"][0]["observed"] == f"HTTP 200 {SCRIPT}"
    assert report["pull_request"]["number"] == 12 and report["pack"]["revision"] == 1
    assert SCRIPT not in bodies["html"].decode() and "&lt;script&gt;" in bodies["html"].decode()
    out = tmp_path / "report.json"
    env = {"SCENARIOFORGE_DATABASE_URL": board_app.database.url, "PATH": "/usr/bin:/bin"}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", "report", str(run_id),
                                                    "--format", "json", "--out", str(out)],
                                   env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == bodies["json"]


async def test_stream_sends_persisted_then_live_events_and_resumes_after_last_event_id(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database, state="running", with_results=False)
    async with await sign_in(board_app.url) as http:
        url = f"{board_app.url}/board/runs/{run_id}/events"
        async with http.get(url) as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            persisted = await _frames(stream, 2)
            assert [json.loads(f["data"])["phase"] for f in persisted] == ["queued", "executing"]
            live_id = await record_elsewhere(board_app.database, run_id, "scenario", "passed", "SC-001 passed")
            (live,) = await _frames(stream, 1)
            assert live["id"] == live_id and json.loads(live["data"])["message"] == "SC-001 passed"
        missed = [await add_event(board_app.database, run_id, "scenario", "failed", f"SC-00{n} failed",
                                  {"scenario_id": f"SC-00{n}"}) for n in (2, 3)]
        await finish(board_app.database, run_id, "failed")
        async with http.get(url, headers={"Last-Event-ID": live_id}) as stream:
            rest = await _frames(stream, 10)
    assert [f.get("id") for f in rest[:2]] == missed
    assert json.loads(rest[2]["data"])["status"] == "failed"
    assert rest[3]["event"] == "end" and len(rest) == 4  # then the stream ends


async def test_pages_escape_untrusted_text_and_send_a_csp_without_inline_scripts(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    async with await sign_in(board_app.url) as http:
        for path in ("/board", f"/board/runs/{run_id}", f"/board/{REPO}", f"/board/{REPO}/scenarios/SC-002",
                     "/board/analytics", f"/board/{REPO}/analytics"):
            async with http.get(board_app.url + path) as answer:
                assert answer.status == 200, path
                csp = answer.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
                assert SCRIPT not in await answer.text(), path


async def test_pull_request_webhooks_keep_the_fix_pr_state_current(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    pull = {"number": 12, "state": "closed", "merged": True, "draft": False, "title": "Fix SC-002",
            "head": {"sha": "b" * 40}}
    payload = {"action": "closed", "pull_request": pull, "repository": {"full_name": REPO},
               "installation": {"id": 1}, "sender": {"login": "octocat"}}
    async with await sign_in(board_app.url) as http:
        async with http.get(f"{board_app.url}/board/runs/{run_id}/report.json") as response:
            assert (await response.json())["pull_request"]["state"] is None  # no webhook yet
        review = {**payload, "action": "submitted", "pull_request": {**pull, "state": "open", "merged": False},
                  "review": {"id": 1, "state": "APPROVED", "user": {"login": "reviewer"}}}
        assert (await post_delivery(f"{board_app.url}/webhook", review, "pull_request_review")).status == 202
        await board_app.running.services.dispatcher.idle()
        async with http.get(f"{board_app.url}/board/runs/{run_id}/report.json") as response:
            reviewed = (await response.json())["pull_request"]
        assert (reviewed["state"], reviewed["review_state"]) == ("open", "approved")
        answer = await post_delivery(f"{board_app.url}/webhook", payload, "pull_request")
        assert answer.status == 202
        await board_app.running.services.dispatcher.idle()
        async with http.get(f"{board_app.url}/board/runs/{run_id}/report.json") as response:
            state = (await response.json())["pull_request"]
        async with http.get(f"{board_app.url}/board/{REPO}") as response:
            assert "merged" in await response.text()
    assert (state["state"], state["merged"]) == ("closed", True)
