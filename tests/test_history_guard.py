"""The database itself refuses every statement that would rewrite history or the audit log:
UPDATE, DELETE, REPLACE, UPSERT, TRUNCATE, MERGE — each form the database has, on SQLite and on
PostgreSQL — whoever sends it (these tests bypass the application and write SQL directly)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.domain.model import Channel, Status
from bot.services import register
from bot.services.register import UpdateRequest
from storage import repo
from storage.tables import AuditLog, Update

# For each table, the column a forger would rewrite.
TABLES = {"action_update": (Update, "text"), "audit_log": (AuditLog, "actor_text")}


def _copy_of(table: str, row_id: int) -> tuple[str, str]:
    """(column list, SELECT giving the row `row_id` with its text rewritten): the body of an
    INSERT that reuses an existing id."""
    model, col = TABLES[table]
    names = [c.name for c in model.__table__.columns]  # type: ignore[attr-defined]
    cols = ", ".join(f'"{n}"' for n in names)
    values = ", ".join("'rewritten'" if n == col else f'"{n}"' for n in names)
    return cols, f"SELECT {values} FROM {table} WHERE id = {row_id}"


def forms(dialect: str, table: str, row_id: int) -> dict[str, str]:
    """Every statement form that could change or remove the row `row_id`, as this database spells it."""
    _, col = TABLES[table]
    cols, copy = _copy_of(table, row_id)
    common = {
        "UPDATE": f"UPDATE {table} SET {col} = 'rewritten' WHERE id = {row_id}",
        "DELETE": f"DELETE FROM {table} WHERE id = {row_id}",
        "DELETE all": f"DELETE FROM {table}",
        "UPSERT": f"INSERT INTO {table} ({cols}) {copy} ON CONFLICT (id) DO UPDATE SET {col} = excluded.{col}",
    }
    if dialect == "sqlite":
        return common | {
            # SQLite has no TRUNCATE or MERGE; its REPLACE deletes the conflicting row, firing no
            # DELETE trigger while recursive_triggers is off (the default).
            "INSERT OR REPLACE": f"INSERT OR REPLACE INTO {table} ({cols}) {copy}",
            "REPLACE": f"REPLACE INTO {table} ({cols}) {copy}",
            "UPSERT (no target)": f"INSERT INTO {table} ({cols}) {copy} ON CONFLICT DO UPDATE SET {col} = 'rewritten'",
            "UPDATE OR REPLACE": f"UPDATE OR REPLACE {table} SET {col} = 'rewritten' WHERE id = {row_id}",
        }
    return common | {
        "TRUNCATE": f"TRUNCATE {table}",
        "TRUNCATE RESTART IDENTITY": f"TRUNCATE {table} RESTART IDENTITY",
        "TRUNCATE CASCADE from action": "TRUNCATE action CASCADE" if table == "action_update" else "TRUNCATE organisation CASCADE",
        "MERGE UPDATE": f"MERGE INTO {table} t USING (SELECT {row_id} AS id) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET {col} = 'rewritten'",
        "MERGE DELETE": f"MERGE INTO {table} t USING (SELECT {row_id} AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE",
        "UPSERT ON CONSTRAINT": f"INSERT INTO {table} ({cols}) {copy} ON CONFLICT ON CONSTRAINT {table}_pkey DO UPDATE SET {col} = 'rewritten'",
    }


@pytest.fixture
def history(session: Session, now):
    org = repo.get_or_create_org(session, "guarded")
    op = repo.actor_for(session, None, operator=True)
    plan = register.create_plan(session, org=org, title="ILACS action plan", actor=op, now=now)
    a = register.add_action(session, org=org, plan=plan, actor=op, ref="2.4", text="Deliver sessions", original_target=date(2027, 1, 31), now=now)
    u = register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="Session booked", status=Status.IN_PROGRESS),
                               actor=op, author=None, channel=Channel.CLI, now=now)
    session.commit()
    return {"action_update": u.id, "audit_log": session.execute(text("SELECT max(id) FROM audit_log")).scalar_one()}


def _rows(session: Session) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in session.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in TABLES}


def _all_forms(dialect: str, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    return [(t, name, sql) for t in TABLES for name, sql in forms(dialect, t, ids[t]).items()]


def test_every_rewriting_statement_is_refused_and_nothing_changes(session: Session, history):
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":  # the REPLACE cases are only meaningful with recursive triggers off
        assert session.execute(text("PRAGMA recursive_triggers")).scalar_one() == 0
    before = _rows(session)
    assert all(before.values())
    tried = []
    for table, name, sql in _all_forms(dialect, history):
        with pytest.raises(DBAPIError, match="append-only") as err:
            session.execute(text(sql))
            session.flush()
        session.rollback()
        tried.append((table, name))
        assert _rows(session) == before, f"{name} on {table} changed history: {err.value}"
    names = {n.split(" ")[0] for _, n in tried}
    expected = {"UPDATE", "DELETE", "UPSERT"} | ({"INSERT", "REPLACE"} if dialect == "sqlite" else {"TRUNCATE", "MERGE"})
    assert expected <= names


def test_a_replace_with_a_fresh_id_is_still_an_append(session: Session, history):
    """The guard refuses reusing an id, not adding: a new row still goes in, whatever the clause."""
    dialect = session.get_bind().dialect.name
    cols, copy = _copy_of("action_update", history["action_update"])
    fresh = history["action_update"] + 1000
    fresh_copy = copy.replace('SELECT "id",', f"SELECT {fresh},", 1)
    verb = "INSERT OR REPLACE" if dialect == "sqlite" else "INSERT"
    session.execute(text(f"{verb} INTO action_update ({cols}) {fresh_copy}"))
    session.commit()
    assert session.execute(text(f"SELECT text FROM action_update WHERE id = {fresh}")).scalar_one() == "rewritten"
    assert session.execute(text(f"SELECT text FROM action_update WHERE id = {history['action_update']}")).scalar_one() == "Session booked"
