"""The engine through the real tables: planning nudge and digest jobs, running them into the
outbox, and delivering the outbox — on SQLite, and on PostgreSQL when configured.

Clock: Monday 23 November 2026, 10:00 UTC (10:00 in London) unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from bot.domain.model import Channel, Rag, RagScheme, Status
from bot.ports import DeliveryError, Sent
from bot.services import engine as eng
from bot.services import register, replies
from bot.services.register import UpdateRequest
from cards.view import Card, Line, render_text
from storage import repo, schedule
from storage.db import make_engine, session_scope
from storage.tables import Action, DigestWeek, Job, NudgeStateRow, Outbox, Person, Plan, Update

MON = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, GMT
LONG_AGO = MON - timedelta(days=90)  # actions made then, never updated: due under any cadence


# --- building a register through the services (used by the other engine test files too) ------
class Reg:
    """Builds a register with the register use cases, in one session, as the operator."""

    def __init__(self, session: Session, *, org: str = "leeds", now: datetime = LONG_AGO) -> None:
        self.s, self.now = session, now
        self.org = repo.get_or_create_org(session, org)
        self.op = repo.actor_for(session, None, operator=True)

    def plan(self, title: str, *, slug: str | None = None, scheme: RagScheme = RagScheme.BRAG, **settings: object) -> Plan:
        p = register.create_plan(self.s, org=self.org, title=title, actor=self.op, slug=slug, rag_scheme=scheme, now=self.now)
        if settings:
            register.configure_plan(self.s, org=self.org, plan=p, actor=self.op, changes=dict(settings), now=self.now)
        return p

    def person(self, name: str, **fields: object) -> Person:
        return register.add_person(self.s, org=self.org, actor=self.op, display_name=name, now=self.now, **fields)

    def action(self, plan: Plan, ref: str, *, owner: Person | None = None, delegate: Person | None = None,
               target: date | None = None, text: str | None = None, created: datetime | None = None) -> Action:
        a = register.add_action(self.s, org=self.org, plan=plan, actor=self.op, ref=ref, text=text or f"Action {ref} of {plan.slug}",
                                original_target=target, now=created or self.now)
        if owner is not None:
            register.assign(self.s, org=self.org, plan=plan, action=a, person=owner, actor=self.op, now=self.now)
        if delegate is not None:
            register.assign(self.s, org=self.org, plan=plan, action=a, person=delegate, actor=self.op, kind="delegate", now=self.now)
        return a

    def update(self, plan: Plan, action: Action, *, by: Person | None, at: datetime, **request: object) -> Update:
        actor = repo.actor_for(self.s, by) if by is not None else self.op
        return register.record_update(self.s, org=self.org, plan=plan, action=action, request=UpdateRequest(**request),  # type: ignore[arg-type]
                                      actor=actor, author=by, channel=Channel.CLI, now=at)

    def grant(self, person: Person, role, plan: Plan | None = None, stage: str = "") -> None:  # type: ignore[no-untyped-def]
        register.grant_role(self.s, org=self.org, actor=self.op, person=person, role=role, plan=plan, stage=stage, now=self.now)

    def commit(self) -> None:
        self.s.commit()


def rows(engine: Engine, model, *where, order=None) -> list:  # type: ignore[no-untyped-def]
    """Fresh rows read in their own short transaction (nothing cached, no lock kept)."""
    with Session(engine, expire_on_commit=False) as s:
        q = select(model)
        for w in where:
            q = q.where(w)
        out = list(s.exec(q.order_by(order if order is not None else col(model.id) if hasattr(model, "id") else None)))
        s.commit()
        return out


def state_of(engine: Engine, person: Person) -> NudgeStateRow | None:
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(NudgeStateRow, person.id)
        s.commit()
        return row


def aware(dt: datetime | None) -> datetime | None:
    """Stored times come back aware and in UTC (storage.tables.UTCDateTime)."""
    return dt


def card_text(view: dict) -> str:
    return render_text(Card.from_dict(view))


def refs_in(view: dict, section: str = "due") -> list[str]:
    """The action refs listed in a nudge card's section (each line starts with the ref)."""
    card = Card.from_dict(view)
    return [ln.parts[0].text for s in card.sections if s.key == section for ln in s.lines]


def plan_and_run(engine: Engine, at: datetime, cfg: eng.EngineConfig, worker: str = "w1") -> list[str]:
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=at, cfg=cfg)
    return eng.run_due_jobs(engine, now=at, worker=worker, cfg=cfg)


def nudges(engine: Engine, person: Person | None = None) -> list[Outbox]:
    where = [Outbox.screen == "nudge"] + ([Outbox.person_id == person.id] if person else [])
    return rows(engine, Outbox, *where)


