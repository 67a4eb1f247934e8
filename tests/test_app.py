"""The HTTP server: health endpoint answers from the real database."""

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import Settings
from storage.db import make_engine


async def test_healthz_reports_database(engine):
    async with TestClient(TestServer(build_app(Settings(), engine))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 200
        body = await resp.json()
        assert body["status"] == "ok" and body["database"] == engine.dialect.name and body["revision"]


async def test_healthz_is_503_when_database_is_unreachable(tmp_path):
    broken = make_engine("postgresql://nobody@127.0.0.1:1/none")
    async with TestClient(TestServer(build_app(Settings(), broken))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 503 and (await resp.json())["status"] == "unhealthy"
