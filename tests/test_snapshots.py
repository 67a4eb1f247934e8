"""storage.snapshots reads the register with Core selects; these tests hold it to exactly what
the straightforward ORM path (repo functions, one plan at a time) returns, on the database the
suite runs on (SQLite, or PostgreSQL with ACTIONBOT_TEST_DATABASE_URL)."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from bot.domain.due import NudgeState
from bot.domain.model import Channel, Rag, Status, UpdateSnapshot
from storage import repo, snapshots
from storage.snapshots import load_register, load_updates, load_updates_for_plan
from storage.tables import Action, ActionPerson, NudgeStateRow, Organisation, Person, Plan, Priority, Update

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- the reference


def orm_register(session: Session, org_id: int, plan_id: int | None = None) -> snapshots.RegisterView:
    """The loader as first written: ORM rows, plan by plan."""
    plan_rows = {p.id: p for p in repo.list_plans(session, org_id) if p.id is not None and (plan_id is None or p.id == plan_id)}
    actions = []
    for p in plan_rows.values():
        prios = {q.id: q.ref for q in repo.priorities(session, p.id or 0)}
        rows = repo.list_actions(session, p.id or 0)
        links = repo.people_by_action(session, [a.id for a in rows if a.id is not None])
        actions += [replace(repo.action_snapshot(a, *links[a.id], priority_ref=prios.get(a.priority_id)),
                            last_answer_at=_last_answer(session, a.id)) for a in rows if a.id is not None]
    people_rows = {p.id: p for p in repo.list_people(session, org_id) if p.id is not None}
    state = {
        r.person_id: NudgeState(r.last_nudged_at, r.snoozed_until, r.unanswered_count, r.escalated_at)
        for r in session.exec(select(NudgeStateRow).where(col(NudgeStateRow.person_id).in_(list(people_rows))))
    }
    return snapshots.RegisterView(
        plans={i: repo.plan_snapshot(p) for i, p in plan_rows.items()}, slugs={i: p.slug for i, p in plan_rows.items()},
        actions=actions, people={i: repo.person_snapshot(p) for i, p in people_rows.items()}, state=state,
    )


def _last_answer(session: Session, action_id: int):
    """The latest update that is not an import (an imported file is not the lead officer's answer)."""
    times = [u.at for u in session.exec(select(Update).where(Update.action_id == action_id)) if u.channel != Channel.IMPORT.value]
    return max(times, default=None)


def orm_updates(session: Session, action_ids: list[int]) -> list[UpdateSnapshot]:
    return [
        UpdateSnapshot(action_id=u.action_id, at=u.at, channel=Channel(u.channel),
                       status=Status(u.status) if u.status else None, rag=Rag(u.rag) if u.rag else None, text=u.text,
                       revised_target=u.revised_target, author_id=u.author_id, label=u.period_label)
        for u in session.exec(select(Update).where(col(Update.action_id).in_(action_ids)))
    ]


def bag(items) -> Counter:
    return Counter(items)  # frozen snapshots hash by value; aware datetimes by instant


# --------------------------------------------------------------------------- a small register


def add(session: Session, row):
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def register(session: Session) -> dict:
    org = add(session, Organisation(slug="rotherham", name="Rotherham"))
    other_org = add(session, Organisation(slug="derby", name="Derby"))
    ann = add(session, Person(org_id=org.id, display_name="Ann Head", slack_user_id="U1"))
    bob = add(session, Person(org_id=org.id, display_name="Bob Lead", manager_id=ann.id, timezone="America/New_York",
                              away_until=date(2026, 2, 1), teams_user_id="29:bob"))
    cat = add(session, Person(org_id=org.id, display_name="Cat Officer", manager_id=ann.id))
    stranger = add(session, Person(org_id=other_org.id, display_name="Dan Elsewhere"))

    def plan(slug: str, org_id: int, **kw) -> Plan:
        return add(session, Plan(org_id=org_id, slug=slug, title=slug.title(), owner_id=kw.pop("owner_id", ann.id), **kw))

    ilacs = plan("ilacs", org.id, cadence="weekly:mon", rag_scheme="RAG", signoff_stages=["Panel", "DLT"], digest_channels=["slack:C1"])
    send = plan("send", org.id, timezone="Europe/Dublin", due_soon_days=21)
    old = plan("old", org.id, archived=True)
    theirs = plan("theirs", other_org.id, owner_id=stranger.id)
    p1 = add(session, Priority(plan_id=ilacs.id, ref="1", title="Front door", position=1))
    p2 = add(session, Priority(plan_id=ilacs.id, ref="2", title="Oversight", position=2))
    q1 = add(session, Priority(plan_id=send.id, ref="A", title="Sufficiency", position=1))

    statuses, rags = list(Status), [None, *Rag]
    made: list[Action] = []
    for n, (p, prio) in enumerate([(ilacs, p2), (ilacs, p1), (ilacs, None), (ilacs, q1), (send, q1), (send, None),
                                   (send, q1), (old, None), (theirs, None), (ilacs, p1)]):
        made.append(add(session, Action(
            plan_id=p.id, priority_id=prio.id if prio else None, ref=f"{n}.{n + 1}", text=f"Action number {n}",
            lead_text=f"Lead {n}", original_target=date(2026, 3, 1) + timedelta(days=n),
            original_target_raw=f"March 2026 ({n})", revised_target=date(2026, 6, n + 1) if n % 3 == 0 else None,
            status=statuses[n % len(statuses)].value, rag=(r.value if (r := rags[n % len(rags)]) else None),
            position=10 - n if p is ilacs else n, removed=n == 6, version=n + 1,
            returned_at=T0 + timedelta(days=n) if n % 4 == 1 else None,
            last_update_at=T0 + timedelta(hours=n, microseconds=1001 * n) if n % 2 else None, created_at=T0 - timedelta(days=30 + n))))
    # owners entered out of order, delegates, an action nobody owns
    for a, owners, delegates in [(made[0], [cat, bob], []), (made[1], [bob], [cat]), (made[4], [cat], [bob, ann]),
                                 (made[5], [ann, cat, bob], []), (made[9], [], [cat]), (made[8], [stranger], [])]:
        for p in owners:
            add(session, ActionPerson(action_id=a.id, person_id=p.id, kind="owner"))
        for p in delegates:
            add(session, ActionPerson(action_id=a.id, person_id=p.id, kind="delegate"))
    for k in range(24):
        a = made[k % len(made)]
        add(session, Update(action_id=a.id, at=T0 + timedelta(days=k), author_id=[ann.id, bob.id, None][k % 3],
                            channel=list(Channel)[k % len(Channel)].value, text=f"update {k}",
                            status=[None, "in_progress", "complete"][k % 3], rag=[None, "R", "A", "G"][k % 4],
                            revised_target=date(2026, 9, 1) if k % 5 == 0 else None, period_label="March" if k % 2 else ""))
    for p, count in [(bob, 2), (cat, 0)]:
        add(session, NudgeStateRow(person_id=p.id, last_nudged_at=T0, unanswered_count=count,
                                   snoozed_until=T0 + timedelta(days=3) if count else None, escalated_at=T0 if count else None))
    add(session, NudgeStateRow(person_id=stranger.id, last_nudged_at=T0))
    session.commit()
    return {"org": org.id, "other": other_org.id, "ilacs": ilacs.id, "send": send.id, "old": old.id, "actions": made}


def fresh(session: Session) -> Session:
    """A new session on the same database, so nothing comes from the first one's identity map."""
    return Session(session.get_bind(), expire_on_commit=False)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("which", [None, "ilacs", "send", "old"])
def test_load_register_is_exactly_the_orm_path(session, register, which):
    plan_id = register[which] if which else None
    with fresh(session) as s:
        got = load_register(s, register["org"], plan_id=plan_id)
    with fresh(session) as s:
        want = orm_register(s, register["org"], plan_id)
    assert got.actions == want.actions  # same snapshots, same order
    assert got.plans == want.plans and list(got.plans) == list(want.plans)
    assert got.people == want.people and got.state == want.state
    assert got.slugs == want.slugs and list(got.slugs) == list(got.plans) and list(got.people) == list(want.people)


def test_the_register_holds_what_was_written(session, register):
    with fresh(session) as s:
        reg = load_register(s, register["org"])
    by_ref = {a.ref: a for a in reg.actions}
    assert set(by_ref) == {"0.1", "1.2", "2.3", "3.4", "4.5", "5.6", "9.10"}  # not removed, archived or another org's
    assert [a.ref for a in reg.actions if a.plan_id == register["ilacs"]] == ["9.10", "3.4", "2.3", "1.2", "0.1"]  # by position
    assert by_ref["0.1"].priority_ref == "2" and by_ref["1.2"].priority_ref == "1"
    assert by_ref["3.4"].priority_ref is None  # its priority belongs to another plan
    assert by_ref["4.5"].priority_ref == "A"
    assert by_ref["0.1"].owner_ids == tuple(sorted(by_ref["0.1"].owner_ids)) and len(by_ref["0.1"].owner_ids) == 2
    assert len(by_ref["5.6"].owner_ids) == 3 and len(by_ref["4.5"].delegate_ids) == 2
    assert by_ref["9.10"].owner_ids == () and len(by_ref["9.10"].delegate_ids) == 1
    assert by_ref["1.2"].returned_at is not None and by_ref["1.2"].last_update_at is not None
    for a in reg.actions:  # datetime.UTC itself, on both databases: comparisons with it stay cheap
        for dt in (a.created_at, a.last_update_at, a.returned_at):
            assert dt is None or dt.tzinfo is UTC
    assert by_ref["1.2"].last_update_at == T0 + timedelta(hours=1, microseconds=1001)
    assert len(reg.people) == 3 and len(reg.state) == 2  # the other organisation's person is not here
    bob = reg.state[next(p for p in reg.people.values() if p.display_name == "Bob Lead").id]
    assert bob.unanswered_count == 2 and bob.last_nudged_at == T0 and bob.last_nudged_at.tzinfo is UTC


def test_a_time_given_in_summer_time_reads_back_as_the_same_moment(session, register):
    bst = datetime(2026, 6, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    action = register["actions"][1]
    with fresh(session) as s:
        row = s.get(Action, action.id)
        row.last_update_at = bst
        s.add(Update(action_id=action.id, at=bst, channel="slack", text="in BST"))
        s.commit()
    with fresh(session) as s:
        snap = next(a for a in load_register(s, register["org"]).actions if a.id == action.id)
        ups = [u for u in load_updates(s, [action.id]) if u.text == "in BST"]
    assert snap.last_update_at == bst and snap.last_update_at.hour == 8 and snap.last_update_at.tzinfo is UTC
    assert len(ups) == 1 and ups[0].at == bst and ups[0].at.tzinfo is UTC


def test_load_updates_is_exactly_the_orm_path(session, register, monkeypatch):
    with fresh(session) as s:
        ids = [a.id for a in load_register(s, register["org"]).actions]
    with fresh(session) as s:
        want = orm_updates(s, ids)
    monkeypatch.setattr(snapshots, "_IDS_PER_QUERY", 2)  # several queries' worth of ids
    with fresh(session) as s:
        got = load_updates(s, ids + ids[:3])
    assert bag(got) == bag(want) and len(got) == len(want) > 0
    assert all(u.at.tzinfo is UTC for u in got)
    with fresh(session) as s:
        assert load_updates(s, []) == []


@pytest.mark.parametrize("which", ["ilacs", "send"])
def test_load_updates_for_plan_reads_the_same_rows_as_by_ids(session, register, which):
    with fresh(session) as s:
        ids = [a.id for a in load_register(s, register["org"], plan_id=register[which]).actions]
        by_plan = load_updates_for_plan(s, register[which])
    with fresh(session) as s:
        want = orm_updates(s, ids)
    assert bag(by_plan) == bag(want) and len(want) > 0
    removed = next(a.id for a in register["actions"] if a.removed)
    assert all(u.action_id != removed for u in by_plan)


def test_the_number_of_queries_does_not_grow_with_plans(session, register):
    """No query per plan or per action (an N+1 shows here as more statements for more plans)."""
    def count(plan_id: int | None) -> int:
        seen: list[str] = []
        engine = session.get_bind()

        def log(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", log)
        try:
            with fresh(session) as s:
                load_register(s, register["org"], plan_id=plan_id)
        finally:
            event.remove(engine, "before_cursor_execute", log)
        return len([q for q in seen if q.lstrip().upper().startswith("SELECT")])

    one, all_plans = count(register["ilacs"]), count(None)
    assert one == all_plans <= 6


def test_updates_for_the_digest_leave_out_only_the_text(session, now):
    """with_text=False: the same updates, with what the digest reads, and no progress text."""
    from bot.domain.model import Channel, Rag, Status
    from bot.services import register
    from bot.services.register import UpdateRequest
    from storage import repo
    from storage.snapshots import load_updates_for_plan

    org = repo.get_or_create_org(session, "o")
    op = repo.actor_for(session, None, operator=True)
    plan = register.create_plan(session, org=org, title="P", actor=op, now=now)
    a = register.add_action(session, org=org, plan=plan, actor=op, ref="1.1", text="x", now=now)
    register.record_update(session, org=org, plan=plan, action=a, actor=op, author=None, channel=Channel.SLACK, now=now,
                           request=UpdateRequest(text="long progress note", status=Status.IN_PROGRESS, rag=Rag.AMBER, period_label="Nov"))
    session.commit()
    [full] = load_updates_for_plan(session, plan.id)
    [lean] = load_updates_for_plan(session, plan.id, with_text=False)
    assert full.text == "long progress note" and full.label == "Nov"
    assert lean.text == "" and lean.label == ""
    assert (lean.action_id, lean.at, lean.channel, lean.status, lean.rag, lean.revised_target) == (
        full.action_id, full.at, full.channel, full.status, full.rag, full.revised_target)


def test_a_persons_nudge_from_their_slice_equals_the_one_from_the_whole_register(session, now):
    """due(person_id=…) reads only that person's actions and their plans' unowned ones, and
    plans exactly the nudge the whole-register scan plans for them."""
    from datetime import date, timedelta

    from bot.services import register
    from bot.services.engine import due
    from storage import repo

    org = repo.get_or_create_org(session, "slice")
    op = repo.actor_for(session, None, operator=True)
    people = [register.add_person(session, org=org, actor=op, display_name=f"P{i}", now=now) for i in range(4)]
    plans = [register.create_plan(session, org=org, title=f"Plan {i}", actor=op, now=now - timedelta(days=90)) for i in range(2)]
    register.configure_plan(session, org=org, plan=plans[1], actor=op, changes={"owner_id": people[0].id}, now=now)
    for n in range(24):
        plan = plans[n % 2]
        a = register.add_action(session, org=org, plan=plan, actor=op, ref=f"{n}.1", text=f"action {n}",
                                original_target=date(2026, 11, 20) + timedelta(days=n), now=now - timedelta(days=90))
        if n % 5:  # every fifth action has no owner
            register.assign(session, org=org, plan=plan, action=a, person=people[n % 4], actor=op, now=now)
    session.commit()
    monday = now.replace(day=23, hour=10)
    whole, _ = due(session, org.id, now=monday)
    for p in people:
        sliced, reg = due(session, org.id, now=monday, person_id=p.id)
        mine = [x for x in whole if x.person_id == p.id]
        assert [x for x in sliced if x.person_id == p.id] == mine and mine
        assert len(reg.actions) < 24


@pytest.mark.parametrize("which", ["ilacs", "send"])
def test_the_digests_read_is_the_registers_read(session, register, which):
    """load_for_digest takes each action's last answer from the updates it reads (the latest
    not imported), not from a query: the same snapshots, the same updates (as the digest reads
    them: each action's changes) and people all the same."""
    from bot.domain.digest import trails_of
    from storage.snapshots import load_for_digest

    with fresh(session) as s:
        reg = load_register(s, register["org"], plan_id=register[which])
        updates = load_updates_for_plan(s, register[which], with_text=False)
    with fresh(session) as s:
        plan = s.get(Plan, register[which])
        actions, got_updates, people = load_for_digest(s, plan.id, plan.org_id)
    assert actions == reg.actions and any(a.last_answer_at is not None for a in actions)
    assert any(a.last_answer_at != a.last_update_at for a in actions)  # an import is not an answer
    want = trails_of(updates)
    assert {a: bag(t) for a, t in got_updates.items()} == {a: bag(t) for a, t in want.items()} and want
    assert people == reg.people and list(people) == list(reg.people)


def test_the_digests_read_gives_each_actions_changes_in_time_order(session, register):
    """Updates stored out of time order (an answer backdated, an import's history) come back
    in time order, those at the same moment in the order stored (as trails_of orders them),
    whatever way the database finds them: here without the index on (action, time, id),
    dropped inside the test's transaction, so only the read's own ORDER BY puts them in order
    (the reader appends each change to its action's list and never sorts)."""
    from sqlalchemy import text

    from storage.snapshots import load_for_digest

    action = register["actions"][3]
    with fresh(session) as s:
        for days, status in [(40, "complete"), (30, "in_progress"), (40, "not_started"), (35, None)]:
            s.add(Update(action_id=action.id, at=T0 + timedelta(days=days), channel="slack", text="late", status=status))
            s.flush()  # one at a time: stored in this order
        s.execute(text("DROP INDEX ix_update_action_at"))
        plan = s.get(Plan, register["ilacs"])
        _, trails, _ = load_for_digest(s, plan.id, plan.org_id)
        s.rollback()
    times = [c[0] for c in trails[action.id]]
    assert times == sorted(times) and len(times) == 7
    assert [((c[0] - T0).days, c[1]) for c in trails[action.id][3:]] == [
        (30, Status.IN_PROGRESS), (35, None), (40, Status.COMPLETE), (40, Status.NOT_STARTED)]


# --------------------------------------------------------------------------- the bare driver


@pytest.mark.parametrize("which", [None, "ilacs", "send"])
def test_the_bare_driver_reads_what_the_session_reads(session, register, db_url, which):
    """A one-shot command reads on a connection of its own (storage.rawdb, no SQLAlchemy):
    the same snapshots, slugs, people, nudge state, updates and digest as a session's reads."""
    from bot.services import engine as eng
    from bot.services.reports import digest
    from storage.rawdb import close, open_for_reading
    from storage.snapshots import load_for_digest

    plan_id = register[which] if which else None
    db = open_for_reading(db_url)
    assert db is not None
    try:
        bare = load_register(db, register["org"], plan_id=plan_id)
        bare_updates = load_updates(db, [a.id for a in bare.actions])
        bare_digests = {p: (load_for_digest(db, p, register["org"]), digest(db, p, as_of=date(2026, 3, 20)).to_json(private=True))
                        for p in bare.plans}
    finally:
        close(db)
    with fresh(session) as s:
        want = load_register(s, register["org"], plan_id=plan_id)
        want_updates = load_updates(s, [a.id for a in want.actions])
        want_digests = {p: (load_for_digest(s, p, register["org"]), eng.digest_for(s, s.get(Plan, p), as_of=date(2026, 3, 20)).to_json(private=True))
                        for p in want.plans}
    assert bare == want and bare.actions and bare.state
    assert bag(bare_updates) == bag(want_updates) and bare_updates
    assert bare_digests == want_digests and bare_digests


def test_the_bare_driver_is_only_for_a_current_schema(tmp_path, database_url):
    """open_for_reading gives nothing where the whole way must decide (it makes, migrates or
    says what is wrong), and what it gives cannot write."""
    from storage.rawdb import close, open_for_reading

    assert open_for_reading(f"sqlite:///{tmp_path / 'none.db'}") is None and not (tmp_path / "none.db").exists()
    assert open_for_reading("postgresql://postgres@127.0.0.1:1/nowhere") is None  # nothing listens there
    assert open_for_reading("mysql://someone@somewhere/db") is None
    if database_url.startswith("sqlite"):
        path = tmp_path / "old.db"
        shutil.copy(database_url.removeprefix("sqlite:///"), path)
        assert open_for_reading(f"sqlite:///{path}?timeout=5") is None  # options: the engine's to read
        db = open_for_reading(f"sqlite:///{path}")
        assert db is not None
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.rows("UPDATE alembic_version SET version_num = '0001'")
        close(db)
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '0001'")
        conn.close()
        assert open_for_reading(f"sqlite:///{path}") is None  # an older schema: the engine migrates it first
    else:
        db = open_for_reading(database_url)
        assert db is not None
        with pytest.raises(Exception, match="read-only"):
            db.rows("UPDATE alembic_version SET version_num = version_num")
        close(db)