@pytest.fixture
def cfg(tmp_path: Path) -> eng.EngineConfig:
    return eng.EngineConfig(chart_dir=tmp_path / "charts")


@pytest.fixture
def reg(session: Session) -> Reg:
    return Reg(session)


# --- 1. scheduling ------------------------------------------------------------------------------
@pytest.fixture
def three_people(reg: Reg):
    """Ann (two plans, three due actions and one freshly updated), Bob and Cy (one each); two
    plans with digest channels and an owner."""
    owner = reg.person("Olive Owner", slack_user_id="UOWNER")
    ann, bob, cy = reg.person("Ann Able"), reg.person("Bob Baker", slack_user_id="UBOB"), reg.person("Cy Cole", teams_user_id="29:cy")
    p1 = reg.plan("Children's services improvement plan", slug="cs", digest_channels=["slack:C1", "teams:19:x"], owner_id=owner.id)
    p2 = reg.plan("SEND written statement of action", slug="send", digest_channels=["slack:C2"])
    reg.action(p1, "1.1", owner=ann)
    reg.action(p1, "1.2", owner=ann, target=date(2026, 10, 31))
    reg.action(p2, "2.4", owner=ann)
    fresh = reg.action(p2, "2.5", owner=ann)
    reg.action(p1, "3.1", owner=bob)
    reg.action(p2, "3.2", owner=cy)
    reg.update(p2, fresh, by=ann, at=MON - timedelta(days=1), text="Going well", status=Status.IN_PROGRESS)
    reg.commit()
    return ann, bob, cy, owner, p1, p2


def test_plan_jobs_twice_leaves_one_job_per_person_per_day_and_one_digest_per_plan(engine, three_people, cfg):
    ann, bob, cy, _owner, p1, p2 = three_people
    with session_scope(engine) as s:
        first = eng.plan_jobs(s, now=MON, cfg=cfg)
    with session_scope(engine) as s:
        again = eng.plan_jobs(s, now=MON, cfg=cfg)
    with session_scope(engine) as s:  # later the same day, nothing run yet: the same keys
        later = eng.plan_jobs(s, now=MON + timedelta(hours=3), cfg=cfg)
    jobs = rows(engine, Job)
    keys = sorted(j.key for j in jobs)
    assert first == 5 and again == 0 and later == 0
    assert keys == sorted([f"nudge:{ann.id}:2026-11-23", f"nudge:{bob.id}:2026-11-23", f"nudge:{cy.id}:2026-11-23",
                           f"digest:{p1.id}:2026-11-30", f"digest:{p2.id}:2026-11-30"])
    nudge_jobs = [j for j in jobs if j.kind == "nudge"]
    assert {aware(j.due_at) for j in nudge_jobs} == {MON}
    assert {j.payload["person_id"] for j in nudge_jobs} == {ann.id, bob.id, cy.id}
    # The digest's key names the digest day: planning again on Wednesday adds nothing.
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=MON + timedelta(days=2, hours=-1), cfg=cfg)
    assert len([j for j in rows(engine, Job) if j.kind == "digest"]) == 2


def test_two_workers_planning_at_once_insert_each_job_once(db_url, engine, three_people, cfg):
    engines = [make_engine(db_url) for _ in range(4)]
    gate = threading.Barrier(len(engines))
    created: list[int] = []
    errors: list[BaseException] = []

    def planner(e: Engine) -> None:
        try:
            gate.wait(timeout=10)
            with session_scope(e) as s:
                created.append(eng.plan_jobs(s, now=MON, cfg=cfg))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=planner, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    assert not errors, errors
    assert sum(created) == 5 and len(rows(engine, Job)) == 5


def test_a_nudge_job_becomes_one_message_listing_all_the_persons_due_actions(engine, three_people, cfg):
    ann, _bob, _cy, _owner, _p1, _p2 = three_people
    plan_and_run(engine, MON, cfg)
    mine = nudges(engine, ann)
    assert len(mine) == 1
    msg = mine[0]
    assert (msg.platform, msg.target, msg.status) == ("console", str(ann.id), "pending")  # no chat account: the console
    assert sorted(refs_in(msg.view)) == ["1.1", "1.2", "2.4"]  # both plans, not the freshly updated 2.5
    assert "3 actions due an update" in card_text(msg.view)
    assert {(m.platform, m.target) for m in nudges(engine)} == {("console", str(ann.id)), ("slack", "UBOB"), ("teams", "29:cy")}
    assert all(j.status == "done" for j in rows(engine, Job, Job.kind == "nudge"))
    st = state_of(engine, ann)
    assert st is not None and aware(st.last_nudged_at) == MON and st.unanswered_count == 1
    # Running again, and planning and running again later the same day, sends nothing more.
    eng.run_due_jobs(engine, now=MON + timedelta(minutes=1), worker="w2", cfg=cfg)
    plan_and_run(engine, MON + timedelta(hours=5), cfg)
    assert len(nudges(engine, ann)) == 1 and len(nudges(engine)) == 3
    tomorrow = [j for j in rows(engine, Job, Job.kind == "nudge", Job.status == "pending")]
    assert {aware(j.due_at) for j in tomorrow} == {datetime(2026, 11, 24, 9, 0, tzinfo=UTC)}
    # Tuesday: the next day's nudge goes.
    plan_and_run(engine, datetime(2026, 11, 24, 9, 0, tzinfo=UTC), cfg)
    assert len(nudges(engine, ann)) == 2


