"""The one aiohttp application: health, the Slack route when Slack is configured, and the
scheduler, on one event loop (Teams joins it the same way)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from sqlalchemy import Engine

from bot.config import Settings

log = logging.getLogger("actionbot")

ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)


SCHEMA: web.AppKey[dict] = web.AppKey("schema", dict)


def schema_problem(engine: Engine, known: dict[str, Any]) -> str | None:
    """Why the database's schema is not the one this code needs, or None when it is.

    Read once (at start, or at the first probe) and remembered in `known` once it is right: a
    healthy probe then costs one ``SELECT 1``. While it is wrong each probe reads it again, so
    running `actionbot db upgrade` makes the server healthy without a restart."""
    if "revision" in known:
        return None
    from storage.db import current_revision, head_revision, known_revisions

    current, newest = current_revision(engine), head_revision()
    if current == newest:
        known["revision"] = current
        return None
    upgrade = "run `actionbot db upgrade` (or start with ACTIONBOT_AUTO_MIGRATE=true)"
    if current is None:
        return f"the database has no actionbot schema (revision none, this version needs {newest}): {upgrade}"
    if current not in known_revisions():
        return f"the database schema is at revision {current}, which this version does not know (newest {newest}): run the newer actionbot"
    return f"the database schema is at revision {current}, behind the {newest} this version needs: {upgrade}"


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers and its schema is the one this code needs; 503 with the
    reason otherwise (what the Docker health check reads)."""
    engine, known = request.app[ENGINE], request.app[SCHEMA]

    def probe() -> str | None:
        from storage.db import reading

        # One statement on a pooled connection as the driver gives it: a SQLAlchemy connection
        # and transaction around it cost 60 us more a probe (12 times the statement), which
        # is a probe's whole excess over a bare app. SELECT 1 reads no table: it takes no
        # lock on SQLite, and the pool rolls back whatever PostgreSQL began for it.
        conn = engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
            cur.close()
        finally:
            conn.close()
        return None if "revision" in known else schema_problem(reading(engine), known)  # known once right

    try:
        problem = await asyncio.to_thread(probe)
    except Exception as e:  # any database failure makes us unhealthy
        log.warning("health check failed: %s: %s", type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        return web.json_response({"status": "unhealthy", "error": type(e).__name__, "reason": "the database does not answer"}, status=503)
    if problem:
        log.warning("health check: %s", problem)
        return web.json_response({"status": "unhealthy", "reason": problem}, status=503)
    return web.json_response({"status": "ok", "database": engine.dialect.name, "revision": known["revision"]})


async def _check_schema_at_start(app: web.Application) -> None:
    try:
        problem = await asyncio.to_thread(schema_problem, app[ENGINE], app[SCHEMA])
    except Exception as e:  # the probe will say so; starting must not fail on it
        problem = f"{type(e).__name__} reading the schema revision"
    if problem:
        log.warning("database not ready: %s", problem)


async def _scheduler(app: web.Application):
    """The scheduler on the server's event loop: a timer that wakes the claimer. Several
    servers on one database share the work through row claims, never sending twice."""
    import os
    import socket
    import sys
    from datetime import UTC, datetime

    from bot.services import engine as eng
    from bot.wiring import build_ports, close_ports

    settings, engine = app[SETTINGS], app[ENGINE]
    cfg = settings.engine_config()
    ports = build_ports(settings, console_stream=sys.stdout, engine=engine) | app.get(PORTS, {})
    worker = f"{socket.gethostname()}:{os.getpid()}"

    async def warn_unsendable() -> None:
        warning = eng.unsendable_warning(await asyncio.to_thread(eng.unsendable, engine, ports))
        if warning:
            log.warning("%s", warning)

    # The outbox goes out continuously, as fast as each platform's limits allow; the rounds plan
    # jobs and run the due ones (in a thread), and wake the sender when they queue messages.
    sender = eng.Deliverer(engine, ports, worker=worker, clock=lambda: datetime.now(UTC), lease=cfg.lease, batch=cfg.deliver_batch,
                           idle=min(settings.tick_seconds, 1.0))

    async def loop() -> None:
        await warn_unsendable()  # at start, and after every round below
        reported = 0
        while True:
            try:
                planned, ran = await asyncio.to_thread(eng.plan_and_run, engine, now=datetime.now(UTC), worker=worker, cfg=cfg)
                if ran:
                    sender.wake()
                result = {"planned": planned, "ran": len(ran), "sent": sender.sent - reported}
                reported = sender.sent
                if any(result.values()):
                    log.info("scheduler: %s", result)
                await warn_unsendable()
            except Exception:
                log.exception("scheduler round failed")
            await asyncio.sleep(settings.tick_seconds)

    async def send() -> None:
        while True:  # a sender that fails is logged and started again
            try:
                await sender.run()
                return
            except Exception:
                log.exception("scheduler: the sender failed; starting it again")
                await asyncio.sleep(1.0)

    tasks = [asyncio.create_task(send()), asyncio.create_task(loop())]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await close_ports(ports)


PORTS: web.AppKey[dict] = web.AppKey("ports", dict)
SLACK: web.AppKey[Any] = web.AppKey("slack", object)


def _slack(app: web.Application, settings: Settings, conversation: Any) -> None:
    """Slack's route (/slack/events: events, the /actions command, interactivity), or Socket
    Mode with SLACK_APP_TOKEN; said at start either way."""
    if not settings.slack_configured:
        log.info("Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode) to turn it on")
        return
    from handlers.slack import PATH, build_adapter, start_socket_mode

    adapter = build_adapter(settings, conversation)
    app[SLACK] = adapter
    if settings.slack_app_token:
        async def socket_mode(_app: web.Application) -> AsyncIterator[None]:
            close = await start_socket_mode(adapter, settings.slack_app_token)
            log.info("Slack: on, in Socket Mode")
            yield
            await close()
            await adapter.close()

        app.cleanup_ctx.append(socket_mode)
        return
    adapter.mount(app, PATH)
    log.info("Slack: on, at %s (events, /actions and interactivity)", PATH)


def default_conversation(settings: Settings, engine: Engine) -> Any:
    """The conversation every chat platform talks to (with Slack's and Teams' directories for
    `map … e-mail` when they are on)."""
    from bot.conversation.core import Conversation

    directories: dict[str, Any] = {}
    if settings.slack_configured:
        from handlers.slack import SlackDirectory

        directories["slack"] = SlackDirectory(settings.slack_bot_token, base_url=settings.slack_api_url)
    if settings.teams:
        from handlers.teams import TeamsDirectory

        directories["teams"] = TeamsDirectory(engine)  # e-mail -> Teams id, from the rosters of the teams the bot is in
    return Conversation(engine, org=settings.org, cfg=settings.engine_config(), directories=directories)


def build_app(settings: Settings, engine: Engine, *, scheduler: bool = False, conversation: Any = None) -> web.Application:
    """Health, Teams' /api/messages (unless ACTIONBOT_TEAMS=false), Slack's /slack/events (when
    configured) and, with ``scheduler``, the scheduler. ``conversation``: what chat messages are handed to (tests give their own)."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[SCHEMA] = {}
    app[PORTS] = {}
    app.on_startup.append(_check_schema_at_start)
    app.router.add_get("/healthz", healthz)
    if conversation is None and (settings.teams or settings.slack_configured):
        conversation = default_conversation(settings, engine)
    if settings.teams:
        from handlers import teams

        teams.mount(app, settings, engine, conversation)
    _slack(app, settings, conversation)
    if scheduler:
        settings.engine_config()  # a wrong setting stops start-up here, with its message
        app.cleanup_ctx.append(_scheduler)
    return app


class BriefRequestHandler(RequestHandler):
    """aiohttp's connection handler, but a request that is not HTTP at all (a line too long,
    a bad character, a TLS hello on the plain port) gets a short fixed 400 — never its own bytes
    echoed back — and one log line instead of an ERROR with a traceback."""

    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        reason = type(exc).__name__
        log.warning("malformed request from %s: %s (answered %s)", request.remote, reason, status)
        resp = web.Response(status=status, text=f"{status} {HTTPStatus(status).phrase}: malformed request\n")
        resp.force_close()
        return resp


async def serve(app: web.Application, host: str, port: int, *, on_ready: Callable[[list[Any]], None] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Run `app` on host:port until SIGINT/SIGTERM (or `stop`), with ``BriefRequestHandler``.
    `on_ready` is given the listening addresses once it accepts connections."""
    import signal

    runner = web.AppRunner(app)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    manager = runner.server
    assert manager is not None
    server = await loop.create_server(lambda: BriefRequestHandler(manager, loop=loop), host, port)
    if on_ready is not None:
        on_ready([sock.getsockname() for sock in server.sockets])
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await runner.cleanup()

