"""A pull request whose head repository was deleted (``head.repo`` null) is a fork's: never pushed to."""
from __future__ import annotations

from bot.github.publish import fork_note, fork_pull


async def test_a_pull_request_from_a_deleted_fork_is_a_fork_named_as_such(fake_gh):
    pull = {"number": 7, "user": {"login": "stranger"}, "base": {"ref": "main"}, "head": {"ref": "x", "repo": None}}
    fake_gh.answer("GET", "/repos/acme/app/pulls/7", pull)
    found = await fork_pull(fake_gh, "acme/app", 7)
    assert found == pull
    assert fork_note(found, "scenarioforge/fix-7") == (
        "Proposed for #7 by @stranger (from `a deleted fork`): the App never pushes to a fork, so this fix is on "
        "`scenarioforge/fix-7` of this repository, against `main`.")
