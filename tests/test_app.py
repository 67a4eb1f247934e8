"""The HTTP server: health endpoint answers from the real database."""

import logging
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


async def _serve_and_send(engine, payload: bytes) -> bytes:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.app import serve

    stop, addrs = asyncio.Event(), []
    task = asyncio.create_task(serve(build_app(Settings(), engine), "127.0.0.1", 0, on_ready=addrs.extend, stop=stop))
    while not addrs:
        await asyncio.sleep(0.01)
    try:
        reader, writer = await asyncio.open_connection(*addrs[0][:2])
        writer.write(payload)
        await writer.drain()
        answer = await reader.read()
        writer.close()
        return answer
    finally:
        stop.set()
        await task


JUNK = {
    "TLS hello on the plain port": b"\x16\x03\x01" + b"J" * 65536 + b"\r\n\r\n",
    "request line too long": b"GET /" + b"A" * 70000 + b" HTTP/1.1\r\n\r\n",
    "header too long": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"B" * 70000 + b"\r\n\r\n",
    "NUL in a header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: \x00" + b"C" * 8000 + b"\r\n\r\n",
    "bad Content-Length": b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000 + b"x\r\n\r\n",
}


@pytest.mark.parametrize("junk", JUNK.values(), ids=JUNK.keys())
async def test_a_malformed_request_gets_a_brief_400_and_one_log_line(engine, junk, caplog):
    caplog.set_level(logging.DEBUG)
    answer = await _serve_and_send(engine, junk)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
    assert body == b"400 Bad Request: malformed request\n"  # nothing of what was sent comes back
    mine = [r for r in caplog.records if r.name in ("actionbot", "aiohttp.server") and r.levelno >= logging.WARNING]
    assert len(mine) == 1 and mine[0].levelno == logging.WARNING and mine[0].exc_info is None
    assert mine[0].getMessage().startswith("malformed request from 127.0.0.1: ") and len(mine[0].getMessage()) < 120


async def test_the_server_still_answers_good_requests(engine):
    answer = await _serve_and_send(engine, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b" 200 " in answer.split(b"\r\n")[0] and b'"status": "ok"' in answer
