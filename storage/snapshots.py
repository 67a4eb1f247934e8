"""The register read as domain snapshots, for the engine's rules (due scan, digest).

These are the engine's hot reads: over a whole organisation, every few minutes. They run plain
SQL through the bare driver (storage.rawdb: a SQLModel session's own connection and
transaction, or a read-only connection a one-shot command opens without SQLAlchemy) and build
the frozen snapshots straight from the driver's tuples, just the needed columns:

- a fixed number of queries whatever the size: plans, people, all the plans' owners and
  delegates, all their actions (priority refs joined in), nudge state. No query per plan or
  per action, no IN list of action ids: a plan's updates are read by joining on the plan
  (load_updates_for_plan);
- enum values through dict lookups rather than ``Status(...)``/``Rag(...)`` calls;
- stored times (UTC, see ``storage.tables.UTCDateTime``) become aware datetimes with
  ``datetime.UTC`` itself as their timezone, the same values the column type gives without
  its Python call per value: on SQLite the stored text with "+00:00" appended, parsed by one
  C call (``datetime.fromisoformat``); on PostgreSQL the driver's own timestamptz values,
  which psycopg already gives in ``datetime.UTC`` in the UTC sessions both ways of connecting
  open (no text round trip). Values in ``datetime.UTC`` keep later comparisons cheap: a
  ``ZoneInfo`` UTC made every comparison with a UTC cutoff call ``utcoffset()`` twice;
- the cyclic garbage collector is paused while the snapshots are built: they hold no reference
  cycles, and with a big register already in memory its passes cost a third of the load.

The SQL names the tables of storage.tables; tests/test_snapshots.py holds every read to the
ORM's own reading of the same rows, on both databases.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from bot.domain.digest import Change
from bot.domain.due import NudgeState
from bot.domain.model import (
    ActionSnapshot,
    Cadence,
    Channel,
    PersonSnapshot,
    PlanSnapshot,
    Rag,
    RagScheme,
    Status,
    UpdateSnapshot,
)
from bot.domain.rag import RAG_KEYS
from storage.rawdb import Db, as_db

_STATUS: dict[str | None, Status | None] = {None: None, "": None, **{s.value: s for s in Status}}
_ACTION_STATUS: dict[str, Status] = {s.value: s for s in Status}  # an action always has one
_RAG: dict[str | None, Rag | None] = {None: None, "": None, **{r.value: r for r in Rag}}
_CHANNEL: dict[str, Channel] = {c.value: c for c in Channel}
# Snapshots are built many thousand at a time. An ActionSnapshot is a named tuple: made with
# tuple.__new__ on its values in field order. An UpdateSnapshot is a frozen dataclass: each new
# instance's __dict__ is filled with every field, in order (equal, hashing alike, as its
# generated __init__ makes it, without an object.__setattr__ call per field).
_UPDATE_FIELDS = tuple(f.name for f in fields(UpdateSnapshot))
assert ActionSnapshot._fields == ("id", "plan_id", "ref", "text", "status", "rag", "priority_ref", "lead_text", "owner_ids",
                                  "delegate_ids", "original_target", "original_target_raw", "revised_target", "last_update_at",
                                  "returned_at", "created_at", "version", "last_answer_at")  # the order _actions gives them
assert "__slots__" not in vars(UpdateSnapshot)  # it keeps a __dict__
_IDS_PER_QUERY = 1000  # load_updates(ids): keeps every IN list well under the drivers' limits
_IMPORT = Channel.IMPORT.value

Source = Any  # a SQLModel Session (its connection and transaction) or a storage.rawdb.Db


@dataclass
class RegisterView:
    plans: dict[int, PlanSnapshot]
    slugs: dict[int, str]  # each plan's slug, by id
    actions: list[ActionSnapshot]
    people: dict[int, PersonSnapshot]  # with their chat addresses (slack_user_id, teams_user_id)
    state: dict[int, NudgeState]


def load_register(source: Source, org_id: int, *, plan_id: int | None = None, person_id: int | None = None) -> RegisterView:
    """The organisation's live plans (or just `plan_id`, if live), their actions that are not
    removed (by plan, then in register order), its people and their nudge state.

    With `person_id`, only the actions that person could be nudged about: those they own, and
    every action of the plans they own (where unowned actions go). Enough to plan that one
    person's nudge without reading the whole register."""
    db = as_db(source)
    plans, slugs, owners = {}, {}, {}
    for row in plan_rows(db, org_id=org_id, plan_id=plan_id):
        plans[row[0]], slugs[row[0]], owners[row[0]] = _plan_snapshot(db, row), row[1], row[7]
    with paused_gc():
        owned_plans = [i for i, o in owners.items() if o == person_id] if person_id is not None else None
        actions = _actions(db, list(plans), person_id=person_id, owned_plans=owned_plans) if plans else []
    return RegisterView(plans=plans, slugs=slugs, actions=actions, people=load_people(db, org_id), state=_nudge_state(db, org_id))


