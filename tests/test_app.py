"""The HTTP server: health endpoint answers from the real database."""

import uuid

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, text

from bot.app import build_app
from bot.config import Settings
from storage.db import head_revision, make_engine, normalise_url, upgrade
from tests.conftest import PG_URL


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


@pytest.fixture
def fresh_url(tmp_path):
    """An empty database with no schema at all (a separate one on PostgreSQL, dropped after)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"actionbot_health_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield normalise_url(PG_URL).rpartition("/")[0] + f"/{name}"
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


async def _health(app) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/healthz")
        return resp.status, await resp.json()


async def test_healthz_is_503_with_the_reason_on_an_unmigrated_database(fresh_url):
    eng = make_engine(fresh_url)
    try:
        status, body = await _health(build_app(Settings(), eng))
        assert status == 503 and body["status"] == "unhealthy"
        assert body["reason"] == (f"the database has no actionbot schema (revision none, this version needs {head_revision()}): "
                                  "run `actionbot db upgrade` (or start with ACTIONBOT_AUTO_MIGRATE=true)")
    finally:
        eng.dispose()


async def test_healthz_is_503_behind_the_schema_and_healthy_once_upgraded_without_a_restart(fresh_url):
    eng = make_engine(fresh_url)
    try:
        upgrade(eng, "0003")
        app = build_app(Settings(), eng)
        async with TestClient(TestServer(app)) as client:
            resp = await client.get("/healthz")
            body = await resp.json()
            assert resp.status == 503 and body["reason"].startswith(f"the database schema is at revision 0003, behind the {head_revision()}")
            upgrade(eng)  # an operator runs `actionbot db upgrade`
            resp = await client.get("/healthz")
            assert resp.status == 200 and (await resp.json())["revision"] == head_revision()
    finally:
        eng.dispose()


async def test_healthz_reads_the_schema_revision_once_not_per_probe(engine, monkeypatch):
    import storage.db

    calls = []
    real = storage.db.current_revision
    monkeypatch.setattr(storage.db, "current_revision", lambda e: calls.append(1) or real(e))
    async with TestClient(TestServer(build_app(Settings(), engine))) as client:
        for _ in range(5):
            resp = await client.get("/healthz")
            assert resp.status == 200 and (await resp.json())["revision"] == head_revision()
    assert len(calls) == 1
