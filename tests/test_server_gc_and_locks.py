"""The server's process-wide state: the cyclic garbage collector is never switched off from a
worker thread or under a running event loop (a command's main thread may pause it)."""

from __future__ import annotations

import asyncio
import gc
import threading

from storage.snapshots import paused_gc


def test_paused_gc_pauses_collection_on_a_commands_main_thread():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_gc_leaves_collection_on_in_a_worker_thread():
    seen: list[bool] = []

    def work() -> None:
        with paused_gc():
            seen.append(gc.isenabled())

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [True]
    assert gc.isenabled()


def test_paused_gc_leaves_collection_on_while_an_event_loop_runs():
    async def serve() -> list[bool]:
        inside = []
        with paused_gc():
            inside.append(gc.isenabled())
        inside.append(await asyncio.to_thread(lambda: _in_thread()))
        return inside

    def _in_thread() -> bool:
        with paused_gc():
            return gc.isenabled()

    assert asyncio.run(serve()) == [True, True]
    assert gc.isenabled()


# --- SQLite (a file of its own on either test database): readers do not take the write lock;
# writers still queue.


def _register(tmp_path):
    from storage.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    upgrade(engine)
    return engine


def test_two_readers_and_a_writer_run_at_once(tmp_path):
    """Three transactions open together: two readers and a writer holding the write lock. If a
    reader took the write lock, the others could not all reach the barrier (it would break
    after its deadlock guard rather than pass)."""
    from sqlalchemy import text

    from storage.db import session_scope
    from storage.tables import Organisation

    engine = _register(tmp_path)
    together = threading.Barrier(3, timeout=20)
    seen: dict[str, object] = {}
    errors: list[BaseException] = []

    def reader(name: str) -> None:
        try:
            with session_scope(engine, read_only=True) as s:
                seen[name] = s.execute(text("SELECT COUNT(*) FROM organisation")).scalar_one()
                together.wait()
        except BaseException as e:  # reported below
            errors.append(e)

    def writer() -> None:
        try:
            with session_scope(engine) as s:
                s.add(Organisation(slug="written", name="Written"))
                s.flush()
                together.wait()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=reader, args=("a",)), threading.Thread(target=reader, args=("b",)),
               threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert seen == {"a": 0, "b": 0}  # the readers saw the register as it was before the writer committed
    with session_scope(engine, read_only=True) as s:
        assert s.execute(text("SELECT slug FROM organisation")).scalars().all() == ["written"]
    engine.dispose()


def test_two_writers_still_queue(tmp_path):
    """The second writer waits for the first to commit, then sees its row (it does not fail
    with 'database is locked' half-way)."""
    from sqlalchemy import text

    from storage.db import session_scope
    from storage.tables import Organisation

    engine = _register(tmp_path)
    first_in = threading.Event()
    release = threading.Event()
    counts: list[int] = []

    def first() -> None:
        with session_scope(engine) as s:
            s.add(Organisation(slug="first", name="First"))
            s.flush()
            first_in.set()
            release.wait(20)

    def second() -> None:
        first_in.wait(20)
        with session_scope(engine) as s:
            counts.append(s.execute(text("SELECT COUNT(*) FROM organisation")).scalar_one())
            s.add(Organisation(slug="second", name="Second"))

    a, b = threading.Thread(target=first), threading.Thread(target=second)
    a.start()
    b.start()
    first_in.wait(20)
    release.set()
    a.join()
    b.join()
    assert counts == [1]  # the second began only after the first committed
    engine.dispose()


def test_a_write_in_a_read_only_transaction_fails_and_stores_nothing(tmp_path):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from storage.db import session_scope
    from storage.tables import Organisation

    engine = _register(tmp_path)
    with pytest.raises(OperationalError, match="readonly"):
        with session_scope(engine, read_only=True) as s:
            s.add(Organisation(slug="sneaky", name="Sneaky"))
            s.flush()
    with session_scope(engine) as s:  # and a writer after it on the same pooled connection still writes
        s.add(Organisation(slug="fine", name="Fine"))
    with session_scope(engine, read_only=True) as s:
        assert s.execute(text("SELECT slug FROM organisation")).scalars().all() == ["fine"]
    engine.dispose()


# --- /healthz asks Alembic for the revision once it is the newest, not on every probe --------


async def test_healthz_reads_the_schema_revision_once(engine, monkeypatch):
    from aiohttp.test_utils import TestClient, TestServer

    import storage.db
    from bot.app import build_app
    from bot.config import Settings

    asked: list[int] = []
    real = storage.db.current_revision

    def counting(e):  # type: ignore[no-untyped-def]
        asked.append(1)
        return real(e)

    monkeypatch.setattr(storage.db, "current_revision", counting)
    async with TestClient(TestServer(build_app(Settings(), engine))) as client:
        bodies = []
        for _ in range(3):
            resp = await client.get("/healthz")
            assert resp.status == 200
            bodies.append(await resp.json())
    assert len(asked) == 1
    assert {b["revision"] for b in bodies} == {storage.db.head_revision()}


def test_a_short_write_is_not_starved_by_a_thread_writing_back_to_back(tmp_path):
    """A worker runs jobs one transaction after another with no pause between them; the sender's
    short write in another thread of the same process gets the next turn, not a turn once the
    jobs are all done (SQLite's own busy wait sleeps in growing steps and kept missing the gaps:
    1,000 nudge jobs stalled delivery for most of their 20 s)."""
    import time

    from sqlalchemy import text

    from storage.db import session_scope
    from storage.tables import Organisation

    engine = _register(tmp_path)
    started = threading.Event()
    done_at: list[int] = []
    n = 0

    def busy() -> None:
        nonlocal n
        for i in range(150):
            with session_scope(engine) as s:
                s.execute(text("SELECT COUNT(*) FROM organisation")).scalar_one()
                n = i
                if i == 5:
                    started.set()
                time.sleep(0.004)  # a job's work inside its transaction

    def short() -> None:
        started.wait(20)
        with session_scope(engine) as s:
            s.add(Organisation(slug="short", name="Short"))
        done_at.append(n)

    a, b = threading.Thread(target=busy), threading.Thread(target=short)
    a.start()
    b.start()
    a.join()
    b.join()
    assert done_at and done_at[0] <= 10, done_at  # in after the busy thread's next transaction or two, not after 150
    engine.dispose()