def load_updates(source: Source, action_ids: Sequence[int]) -> list[UpdateSnapshot]:
    """The whole update history of the given actions (in no particular order). For all the
    actions of a plan, load_updates_for_plan reads the same rows with one query."""
    db = as_db(source)
    ids = list(dict.fromkeys(action_ids))
    out: list[UpdateSnapshot] = []
    for i in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[i : i + _IDS_PER_QUERY]
        out += _updates(db, f"u.action_id IN ({', '.join('?' * len(chunk))})", chunk, join=False)
    return out


def load_updates_for_plan(source: Source, plan_id: int, *, with_text: bool = True) -> list[UpdateSnapshot]:
    """The whole update history of a plan's actions that are not removed (in no particular
    order): for a live plan, the same rows as ``load_updates(session, [a.id for a in
    load_register(session, org_id, plan_id=plan_id).actions])``, read with one join.

    ``with_text=False`` leaves out the progress text and period label (empty strings): what
    the digest reads, which needs only when each status, rating and target changed."""
    return _updates(as_db(source), "a.plan_id = ? AND NOT a.removed", [plan_id], join=True, with_text=with_text)


def load_for_digest(source: Source, plan_id: int, org_id: int) -> tuple[list[ActionSnapshot], dict[int, list[Change]], dict[int, PersonSnapshot]]:
    """What the digest of a live plan reads: its actions as ``load_register(session, org,
    plan_id=plan_id).actions`` gives them, their whole history as build_digest reads it (the
    updates ``load_updates_for_plan(session, plan_id)`` gives, as
    ``bot.domain.digest.trails_of`` groups them: each action's (at, status, rag,
    revised_target), no snapshot per update), and the organisation's people as snapshots (no
    nudge state). Each action's last answer is taken from those updates (the latest not
    imported) instead of a query per action."""
    db = as_db(source)
    answers: dict[int, datetime] = {}
    with paused_gc():
        trails = _trails(db, plan_id, answers)
        actions = _actions(db, [plan_id], answers=answers)
    return actions, trails, load_people(db, org_id)


# --------------------------------------------------------------------------- plans and people

PLAN_COLUMNS = "id, slug, title, rag_scheme, cadence, timezone, due_soon_days, owner_id, signoff_stages, {created_at}, chase_from, " \
               "archived, org_id, digest_channels"


