"""The aiohttp application: wiring, ``serve`` and ``db upgrade``.

Routes: ``POST /webhook`` (``bot.ingress.webhook``), ``GET /healthz``, ``GET /metrics``, and
the review board under ``/board`` with its sign-in at ``/login`` (``bot.board.app``).
Without App credentials the app is in setup mode: ``bot.ingress.setup`` registers the
GitHub App through the manifest flow, and ``serve`` then restarts the app with
the stored credentials.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiohttp import web
from gidgethub.routing import Router
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from bot import logs, metrics
from bot.errors import ConfigError
from bot.ingress import webhook
from bot.ingress.dispatch import Auth, Dispatcher
from bot.jobs.queue import job_stats
from config.settings import Settings
from storage.db import Database, upgrade_sync
from storage.deliveries import DeliveryLog

log = logging.getLogger(__name__)


class Lifecycle(Protocol):
    """What the server needs of ``bot.jobs.runtime.Runtime``."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Services:
    """The process's shared objects; ``session`` and ``auth`` exist from start-up on.

    ``deliveries`` and ``dispatcher`` are None in setup mode.
    """

    settings: Settings
    database: Database
    deliveries: DeliveryLog | None = None
    dispatcher: Dispatcher | None = None
    session: aiohttp.ClientSession | None = None
    auth: Auth | None = None
    workers: Lifecycle | None = None


SERVICES = web.AppKey("services", Services)


def webhook_secret(settings: Settings) -> str:
    """The configured webhook secret.

    Raises:
        ConfigError: ``SCENARIOFORGE_WEBHOOK_SECRET`` is missing or empty.
    """
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret:
        raise ConfigError("SCENARIOFORGE_WEBHOOK_SECRET is not set (needed to verify webhook signatures)")
    return secret


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    router: Router | None = None,
    auth: Auth | None = None,
    workers: Lifecycle | None = None,
    on_configured: Callable[[Settings], Awaitable[None]] | None = None,
) -> web.Application:
    """Build the application; services start with the app and stop with it.

    Args:
        database: default ``Database(settings.database_url)`` (then disposed on cleanup);
            migrations are applied on start either way.
        router: default ``handlers.router``.
        auth: default ``bot.github.client.AppAuth`` on the app's one ``ClientSession``.
        workers: default ``bot.jobs.runtime.Runtime(database, settings, auth, actions=bot.actions.ACTIONS)``
            (DBOS: runs ``settings.workers`` workflows at once, or only enqueues with 0); started
            before the dispatcher (which enqueues), stopped after it.
        on_configured: setup mode only, passed to ``bot.ingress.setup.setup_routes``.

    Raises:
        ConfigError: App credentials are set but the webhook secret is not.
    """
    app = web.Application(client_max_size=webhook.MAX_BODY)
    services = app[SERVICES] = Services(settings, database or Database(settings.database_url), auth=auth)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", prometheus)
    if not settings.has_app_credentials:
        from bot.ingress.setup import setup_routes

        setup_routes(app, settings, public_url=settings.public_url, on_configured=on_configured)
    else:
        if router is None:
            from handlers import router
        services.deliveries = DeliveryLog(services.database)
        services.dispatcher = Dispatcher(router, services.deliveries, db=services.database, settings=settings)
        services.workers = workers
        app.router.add_post(
            "/webhook", webhook.handler(webhook_secret(settings), services.deliveries, services.dispatcher)
        )
        from bot.board.app import setup_board

        setup_board(app, settings, services.database, lambda: services.session,
                    lambda installation_id: _auth(services).installation_client(installation_id))
    app.cleanup_ctx.append(_lifecycle(owns_database=database is None))
    return app


def _auth(services: Services) -> Auth:
    """``services.auth``, which exists once the app has started."""
    assert services.auth is not None, "the app has started"
    return services.auth


def _lifecycle(*, owns_database: bool):
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        services = app[SERVICES]
        await services.database.upgrade()
        try:
            async with aiohttp.ClientSession() as session:
                services.session = session
                if services.auth is None and services.settings.has_app_credentials:
                    from bot.github.client import AppAuth

                    services.auth = AppAuth(session, services.settings)
                if services.workers is None and services.dispatcher is not None:
                    from bot.actions import ACTIONS
                    from bot.jobs.runtime import Runtime

                    services.workers = Runtime(services.database, services.settings, services.auth, actions=ACTIONS)
                await _start(services)
                try:
                    yield
                finally:
                    await _stop(services)
        finally:
            if owns_database:
                await services.database.dispose()

    return lifecycle


