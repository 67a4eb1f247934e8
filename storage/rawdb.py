"""The database through its bare driver, for the register's hot reads (storage.snapshots).

A ``Db`` is a DB-API connection (stdlib sqlite3 or psycopg) and which of the two it is. The
snapshot reads run plain SQL on it and take the driver's tuples as they come: inside a
SQLModel session's transaction (``as_db(session)``, what the engine and the conversation use),
or, for a one-shot read command, on a connection opened here (``open_for_reading``) without
importing SQLAlchemy, SQLModel, pydantic or Alembic at all: importing them costs a command
three times what its reads do (bench/README.md, "Whole-process commands").

Nothing here imports SQLAlchemy; storage.db builds its engine on the same URL rules and the
same per-connection settings (``normalise_url``, ``SQLITE_PRAGMAS``, ``POSTGRES_OPTIONS``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

MIGRATIONS = Path(__file__).with_name("migrations")

# Every SQLite connection: write-ahead log (readers never wait for the writer), foreign keys
# enforced, and a writer waits for the lock rather than failing at once.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=30000")
# Every PostgreSQL session: moments come back in UTC whatever the server's zone (psycopg then
# gives ``datetime.UTC`` itself); no JIT: the register's scans (a correlated max() per action)
# were estimated costly enough to be compiled, a second of CPU for a 0.3 s query.
POSTGRES_OPTIONS = "-c timezone=UTC -c jit=off"


def normalise_url(url: str) -> str:
    """Accept the URLs people paste: postgres://, postgresql:// (→ psycopg 3), a bare path."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


@dataclass
class Db:
    """A DB-API connection and its kind. ``rows`` takes SQL written with ``?`` placeholders
    (sqlite3's) and hands psycopg the same with ``%s``; the SQL here never holds a literal
    ``%`` or ``?``."""

    conn: Any
    sqlite: bool
    _sql: dict[str, str] = field(default_factory=dict, repr=False)

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        if not self.sqlite:
            sql = self._sql.get(sql) or self._sql.setdefault(sql, sql.replace("?", "%s"))
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
            return cur.fetchall()
        finally:
            cur.close()

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, ids: bool = False) -> list[int]:
        """INSERT `rows` (values in the order of `columns`, as the driver takes them) into
        `table` with the driver's executemany, in the connection's transaction. With `ids`,
        the new rows' ids in the order of `rows`: PostgreSQL returns them (psycopg's
        executemany with RETURNING); on SQLite, where executemany returns no rows, they are
        the last len(rows) ids, read back, since SQLite gives each new row the next rowid
        and this transaction holds the only write lock from its first write to its commit."""
        if not rows:
            return []
        names = ", ".join(columns)
        if self.sqlite:
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
            cur = self.conn.cursor()
            try:
                cur.executemany(sql, rows)
                if cur.rowcount != len(rows):
                    raise RuntimeError(f"{table}: {cur.rowcount} rows stored of {len(rows)}")
                if not ids:
                    return []
                (last,) = cur.execute(f"SELECT max(id) FROM {table}").fetchone()
                return list(range(last - len(rows) + 1, last + 1))
            finally:
                cur.close()
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})" + (" RETURNING id" if ids else "")
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows, returning=ids)
            if not ids:
                return []
            out = []
            while True:
                out.append(cur.fetchone()[0])
                if not cur.nextset():
                    return out

    def moment(self, expr: str) -> str:
        """A stored moment as selected for ``to_utc``: on SQLite the stored UTC text with
        "+00:00" appended (one C call, ``datetime.fromisoformat``, makes it an aware time);
        on PostgreSQL the driver's own timestamptz."""
        return f"{expr} || '+00:00'" if self.sqlite else expr


def as_db(session: Any) -> Db:
    """The connection a SQLModel/SQLAlchemy session's transaction runs on, as a ``Db``: reads
    on it see what the session has written, in the same transaction. What the session holds
    unflushed is flushed first, as the ORM's own queries would (autoflush)."""
    if isinstance(session, Db):
        return session
    if session.new or session.dirty or session.deleted:
        session.flush()
    conn = session.connection()
    return Db(conn.connection.driver_connection, conn.dialect.name == "sqlite")


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


@cache
def head_in_files() -> str | None:
    """The newest revision read from the migration files' own `revision`/`down_revision`
    lines, without importing Alembic (a fifth of a second) or the files: the one revision no
    other revises. None when that is not plain (several heads, merges, unreadable lines)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        rev, down = found.get("revision", "").strip("'\""), found.get("down_revision", "").strip("'\"")
        if not rev or not re.fullmatch(r"[\w-]+", rev) or not (down == "None" or re.fullmatch(r"[\w-]+", down)):
            return None
        revisions.add(rev)
        if down != "None":
            revised.add(down)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def open_for_reading(url: str) -> Db | None:
    """A connection to the database `url` names, in a transaction that only reads, when it
    certainly holds the newest schema; None whenever anything is less plain (no such file
    yet, a URL with options, an older schema, an unreachable server, a driver missing):
    the caller then goes the whole way (SQLAlchemy's engine, which migrates, creates and
    words every failure), so this path never decides an outcome of its own."""
    url = normalise_url(url)
    db: Db | None = None
    try:
        if url.startswith("sqlite:///") and "?" not in url:
            path = Path(unquote(url[len("sqlite:///") :]))
            if not path.name or str(path) == ":memory:" or not path.is_file():
                return None
            import sqlite3

            lite = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            db = Db(lite, True)
            for pragma in SQLITE_PRAGMAS[1:]:  # WAL is the file's own setting, made by the first writer
                lite.execute(pragma)
            lite.execute("PRAGMA query_only=1")
            lite.execute("BEGIN")  # deferred: one consistent snapshot for every read, no write lock
        elif url.startswith("postgresql+psycopg://") and "?" not in url:
            import psycopg

            pg = psycopg.connect("postgresql://" + url[len("postgresql+psycopg://") :], options=POSTGRES_OPTIONS)
            db = Db(pg, False)
            pg.read_only = True
        else:
            return None
        head = head_in_files()
        if head is None or [r for (r,) in db.rows("SELECT version_num FROM alembic_version")] != [head]:
            close(db)
            return None
        return db
    except Exception:  # anything odd: the whole way, which says what is wrong
        if db is not None:
            close(db)
        return None


def close(db: Db) -> None:
    """End the read-only transaction and let the connection go."""
    try:
        if not db.sqlite:
            db.conn.rollback()
        elif db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
    finally:
        db.conn.close()
