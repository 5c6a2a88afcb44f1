"""Reading a config file through the contents API (``bot.github.config_files.file_text``): what
GitHub may answer besides a small UTF-8 file, each an error naming the file (the other layers
still apply), except what the worker should retry."""
from __future__ import annotations

import base64

import gidgethub
import pytest

from bot.github.config_files import file_text, load_effective

URL = "/repos/acme/app/contents/.github/scenarioforge.yml"
NAME = "acme/app:.github/scenarioforge.yml"


def contents(raw: bytes, **fields):
    return {"type": "file", "encoding": "base64", "content": base64.encodebytes(raw).decode(), **fields}


async def read(fake_gh):
    return await file_text(fake_gh, "acme/app", ".github/scenarioforge.yml")


async def test_a_file_wrapped_in_lines_of_base64_is_read(fake_gh):
    fake_gh.answer("GET", URL, contents(b"execute:\n  mode: fix\n" * 20))
    assert await read(fake_gh) == ("execute:\n  mode: fix\n" * 20, None)


@pytest.mark.parametrize(("answer", "error"), [
    ([{"type": "file", "name": "a.yml"}], f"{NAME}: a directory, not a file"),
    ({"type": "symlink", "target": "../../etc/passwd"}, f"{NAME}: a symlink, not a file"),
    ({"type": "submodule"}, f"{NAME}: a submodule, not a file"),
    ({"type": "file", "encoding": "none", "content": ""}, f"{NAME}: GitHub does not return its content inline"),
    ({"type": "file", "encoding": "base64"}, f"{NAME}: GitHub does not return its content inline"),
    ({"type": "file", "encoding": "base64", "content": "not base64!"}, f"{NAME}: its content is not base64"),
    ({"type": "file", "encoding": "base64", "content": "YWJ"}, f"{NAME}: its content is not base64"),
    (contents(b"\xff\xfe mode: fix"), f"{NAME}: not valid UTF-8"),
    ("a string", f"{NAME}: a non-file, not a file"),
])
async def test_what_is_not_a_readable_file_is_an_error_naming_it(fake_gh, answer, error):
    fake_gh.answer("GET", URL, answer)
    text, found = await read(fake_gh)
    assert text is None and found.startswith(error)


async def test_a_refusal_is_an_error_naming_the_file_and_the_rest_applies(fake_gh):
    fake_gh.answer("GET", "/repos/acme/.github/contents/.github/scenarioforge.yml",
                   {"message": "Resource not accessible by integration"}, status=403)
    fake_gh.answer("GET", URL, contents(b"execute:\n  mode: pr\n"))
    found = await load_effective(fake_gh, "acme/app")
    assert found.config.execute.mode == "pr"
    assert found.errors == ["acme/.github:.github/scenarioforge.yml: GitHub refused to read it "
                            "(403: Resource not accessible by integration)"]
    assert found.problems()[0][0] == "org file"


async def test_a_missing_file_is_none_and_github_being_down_or_a_rate_limit_propagates(fake_gh):
    fake_gh.answer("GET", URL, {"message": "Not Found"}, status=404)
    assert await read(fake_gh) == (None, None)
    fake_gh.answers.clear()
    fake_gh.answer("GET", URL, {"message": "Server Error"}, status=500)
    with pytest.raises(gidgethub.GitHubBroken):
        await read(fake_gh)
    fake_gh.answers.clear()
    fake_gh.answer("GET", URL, {"message": "You have exceeded a secondary rate limit."}, status=403,
                   headers={"retry-after": "30"})
    with pytest.raises(gidgethub.BadRequest):
        await read(fake_gh)


async def test_a_repository_file_whose_policy_does_not_resolve_leaves_the_orgs_pack_in_force(fake_gh):
    fake_gh.answer("GET", "/repos/acme/.github/contents/.github/scenarioforge.yml",
                   contents(b"policy:\n  pack: strict@1\n"))
    fake_gh.answer("GET", URL, contents(b"policy:\n  pack: typo@1\n"))
    found = await load_effective(fake_gh, "acme/app")
    assert found.config.policy.pack == "strict@1"
    assert found.errors[0].startswith(f"{NAME} (merged with the layers under it): policy.pack: unknown pack 'typo@1'")

