"""A scripted OpenAI Responses API server for driving the real ``codex`` binary offline.

The wire format follows ``/work/shared/docs/CODEX-TESTING.md`` (copied facts:
``GET /v1/models`` may answer an empty list; ``POST /v1/responses`` answers a
``text/event-stream`` of ``response.created``, one ``response.output_item.done``
per output item and ``response.completed``; a failed step is
``response.failed`` with ``response.error``).

A test supplies a *script*: a callable ``(request_json) -> Step`` called once
per model step. A step is a list of output items (see :func:`exec_call` and
:func:`assistant_message`), a :class:`Failure` (``response.failed`` in the
stream) or an :class:`HttpError` (plain HTTP error with a JSON body). Every
request body is recorded in ``ScriptedModel.requests`` so tests can assert what
the prompt held and which schema was sent.
"""
from __future__ import annotations

import asyncio

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from config.settings import Settings


@dataclass(frozen=True)
class Failure:
    """A ``response.failed`` event carrying the model error ``code`` and ``message``."""

    message: str
    code: str = "server_error"


@dataclass(frozen=True)
class HttpError:
    """A non-streaming HTTP error answer with an OpenAI-style error body."""

    status: int
    message: str
    type: str = "invalid_request_error"


Step = list[dict[str, Any]] | Failure | HttpError
Script = Callable[[dict[str, Any]], Step]

_ids = itertools.count(1)


def exec_call(cmd: str) -> dict[str, Any]:
    """An output item asking the agent to run ``cmd`` with its ``exec_command`` tool."""
    n = next(_ids)
    return {
        "type": "function_call",
        "id": f"fc_{n}",
        "call_id": f"call_{n}",
        "name": "exec_command",
        "arguments": json.dumps({"cmd": cmd}),
    }


def assistant_message(text: str) -> dict[str, Any]:
    """An output item with the assistant's final text (ends the turn)."""
    return {
        "type": "message",
        "role": "assistant",
        "id": f"msg_{next(_ids)}",
        "content": [{"type": "output_text", "text": text}],
    }


def tool_outputs(request: dict[str, Any]) -> list[str]:
    """The ``function_call_output`` texts of a request, oldest first."""
    outputs = []
    for item in request.get("input", []):
        if item.get("type") == "function_call_output":
            output = item.get("output")
            outputs.append(output if isinstance(output, str) else json.dumps(output))
    return outputs


def this_turn(request: dict[str, Any]) -> list[str]:
    """The tool outputs of the current turn (after its user message)."""
    items = request["input"]
    start = max(i for i, item in enumerate(items) if item.get("type") == "message" and item.get("role") == "user")
    return [item["output"] if isinstance(item["output"], str) else json.dumps(item["output"])
            for item in items[start:] if item.get("type") == "function_call_output"]


def user_texts(request: dict[str, Any]) -> list[str]:
    """The text of every ``user`` message in a request, oldest first."""
    texts = []
    for item in request.get("input", []):
        if item.get("type") == "message" and item.get("role") == "user":
            for part in item.get("content", []):
                if isinstance(part, dict) and "text" in part:
                    texts.append(part["text"])
    return texts


def output_schema(request: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema Codex asked the model to follow (``text.format.schema``), if any."""
    return ((request.get("text") or {}).get("format") or {}).get("schema")


@dataclass
class ScriptedModel:
    """The running server: ``base_url`` to configure Codex, ``requests`` as received."""

    base_url: str = ""
    script: Script | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds each answer waits before it starts (a model that takes its time: ``bench/scale.py``).
    delay_s: float = 0.0

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": []})

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.script is None:
            raise web.HTTPInternalServerError(text="no script set")
        step = self.script(body)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if isinstance(step, HttpError):
            return web.json_response(
                {"error": {"message": step.message, "type": step.type, "code": None}},
                status=step.status,
            )
        response_id = f"resp_{next(_ids)}"
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await stream.prepare(request)

        async def send(event: dict[str, Any]) -> None:
            await stream.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())

        await send({"type": "response.created", "response": {"id": response_id}})
        if isinstance(step, Failure):
            await send({
                "type": "response.failed",
                "response": {"id": response_id, "error": {"code": step.code, "message": step.message}},
            })
        else:
            for item in step:
                await send({"type": "response.output_item.done", "item": item})
            usage = {
                "input_tokens": 100, "input_tokens_details": None,
                "output_tokens": 20, "output_tokens_details": None, "total_tokens": 120,
            }
            await send({"type": "response.completed", "response": {"id": response_id, "usage": usage}})
        await stream.write_eof()
        return stream

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/responses", self._responses)
        return app


@pytest.fixture
async def model_server(aiohttp_server) -> ScriptedModel:
    """A scripted model on an ephemeral loopback port; set ``.script`` before a turn."""
    model = ScriptedModel()
    server = await aiohttp_server(model.app())
    model.base_url = str(server.make_url("/v1"))
    return model


@pytest.fixture
def codex_settings(model_server: ScriptedModel, tmp_path) -> Settings:
    """Settings pointing Codex at ``model_server`` with its own empty ``CODEX_HOME``.

    Retries are switched off so a scripted error surfaces at once.
    """
    home = tmp_path / "codex-home"
    home.mkdir()
    return Settings(
        _env_file=None,
        codex_model="scripted",
        codex_base_url=model_server.base_url,
        codex_home=home,
        codex_config="model_providers.scenarioforge.request_max_retries = 0\n"
        "model_providers.scenarioforge.stream_max_retries = 0",
        turn_timeout_s=60,
    )


def sample_pack(source_id: str = "docs/prd.md", *, count: int = 2) -> dict[str, Any]:
    """A valid scenario pack (as the model would answer) with ``count`` scenarios citing ``source_id``."""
    scenarios = [
        {
            "id": f"SC-{n:03d}",
            "title": f"Checkout with saved card {n}",
            "persona": "A returning customer with a saved Visa card",
            "objective": f"Buy {n} items in one order without retyping card details",
            "preconditions": ["The shop runs locally on port 8000", "The customer account exists"],
            "test_data": ["email: ana@example.com", f"cart: {n} x SKU-42 at 9.99 EUR"],
            "steps": [
                "Sign in as ana@example.com",
                f"Add {n} x SKU-42 to the cart",
                "Pay with the saved card",
            ],
            "checkpoints": [
                f"The order page shows total {n * 9.99:.2f} EUR",
                "GET /orders/latest returns status 200 with state 'paid'",
            ],
            "edge_variants": ["The saved card is expired: payment is refused with 'card expired'"],
            "pass_criteria": "Passes only if the order is stored as paid and the total matches.",
            "source_ids": [source_id],
        }
        for n in range(1, count + 1)
    ]
    return {
        "title": "Shop scenarios",
        "summary": "End-to-end scenarios for the shop checkout.",
        "feature_areas": [
            {"name": "Checkout", "outcomes": [{"outcome": "A customer can pay an order", "scenarios": scenarios}]}
        ],
    }