def test_a_nudge_line_shows_the_rating_a_person_sees_reported_else_suggested(engine, reg, cfg):
    """The nudge marks each action with the one rating every other output shows: 1.2 is a
    month overdue with nothing reported, so the rules' Red, marked as suggested; 1.3's
    reported Green stands as reported."""
    ann = reg.person("Ann Able")
    p1 = reg.plan("Children's services improvement plan", slug="cs")
    reg.action(p1, "1.2", owner=ann, target=date(2026, 10, 31))
    reported = reg.action(p1, "1.3", owner=ann, target=date(2026, 10, 30))
    reg.update(p1, reported, by=ann, at=MON - timedelta(days=40), text="On track", rag=Rag.GREEN)
    reg.commit()
    plan_and_run(engine, MON, cfg)
    card = Card.from_dict(nudges(engine, ann)[0].view)
    lines = {ln.parts[0].text: ln for s in card.sections for ln in s.lines}
    assert lines["1.2"].rag == Rag.RED and "Red (suggested)" in lines["1.2"].plain
    assert lines["1.3"].rag == Rag.GREEN and "suggested" not in lines["1.3"].plain


def test_two_jobs_for_the_same_person_send_one_nudge_that_day(engine, three_people, cfg):
    """Monday's job was never run (worker down); on Tuesday a new job is planned too. Both are
    due: the person still gets one nudge, and the other job moves to the next working day."""
    ann, *_ = three_people
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=MON - timedelta(hours=1), cfg=cfg)  # Monday 09:00 job
    tue = MON + timedelta(days=1)
    plan_and_run(engine, tue, cfg)
    assert len(nudges(engine, ann)) == 1
    jobs = rows(engine, Job, Job.kind == "nudge", col(Job.key).startswith(f"nudge:{ann.id}:"))
    assert sorted(j.status for j in jobs) == ["done", "pending"]
    moved = next(j for j in jobs if j.status == "pending")
    assert aware(moved.due_at) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC) and "not a nudge time" in moved.last_error


def test_concurrent_runs_of_two_jobs_for_one_person_send_one_nudge(db_url, engine, three_people, cfg):
    """Two workers each run one of a person's two due jobs at the same moment (one holds its
    transaction open while the other runs): still at most one nudge that day."""
    ann, *_ = three_people
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=MON - timedelta(hours=1), cfg=cfg)
        eng.plan_jobs(s, now=MON + timedelta(days=1), cfg=cfg)  # a second job for the same person
    tue = MON + timedelta(days=1)
    with session_scope(engine) as s:
        claimed = [j.id for j in schedule.claim_jobs(s, worker="w", now=tue, limit=50)
                   if j.kind == "nudge" and j.payload["person_id"] == ann.id]
    assert len(claimed) == 2
    other = make_engine(db_url)
    errors: list[BaseException] = []
    first = Session(engine, expire_on_commit=False)
    try:
        job1 = first.get(Job, claimed[0])
        eng.run_job(first, job1, now=tue, cfg=cfg)  # transaction still open

        def second() -> None:
            try:
                with session_scope(other) as s2:
                    job2 = s2.get(Job, claimed[1])
                    eng.run_job(s2, job2, now=tue, cfg=cfg)
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=second)
        t.start()
        _wait_until_blocked(engine, t)  # the second worker has done its reads and now waits on the first
        first.commit()
        t.join(timeout=30)
        assert not t.is_alive()
    finally:
        first.close()
        other.dispose()
    assert len(nudges(engine, ann)) == 1, f"two nudges on one day (second worker: {errors or 'no error'})"


