"""Engine, sessions and schema migrations.

SQLite (a file, WAL mode, foreign keys on) by default; PostgreSQL when the URL says so.
Migrations are Alembic's, run programmatically so `actionbot serve` and `actionbot db upgrade`
need no alembic.ini.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlmodel import Session

from storage.rawdb import MIGRATIONS, POSTGRES_OPTIONS, SQLITE_PRAGMAS, head_in_files, normalise_url

if TYPE_CHECKING:
    from alembic.config import Config



def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database or an in-memory one."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    return Path(path) if path and path != ":memory:" else None


def safe_url(url: str) -> str:
    """`url` quoted for a message, its password hidden."""
    try:
        shown = make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: hide anything between ':' and '@'
        shown = re.sub(r":[^:@/]*@", ":***@", url)
    return repr(shown if len(shown) <= 200 else shown[:199] + "…")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # We issue BEGIN ourselves (below), so the driver must not.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cur.execute(pragma)
            cur.close()

        turnstile = _Turnstile()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # A writer takes the write lock when its transaction starts: two writers then
            # queue instead of one failing half-way with "database is locked" after it has
            # read stale rows. A reader (see `reading`) begins deferred and takes no lock (WAL
            # lets it read while a writer writes); query_only makes a write in it fail at once.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("PRAGMA query_only=1")
                conn.exec_driver_sql("BEGIN")
                return
            conn.info[_TURNSTILE] = turnstile.enter()
            try:
                conn.exec_driver_sql("PRAGMA query_only=0")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _leave(conn)
                raise

        def _leave(conn) -> None:
            if _TURNSTILE in conn.info:
                turnstile.leave(conn.info.pop(_TURNSTILE))

        event.listen(engine, "commit", _leave)
        event.listen(engine, "rollback", _leave)

        return engine
    # Sessions in UTC, JIT off: see POSTGRES_OPTIONS.
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args={"options": POSTGRES_OPTIONS})


READ_ONLY = "actionbot_read_only"
_TURNSTILE = "actionbot_turnstile"


class _Turnstile:
    """This process's SQLite writers in the order they asked. SQLite's own busy handler lets a
    waiting writer sleep in growing steps, so a thread that commits and begins again at once
    (a worker running jobs back to back) can keep the lock for many seconds while another
    thread's short write (the sender claiming or recording messages) never finds a gap. Writers
    in other processes still queue on SQLite's lock. A thread already holding its turn passes
    again (nested scopes); after `patience` seconds a waiter goes on to SQLite's own wait
    rather than hang, and its turn is skipped."""

    def __init__(self, patience: float = 30.0) -> None:
        self._cond = threading.Condition()
        self._next = self._serving = 0
        self._owner: int | None = None
        self._depth = 0
        self._skipped: set[int] = set()
        self.patience = patience

    def enter(self) -> bool:
        """Wait for this thread's turn; False when it went on without one (see `patience`).
        Pass the answer to `leave`, from whichever thread ends the transaction."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            ticket, self._next = self._next, self._next + 1
            deadline = time.monotonic() + self.patience
            while self._serving != ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._skipped.add(ticket)
                    return False
                self._cond.wait(left)
            self._owner, self._depth = me, 1
            return True

    def leave(self, had_turn: bool) -> None:
        with self._cond:
            if not had_turn or self._owner is None:
                return
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            self._serving += 1
            while self._serving in self._skipped:
                self._skipped.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


def reading(engine: Engine) -> Engine:
    """The same database for transactions that only read: on SQLite they begin without taking
    the write lock (any number of them run beside one writer), and a write in one fails
    ("attempt to write a readonly database") rather than upgrading a stale read. Connections
    and sessions made from it share the engine's pool. On PostgreSQL nothing changes (MVCC
    readers never wait for writers there)."""
    return engine.execution_options(**{READ_ONLY: True})


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


@cache
def known_revisions() -> frozenset[str]:
    """Every revision this code's migrations know."""
    from alembic.script import ScriptDirectory

    return frozenset(s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions())


def schema_is_current(engine: Engine) -> bool:
    """True when the database is certainly at the newest revision, checked cheaply (one
    SELECT, no Alembic): what every command asks before it starts. False means "ask Alembic"
    (current_revision/head_revision), not necessarily that it is behind."""
    head = head_in_files()
    if head is None:
        return False
    try:
        with reading(engine).connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # no table yet, or anything odd: let Alembic look
        return False
    return rows == [head]


@contextmanager
def session_scope(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error. With
    `read_only`, a transaction that only reads (see `reading`)."""
    with Session(reading(engine) if read_only else engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
