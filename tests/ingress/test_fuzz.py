"""Property-based fuzzing (hypothesis) of ``POST /webhook`` over real HTTP and of envelope parsing.

Properties (issue 9): no delivery, however malformed, gets a 500; every
delivery the endpoint accepts is recorded and ends with an outcome
(``processed``, ``ignored`` or ``failed``); envelope parsing either returns
the documented types or raises ``PayloadError`` naming a field.

The app runs on the test's event loop; the hypothesis examples run in a worker
thread (hypothesis drives synchronous functions) and reach the app over HTTP,
and the database through ``run_coroutine_threadsafe``. Bounded: few examples,
no deadline, a few seconds in all.
"""
from __future__ import annotations

import asyncio
import copy
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.errors import PayloadError
from bot.ingress import envelope
from storage.models import Delivery, DeliveryOutcome
from tests.support.webhooks import PAYLOADS, OfflineAuth, sign

REAL = {path.name.split(".")[0]: json.loads(path.read_text()) for path in sorted(PAYLOADS.glob("*.json"))}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
#: Any header value the HTTP client can send (it refuses line breaks, RFC 9110 §5.5).
HEADER_TEXT = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=80)
BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into ``value``'s objects (lists left whole)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    return found


@st.composite
def deliveries(draw) -> tuple[str, bytes, dict[str, str]]:
    """A real payload with one field replaced by any JSON value (or removed), signed or not."""
    event = draw(st.sampled_from(sorted(REAL)))
    payload = copy.deepcopy(REAL[event])
    path = draw(st.sampled_from(paths(payload)))
    target = payload
    for key in path[:-1]:
        target = target[key]
    if draw(st.booleans()):
        target.pop(path[-1])
    else:
        target[path[-1]] = draw(JSON)
    body = json.dumps(payload).encode()
    signature = draw(st.sampled_from(["valid", "garbage", "sha1"]))
    header = sign(body) if signature == "valid" else draw(HEADER_TEXT) if signature == "garbage" \
        else "sha1=" + sign(body)[7:47]
    headers = {"Content-Type": "application/json", "X-GitHub-Event": draw(st.sampled_from([event, "ping", "x"])),
               "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": header}
    return event, body, headers


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    # header values must be latin-1 for http.client; a garbage signature of other characters is sent as UTF-8 bytes
    sent = {name: value.encode().decode("latin-1") for name, value in headers.items()}
    request = urllib.request.Request(url, data=body, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


async def test_the_webhook_never_answers_500_and_every_accepted_delivery_gets_an_outcome(start_app,
                                                                                        webhook_settings):
    running = await start_app(webhook_settings, auth=OfflineAuth())
    loop = asyncio.get_running_loop()
    accepted: list[str] = []

    def on_loop(coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)

    @BOUNDED
    @given(deliveries())
    def fuzz(delivery: tuple[str, bytes, dict[str, str]]) -> None:
        _event, body, headers = delivery
        status = post(running.webhook_url, body, headers)
        assert status in {200, 202, 400, 401}, status
        if status in (200, 202):
            accepted.append(headers["X-GitHub-Delivery"])

    await asyncio.to_thread(fuzz)
    await running.services.dispatcher.idle()
    async with running.services.database.session() as session:
        recorded = set((await session.scalars(select(Delivery.id))).all())
        ended = {row.delivery_id: row.status for row in (await session.scalars(select(DeliveryOutcome))).all()}
    assert accepted, "no example was accepted: the strategy does not reach the handlers"
    assert recorded == set(accepted)
    assert {ended.get(delivery_id) for delivery_id in accepted} <= {"processed", "ignored", "failed"}


@BOUNDED
@given(st.text(max_size=20), st.dictionaries(st.sampled_from(["action", "installation", "repository", "x"]), JSON))
def test_envelope_parsing_gives_the_documented_types_or_names_a_field(event, data):
    try:
        parsed = envelope.parse(event, data)
    except PayloadError as exc:
        assert exc.context["field"].split(".")[0] in data
        assert exc.message.startswith(f"{event} delivery: field `")
        return
    assert parsed.action is None or type(parsed.action) is str
    assert parsed.installation_id is None or (type(parsed.installation_id) is int and parsed.installation_id > 0)
    assert parsed.repository is None or parsed.repository.count("/") == 1
