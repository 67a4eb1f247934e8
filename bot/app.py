"""The one aiohttp application: health now; Slack and Teams routes and the scheduler join it
on the same event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import Engine, text

from bot.config import Settings

log = logging.getLogger("actionbot")

ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise (what the Docker health check reads)."""
    engine = request.app[ENGINE]

    def probe() -> dict[str, Any]:
        from storage.db import current_revision

        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name, "revision": current_revision(engine)}

    try:
        body = await asyncio.to_thread(probe)
    except Exception as e:  # noqa: BLE001 - any database failure makes us unhealthy
        log.warning("health check failed: %s", e)
        return web.json_response({"status": "unhealthy", "error": type(e).__name__}, status=503)
    return web.json_response(body)


def build_app(settings: Settings, engine: Engine) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app.router.add_get("/healthz", healthz)
    return app
