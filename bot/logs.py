"""Structured logs: one JSON object per line, carrying the delivery and run ids.

The ids live in context variables, so every log record emitted while handling
a delivery (or running a job) carries them without being passed around:

    with logs.bound(delivery_id=event.delivery_id):
        log.info("delivery accepted")   # {"message": ..., "delivery_id": ...}
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

DELIVERY_ID: ContextVar[str | None] = ContextVar("delivery_id", default=None)
RUN_ID: ContextVar[int | None] = ContextVar("run_id", default=None)

_UNSET = object()


@contextmanager
def bound(*, delivery_id: object = _UNSET, run_id: object = _UNSET) -> Iterator[None]:
    """Attach ``delivery_id`` (``X-GitHub-Delivery``) and/or ``run_id`` (``runs.id``)
    to every log record emitted inside the block; the previous values come back after."""
    tokens = [
        (var, var.set(value))
        for var, value in ((DELIVERY_ID, delivery_id), (RUN_ID, run_id))
        if value is not _UNSET
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextIds(logging.Filter):
    """Copy the bound delivery and run ids onto each record (only those that are set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for var in (DELIVERY_ID, RUN_ID):
            value = var.get()
            if value is not None:
                setattr(record, var.name, value)
        return True


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler writing one JSON object per line to ``stream`` (default stderr):
    ``time``, ``level``, ``logger``, ``message``, the bound ids, any ``extra=`` fields
    and ``exc_info`` when an exception is logged."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(ContextIds())
    return handler


def configure(level: int | str = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record of the process to ``stream`` (default stderr) as JSON lines
    (called by ``serve``; the ingress benchmark passes a null stream)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(json_handler(stream))
    root.setLevel(level)
