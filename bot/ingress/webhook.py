"""``POST /webhook``: check, record and acknowledge a GitHub webhook delivery.

Order of the checks (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries,
https://docs.github.com/webhooks/webhook-events-and-payloads#delivery-headers):

1. ``X-GitHub-Delivery`` and ``X-GitHub-Event`` present → else 400;
2. ``X-Hub-Signature-256`` present → else 401 (the SHA-1 ``X-Hub-Signature``
   alone is refused: it is kept by GitHub only for compatibility);
3. ``Content-Type: application/json`` (what GitHub Apps send) → else 415;
4. body at most 25 MB, GitHub's own cap on payloads → else 413;
5. HMAC-SHA256 of the raw body with the webhook secret, checked by
   ``gidgethub.sansio.validate_event`` before anything is parsed → else 401.
   Only ``sha256=<64 hex digits>`` is a valid value of that header (an
   ``sha1=`` prefix, which gidgethub would also check, or a non-ASCII
   character → 401);
6. a JSON object in UTF-8 → else 400. It is parsed once; the handlers get
   that ``gidgethub.sansio.Event``;
7. its envelope (``action``, ``installation.id``, ``repository.full_name``,
   ``bot.ingress.envelope``) of the documented types → else 400 naming the field.

Then the delivery is recorded (``storage.deliveries``) before the answer:
``ping`` → 200, a delivery id seen before → 200 and nothing else, an event
no handler takes → 202 recorded ``ignored``, anything else → 202 and handed
to the dispatcher, which runs after the answer. Nothing here calls git,
Codex or the GitHub API.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

import gidgethub
import orjson
from aiohttp import web
from gidgethub import sansio

from bot import logs
from bot.errors import PayloadError
from bot.ingress import envelope
from bot.ingress.dispatch import Dispatcher
from bot.metrics import DELIVERIES
from storage.deliveries import DeliveryLog, DeliveryRecord

log = logging.getLogger(__name__)

#: "Payloads are capped at 25 MB" (https://docs.github.com/webhooks/webhook-events-and-payloads#payload-cap).
MAX_BODY = 25 * 1024 * 1024
#: Width of ``deliveries.id`` / ``deliveries.event``.
MAX_HEADER = 64
#: The one valid shape of ``X-Hub-Signature-256`` (an HMAC-SHA256 hex digest).
SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _answer(code: int, **fields: str) -> web.Response:
    return web.json_response(fields, status=code)


def _refuse(status: int, message: str) -> web.Response:
    DELIVERIES.labels("unknown", "rejected").inc()
    log.warning("webhook refused (%s): %s", status, message)
    return _answer(status, error=message)


def handler(secret: str, deliveries: DeliveryLog, dispatcher: Dispatcher) -> Handler:
    """The ``POST /webhook`` handler, bound to the webhook secret and the delivery services."""
    if not secret:
        raise ValueError("the webhook secret is empty")

    async def receive(request: web.Request) -> web.Response:
        delivery_id = request.headers.get("X-GitHub-Delivery", "")
        event_name = request.headers.get("X-GitHub-Event", "")
        for header, value in (("X-GitHub-Delivery", delivery_id), ("X-GitHub-Event", event_name)):
            if not value:
                return _refuse(400, f"missing {header} header")
            if len(value) > MAX_HEADER:
                return _refuse(400, f"{header} header is longer than {MAX_HEADER} characters")
        signature = request.headers.get("X-Hub-Signature-256")
        if signature is None:
            if "X-Hub-Signature" in request.headers:
                return _refuse(
                    401, "X-Hub-Signature-256 is required; the SHA-1 X-Hub-Signature alone is not accepted"
                )
            return _refuse(401, "missing X-Hub-Signature-256 header")
        if request.content_type != "application/json":
            return _refuse(415, f"expected Content-Type application/json, got {request.content_type!r}")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _refuse(413, f"body of {request.content_length} bytes exceeds the {MAX_BODY}-byte cap")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(413, f"body exceeds the {MAX_BODY}-byte cap")
        if not SIGNATURE.fullmatch(signature):
            return _refuse(401, "X-Hub-Signature-256 must be sha256= followed by 64 hexadecimal digits")
        try:  # the SHA-256 signature only: gidgethub's SHA-1 fallback is never reached
            sansio.validate_event(body, signature=signature, secret=secret)
        except gidgethub.ValidationFailure as exc:
            return _refuse(401, f"signature check failed: {exc}")
        try:  # JSON between systems is UTF-8 (RFC 8259 §8.1); the text is also what gets stored
            text = body.decode("utf-8")
            data = orjson.loads(text)  # about 3 times as fast as json.loads on a 14 KB payload
        except ValueError as exc:  # UnicodeDecodeError, orjson.JSONDecodeError
            return _refuse(400, f"body is not valid JSON: {exc}")
        if not isinstance(data, dict):
            return _refuse(400, "body is not a JSON object")
        try:
            fields = envelope.parse(event_name, data)
        except PayloadError as exc:
            return _refuse(400, str(exc))
        event = sansio.Event(data, event=event_name, delivery_id=delivery_id)
        with logs.bound(delivery_id=delivery_id):
            return await _record(event, fields, text, deliveries, dispatcher)

    return receive


async def _record(
    event: sansio.Event, fields: envelope.Envelope, payload: str, deliveries: DeliveryLog, dispatcher: Dispatcher
) -> web.Response:
    """Record a verified delivery, then answer (and hand it over when a handler takes it).

    This logs the delivery's one line at the answer; the dispatcher logs only failures.
    """
    if event.event == "ping":
        outcome, recorded = "ping", "processed"
    elif dispatcher.handles(event):
        outcome, recorded = "accepted", None  # pending until dispatched
    else:
        outcome, recorded = "ignored", "ignored"
    is_new = await deliveries.record(
        DeliveryRecord(
            id=event.delivery_id,
            event=event.event,
            action=fields.action,
            installation_id=fields.installation_id,
            repository=fields.repository,
            payload=payload,
            outcome=recorded,
        )
    )
    if not is_new:
        outcome = "duplicate"
    DELIVERIES.labels(event.event, outcome).inc()
    log.info("%s delivery %s", event.event, outcome)
    if outcome == "accepted":
        dispatcher.submit(event)
    code = 202 if outcome in ("accepted", "ignored") else 200
    return _answer(code, status=outcome, delivery=event.delivery_id)

