"""The register read as domain snapshots, for the engine's rules (due scan, digest).

These are the engine's hot reads: over a whole organisation, every few minutes. Actions, their
people and updates are read as plain rows of just the needed columns (SQLAlchemy Core selects
on the tables, no ORM objects, fetched with one ``.all()``) and the frozen snapshots are built
straight from them:

- a fixed number of queries whatever the size: plans, people, all the plans' owners and
  delegates, all their actions (priority refs joined in), nudge state. No query per plan or
  per action, no IN list of action ids: a plan's updates are read by joining on the plan
  (load_updates_for_plan);
- enum values through dict lookups rather than ``Status(...)``/``Rag(...)`` calls;
- stored times (UTC, see ``UTCDateTime``) become aware datetimes with ``datetime.UTC`` itself
  as their timezone, the same values the column type gives without its Python call per
  value: on SQLite the stored text with "+00:00" appended, parsed by one C call
  (``datetime.fromisoformat``); on PostgreSQL the driver's own timestamptz values, which
  psycopg already gives in ``datetime.UTC`` in the UTC sessions make_engine opens (no text
  round trip). Values in ``datetime.UTC`` keep later comparisons cheap: a ``ZoneInfo`` UTC
  made every comparison with a UTC cutoff call ``utcoffset()`` twice;
- the cyclic garbage collector is paused while the snapshots are built: they hold no reference
  cycles, and with a big register already in memory its passes cost a third of the load.

Plans and people are few, so they are still ORM rows (``plan_rows``, ``people_rows``) for the
callers that need a row (addresses, digest channels).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, String, and_, func, literal, null, or_, type_coerce
from sqlalchemy import select as columns  # typed for any number of columns, unlike sqlmodel.select
from sqlmodel import Session, col, select

from bot.domain.digest import Change
from bot.domain.due import NudgeState
from bot.domain.model import ActionSnapshot, Channel, PersonSnapshot, PlanSnapshot, Rag, Status, UpdateSnapshot
from storage import repo
from storage.tables import Action, ActionPerson, NudgeStateRow, Person, Plan, Priority, Update

_STATUS: dict[str | None, Status | None] = {None: None, "": None, **{s.value: s for s in Status}}
_ACTION_STATUS: dict[str, Status] = {s.value: s for s in Status}  # an action always has one
_RAG: dict[str | None, Rag | None] = {None: None, "": None, **{r.value: r for r in Rag}}
_CHANNEL: dict[str, Channel] = {c.value: c for c in Channel}
# Snapshots are built many thousand at a time by filling each new instance's __dict__ with every
# field, in order: the same frozen dataclass the generated __init__ makes (equal, hashing alike),
# without its object.__setattr__ call per field (a third of the cost of building one).
_ACTION_FIELDS = tuple(f.name for f in fields(ActionSnapshot))
_UPDATE_FIELDS = tuple(f.name for f in fields(UpdateSnapshot))
assert _ACTION_FIELDS == ("id", "plan_id", "ref", "text", "status", "rag", "priority_ref", "lead_text", "owner_ids", "delegate_ids",
                          "original_target", "original_target_raw", "revised_target", "last_update_at", "returned_at",
                          "created_at", "version", "last_answer_at")  # _actions fills them by keyword on PostgreSQL
assert "__slots__" not in vars(ActionSnapshot) and "__slots__" not in vars(UpdateSnapshot)  # they keep a __dict__
_IDS_PER_QUERY = 1000  # load_updates(ids): keeps every IN list well under the drivers' limits
_A, _AP, _PR, _U, _N, _PE = (t.__table__.c for t in (Action, ActionPerson, Priority, Update, NudgeStateRow, Person))  # type: ignore[union-attr]


@dataclass
class RegisterView:
    plans: dict[int, PlanSnapshot]
    plan_rows: dict[int, Plan]
    actions: list[ActionSnapshot]
    people: dict[int, PersonSnapshot]
    people_rows: dict[int, Person]
    state: dict[int, NudgeState]


def load_register(session: Session, org_id: int, *, plan_id: int | None = None, person_id: int | None = None) -> RegisterView:
    """The organisation's live plans (or just `plan_id`, if live), their actions that are not
    removed (by plan, then in register order), its people and their nudge state.

    With `person_id`, only the actions that person could be nudged about: those they own, and
    every action of the plans they own (where unowned actions go). Enough to plan that one
    person's nudge without reading the whole register."""
    q = select(Plan).where(Plan.org_id == org_id, col(Plan.archived).is_(False))
    if plan_id is not None:
        q = q.where(Plan.id == plan_id)
    plan_rows = {p.id: p for p in session.exec(q.order_by(col(Plan.id))) if p.id is not None}
    people_rows = {p.id: p for p in repo.list_people(session, org_id) if p.id is not None}
    with paused_gc():
        owned_plans = [i for i, p in plan_rows.items() if p.owner_id == person_id] if person_id is not None else None
        actions = _actions(session, list(plan_rows), person_id=person_id, owned_plans=owned_plans) if plan_rows else []
    return RegisterView(
        plans={i: repo.plan_snapshot(p) for i, p in plan_rows.items()},
        plan_rows=plan_rows,
        actions=actions,
        people={i: repo.person_snapshot(p) for i, p in people_rows.items()},
        people_rows=people_rows,
        state=_nudge_state(session, org_id),
    )


