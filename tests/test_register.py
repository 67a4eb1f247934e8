"""The register: append-only history, re-baselining, optimistic concurrency, tenant isolation,
permissions, migrations from empty — on SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

from bot.domain.model import Channel, InvalidValue, Rag, Role, Status
from bot.errors import Conflict, NotFound, PermissionDenied
from bot.services import register
from bot.services.register import UpdateRequest
from storage import repo
from storage.db import current_revision, head_revision, make_engine, normalise_url, upgrade
from storage.tables import Action, AuditLog, Signoff, Update
from tests.conftest import PG_URL


@pytest.fixture
def setup(session: Session, now):
    org = repo.get_or_create_org(session, "rotherham")
    op = repo.actor_for(session, None, operator=True)
    plan = register.create_plan(session, org=org, title="ILACS action plan", actor=op, now=now)
    a = register.add_action(session, org=org, plan=plan, actor=op, ref="2.4", text="Deliver reflective practice sessions",
                            lead_text="HoS Early Help", original_target=date(2022, 11, 30), original_target_raw="November 2022",
                            priority_ref="2", now=now)
    session.commit()
    return org, plan, a, op


def test_history_is_append_only_and_edits_add_entries(session, setup, now):
    org, plan, a, op = setup
    u1 = register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="Session booked", status=Status.IN_PROGRESS),
                                actor=op, author=None, channel=Channel.CLI, now=now)
    u2 = register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="Session delivered 3 Nov", status=Status.COMPLETE, rag=Rag.GREEN),
                                actor=op, author=None, channel=Channel.CLI, now=now + timedelta(days=1))
    fixed = register.amend_update(session, org=org, plan=plan, action=a, update_id=u1.id, text="Session booked for 3 Nov",
                                  actor=op, author=None, channel=Channel.CLI, now=now + timedelta(days=2))
    session.commit()
    hist = repo.history(session, a.id)
    assert [h.text for h in hist] == ["Session booked", "Session delivered 3 Nov", "Session booked for 3 Nov"]
    assert fixed.supersedes_id == u1.id and hist[0].id == u1.id and u2.status == "complete"
    assert a.status == "complete" and a.rag == "G" and a.version == 3
    # The database itself refuses to rewrite or delete history and audit entries.
    for stmt in (text("UPDATE action_update SET text = 'rewritten'"), text("DELETE FROM action_update"), text("DELETE FROM audit_log")):
        with pytest.raises((IntegrityError, DBAPIError)):
            session.execute(stmt)
        session.rollback()
    assert next(h.text for h in repo.history(session, a.id)) == "Session booked"
    ops = [r.op for r in session.exec(select(AuditLog).where(AuditLog.entity_id == a.id, AuditLog.entity == "action"))]
    assert ops.count("update") == 2 and "amend_update" in ops


def test_revised_target_keeps_the_original(session, setup, now):
    org, plan, a, op = setup
    register.record_update(session, org=org, plan=plan, action=a, actor=op, author=None, channel=Channel.CLI, now=now,
                           request=UpdateRequest(text="slipping", revised_target=date(2023, 1, 31), revised_reason="staffing", rag=Rag.AMBER))
    register.record_update(session, org=org, plan=plan, action=a, actor=op, author=None, channel=Channel.CLI, now=now,
                           request=UpdateRequest(revised_target=date(2023, 3, 31), revised_reason="audit tool late"))
    session.commit()
    session.refresh(a)
    assert a.original_target == date(2022, 11, 30) and a.original_target_raw == "November 2022"
    assert a.revised_target == date(2023, 3, 31) and a.revised_reason == "audit tool late"
    assert [h.revised_target for h in repo.history(session, a.id)] == [date(2023, 1, 31), date(2023, 3, 31)]
    snap = repo.action_snapshot(a)
    assert snap.target == date(2023, 3, 31) and snap.rebaselined


@pytest.mark.parametrize(
    "request_, message",
    [
        (UpdateRequest(), "needs progress text"),
        (UpdateRequest(revised_target=date(2023, 1, 31)), "needs a reason"),
        (UpdateRequest(status=Status.SIGNED_OFF), "signed off by its sign-off stages"),
        (UpdateRequest(text="x" * 5000), "limit is 4000"),
    ],
)
def test_invalid_updates_change_nothing(session, setup, now, request_, message):
    org, plan, a, op = setup
    with pytest.raises(InvalidValue, match=message):
        register.record_update(session, org=org, plan=plan, action=a, request=request_, actor=op, author=None, channel=Channel.CLI, now=now)
    session.rollback()
    assert repo.history(session, a.id) == [] and session.get(Action, a.id).version == 1


def test_stale_writer_gets_a_conflict_and_nothing_is_lost(engine, setup, now):
    org, plan, a, _ = setup
    # Two people open the same action (both see version 1); each read ends (a card, a form).
    seen = []
    for _ in range(2):
        with Session(engine) as s:
            seen.append(s.get(Action, a.id).version)
    assert seen == [1, 1]
    # They save one after the other, each submission carrying the version it saw.
    with Session(engine, expire_on_commit=False) as s1:
        register.record_update(s1, org=org, plan=plan, action=s1.get(Action, a.id), actor=repo.actor_for(s1, None, operator=True),
                               author=None, channel=Channel.SLACK, now=now,
                               request=UpdateRequest(text="first", rag=Rag.GREEN, expected_version=seen[0]))
        s1.commit()
    with Session(engine, expire_on_commit=False) as s2:
        with pytest.raises(Conflict, match="changed by someone else"):
            register.record_update(s2, org=org, plan=plan, action=s2.get(Action, a.id), actor=repo.actor_for(s2, None, operator=True),
                                   author=None, channel=Channel.TEAMS, now=now,
                                   request=UpdateRequest(text="second", rag=Rag.RED, expected_version=seen[1]))
        s2.rollback()
    with Session(engine) as s:
        assert [u.text for u in repo.history(s, a.id)] == ["first"]
        row = s.get(Action, a.id)
        assert row.rag == "G" and row.version == 2


def test_concurrent_writers_never_lose_an_update(engine, setup, now):
    """Eight threads update the same action at once, each reading then writing in its own
    transaction. Every one either lands or gets a Conflict; what landed is all in the history."""
    org, plan, a, _ = setup
    results: list[str] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        with Session(engine, expire_on_commit=False) as s:
            try:
                act = s.get(Action, a.id)
                register.record_update(s, org=org, plan=plan, action=act, actor=repo.actor_for(s, None, operator=True), author=None,
                                       channel=Channel.CLI, now=now, request=UpdateRequest(text=f"writer {i}"))
                s.commit()
                results.append("ok")
            except Conflict:
                s.rollback()
                results.append("conflict")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and "ok" in results
    with Session(engine) as s:
        hist = repo.history(s, a.id)
        assert len(hist) == results.count("ok")
        assert s.get(Action, a.id).version == 1 + results.count("ok")


def test_notes_without_a_version_never_conflict_eight_people_at_once(engine, setup, now):
    """Eight people append five progress notes each to one action at the same moment, none
    giving a version: all forty land, in order per person (on PostgreSQL too, where each waits
    for the row instead of failing on a version that moved)."""
    org, plan, a, _ = setup
    failures: list[BaseException] = []
    barrier = threading.Barrier(8)

    def person(i: int) -> None:
        barrier.wait()
        for n in range(5):
            try:
                with Session(engine, expire_on_commit=False) as s:
                    act = s.get(Action, a.id)
                    register.record_update(s, org=org, plan=plan, action=act, actor=repo.actor_for(s, None, operator=True), author=None,
                                           channel=Channel.CLI, now=now, request=UpdateRequest(text=f"person {i} note {n}"))
                    s.commit()
            except BaseException as e:
                failures.append(e)

    threads = [threading.Thread(target=person, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with Session(engine) as s:
        texts = [u.text for u in repo.history(s, a.id)]
        assert len(texts) == 40 and s.get(Action, a.id).version == 41
        for i in range(8):
            assert [t for t in texts if t.startswith(f"person {i} ")] == [f"person {i} note {n}" for n in range(5)]
    # A change against a version someone saw still conflicts when the action moved on.
    with Session(engine, expire_on_commit=False) as s, pytest.raises(Conflict):
        register.record_update(s, org=org, plan=plan, action=s.get(Action, a.id), actor=repo.actor_for(s, None, operator=True), author=None,
                               channel=Channel.CLI, now=now, request=UpdateRequest(text="stale", expected_version=5))


def test_organisations_do_not_see_each_other(session, now):
    op = repo.actor_for(session, None, operator=True)
    a_org, b_org = repo.get_or_create_org(session, "derby"), repo.get_or_create_org(session, "rotherham")
    pa = register.create_plan(session, org=a_org, title="Improvement plan", actor=op, now=now)
    pb = register.create_plan(session, org=b_org, title="Improvement plan", actor=op, now=now)
    register.add_action(session, org=b_org, plan=pb, actor=op, ref="1.1", text="Rotherham only", now=now)
    register.add_person(session, org=b_org, actor=op, display_name="Nina Martin", now=now)
    session.commit()
    assert pa.slug == pb.slug == "improvement-plan"
    assert repo.get_plan(session, a_org.id, "improvement-plan").id == pa.id
    assert [p.id for p in repo.list_plans(session, a_org.id)] == [pa.id]
    with pytest.raises(NotFound):
        repo.get_plan(session, a_org.id, str(pb.id))  # another organisation's plan number
    with pytest.raises(NotFound):
        repo.find_person(session, a_org.id, "Nina Martin")
    assert repo.list_actions(session, pa.id) == []
    with pytest.raises(NotFound):
        repo.get_action(session, pa, "1.1")


def test_permissions_owner_delegate_and_stranger(session, setup, now):
    org, plan, a, op = setup
    owner = register.add_person(session, org=org, actor=op, display_name="Owner", now=now)
    deleg = register.add_person(session, org=org, actor=op, display_name="Delegate", now=now)
    stranger = register.add_person(session, org=org, actor=op, display_name="Stranger", now=now)
    register.assign(session, org=org, plan=plan, action=a, person=owner, actor=op, now=now)
    register.assign(session, org=org, plan=plan, action=a, person=deleg, actor=op, kind="delegate", now=now)
    session.commit()
    with pytest.raises(PermissionDenied, match="not yours"):
        register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="hi"),
                               actor=repo.actor_for(session, stranger), author=stranger, channel=Channel.SLACK, now=now)
    session.rollback()
    u = register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="for the owner"),
                               actor=repo.actor_for(session, deleg), author=deleg, channel=Channel.TEAMS, now=now)
    assert u.author_id == deleg.id and u.channel == "teams"
    # A stranger made leadership reader still cannot update; made plan owner, can.
    register.grant_role(session, org=org, actor=op, person=stranger, role=Role.READER, plan=plan, now=now)
    with pytest.raises(PermissionDenied):
        register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="x"),
                               actor=repo.actor_for(session, stranger), author=stranger, channel=Channel.SLACK, now=now)
    register.grant_role(session, org=org, actor=op, person=stranger, role=Role.OWNER, plan=plan, now=now)
    register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="as plan owner"),
                           actor=repo.actor_for(session, stranger), author=stranger, channel=Channel.SLACK, now=now)
    # Only people managers may grant roles.
    with pytest.raises(PermissionDenied):
        register.grant_role(session, org=org, actor=repo.actor_for(session, owner), person=owner, role=Role.ADMIN, now=now)


def test_approver_role_needs_an_existing_stage(session, setup, now):
    org, plan, _a, op = setup
    p = register.add_person(session, org=org, actor=op, display_name="Panel chair", now=now)
    with pytest.raises(InvalidValue, match="no sign-off stage"):
        register.grant_role(session, org=org, actor=op, person=p, role=Role.APPROVER, plan=plan, stage="Panel", now=now)
    register.configure_plan(session, org=org, plan=plan, actor=op, changes={"signoff_stages": ["Evidence Challenge Panel", "DLT"]}, now=now)
    register.grant_role(session, org=org, actor=op, person=p, role=Role.APPROVER, plan=plan, stage="DLT", now=now)
    actor = repo.actor_for(session, p)
    assert actor.has(Role.APPROVER, plan.id, "dlt") and not actor.has(Role.APPROVER, plan.id, "Evidence Challenge Panel")
    register.revoke_role(session, org=org, actor=op, person=p, role=Role.APPROVER, plan=plan, stage="DLT", now=now)
    assert not repo.actor_for(session, p).grants


def test_status_change_clears_signoff(session, setup, now):
    org, plan, a, op = setup
    register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(status=Status.COMPLETE), actor=op, author=None,
                           channel=Channel.CLI, now=now)
    session.add(Signoff(action_id=a.id, stage_index=0, stage_name="Evidence Challenge Panel", decision="approved", at=now))
    session.commit()
    register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(status=Status.IN_PROGRESS, text="reopened"),
                           actor=op, author=None, channel=Channel.CLI, now=now + timedelta(hours=1))
    session.commit()
    s = session.exec(select(Signoff).where(Signoff.action_id == a.id)).one()
    assert s.cleared_at is not None and s.decision == "approved"  # kept, marked cleared


def _fresh_database() -> tuple[str, callable]:
    """An empty database of the kind under test, and how to drop it."""
    if PG_URL:
        name = f"actionbot_mig_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        base = normalise_url(PG_URL).rpartition("/")[0]

        def drop() -> None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return f"{base}/{name}", drop
    import tempfile

    d = tempfile.mkdtemp()
    return f"sqlite:///{d}/empty.db", lambda: None


def test_migrations_from_empty_up_down_and_up_again():
    url, drop = _fresh_database()
    try:
        eng = make_engine(url)
        assert current_revision(eng) is None
        upgrade(eng)
        assert current_revision(eng) == head_revision()
        tables = set(inspect(eng).get_table_names())
        assert {"organisation", "plan", "priority", "action", "action_update", "person", "role_grant", "audit_log", "signoff"} <= tables
        from alembic import command

        from storage.db import _alembic_config

        command.downgrade(_alembic_config(eng), "base")
        assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
        upgrade(eng)
        assert current_revision(eng) == head_revision()
        eng.dispose()
    finally:
        drop()


def test_the_migrated_database_has_the_indexes_the_tables_declare():
    """Every index storage.tables declares is in a database the migrations made, on the same
    columns in the same order: an index changed in one and not the other fails here (the
    digest's read of the updates relies on (action_id, at, id) to come in order unsorted)."""
    from sqlmodel import SQLModel

    url, drop = _fresh_database()
    try:
        eng = make_engine(url)
        upgrade(eng)
        found = inspect(eng)
        declared = [(t.name, ix.name, [c.name for c in ix.columns]) for t in SQLModel.metadata.sorted_tables for ix in t.indexes]
        made = [(t, name, next((ix["column_names"] for ix in found.get_indexes(t) if ix["name"] == name), None))
                for t, name, _ in declared]
        assert made == declared and ("action_update", "ix_update_action_at", ["action_id", "at", "id"]) in declared
        eng.dispose()
    finally:
        drop()


def test_default_sqlite_file_runs_in_wal_mode_with_foreign_keys(tmp_path):
    eng = make_engine(str(tmp_path / "plain-path.db"))  # a bare path is taken as a SQLite file
    upgrade(eng)
    with eng.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    eng.dispose()


def test_update_request_rows_exist_only_after_commit(session, setup, now):
    """A failed command leaves nothing half-written: the update and the action change go together."""
    org, plan, a, op = setup
    register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="x", rag=Rag.RED), actor=op, author=None,
                           channel=Channel.CLI, now=now)
    session.rollback()
    assert session.exec(select(Update)).all() == [] and session.get(Action, a.id).rag is None