def _wait_until_blocked(engine: Engine, t: threading.Thread) -> None:
    """Until the thread's transaction waits on a lock held by another (PostgreSQL); on SQLite
    it waits for the write lock at BEGIN, which cannot be observed: give it a moment."""
    if engine.dialect.name != "postgresql":
        t.join(timeout=0.3)
        return
    deadline = time.monotonic() + 20
    with engine.connect() as c:
        while time.monotonic() < deadline and t.is_alive():
            waiting = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock'")).scalar()
            c.rollback()
            if waiting:
                return
            t.join(timeout=0.01)
    raise AssertionError("the second worker never waited for the first")


def test_working_hours_are_the_persons_own(engine, reg, cfg):
    p = reg.plan("Plan", slug="p")
    ny = reg.person("Nia York", timezone="America/New_York")
    ldn = reg.person("Len Don")
    reg.action(p, "1", owner=ny)
    reg.action(p, "2", owner=ldn)
    reg.commit()
    plan_and_run(engine, MON, cfg)  # 10:00 London, 05:00 New York
    assert [m.person_id for m in nudges(engine)] == [ldn.id]
    job = rows(engine, Job, Job.key == f"nudge:{ny.id}:2026-11-23")[0]
    assert job.status == "pending" and aware(job.due_at) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 EST
    eng.run_due_jobs(engine, now=datetime(2026, 11, 23, 13, 59, tzinfo=UTC), worker="w", cfg=cfg)
    assert len(nudges(engine, ny)) == 0
    plan_and_run(engine, datetime(2026, 11, 23, 14, 0, tzinfo=UTC), cfg)
    assert len(nudges(engine, ny)) == 1


def test_nothing_is_sent_at_weekends_or_on_bank_holidays(engine, reg, cfg):
    p = reg.plan("Plan", slug="p")
    ann = reg.person("Ann")
    reg.action(p, "1", owner=ann)
    reg.commit()
    sat = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    plan_and_run(engine, sat, cfg)
    assert nudges(engine) == []
    assert [aware(j.due_at) for j in rows(engine, Job, Job.kind == "nudge")] == [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    # Christmas: planned on Christmas Eve for 10:00, but the worker only claims it on Christmas Day.
    eve = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add(NudgeStateRow(person_id=ann.id, last_nudged_at=eve - timedelta(days=1)))
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=eve, cfg=cfg)
    job = rows(engine, Job, Job.key == f"nudge:{ann.id}:2026-12-24")[0]
    assert aware(job.due_at) == eve
    for day in (25, 26, 27, 28):  # Fri 25 Christmas, Sat, Sun, Mon 28 Boxing Day (substitute)
        at = datetime(2026, 12, day, 10, 0, tzinfo=UTC)
        eng.run_due_jobs(engine, now=at, worker="w", cfg=cfg)
        with session_scope(engine) as s:
            eng.plan_jobs(s, now=at, cfg=cfg)
    assert nudges(engine) == []
    pending = rows(engine, Job, Job.kind == "nudge", Job.status == "pending")
    assert {aware(j.due_at) for j in pending} == {datetime(2026, 12, 29, 9, 0, tzinfo=UTC)}
    plan_and_run(engine, datetime(2026, 12, 29, 9, 0, tzinfo=UTC), cfg)
    assert len(nudges(engine, ann)) == 1


def test_nothing_is_sent_while_away(engine, reg, cfg):
    p = reg.plan("Plan", slug="p")
    ann = reg.person("Ann", away_until=date(2026, 11, 25))
    reg.action(p, "1", owner=ann)
    reg.commit()
    for at in (MON, MON + timedelta(days=1), MON + timedelta(days=2)):
        plan_and_run(engine, at, cfg)
    assert nudges(engine) == []
    plan_and_run(engine, datetime(2026, 11, 26, 9, 0, tzinfo=UTC), cfg)  # back on Thursday
    assert len(nudges(engine, ann)) == 1


def test_a_snooze_read_from_a_reply_moves_the_next_nudge(engine, reg, cfg):
    p = reg.plan("Plan", slug="p")
    ann = reg.person("Ann")
    reg.action(p, "1", owner=ann)
    reg.commit()
    early = MON - timedelta(hours=2)  # 08:00: Monday's job is planned for 09:00...
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=early, cfg=cfg)
    with session_scope(engine) as s:  # ...and Ann answers "remind me Wednesday" first
        person = s.get(Person, ann.id)
        out = replies.read(s, person=person, text="remind me Wednesday", channel=Channel.CONSOLE, now=early)
    assert "Wed 25 Nov 09:00" in card_text(out.card.to_dict()) and out.token is None
    assert aware(state_of(engine, ann).snoozed_until) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    for at in (MON - timedelta(hours=1), MON, MON + timedelta(days=1)):
        plan_and_run(engine, at, cfg)
    assert nudges(engine) == []
    assert {aware(j.due_at) for j in rows(engine, Job, Job.status == "pending", Job.kind == "nudge")} == {
        datetime(2026, 11, 25, 9, 0, tzinfo=UTC)}
    plan_and_run(engine, datetime(2026, 11, 25, 9, 0, tzinfo=UTC), cfg)
    assert len(nudges(engine, ann)) == 1


