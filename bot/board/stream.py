"""``GET /board/runs/{run_id}/events``: a run's events as ``text/event-stream``.

The persisted events come first, then live ones as workers record them, each
with its event id (``id:``), as ``event: run`` frames whose data is the event
as JSON; ``event: end`` follows the run's final event (a terminal or blocked
state) and the stream closes. A reconnect with ``Last-Event-ID`` (or
``?last_event_id=``) resumes right after that event: no gap, no repeat; an
unknown id starts from the first event.

Events may be recorded by a worker in another process or on another machine,
so the stream polls the database, ordered as events were recorded
(``bot.board.queries.event_order``). One :class:`Feed` per run and process
polls, every ``POLL_INTERVAL_S``, however many viewers follow that run.
Format: https://html.spec.whatwg.org/multipage/server-sent-events.html
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import web
from sqlalchemy import Row

from bot.board.access import board_of, viewer, visible_run
from bot.board.queries import FINAL_STATES, events_after
from storage.db import Database
from storage.models import Run

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05
BATCH = 1000
KEEPALIVE_S = 15.0


def frame(event: Row) -> bytes:
    """One SSE frame for ``event`` (JSON data on a single line)."""
    data = {"event_id": event.event_id, "phase": event.phase, "status": event.status, "message": event.message,
            "payload": event.payload, "timestamp": event.timestamp.isoformat(timespec="milliseconds")}
    return f"id: {event.event_id}\nevent: run\ndata: {json.dumps(data, sort_keys=True)}\n\n".encode()


END = b"event: end\ndata: {}\n\n"


class Feed:
    """The events of one run as recorded so far (``ids`` and their ``frames``), kept current by one poller."""

    def __init__(self, database: Database, run_id: int, interval: float) -> None:
        self.database, self.run_id, self.interval = database, run_id, interval
        self.ids: list[str] = []
        self.frames: list[bytes] = []
        self.loaded = False  # every event persisted when the feed started is in ``frames``
        self.final = False
        self.broken = False  # the poller failed: viewers close without "end" and reconnect
        self.changed = asyncio.Condition()
        self.viewers = 0
        self.task: asyncio.Task[None] | None = None
        self._last: Row | None = None

    async def poll(self) -> None:
        """Load new events until the run's final event or until nobody follows the run;
        a database error is logged and marks the feed ``broken``."""
        try:
            await self._poll()
        except Exception:  # noqa: BLE001 - the viewers' browsers reconnect with Last-Event-ID
            log.exception("event feed of run %s failed", self.run_id)
            async with self.changed:
                self.broken = True
                self.changed.notify_all()

    async def _poll(self) -> None:
        while not self.final and self.viewers > 0:
            async with self.database.session() as session:
                run = await session.get(Run, self.run_id)  # state first: its final event is then visible below
                batch = await events_after(session, self.run_id, self._last, BATCH)
            async with self.changed:
                for event in batch:
                    self.ids.append(event.event_id)
                    self.frames.append(frame(event))
                self._last = batch[-1] if batch else self._last
                self.loaded = self.loaded or len(batch) < BATCH
                self.final = run is None or (run.state in FINAL_STATES and len(batch) < BATCH)
                self.changed.notify_all()
            if len(batch) < BATCH and not self.final:
                await asyncio.sleep(self.interval)

    def start_after(self, last_event_id: str | None) -> int:
        """Index of the first frame to send after ``last_event_id`` (0 when unknown)."""
        if last_event_id:
            with contextlib.suppress(ValueError):
                return self.ids.index(last_event_id) + 1
        return 0


class Feeds:
    """The process's feeds by run id; a feed lives while someone follows its run."""

    def __init__(self, database: Database, interval: float = POLL_INTERVAL_S) -> None:
        self.database, self.interval = database, interval
        self._feeds: dict[int, Feed] = {}

    @contextlib.asynccontextmanager
    async def follow(self, run_id: int):
        """The feed of ``run_id``, polling while this context (or another viewer's) is open."""
        feed = self._feeds.get(run_id)
        if feed is None or feed.broken:
            feed = self._feeds[run_id] = Feed(self.database, run_id, self.interval)
        feed.viewers += 1
        if feed.task is None:
            feed.task = asyncio.create_task(feed.poll())
        try:
            yield feed
        finally:
            feed.viewers -= 1
            if feed.viewers == 0 and self._feeds.get(run_id) is feed:
                del self._feeds[run_id]
                if not feed.task.done():
                    feed.task.cancel()

    async def close(self) -> None:
        for feed in list(self._feeds.values()):
            if feed.task is not None:
                feed.task.cancel()
        self._feeds.clear()


async def events(request: web.Request) -> web.StreamResponse:
    """The handler; 404 when the run does not exist or the viewer may not see it."""
    board = board_of(request)
    who = await viewer(request)
    async with board.database.session() as session:
        run = await visible_run(request, session, who)
    last_event_id = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    async with board.feeds.follow(run.id) as feed:
        async with feed.changed:
            await feed.changed.wait_for(lambda: feed.loaded or feed.final or feed.broken)
            position = feed.start_after(last_event_id)
        while True:
            async with feed.changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        feed.changed.wait_for(lambda: len(feed.frames) > position or feed.final or feed.broken),
                        KEEPALIVE_S)
                chunk, done, broken = feed.frames[position:], feed.final, feed.broken
            position += len(chunk)
            if broken:
                break
            await response.write(b"".join(chunk) if chunk else (b"" if done else b": keepalive\n\n"))
            if done and position == len(feed.frames):
                await response.write(END)
                break
    await response.write_eof()
    return response