def plan_rows(source: Source, *, org_id: int | None = None, plan_id: int | None = None, live: bool = True) -> list[tuple]:
    """Plans as (id, slug, title, rag_scheme, cadence, timezone, due_soon_days, owner_id,
    signoff_stages, created_at, chase_from, archived, org_id, digest_channels) as the driver
    gives them, by id: the live ones (with `live`) of `org_id` and/or just `plan_id`.
    ``plan_snapshot`` makes one a PlanSnapshot."""
    db = as_db(source)
    where, params = ["NOT archived"] if live else [], []
    if org_id is not None:
        where.append("org_id = ?")
        params.append(org_id)
    if plan_id is not None:
        where.append("id = ?")
        params.append(plan_id)
    sql = f"SELECT {PLAN_COLUMNS.format(created_at=db.moment('created_at'))} FROM plan"
    return db.rows(sql + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id", params)


def plan_snapshot(source: Source, row: tuple) -> PlanSnapshot:
    """A PlanSnapshot of a row of ``plan_rows``."""
    return _plan_snapshot(as_db(source), row)


def _plan_snapshot(db: Db, row: tuple) -> PlanSnapshot:
    pid, _slug, title, scheme, cadence, tz, soon, owner, stages, created, chase, *_ = row
    return make_plan_snapshot(id=pid, title=title, rag_scheme=scheme, cadence=cadence, timezone=tz, due_soon_days=soon,
                              owner_id=owner, signoff_stages=_json_list(stages),
                              created_at=created and _utc_of(db)(created), chase_from=chase and _day(db, chase))


def make_plan_snapshot(*, id: int, title: str, rag_scheme: str, cadence: str, timezone: str, due_soon_days: int,
                       owner_id: int | None, signoff_stages: Sequence[str], created_at: datetime | None,
                       chase_from: date | None) -> PlanSnapshot:
    """A plan's snapshot from its stored values (repo.plan_snapshot gives an ORM row's)."""
    return PlanSnapshot(id=id, title=title, rag_scheme=RagScheme(rag_scheme), cadence=Cadence.parse(cadence), timezone=timezone,
                        due_soon_days=due_soon_days, owner_id=owner_id, signoff_stages=tuple(signoff_stages),
                        created_at=created_at, chase_from=chase_from)


def plan_stages(source: Source, row: tuple) -> list[str]:
    """The sign-off stages of a row of ``plan_rows``."""
    return _json_list(row[8])


def org_id_of(source: Source, slug: str) -> int | None:
    """The id of the organisation `slug` names; None when there is none."""
    rows = as_db(source).rows("SELECT id FROM organisation WHERE slug = ?", (slug,))
    return rows[0][0] if rows else None


def plan_by_slug_or_id(source: Source, org_id: int, ident: str) -> tuple[int, str] | None:
    """A plan of the organisation as (id, timezone), by its slug or, for a number, its id: the
    first two ways repo.get_plan tries (None when neither finds it; repo.get_plan then also
    tries a piece of its title, or says which plans there are)."""
    db, ident = as_db(source), ident.strip()
    rows = db.rows("SELECT id, timezone FROM plan WHERE org_id = ? AND slug = ?", (org_id, ident))
    if not rows and ident.isdigit() and len(ident) <= 18:
        rows = db.rows("SELECT id, timezone FROM plan WHERE org_id = ? AND id = ?", (org_id, int(ident)))
    return (rows[0][0], rows[0][1]) if rows else None


def load_people(source: Source, org_id: int) -> dict[int, PersonSnapshot]:
    """The organisation's people as snapshots, in name order (as repo.list_people)."""
    db = as_db(source)
    rows = db.rows("SELECT id, display_name, timezone, away_until, manager_id, slack_user_id, teams_user_id FROM person "
                   "WHERE org_id = ? ORDER BY display_name", (org_id,))
    if db.sqlite:
        return {r[0]: PersonSnapshot(r[0], r[1], r[2], r[3] and date.fromisoformat(r[3]), *r[4:]) for r in rows}
    return {r[0]: PersonSnapshot(*r) for r in rows}


def priorities(source: Source, plan_id: int) -> list[tuple[str, str]]:
    """A plan's priorities as (ref, title), in register order (as repo.priorities)."""
    return as_db(source).rows("SELECT ref, title FROM priority WHERE plan_id = ? ORDER BY position, id", (plan_id,))


# digest_week's count columns, by the rating key each counts (read here, written by
# repo.record_digest_weeks)
WEEK_COLUMNS: dict[str, str] = dict(zip(RAG_KEYS, ("blue", "green", "amber", "red", "unrated"), strict=True))
_WEEKS_SQL = (f"SELECT week_ending, {', '.join(WEEK_COLUMNS.values())} FROM digest_week "
              "WHERE plan_id = ? AND week_ending >= ? AND week_ending <= ?")


def reported_weeks(source: Source, plan_id: int, first: date, last: date) -> dict[date, dict[str, int]]:
    """The trend points the plan's digests reported for the days `first` to `last` (the
    digest_week rows), each as counts by rating key: build_digest's `reported_weeks`."""
    db = as_db(source)
    span = (first.isoformat(), last.isoformat()) if db.sqlite else (first, last)
    rows = db.rows(_WEEKS_SQL, (plan_id, *span))
    return {_day(db, day): dict(zip(WEEK_COLUMNS, counts, strict=True)) for day, *counts in rows}


def awaiting_signoff(source: Source, plan_id: int, stages: Sequence[str]) -> list[tuple[int, str]]:
    """(action id, stage name) of every live action of the plan waiting for a sign-off
    decision, in register order: complete, with a stage left to pass."""
    if not stages:
        return []
    rows = as_db(source).rows("SELECT id, signoff_stage FROM action WHERE plan_id = ? AND status = ? AND NOT removed "
                              "ORDER BY position, id", (plan_id, Status.COMPLETE.value))
    return [(aid, stages[stage]) for aid, stage in rows if stage < len(stages)]


def _json_list(value: Any) -> list[str]:
    """A JSON list column as the driver gives it: text on SQLite, already parsed by psycopg."""
    return json.loads(value) if isinstance(value, str) else list(value or ())


def _day(db: Db, value: Any) -> date:
    return date.fromisoformat(value) if db.sqlite else value


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while many acyclic objects are made (reference counting
    still frees them). Turns the collector back on only if it was on, so a caller's own
    gc.disable() is respected. Useful around the domain's rules on a big register too.

    The switch is process-wide, so it is only thrown on the main thread with no event loop
    running there (a command, the worker's own rounds): in the server the engine runs in
    worker threads while the loop serves requests, and pausing collection under them would
    pause it for the whole process, then let one long full pass stall the loop. There it
    does nothing; the server freezes its long-lived objects after start-up instead."""
    if threading.current_thread() is not threading.main_thread() or _loop_running():
        yield
        return
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _loop_running() -> bool:
    asyncio = sys.modules.get("asyncio")  # not imported: no loop (and no import just to ask)
    return asyncio is not None and asyncio.events._get_running_loop() is not None


# --------------------------------------------------------------------------- rows to snapshots

def _same(value: datetime) -> datetime:
    return value


def _in_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _utc_of(db: Db) -> Callable[[Any], datetime]:
    """What turns a value selected by ``Db.moment`` into an aware datetime in ``datetime.UTC``:
    ``fromisoformat`` on SQLite; on PostgreSQL nothing when the session's TimeZone is UTC (as
    both ways of connecting set: psycopg then gives ``datetime.UTC`` itself), else
    ``astimezone(UTC)``."""
    if db.sqlite:
        return datetime.fromisoformat
    return _same if getattr(getattr(db.conn, "info", None), "timezone", None) is UTC else _in_utc


def _day_of(db: Db) -> Callable[[Any], date] | None:
    """What turns a stored date as the driver gives it into a ``date``: ``date.fromisoformat``
    on SQLite (the 'YYYY-MM-DD' text SQLAlchemy's Date stores there); None on PostgreSQL,
    whose driver gives dates."""
    return date.fromisoformat if db.sqlite else None


def _trails(db: Db, plan_id: int, answers: dict[int, datetime]) -> dict[int, list[Change]]:
    """The plan's live actions' updates grouped by action as the digest reads them (each
    action's in time order, those at the same moment in the order stored: as trails_of), each
    action's last answer (its latest update not imported) noted in `answers` in the same pass.

    The database gives the rows in that order (by action, time and id: for a big plan
    PostgreSQL reads them so from the index on (action_id, at, id), with no sort), so an
    action's changes arrive together
    and in order: each is appended to the list it follows, with no lookup of its action and no
    search for its place, and the latest answer is simply the last one seen."""
    rows = db.rows(f"SELECT u.action_id, {db.moment('u.at')}, u.channel, u.status, u.rag, u.revised_target "
                   "FROM action_update u JOIN action a ON a.id = u.action_id WHERE a.plan_id = ? AND NOT a.removed "
                   "ORDER BY u.action_id, u.at, u.id", (plan_id,))
    status, rag, utc, day, imported = _STATUS, _RAG, _utc_of(db), _day_of(db), _IMPORT
    out: dict[int, list[Change]] = {}
    prev, got = None, []
    if utc is _same and day is None:  # PostgreSQL in UTC sessions: the driver's moments and dates as they come
        for a, at, ch, st, rg, rt in rows:
            if a == prev:
                got.append((at, status[st], rag[rg], rt))
            else:
                got = out[a] = [(at, status[st], rag[rg], rt)]
                prev = a
            if ch != imported:
                answers[a] = at
        return out
    to_day = day or _same
    for a, at, ch, st, rg, rt in rows:
        at = utc(at)
        if a == prev:
            got.append((at, status[st], rag[rg], rt and to_day(rt)))
        else:
            got = out[a] = [(at, status[st], rag[rg], rt and to_day(rt))]
            prev = a
        if ch != imported:
            answers[a] = at
    return out


def _actions(db: Db, plan_ids: list[int], *, person_id: int | None = None,
             owned_plans: list[int] | None = None, answers: dict[int, datetime] | None = None) -> list[ActionSnapshot]:
    """The live actions of the plans; with `answers` (each action's last answer, worked out
    from its updates already read) none is asked of the database."""
    live, params = f"a.plan_id IN ({', '.join('?' * len(plan_ids))}) AND NOT a.removed", list(plan_ids)
    if person_id is not None:
        theirs = "a.id IN (SELECT action_id FROM action_person WHERE person_id = ? AND kind = 'owner')"
        params.append(person_id)
        if owned_plans:
            theirs = f"({theirs} OR a.plan_id IN ({', '.join('?' * len(owned_plans))}))"
            params += owned_plans
        live = f"{live} AND {theirs}"
    owners: dict[int, tuple[int, ...]] = {}
    delegates: dict[int, tuple[int, ...]] = {}
    for action_id, pid, kind in db.rows(f"SELECT ap.action_id, ap.person_id, ap.kind FROM action_person ap "
                                        f"JOIN action a ON a.id = ap.action_id WHERE {live}", params):
        into = owners if kind == "owner" else delegates
        got = into.get(action_id)
        into[action_id] = (pid,) if got is None else tuple(sorted((*got, pid)))

    m = db.moment
    last_answer = ("NULL" if answers is not None else
                   m(f"(SELECT max(u.at) FROM action_update u WHERE u.action_id = a.id AND u.channel <> '{_IMPORT}')"))
    rows = db.rows(
        f"SELECT a.id, a.plan_id, a.ref, a.text, a.status, a.rag, pr.ref, a.lead_text, a.original_target, a.original_target_raw, "
        f"a.revised_target, {m('a.last_update_at')}, {m('a.returned_at')}, {m('a.created_at')}, a.version, {last_answer} "
        # an action's priority is one of its own plan's
        f"FROM action a LEFT OUTER JOIN priority pr ON pr.id = a.priority_id AND pr.plan_id = a.plan_id "
        f"WHERE {live} ORDER BY a.plan_id, a.position, a.id", params)
    out: list[ActionSnapshot] = []
    status, rag, utc, no = _ACTION_STATUS, _RAG, _utc_of(db), ()
    new, snapshot, append = tuple.__new__, ActionSnapshot, out.append
    day = _day_of(db)
    answer = (answers or {}).get  # the last answer when not read with the row (None read: none given)
    if utc is _same and day is None:  # PostgreSQL in UTC sessions: the driver's values are already what we hand on
        for i, p, ref, txt, st, rg, pr, lead, ot, otr, rt, lu, ra, ca, v, la in rows:
            append(new(snapshot, (i, p, ref, txt, status[st], rag[rg], pr, lead, owners.get(i, no), delegates.get(i, no), ot, otr,
                                  rt, lu, ra, ca, v, la or answer(i))))
        return out
    assert day is not None
    for i, p, ref, txt, st, rg, pr, lead, ot, otr, rt, lu, ra, ca, v, la in rows:
        append(new(snapshot, (i, p, ref, txt, status[st], rag[rg], pr, lead, owners.get(i, no), delegates.get(i, no),
                              ot and day(ot), otr, rt and day(rt), lu and utc(lu), ra and utc(ra), ca and utc(ca), v,
                              (la and utc(la)) or answer(i))))
    return out


def _updates(db: Db, where: str, params: list[Any], *, join: bool, with_text: bool = True) -> list[UpdateSnapshot]:
    """The updates `where` says (SQL on ``action_update u``, and ``action a`` with `join`)."""
    text, label = ("u.text", "u.period_label") if with_text else ("''", "''")
    sql = (f"SELECT u.action_id, {db.moment('u.at')}, u.channel, u.status, u.rag, {text}, u.revised_target, u.author_id, {label} "
           f"FROM action_update u{' JOIN action a ON a.id = u.action_id' if join else ''} WHERE {where}")
    status, rag, channel, utc, new, names, out = _STATUS, _RAG, _CHANNEL, _utc_of(db), object.__new__, _UPDATE_FIELDS, []
    with paused_gc():
        day = _day_of(db) or _same
        for a, at, ch, st, rg, txt, rt, author, lab in db.rows(sql, params):
            u = new(UpdateSnapshot)
            u.__dict__.update(zip(names, (a, utc(at), channel[ch], status[st], rag[rg], txt, rt and day(rt), author, lab),
                                  strict=True))
            out.append(u)
        return out


def _nudge_state(db: Db, org_id: int) -> dict[int, NudgeState]:
    m = db.moment
    rows = db.rows(f"SELECT n.person_id, {m('n.last_nudged_at')}, {m('n.snoozed_until')}, n.unanswered_count, "
                   f"{m('n.escalated_at')} FROM nudge_state n JOIN person p ON p.id = n.person_id WHERE p.org_id = ?", (org_id,))
    utc = _utc_of(db)
    return {pid: NudgeState(last and utc(last), snoozed and utc(snoozed), count, escalated and utc(escalated))
            for pid, last, snoozed, count, escalated in rows}