def load_updates(session: Session, action_ids: Sequence[int]) -> list[UpdateSnapshot]:
    """The whole update history of the given actions (in no particular order). For all the
    actions of a plan, load_updates_for_plan reads the same rows with one query."""
    ids = list(dict.fromkeys(action_ids))
    out: list[UpdateSnapshot] = []
    for i in range(0, len(ids), _IDS_PER_QUERY):
        out += _updates(session, _U.action_id.in_(ids[i : i + _IDS_PER_QUERY]), join=False)
    return out


def load_updates_for_plan(session: Session, plan_id: int, *, with_text: bool = True) -> list[UpdateSnapshot]:
    """The whole update history of a plan's actions that are not removed (in no particular
    order): for a live plan, the same rows as ``load_updates(session, [a.id for a in
    load_register(session, org_id, plan_id=plan_id).actions])``, read with one join.

    ``with_text=False`` leaves out the progress text and period label (empty strings): what
    the digest reads, which needs only when each status, rating and target changed."""
    return _updates(session, and_(_A.plan_id == plan_id, _A.removed.is_(False)), join=True, with_text=with_text)


def load_for_digest(session: Session, plan: Plan) -> tuple[list[ActionSnapshot], dict[int, list[Change]], dict[int, PersonSnapshot]]:
    """What the digest of a live `plan` reads: its actions as ``load_register(session, org,
    plan_id=plan.id).actions`` gives them, their whole history as build_digest reads it (the
    updates ``load_updates_for_plan(session, plan.id)`` gives, as
    ``bot.domain.digest.trails_of`` groups them: each action's (at, status, rag,
    revised_target), no snapshot per update), and the organisation's people as snapshots (no
    ORM rows, no nudge state). Each action's last answer is taken from those updates (the
    latest not imported) instead of a query per action."""
    assert plan.id is not None
    answers: dict[int, datetime] = {}
    with paused_gc():
        trails = _trails(session, plan.id, answers)
        actions = _actions(session, [plan.id], answers=answers)
    return actions, trails, _people(session, plan.org_id)


def _trails(session: Session, plan_id: int, answers: dict[int, datetime]) -> dict[int, list[Change]]:
    """The plan's live actions' updates grouped by action as the digest reads them, each
    action's last answer (its latest update not imported) noted in `answers` in the same pass."""
    q = (columns(_U.action_id, _moment(session, _U.at), _U.channel, _U.status, _U.rag, _U.revised_target)
         .join(Action.__table__, _A.id == _U.action_id)  # type: ignore[attr-defined]
         .where(_A.plan_id == plan_id, _A.removed.is_(False)))
    status, rag, utc, day, imported, answer = _STATUS, _RAG, _utc_of(session), _day_of(session), Channel.IMPORT.value, answers.get
    out: dict[int, list[Change]] = {}
    trail = out.get
    rows = plain_rows(session, q)
    if utc is _same and day is None:  # PostgreSQL in UTC sessions: the driver's moments and dates as they come
        for a, at, ch, st, rg, rt in rows:
            got = trail(a)
            if got is None:
                out[a] = [(at, status[st], rag[rg], rt)]
            else:
                got.append((at, status[st], rag[rg], rt))
            if ch != imported:
                last = answer(a)
                if last is None or at > last:
                    answers[a] = at
        return out
    to_day = day or _same
    for a, at, ch, st, rg, rt in rows:
        at = utc(at)
        change = (at, status[st], rag[rg], rt and to_day(rt))
        got = trail(a)
        if got is None:
            out[a] = [change]
        else:
            got.append(change)
        if ch != imported:
            last = answer(a)
            if last is None or at > last:
                answers[a] = at
    return out