def test_a_delegate_answering_resets_the_owners_unanswered_count(session, setup, now):
    from storage.tables import NudgeStateRow

    org, plan, a, op = setup
    owner = register.add_person(session, org=org, actor=op, display_name="Owner", now=now)
    deleg = register.add_person(session, org=org, actor=op, display_name="Delegate", now=now)
    other = register.add_person(session, org=org, actor=op, display_name="Other owner elsewhere", now=now)
    register.assign(session, org=org, plan=plan, action=a, person=owner, actor=op, now=now)
    register.assign(session, org=org, plan=plan, action=a, person=deleg, actor=op, kind="delegate", now=now)
    for p in (owner, other):
        session.add(NudgeStateRow(person_id=p.id, unanswered_count=3, escalated_at=now))
    session.commit()
    register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="done for them"),
                           actor=repo.actor_for(session, deleg), author=deleg, channel=Channel.SLACK, now=now)
    session.commit()
    assert session.get(NudgeStateRow, owner.id).unanswered_count == 0 and session.get(NudgeStateRow, owner.id).escalated_at is None
    assert session.get(NudgeStateRow, other.id).unanswered_count == 3  # not involved


def test_times_are_stored_as_utc_whatever_zone_they_are_given_in(session, setup):
    """09:30 BST is 08:30 UTC on every database (SQLite keeps no zone of its own)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    org, plan, a, op = setup
    bst = datetime(2026, 6, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    register.record_update(session, org=org, plan=plan, action=a, request=UpdateRequest(text="summer"), actor=op, author=None,
                           channel=Channel.CLI, now=bst)
    session.commit()
    session.expire_all()
    row = session.get(Action, a.id)
    assert row.last_update_at.utcoffset().total_seconds() == 0
    assert (row.last_update_at.hour, row.last_update_at.minute) == (8, 30)
    raw = session.execute(text("SELECT last_update_at FROM action WHERE id = :i"), {"i": a.id}).scalar()
    assert "08:30" in str(raw)
    from storage.snapshots import load_register

    snap = next(x for x in load_register(session, org.id).actions if x.id == a.id)
    assert snap.last_update_at == bst
    with pytest.raises(Exception, match="naive datetime"):
        register.record_update(session, org=org, plan=plan, action=row, request=UpdateRequest(text="x"), actor=op, author=None,
                               channel=Channel.CLI, now=datetime(2026, 6, 1, 9, 30))  # noqa: DTZ001 - the naive moment under test
    session.rollback()