def test_a_nudge_claimed_outside_working_time_is_rescheduled_not_sent(engine, reg, cfg):
    p = reg.plan("Plan", slug="p")
    ann = reg.person("Ann")
    reg.action(p, "1", owner=ann)
    reg.commit()
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=MON, cfg=cfg)  # due 10:00
    evening = MON.replace(hour=18)
    results = eng.run_due_jobs(engine, now=evening, worker="late", cfg=cfg)  # the worker was down all day
    assert results == ["moved to 2026-11-24T09:00:00+00:00"]
    assert nudges(engine) == []
    job = rows(engine, Job, Job.kind == "nudge")[0]
    assert job.status == "pending" and aware(job.due_at) == datetime(2026, 11, 24, 9, 0, tzinfo=UTC) and job.lease_until is None
    eng.run_due_jobs(engine, now=datetime(2026, 11, 24, 9, 0, tzinfo=UTC), worker="w", cfg=cfg)
    assert len(nudges(engine, ann)) == 1


@pytest.mark.parametrize("has_manager", [True, False], ids=["manager", "plan-owner"])
def test_escalation_is_private_to_the_manager_or_plan_owner_and_answering_resets(engine, reg, cfg, has_manager):
    mgr = reg.person("Mo Manager", slack_user_id="UMGR")
    owner = reg.person("Olive Owner", teams_user_id="29:olive")
    ann = reg.person("Ann", slack_user_id="UANN", manager_id=mgr.id if has_manager else None)
    p = reg.plan("Plan", slug="p", digest_channels=["slack:CPUBLIC", "teams:19:public"], owner_id=owner.id)
    a = reg.action(p, "1.1", owner=ann)
    reg.action(p, "1.2", owner=ann)
    reg.commit()
    days = [datetime(2026, 11, d, 9, 30, tzinfo=UTC) for d in (23, 24, 25, 26)]  # Mon..Thu
    for at in days[:2]:
        plan_and_run(engine, at, cfg)
    assert rows(engine, Outbox, Outbox.screen == "escalation") == []  # two unanswered: not yet
    assert state_of(engine, ann).unanswered_count == 2
    plan_and_run(engine, days[2], cfg)  # the third nudge goes with the escalation
    esc = rows(engine, Outbox, Outbox.screen == "escalation")
    to = mgr if has_manager else owner
    assert [(m.platform, m.target, m.person_id) for m in esc] == [
        ("slack", "UMGR", mgr.id) if has_manager else ("teams", "29:olive", owner.id)]
    card = Card.from_dict(esc[0].view)
    assert card.private and "Ann has not answered 2 reminders" in card.title.plain and sorted(refs_in(esc[0].view, "actions")) == ["1.1", "1.2"]
    # Never to a channel: every message is a direct one to a person.
    for m in rows(engine, Outbox):
        if m.screen != "digest":
            assert m.person_id is not None and m.target not in ("CPUBLIC", "19:public")
    assert aware(state_of(engine, ann).escalated_at) == days[2]
    plan_and_run(engine, days[3], cfg)  # once per run of silence
    assert len(rows(engine, Outbox, Outbox.screen == "escalation")) == 1 and len(nudges(engine, ann)) == 4
    assert to.id != ann.id
    # Ann answers: the count and the escalation start again.
    with Session(engine, expire_on_commit=False) as s:
        r = Reg(s)
        r.update(s.get(Plan, p.id), s.get(Action, a.id), by=s.get(Person, ann.id), at=days[3] + timedelta(hours=1), text="On it")
        s.commit()
    st = state_of(engine, ann)
    assert st.unanswered_count == 0 and st.escalated_at is None and aware(st.last_answered_at) == days[3] + timedelta(hours=1)
    for d in (27, 30):  # Fri, Mon: 1.2 still due; two more nudges, no escalation yet
        plan_and_run(engine, datetime(2026, 11, d, 9, 30, tzinfo=UTC), cfg)
    assert len(nudges(engine, ann)) == 6 and len(rows(engine, Outbox, Outbox.screen == "escalation")) == 1
    assert refs_in(nudges(engine, ann)[-1].view) == ["1.2"]


