"""Engine, sessions and schema migrations.

SQLite (a file, WAL mode, foreign keys on) by default; PostgreSQL when the URL says so.
Migrations are Alembic's, run programmatically so `actionbot serve` and `actionbot db upgrade`
need no alembic.ini.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlmodel import Session

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Accept the URLs people paste: postgres://, postgresql:// (→ psycopg 3), a bare path."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database or an in-memory one."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # We issue BEGIN ourselves (below), so the driver must not.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # A writer takes the write lock when its transaction starts: two writers then
            # queue instead of one failing half-way with "database is locked" after it has
            # read stale rows. A reader (see `reading`) begins deferred and takes no lock (WAL
            # lets it read while a writer writes); query_only makes a write in it fail at once.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("PRAGMA query_only=1")
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("PRAGMA query_only=0")
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Sessions in UTC: times come back as UTC whatever the server's default zone.
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})


READ_ONLY = "actionbot_read_only"


def reading(engine: Engine) -> Engine:
    """The same database for transactions that only read: on SQLite they begin without taking
    the write lock (any number of them run beside one writer), and a write in one fails
    ("attempt to write a readonly database") rather than upgrading a stale read. Connections
    and sessions made from it share the engine's pool. On PostgreSQL nothing changes (MVCC
    readers never wait for writers there)."""
    return engine.execution_options(**{READ_ONLY: True})


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    command.upgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


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