def _people(session: Session, org_id: int) -> dict[int, PersonSnapshot]:
    """The organisation's people as snapshots, in name order (as repo.list_people)."""
    rows = session.execute(
        columns(_PE.id, _PE.display_name, _PE.timezone, _PE.away_until, _PE.manager_id, _PE.slack_user_id, _PE.teams_user_id)
        .where(_PE.org_id == org_id).order_by(_PE.display_name)
    ).all()
    return {r[0]: PersonSnapshot(*r) for r in rows}


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

def plain_rows(session: Session, statement: Any) -> Sequence[Any]:
    """The statement's rows as the driver gives them, plain tuples fetched in one go: no Row
    object and no result processing per value: for columns that need none (integers, text). The
    columns read here need none but dates on SQLite (stored text: see _day_of); stored moments
    are selected with _moment."""
    result = session.connection().execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _day_of(session: Session) -> Callable[[Any], date] | None:
    """What turns a stored date as the driver gives it into a ``date``: ``date.fromisoformat``
    on SQLite (the 'YYYY-MM-DD' text SQLAlchemy's Date stores there); None on PostgreSQL,
    whose driver gives dates."""
    return date.fromisoformat if session.get_bind().dialect.name == "sqlite" else None


def _moment(session: Session, column: Any) -> Any:
    """A stored moment column as the driver gives it, cheapest to turn into an aware UTC
    datetime (with _utc_of): on SQLite the stored text (already UTC, see UTCDateTime) with
    "+00:00" appended; on PostgreSQL the driver's own timestamptz value, not through the
    column type's per-value Python call and not through text."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(column, String) + "+00:00"
    return type_coerce(column, DateTime(timezone=True))


def _same(value: datetime) -> datetime:
    return value


def _in_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _utc_of(session: Session) -> Callable[[Any], datetime]:
    """What turns a value selected by _moment into an aware datetime in ``datetime.UTC``:
    ``fromisoformat`` on SQLite; on PostgreSQL nothing when the session's TimeZone is UTC (as
    make_engine sets: psycopg then gives ``datetime.UTC`` itself), else ``astimezone(UTC)``."""
    if session.get_bind().dialect.name == "sqlite":
        return datetime.fromisoformat
    driver = session.connection().connection.driver_connection
    return _same if getattr(getattr(driver, "info", None), "timezone", None) is UTC else _in_utc


def _actions(session: Session, plan_ids: list[int], *, person_id: int | None = None,
             owned_plans: list[int] | None = None, answers: dict[int, datetime] | None = None) -> list[ActionSnapshot]:
    """The live actions of the plans; with `answers` (each action's last answer, worked out
    from its updates already read) none is asked of the database."""
    live = and_(_A.plan_id.in_(plan_ids), _A.removed.is_(False))
    if person_id is not None:
        theirs = select(_AP.action_id).where(_AP.person_id == person_id, _AP.kind == "owner")
        live = and_(live, or_(_A.id.in_(theirs), _A.plan_id.in_(owned_plans or [])))
    owners: dict[int, tuple[int, ...]] = {}
    delegates: dict[int, tuple[int, ...]] = {}
    links = select(_AP.action_id, _AP.person_id, _AP.kind).join(Action.__table__, _A.id == _AP.action_id).where(live)  # type: ignore[attr-defined]
    for action_id, person_id, kind in plain_rows(session, links):
        into = owners if kind == "owner" else delegates
        got = into.get(action_id)
        into[action_id] = (person_id,) if got is None else tuple(sorted((*got, person_id)))

    text = _moment
    rows = plain_rows(
        session,
        columns(_A.id, _A.plan_id, _A.ref, _A.text, _A.status, _A.rag, _PR.ref, _A.lead_text, _A.original_target,
               _A.original_target_raw, _A.revised_target, text(session, _A.last_update_at),
               text(session, _A.returned_at), text(session, _A.created_at), _A.version,
               text(session, _last_answer()) if answers is None else null())
        # an action's priority is one of its own plan's
        .outerjoin(Priority.__table__, and_(_PR.id == _A.priority_id, _PR.plan_id == _A.plan_id))  # type: ignore[attr-defined]
        .where(live)
        .order_by(_A.plan_id, _A.position, _A.id),
    )
    status, rag, utc, no, new, names, out = _ACTION_STATUS, _RAG, _utc_of(session), (), object.__new__, _ACTION_FIELDS, []
    day = _day_of(session)
    answer = (answers or {}).get  # the last answer when not read with the row (None read: none given)
    if utc is _same and day is None:  # PostgreSQL in UTC sessions: the driver's values are already what we hand on
        # every field by keyword (_ACTION_FIELDS is checked to be these at import): cheaper than zip
        for i, p, ref, txt, st, rg, pr, lead, ot, otr, rt, lu, ra, ca, v, la in rows:
            a = new(ActionSnapshot)
            a.__dict__.update(id=i, plan_id=p, ref=ref, text=txt, status=status[st], rag=rag[rg], priority_ref=pr, lead_text=lead,
                              owner_ids=owners.get(i, no), delegate_ids=delegates.get(i, no), original_target=ot,
                              original_target_raw=otr, revised_target=rt, last_update_at=lu, returned_at=ra, created_at=ca,
                              version=v, last_answer_at=la or answer(i))
            out.append(a)
        return out
    for i, p, ref, txt, st, rg, pr, lead, ot, otr, rt, lu, ra, ca, v, la in rows:
        a = new(ActionSnapshot)
        a.__dict__.update(zip(names, (i, p, ref, txt, status[st], rag[rg], pr, lead, owners.get(i, no), delegates.get(i, no),
                                      ot and day(ot), otr, rt and day(rt), lu and utc(lu), ra and utc(ra), ca and utc(ca), v,  # type: ignore[misc]
                                      (la and utc(la)) or answer(i)), strict=True))
        out.append(a)
    return out


def _last_answer() -> Any:
    """The action's latest update that is not an import (ix_update_action_at serves it)."""
    return (select(func.max(_U.at)).where(_U.action_id == _A.id, _U.channel != Channel.IMPORT.value)
            .correlate(Action.__table__).scalar_subquery())  # type: ignore[attr-defined]


