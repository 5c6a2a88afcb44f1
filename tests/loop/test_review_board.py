"""The review board shows the scenarios a push flagged ``needs review`` (issue 13), over real HTTP."""
from __future__ import annotations

from storage import reviews
from tests.support.board import REPO, seed_run, sign_in


async def test_the_repository_page_lists_the_scenarios_needing_review_with_why(board_app, github_server):
    github_server.oauth.grant("octocat", REPO)
    await seed_run(board_app.database)  # pack revision 1: SC-001 cites docs/catalogue.md
    async with board_app.database.session() as session:
        await reviews.flag(session, REPO, 1, {"SC-001": (["docs/catalogue.md"], [
            "`docs/catalogue.md` changed (blob `1111111` → `2222222`) <b>bold</b>"])}, commit_sha="c" * 40, run_id=None)
    http = await sign_in(board_app.url, next_path=f"/board/{REPO}")
    async with http, http.get(f"{board_app.url}/board/{REPO}") as answer:
        page = await answer.text()
    assert answer.status == 200
    assert ("<strong>needs review</strong> SC-001 (pack revision 1, since <code>cccccccccccc</code>): "
            "`docs/catalogue.md` changed (blob `1111111` → `2222222`) &lt;b&gt;bold&lt;/b&gt;") in page
