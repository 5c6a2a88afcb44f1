"""Sign-in and who sees what, over real HTTP against the local GitHub server's OAuth side."""
from __future__ import annotations

import aiohttp
from yarl import URL

from tests.support.board import REPO, seed_run, sign_in


async def test_sign_in_redirects_back_to_the_local_next_path(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    http = await sign_in(board_app.url, next_path=f"/board/runs/{run_id}")
    async with http:
        async with http.get(f"{board_app.url}/board/runs/{run_id}") as answer:
            assert answer.status == 200
            assert answer.url.path == f"/board/runs/{run_id}"
            assert f"Run {run_id}" in await answer.text()
    (authorize,) = github_server.oauth.authorize_requests
    assert authorize["redirect_uri"] == f"{board_app.url}/login/callback"
    assert authorize["client_id"] == board_app.settings.client_id


async def test_next_outside_the_board_is_refused(board_app, github_server):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for evil in ("https://evil.example", "//evil.example/board", "/\\evil.example", "/boardx"):
            async with http.get(f"{board_app.url}/login", params={"next": evil}) as answer:
                assert answer.status == 200
                assert answer.url == URL(f"{board_app.url}/board"), evil


async def test_a_user_without_access_gets_404_for_a_run_and_its_report(board_app, github_server):
    github_server.add_repo("octo-org/other", installation_id=1)
    github_server.oauth.grant("octocat", "octo-org/other")
    run_id = await seed_run(board_app.database)
    async with await sign_in(board_app.url) as http:
        for path in (f"/board/runs/{run_id}", f"/board/runs/{run_id}/report.md", f"/board/runs/{run_id}/report.json",
                     f"/board/runs/{run_id}/events", f"/board/{REPO}", f"/board/{REPO}/scenarios/SC-002",
                     "/board/runs/999999"):
            async with http.get(board_app.url + path) as answer:
                assert answer.status == 404, path
                assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        async with http.get(f"{board_app.url}/board") as answer:
            page = await answer.text()
    assert "octo-org/other" in page and REPO not in page


async def test_signed_out_visitors_are_sent_to_sign_in_and_logout_ends_the_session(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    run_id = await seed_run(board_app.database)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{board_app.url}/board/runs/{run_id}", allow_redirects=False) as answer:
            assert answer.status == 302
            location = URL(answer.headers["Location"])
            assert (location.path, location.query["next"]) == ("/login", f"/board/runs/{run_id}")
    async with await sign_in(board_app.url) as http:
        (cookie,) = [c for c in http.cookie_jar if c.key == "scenarioforge_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        async with http.get(f"{board_app.url}/logout", allow_redirects=False) as answer:
            assert (answer.status, answer.headers["Location"]) == (302, "/board")
        async with http.get(f"{board_app.url}/board", allow_redirects=False) as answer:
            assert answer.status == 302


async def test_a_callback_not_started_here_is_refused(board_app):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{board_app.url}/login/callback", params={"code": "x", "state": "forged"}) as answer:
            assert answer.status == 400
            assert "state" in await answer.text()


async def test_without_a_client_secret_the_board_says_how_to_enable_sign_in(
    database, start_app, webhook_settings, github_server
):
    from tests.support.webhooks import OfflineAuth

    running = await start_app(webhook_settings.model_copy(update={"database_url": database.url}),
                              database=database, auth=OfflineAuth())
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{running.url}/board") as answer:
            assert answer.status == 503
            assert "SCENARIOFORGE_CLIENT_SECRET" in await answer.text()
        async with http.get(f"{running.url}/healthz") as answer:
            assert answer.status == 200


def test_tracking_comment_links_the_run_page_and_report_only_with_a_board_url():
    from bot.github import messages
    from storage.models import Run

    run = Run(id=5, action="execute", requester="octocat", state="running", repository=REPO, ref=None, head_sha=None)
    with_board = messages.tracking(run, [], board_url="https://forge.example")
    assert "[Run page](https://forge.example/board/runs/5)" in with_board
    assert "(https://forge.example/board/runs/5/report.md)" in with_board
    assert "forge.example" not in messages.tracking(run, [])
    assert messages.run_page(None, 5) is None
