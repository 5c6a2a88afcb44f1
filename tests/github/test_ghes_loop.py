"""Issue 14, "GitHub Enterprise Server end to end": generate → execute against an ``/api/v3`` base.

The local GitHub server serves its API under ``/api/v3`` with pages under
``https://ghe.example.com``; the deliveries are the GHES-shaped examples of
``tests/payloads/ghes/``. Everything else is the real world of
``tests.support.world`` and the real codex binary against the scripted model.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from bot.execution.action import BRANCH_PREFIX
from bot.scenarios.action import BRANCH
from tests.execution.test_execute_e2e import cart_model, remote_branches, world_repo  # noqa: F401
from tests.execution.test_execute_e2e import world_settings as execute_world_settings
from tests.support.model_server import assistant_message, exec_call, tool_outputs, user_texts
from tests.support.target_repo import build_pack

GHES_WEB = "https://ghe.example.com"


@pytest.fixture
def github_shape() -> dict[str, str]:
    return {"prefix": "/api/v3", "html_root": GHES_WEB, "payloads": "ghes/", "payload_api_url": f"{GHES_WEB}/api/v3"}


@pytest.fixture
def world_settings(codex_settings) -> dict[str, Any]:
    return execute_world_settings.__wrapped__(codex_settings)


def generate_then_execute(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Generation: read the spec, answer the cart pack; execution: ``cart_model``."""
    if any("Allowed source ids:" in text for text in user_texts(request)):
        if not tool_outputs(request):
            return [exec_call("cat docs/spec.md")]
        return [assistant_message(build_pack().model_dump_json())]
    return cart_model()(request)


async def test_generate_then_execute_on_ghes(world, model_server):
    model_server.script = generate_then_execute
    assert world.github.url.endswith("/api/v3") and world.settings.web_url == world.github.url.removesuffix("/api/v3")

    await world.comment("/scenarioforge generate")
    await world.settle()
    await world.comment("/scenarioforge execute --mode full")
    await world.settle()

    generated, executed = await world.runs()
    assert (generated.state, executed.state) == ("passed", "passed"), (generated.error, executed.error)
    heads = sorted(pull["head"]["ref"] for pull in world.github.pulls.values())
    assert heads == sorted([BRANCH, f"{BRANCH_PREFIX}{executed.id}"])
    assert set(remote_branches(world)) == {"master", BRANCH, f"{BRANCH_PREFIX}{executed.id}"}
    # every call went to the /api/v3 base, and each was a route of GitHub's description
    assert world.github.requests and all(r.path.startswith("/api/v3/") and r.route for r in world.github.requests)
    tracking = await world.tracking(executed.id)
    assert f"{GHES_WEB}/Codertocat/Hello-World" in tracking  # links to GHES pages, never github.com
    assert "https://github.com" not in tracking and "https://github.com" not in json.dumps(
        list(world.github.pulls.values()))