def _updates(session: Session, where: Any, *, join: bool, with_text: bool = True) -> list[UpdateSnapshot]:
    """The updates `where` says."""
    text, label = (_U.text, _U.period_label) if with_text else (literal("", String), literal("", String))
    q = columns(_U.action_id, _moment(session, _U.at), _U.channel, _U.status, _U.rag, text, _U.revised_target,
               _U.author_id, label)
    if join:
        q = q.join(Action.__table__, _A.id == _U.action_id)  # type: ignore[attr-defined]
    status, rag, channel, utc, new, names, out = _STATUS, _RAG, _CHANNEL, _utc_of(session), object.__new__, _UPDATE_FIELDS, []
    with paused_gc():
        day = _day_of(session) or _same
        for a, at, ch, st, rg, txt, rt, author, label in plain_rows(session, q.where(where)):
            u = new(UpdateSnapshot)
            u.__dict__.update(zip(names, (a, utc(at), channel[ch], status[st], rag[rg], txt, rt and day(rt), author, label),
                                  strict=True))
            out.append(u)
        return out


def _nudge_state(session: Session, org_id: int) -> dict[int, NudgeState]:
    text = _moment
    rows = session.execute(
        columns(_N.person_id, text(session, _N.last_nudged_at), text(session, _N.snoozed_until), _N.unanswered_count,
               text(session, _N.escalated_at))
        .join(Person.__table__, _PE.id == _N.person_id).where(_PE.org_id == org_id)  # type: ignore[attr-defined]
    ).all()
    utc = _utc_of(session)
    return {pid: NudgeState(last and utc(last), snoozed and utc(snoozed), count, escalated and utc(escalated))
            for pid, last, snoozed, count, escalated in rows}