# --- 2. digests and clock changes ------------------------------------------------------------
def test_digest_goes_to_each_channel_and_a_private_copy_to_the_owner_only(engine, reg, cfg):
    owner = reg.person("Olive Owner", slack_user_id="UOWNER")
    sam = reg.person("Sam Stale")
    p = reg.plan("Children's services improvement plan", slug="cs", digest_channels=["slack:C1", "teams:19:x"], owner_id=owner.id)
    reg.action(p, "1.1", owner=sam, text="Refresh the supervision policy")  # no target, no update for 90 days
    reg.commit()
    digest_at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        assert eng.plan_jobs(s, now=MON, cfg=cfg) >= 1
    eng.run_due_jobs(engine, now=MON, worker="w", cfg=cfg)
    assert rows(engine, Outbox, Outbox.screen == "digest") == []  # not Monday 09:00 yet
    eng.run_due_jobs(engine, now=digest_at, worker="w", cfg=cfg)
    digests = rows(engine, Outbox, Outbox.screen == "digest")
    by_target = {(m.platform, m.target): m for m in digests}
    assert set(by_target) == {("slack", "C1"), ("teams", "19:x"), ("slack", "UOWNER")}
    private = by_target[("slack", "UOWNER")]
    assert private.person_id == owner.id and private.view["private"] is True
    for ch in (("slack", "C1"), ("teams", "19:x")):
        public = by_target[ch]
        assert public.person_id is None and public.view["private"] is False
        text = json.dumps(public.view)
        assert "Sam Stale" not in text
        assert "1 open action (1 person). The plan owner has the details." in card_text(public.view)
    assert "Sam Stale: 1.1" in card_text(private.view)
    # Nobody else gets a copy, and the chart was drawn where configured.
    assert {m.person_id for m in digests} == {None, owner.id}
    assert private.view["chart_path"] and Path(private.view["chart_path"]).parent == cfg.chart_dir


def test_the_weekly_digest_keeps_its_trend_and_the_next_shows_those_weeks_as_reported(engine, reg, cfg):
    """The digest job keeps the trend points it reported (digest_week). The next week's digest
    shows those weeks as they were reported, though the register has changed since (an
    action removed, which a rebuilt week would no longer count), and works out only the new
    week. A week kept keeps its first report."""
    p = reg.plan("Children's services improvement plan", slug="cs", digest_channels=["slack:C1"])
    gone = reg.action(p, "1.1", target=date(2026, 10, 1))  # past its target: Red on every trend day
    reg.action(p, "1.2", target=date(2027, 6, 1))  # Green
    reg.commit()
    first = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 09:00 GMT: the digest to the end of Sunday 29 Nov

    def kept() -> list[tuple[date, dict[str, int]]]:
        return [(w.week_ending, {"B": w.blue, "G": w.green, "A": w.amber, "R": w.red, "none": w.unrated})
                for w in rows(engine, DigestWeek, order=DigestWeek.week_ending)]

    def trend(as_of: date) -> list[tuple[date, dict[str, int]]]:
        with Session(engine) as s:
            return [(t.week_ending, t.counts) for t in eng.digest_for(s, s.get(Plan, p.id), as_of=as_of, cfg=cfg).trend]

    plan_and_run(engine, first, cfg)
    reported = kept()
    assert reported == trend(date(2026, 11, 29)) and len(reported) == 8
    assert [c["R"] for _, c in reported] == [1] * 8 and [c["G"] for _, c in reported] == [1] * 8
    with session_scope(engine) as s:  # a re-import drops 1.1
        s.get(Action, gone.id).removed = True
    plan_and_run(engine, first + timedelta(days=7), cfg)
    shown = trend(date(2026, 12, 6))
    assert shown[:7] == reported[1:]  # the seven weeks already reported, as reported: 1.1 counted Red
    assert shown[7] == (date(2026, 12, 6), {"B": 0, "G": 1, "A": 0, "R": 0, "none": 0})  # the new week, worked out now
    assert kept() == reported + shown[7:]
    with session_scope(engine) as s:
        assert repo.record_digest_weeks(s, p.id, [(date(2026, 11, 29), {"B": 5, "G": 5, "A": 5, "R": 5, "none": 5})], now=first) == 0
    assert kept() == reported + shown[7:]


@pytest.mark.parametrize(
    "now, expected",
    [
        (datetime(2026, 3, 29, 12, 0, tzinfo=UTC), datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),  # clocks went forward: 09:00 BST
        (datetime(2026, 3, 23, 9, 30, tzinfo=UTC), datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),  # planned a week ahead in GMT
        (datetime(2026, 3, 30, 8, 0, tzinfo=UTC), datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),  # at the moment itself
        (datetime(2026, 3, 30, 8, 1, tzinfo=UTC), datetime(2026, 4, 6, 8, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 12, 0, tzinfo=UTC), datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),  # clocks went back: 09:00 GMT
        (datetime(2026, 10, 19, 8, 30, tzinfo=UTC), datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),  # planned in BST, after 09:00 BST
    ],
)
def test_next_digest_time_keeps_nine_o_clock_london_across_clock_changes(now, expected, cfg):
    plan = Plan(id=1, org_id=1, slug="p", timezone="Europe/London")
    assert eng.next_digest_time(plan, now=now, cfg=cfg) == expected