async def _start(services: Services) -> None:
    if services.deliveries is None or services.dispatcher is None or services.auth is None:
        return  # setup mode
    await services.deliveries.start()
    if services.workers is not None:
        await services.workers.start()
    await services.dispatcher.start(services.auth)


async def _stop(services: Services) -> None:
    if services.dispatcher is not None:
        await services.dispatcher.close()
    if services.deliveries is not None:
        await services.deliveries.close()
    if services.workers is not None:
        await services.workers.stop()


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: 200 ``{"status": "ok"}`` when the database answers, else 503."""
    if await request.app[SERVICES].database.ping():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "database unreachable"}, status=503)


async def prometheus(request: web.Request) -> web.Response:
    """``GET /metrics``: every metric in the Prometheus text format (jobs: none in setup mode)."""
    services = request.app[SERVICES]
    counts, latencies = await job_stats() if services.workers is not None else ({}, [])
    body = metrics.exposition(counts, latencies, await metrics.month_spend(services.database))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def load_settings(*, serving: bool = False) -> Settings | None:
    """Settings from the environment and ``.env``, or None after printing each problem to stderr.

    Each problem is one line: ``invalid setting NAME: reason`` for a value
    ``Settings`` rejects (``NAME: key.path: reason`` for a value inside a JSON setting), ``invalid settings: reason`` for the checks below.
    ``serving`` also requires App credentials set both or not at all (neither:
    setup mode) and what webhooks need once they are set: a non-empty webhook
    secret and a readable private key.
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            # The variable is the field; a nested value (``SCENARIOFORGE_MODEL_PRICES``' JSON) is named after it.
            field, *inner = (str(part) for part in error["loc"])
            where = f"{'.'.join(inner)}: " if inner else ""
            # A validator's ValueError: its own text, without pydantic's "Value error, " prefix.
            reason = error["ctx"]["error"] if error["type"] == "value_error" else error["msg"]
            print(f"invalid setting SCENARIOFORGE_{field.upper()}: {where}{reason}", file=sys.stderr)
        return None
    problems = []
    if serving and (half_set := settings.half_set_credentials()):
        problems.append(half_set)
    if serving and settings.has_app_credentials:
        try:
            webhook_secret(settings)
        except ConfigError as exc:
            problems.append(exc.message)
        try:
            settings.private_key()
        except OSError as exc:
            problems.append(f"SCENARIOFORGE_PRIVATE_KEY_PATH cannot be read: {exc}")
    for problem in problems:
        print(f"invalid settings: {problem}", file=sys.stderr)
    return None if problems else settings


def serve(host: str, port: int) -> int:
    """``scenarioforge serve``: run until SIGINT/SIGTERM; returns the exit code.

    Invalid settings print one line per problem and return 2, and so does an
    app that cannot be built (``ConfigError``, e.g. setup mode's App manifest
    cannot be read). Without App credentials the app starts in setup mode and,
    once ``bot.ingress.setup`` has stored them in ``.env``, restarts with the settings
    read again.
    """
    settings = load_settings(serving=True)
    if settings is None:
        return 2
    logs.configure()
    try:
        return asyncio.run(_serve(settings, host, port))
    except ConfigError as exc:
        print(f"cannot serve: {exc.message}", file=sys.stderr)
        return 2


async def _serve(settings: Settings, host: str, port: int) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stopping = asyncio.ensure_future(stop.wait())
    while True:
        configured = asyncio.Event()

        async def on_configured(_new: Settings) -> None:
            configured.set()

        # No access log: every delivery already has its own JSON line with its delivery id.
        runner = web.AppRunner(create_app(settings, on_configured=on_configured), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        mode = "webhooks" if settings.has_app_credentials else "setup mode"
        log.info("serving %s on http://%s:%s", mode, host, port)
        switching = asyncio.ensure_future(configured.wait())
        await asyncio.wait([stopping, switching], return_when=asyncio.FIRST_COMPLETED)
        switching.cancel()
        await runner.cleanup()  # lets the request in flight (the setup page) finish
        if stop.is_set():
            return 0
        settings = load_settings(serving=True)
        if settings is None:
            return 2


def db_upgrade() -> int:
    """``scenarioforge db upgrade``: apply pending migrations; returns the exit code."""
    settings = load_settings()
    if settings is None:
        return 2
    upgrade_sync(settings.database_url)
    print(f"database {settings.database_url} is at the latest migration")
    return 0