def test_planned_digest_and_nudges_follow_each_timezones_clock_changes(engine, session, cfg):
    reg = Reg(session, now=datetime(2025, 12, 1, tzinfo=UTC))  # the action is due all year
    owner = reg.person("Olive Owner")
    ny = reg.person("Nia York", timezone="America/New_York")
    p = reg.plan("Plan", slug="p", digest_channels=["slack:C1"], owner_id=owner.id)
    reg.action(p, "1", owner=ny)
    reg.commit()
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=datetime(2026, 3, 29, 12, 0, tzinfo=UTC), cfg=cfg)  # Sunday, first day of BST
    job = rows(engine, Job, Job.kind == "digest")[0]
    assert job.key == f"digest:{p.id}:2026-03-30" and aware(job.due_at) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    # New York: EDT since 8 March, so Monday 09:00 there is 13:00 UTC.
    nj = rows(engine, Job, Job.kind == "nudge")[0]
    assert nj.key == f"nudge:{ny.id}:2026-03-30" and aware(nj.due_at) == datetime(2026, 3, 30, 13, 0, tzinfo=UTC)
    # Late October: London is back on GMT (25 Oct), New York still on EDT until 1 Nov.
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=datetime(2026, 10, 25, 12, 0, tzinfo=UTC), cfg=cfg)
    dj = rows(engine, Job, Job.key == f"digest:{p.id}:2026-10-26")[0]
    nj = rows(engine, Job, Job.key == f"nudge:{ny.id}:2026-10-26")[0]
    assert aware(dj.due_at) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert aware(nj.due_at) == datetime(2026, 10, 26, 13, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=datetime(2026, 11, 1, 12, 0, tzinfo=UTC), cfg=cfg)  # New York on EST now
    nj = rows(engine, Job, Job.key == f"nudge:{ny.id}:2026-11-02")[0]
    assert aware(nj.due_at) == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    # Run at 13:00 UTC on 2 Nov (08:00 in New York): not sent, moved to 14:00.
    eng.run_due_jobs(engine, now=datetime(2026, 11, 2, 13, 0, tzinfo=UTC), worker="w", cfg=cfg)
    eng.run_due_jobs(engine, now=datetime(2026, 11, 2, 13, 30, tzinfo=UTC), worker="w", cfg=cfg)
    assert nudges(engine, ny) == []
    eng.run_due_jobs(engine, now=datetime(2026, 11, 2, 14, 0, tzinfo=UTC), worker="w", cfg=cfg)
    assert len(nudges(engine, ny)) == 1


# --- 3. delivery ------------------------------------------------------------------------------
@dataclass
class RecordingPort:
    """A chat platform at the port boundary: records what was sent; can be told to fail."""

    platform: str = "slack"
    fail: Exception | None = None
    sent: list[tuple[str, Card]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def send(self, target: str, card: Card) -> Sent:
        await asyncio.sleep(0)  # let another delivery interleave here
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.sent.append((target, card))
            return Sent(ref=f"ts-{len(self.sent)}")

    async def update(self, target: str, ref: str, card: Card) -> Sent:
        return await self.send(target, card)


def _queue(engine: Engine, n: int, *, platform: str = "slack", at: datetime = MON) -> None:
    with session_scope(engine) as s:
        org = repo.get_or_create_org(s, "leeds")
        for i in range(n):
            card = Card(screen="notice", title=Line.of(f"message {i}"))
            schedule.enqueue_message(s, org_id=org.id or 0, key=f"m{i}", platform=platform, target=f"U{i}", screen="notice",
                                     view=card.to_dict(), now=at)


async def test_delivery_success_retry_after_and_permanent_failure(engine):
    _queue(engine, 1)
    limited = RecordingPort(fail=DeliveryError("rate limited", retry_after=30))
    assert await eng.deliver(engine, {"slack": limited}, now=MON, worker="w") == 0
    (m,) = rows(engine, Outbox)
    assert m.status == "pending" and aware(m.next_attempt_at) == MON + timedelta(seconds=30)
    assert m.last_error == "rate limited" and m.attempts == 1 and m.lease_until is None
    assert await eng.deliver(engine, {"slack": RecordingPort()}, now=MON + timedelta(seconds=29), worker="w") == 0  # not yet
    flaky = RecordingPort(fail=DeliveryError("bad gateway"))  # no Retry-After: backoff
    assert await eng.deliver(engine, {"slack": flaky}, now=MON + timedelta(seconds=30), worker="w") == 0
    (m,) = rows(engine, Outbox)
    assert m.status == "pending" and aware(m.next_attempt_at) == MON + timedelta(seconds=30) + schedule.backoff(2) and m.attempts == 2
    ok = RecordingPort()
    assert await eng.deliver(engine, {"slack": ok}, now=MON + timedelta(minutes=5), worker="w") == 1
    (m,) = rows(engine, Outbox)
    assert m.status == "sent" and m.platform_ref == "ts-1" and aware(m.sent_at) == MON + timedelta(minutes=5)
    assert [t for t, _ in ok.sent] == ["U0"] and ok.sent[0][1].title.plain == "message 0"
    assert await eng.deliver(engine, {"slack": ok}, now=MON + timedelta(hours=1), worker="w") == 0 and len(ok.sent) == 1

    with session_scope(engine) as s:
        schedule.enqueue_message(s, org_id=m.org_id, key="gone", platform="slack", target="UGONE", screen="notice",
                                 view=m.view, now=MON)
    gone = RecordingPort(fail=DeliveryError("user_not_found", permanent=True))
    assert await eng.deliver(engine, {"slack": gone}, now=MON + timedelta(hours=2), worker="w") == 0
    (g,) = rows(engine, Outbox, Outbox.key == "gone")
    assert g.status == "failed" and g.last_error == "user_not_found" and g.sent_at is None
    assert await eng.deliver(engine, {"slack": RecordingPort()}, now=MON + timedelta(days=1), worker="w") == 0  # never retried


async def test_delivery_gives_up_after_max_attempts(engine):
    _queue(engine, 1)
    port = RecordingPort(fail=DeliveryError("timeout"))
    at = MON
    for _ in range(schedule.MAX_ATTEMPTS):
        await eng.deliver(engine, {"slack": port}, now=at, worker="w")
        at += timedelta(hours=2)
    (m,) = rows(engine, Outbox)
    assert m.status == "failed" and m.attempts == schedule.MAX_ATTEMPTS and m.last_error == "timeout"


async def test_an_unexpected_port_error_does_not_stop_the_other_messages(engine):
    _queue(engine, 3)

    class Broken(RecordingPort):
        async def send(self, target: str, card: Card) -> Sent:
            if target == "U1":
                raise RuntimeError("connection reset")
            return await super().send(target, card)

    port = Broken()
    sent = await eng.deliver(engine, {"slack": port}, now=MON, worker="w")
    assert sent == 2 and sorted(t for t, _ in port.sent) == ["U0", "U2"]
    bad = rows(engine, Outbox, Outbox.target == "U1")[0]
    assert bad.status == "pending" and "connection reset" in bad.last_error and aware(bad.next_attempt_at) > MON


async def test_a_message_claimed_by_a_dead_worker_waits_for_its_lease(engine):
    _queue(engine, 1)
    with session_scope(engine) as s:
        assert len(schedule.claim_messages(s, worker="dead", now=MON, platforms=("slack",))) == 1
    port = RecordingPort()
    assert await eng.deliver(engine, {"slack": port}, now=MON + schedule.LEASE - timedelta(seconds=1), worker="w") == 0
    assert await eng.deliver(engine, {"slack": port}, now=MON + schedule.LEASE + timedelta(seconds=1), worker="w") == 1
    (m,) = rows(engine, Outbox)
    assert m.status == "sent" and m.claimed_by == "w" and m.attempts == 2


def test_two_concurrent_deliveries_never_send_a_message_twice(db_url, engine):
    _queue(engine, 40)
    port = RecordingPort()
    engines = [make_engine(db_url) for _ in range(2)]
    gate = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def worker(e: Engine, name: str) -> None:
        async def loop() -> None:
            total = 0
            while n := await eng.deliver(e, {"slack": port}, now=MON, worker=name, limit=3):
                total += n
            counts.append(total)

        try:
            gate.wait(timeout=10)
            asyncio.run(loop())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(e, f"w{i}")) for i, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    assert not errors, errors
    targets = [t for t, _ in port.sent]
    assert sorted(targets) == sorted(f"U{i}" for i in range(40))  # each exactly once
    assert sum(counts) == 40
    assert {m.status for m in rows(engine, Outbox)} == {"sent"}
    assert {m.claimed_by for m in rows(engine, Outbox)} <= {"w0", "w1"}
