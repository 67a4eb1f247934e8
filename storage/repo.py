"""Repository functions: plain functions taking ``session`` first, filtering by organisation.

Lookups raise ``NotFound`` with a message that names what was asked for and what exists, so
the CLI and chat can show it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from itertools import chain
from typing import Any, NamedTuple

from pydantic_core import PydanticUndefined
from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from bot.domain import limits
from bot.domain.limits import shown
from bot.domain.model import ActionSnapshot, PersonSnapshot, PlanSnapshot, Rag, Role, Status
from bot.domain.names import name_key
from bot.domain.permissions import Actor, Grant
from bot.domain.vocabulary import ref_key
from bot.errors import Ambiguous, NotFound
from storage.rawdb import as_db
from storage.snapshots import WEEK_COLUMNS, make_plan_snapshot
from storage.tables import (
    Action,
    ActionPerson,
    AuditLog,
    DigestWeek,
    Organisation,
    Person,
    Plan,
    Priority,
    RoleGrant,
    Update,
    check_values,
)


# --- organisations --------------------------------------------------------------------------
def get_or_create_org(session: Session, slug: str, name: str | None = None) -> Organisation:
    org = session.exec(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None:
        org = Organisation(slug=slug, name=name or slug)
        session.add(org)
        session.flush()
    return org


def find_org(session: Session, slug: str) -> Organisation | None:
    return session.exec(select(Organisation).where(Organisation.slug == slug)).first()


def org_slugs(session: Session) -> list[str]:
    return list(session.exec(select(Organisation.slug).order_by(col(Organisation.slug))))


def get_org(session: Session, slug: str) -> Organisation:
    org = find_org(session, slug)
    if org is None:
        existing = org_slugs(session)
        raise NotFound(f"no organisation {shown(slug)}; " + (f"the organisations are: {', '.join(existing)}" if existing
                                                         else "there are none yet"))
    return org


# --- plans ----------------------------------------------------------------------------------
def slugify(text: str, max_len: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug[:max_len].rstrip("-")) or "plan"


def unique_plan_slug(session: Session, org_id: int, wanted: str) -> str:
    base = slugify(wanted)
    slug, n = base, 2
    while session.exec(select(Plan.id).where(Plan.org_id == org_id, Plan.slug == slug)).first() is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def list_plans(session: Session, org_id: int, *, include_archived: bool = False) -> list[Plan]:
    q = select(Plan).where(Plan.org_id == org_id)
    if not include_archived:
        q = q.where(col(Plan.archived).is_(False))
    return list(session.exec(q.order_by(col(Plan.id))))


def get_plan(session: Session, org_id: int, ident: str) -> Plan:
    """A plan by slug, by number, or by a unique piece of its title."""
    ident = ident.strip()
    q = select(Plan).where(Plan.org_id == org_id)
    plan = None
    if len(ident) <= limits.IDENT:  # no plan is named by more: a longer text finds nothing, cheaply
        plan = session.exec(q.where(Plan.slug == ident)).first()
        if plan is None and ident.isdigit() and len(ident) <= 18:
            plan = session.exec(q.where(Plan.id == int(ident))).first()
    if plan is None and ident and len(ident) <= limits.IDENT:
        matches = list(session.exec(q.where(func.lower(Plan.title).contains(ident.lower(), autoescape=True))))
        if len(matches) == 1:
            plan = matches[0]
    if plan is None:
        known = [p.slug for p in list_plans(session, org_id)]
        hint = f"; plans here: {', '.join(known)}" if known else "; there are no plans yet (try `actionbot import`)"
        raise NotFound(f"no plan {shown(ident)}{hint}")
    return plan


def plan_snapshot(plan: Plan) -> PlanSnapshot:
    assert plan.id is not None
    return make_plan_snapshot(id=plan.id, title=plan.title, rag_scheme=plan.rag_scheme, cadence=plan.cadence, timezone=plan.timezone,
                              due_soon_days=plan.due_soon_days, owner_id=plan.owner_id, signoff_stages=plan.signoff_stages,
                              created_at=plan.created_at, chase_from=plan.chase_from)


def priorities(session: Session, plan_id: int) -> list[Priority]:
    return list(session.exec(select(Priority).where(Priority.plan_id == plan_id).order_by(col(Priority.position), col(Priority.id))))


# --- actions --------------------------------------------------------------------------------
def list_actions(session: Session, plan_id: int, *, include_removed: bool = False) -> list[Action]:
    q = select(Action).where(Action.plan_id == plan_id)
    if not include_removed:
        q = q.where(col(Action.removed).is_(False))
    return list(session.exec(q.order_by(col(Action.position), col(Action.id))))


def get_action(session: Session, plan: Plan, ref: str) -> Action:
    wanted = ref_key(ref)
    for action in list_actions(session, plan.id or 0):
        if ref_key(action.ref) == wanted:
            return action
    raise NotFound(f"no action {shown(ref)} in plan {plan.slug!r} (see `actionbot action list {plan.slug}`)")


def action_people(session: Session, action_id: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    rows = session.exec(select(ActionPerson).where(ActionPerson.action_id == action_id)).all()
    owners = tuple(sorted(r.person_id for r in rows if r.kind == "owner"))
    delegates = tuple(sorted(r.person_id for r in rows if r.kind == "delegate"))
    return owners, delegates


def people_by_action(session: Session, action_ids: Sequence[int]) -> dict[int, tuple[tuple[int, ...], tuple[int, ...]]]:
    out: dict[int, tuple[list[int], list[int]]] = {a: ([], []) for a in action_ids}
    if action_ids:
        for r in session.exec(select(ActionPerson).where(col(ActionPerson.action_id).in_(list(action_ids)))):
            out[r.action_id][0 if r.kind == "owner" else 1].append(r.person_id)
    return {a: (tuple(sorted(o)), tuple(sorted(d))) for a, (o, d) in out.items()}


def owner_ids(session: Session, action_ids: Sequence[int]) -> dict[int, set[int]]:
    """The owners of each of the given actions (actions with none are left out), in one query
    per thousand ids."""
    out: dict[int, set[int]] = {}
    ids = list(action_ids)
    for i in range(0, len(ids), 1000):
        rows = session.execute(select(ActionPerson.action_id, ActionPerson.person_id).where(
            col(ActionPerson.action_id).in_(ids[i : i + 1000]), ActionPerson.kind == "owner"))
        for action_id, person_id in rows:
            out.setdefault(action_id, set()).add(person_id)
    return out


class LatestUpdate(NamedTuple):
    channel: str
    at: datetime
    text: str


def latest_updates(session: Session, plan_id: int) -> dict[int, LatestUpdate]:
    """Each action of the plan's latest history entry (by time, then id), in one query."""
    u = Update.__table__.c  # type: ignore[attr-defined]
    a = Action.__table__.c  # type: ignore[attr-defined]
    ranked = (
        sa_select(u.action_id, u.channel, u.at, u.text,
                  func.row_number().over(partition_by=u.action_id, order_by=(u.at.desc(), u.id.desc())).label("n"))
        .join(Action.__table__, a.id == u.action_id)  # type: ignore[attr-defined]
        .where(a.plan_id == plan_id)
        .subquery()
    )
    rows = session.execute(sa_select(ranked.c.action_id, ranked.c.channel, ranked.c.at, ranked.c.text).where(ranked.c.n == 1))
    return {action_id: LatestUpdate(channel, at, text) for action_id, channel, at, text in rows}


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]], *, return_ids: bool = False) -> list[int]:
    """Insert many rows of one table in the session's transaction with executemany, without
    building an ORM object per row. Columns a row leaves out get the model's defaults (a fresh
    value from a default factory per row); the id is the database's. With `return_ids`, the
    new ids in the order of `rows`.

    Every row's values are checked before any is written; then the rows go in _INSERT_CHUNK
    at a time, each chunk completed with its defaults just before it is sent, so the full
    rows (and the driver's parameters made from them) of a 10,000-row import are never all
    in memory at once."""
    if not rows:
        return []
    defaults: dict[str, Any] = {}
    factories: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            continue
        if info.default_factory is not None:
            factories[name] = info.default_factory
        elif info.default is not PydanticUndefined:
            defaults[name] = info.default
    table = model.__table__  # type: ignore[attr-defined]
    # What the ORM's flush would check (no flush happens here), for every row before the first is sent.
    check_values(table, defaults)
    for r in rows:
        check_values(table, r)
    # Sent through the driver's own executemany on the session's connection (storage.rawdb),
    # each value made what the database takes by the column type's own bind processor (the
    # same conversion SQLAlchemy's execute applies), without SQLAlchemy compiling a statement
    # and building parameters per row: half the time of a 10,000-action import's store.
    db = as_db(session)
    dialect = session.connection().dialect
    columns = list(dict.fromkeys(chain(defaults, factories, *rows)))  # every row's keys, in first-seen order
    binds = [(c, _remembering(table.c[c].type.dialect_impl(dialect).bind_processor(dialect), table.c[c].type)) for c in columns]
    ids: list[int] = []
    for start in range(0, len(rows), _INSERT_CHUNK):
        values = []
        for r in rows[start : start + _INSERT_CHUNK]:
            made = {k: f() for k, f in factories.items() if k not in r}
            check_values(table, made)
            full = defaults | made | r
            values.append(tuple([full.get(c) if bind is None else bind(full.get(c)) for c, bind in binds]))
        ids += db.insert_many(table.name, columns, values, ids=return_ids)
    return ids


def _remembering(bind: Any, column_type: Any) -> Any:
    """A column's bind processor that makes each distinct moment, date or flag once: an import
    stamps thousands of rows with the same few (its own moment, the plan's target dates)."""
    if bind is None or getattr(column_type, "impl", column_type).python_type not in (datetime, date, bool):
        return bind
    made: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        got = made.get(value, made)
        if got is made:
            got = made[value] = bind(value)
        return got

    return process


_INSERT_CHUNK = 1000  # rows per executemany in insert_rows: SQLAlchemy's own batch size for a multi-row INSERT


def record_digest_weeks(session: Session, plan_id: int, trend: Iterable[tuple[date, Mapping[str, int]]], *, now: datetime) -> int:
    """Keep the trend points a plan's digest reported, (week-ending day, counts by rating
    key), in the caller's transaction; a week already kept keeps its first report. Returns
    how many were new."""
    rows = [dict(plan_id=plan_id, week_ending=day, reported_at=now, **{col: counts[key] for key, col in WEEK_COLUMNS.items()})
            for day, counts in trend]
    if not rows:
        return 0
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = DigestWeek.__table__  # type: ignore[attr-defined]
    stmt = dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=["plan_id", "week_ending"])
    return len(session.execute(stmt.returning(table.c.week_ending)).all())  # the rows inserted (rowcount: -1 on psycopg)


def history(session: Session, action_id: int) -> list[Update]:
    return list(
        session.exec(select(Update).where(Update.action_id == action_id).order_by(col(Update.at), col(Update.id)))
    )


def action_snapshot(
    action: Action, owners: tuple[int, ...] = (), delegates: tuple[int, ...] = (), priority_ref: str | None = None
) -> ActionSnapshot:
    assert action.id is not None
    return ActionSnapshot(
        id=action.id,
        plan_id=action.plan_id,
        ref=action.ref,
        text=action.text,
        status=Status(action.status),
        rag=Rag(action.rag) if action.rag else None,
        priority_ref=priority_ref,
        lead_text=action.lead_text,
        owner_ids=owners,
        delegate_ids=delegates,
        original_target=action.original_target,
        original_target_raw=action.original_target_raw,
        revised_target=action.revised_target,
        last_update_at=action.last_update_at,
        returned_at=action.returned_at,
        created_at=action.created_at,
        version=action.version,
    )


# --- people and roles -----------------------------------------------------------------------
def list_people(session: Session, org_id: int) -> list[Person]:
    return list(session.exec(select(Person).where(Person.org_id == org_id).order_by(col(Person.display_name))))


_ID = re.compile(r"(?:#|id[:\s]*)?(\d{1,18})", re.IGNORECASE)


def find_person(session: Session, org_id: int, ident: str) -> Person:
    """By id (12, #12, id:12), e-mail, Slack or Teams user id, or name.

    Names are not identities: a name is compared by ``name_key`` (case, spacing, punctuation
    and invisible characters aside), and one that fits several people is refused with the
    candidates and their ids, never settled by picking one."""
    ident = ident.strip()
    q = select(Person).where(Person.org_id == org_id)
    m = _ID.fullmatch(ident)
    if m:
        p = session.exec(q.where(Person.id == int(m.group(1)))).first()
        if p is not None:
            return p
        if not ident.isdigit():
            raise NotFound(f"no person with id {m.group(1)} (see `actionbot person list`)")
    low, key = ident.lower(), name_key(ident)
    ids = {
        pid
        for pid, name in session.execute(select(Person.id, Person.display_name).where(Person.org_id == org_id))
        if name_key(name) == key
    }
    ids |= set(
        session.exec(
            select(Person.id).where(
                Person.org_id == org_id,
                or_(func.lower(Person.email) == low, col(Person.slack_user_id) == ident, col(Person.teams_user_id) == ident),
            )
        )
    )
    if not ids:
        raise NotFound(f"no person {shown(ident)} (see `actionbot person list`)")
    found = list(session.exec(q.where(col(Person.id).in_(sorted(ids))).order_by(col(Person.id))))
    if len(found) > 1:
        raise Ambiguous(f"{shown(ident)} could be {len(found)} people: {describe_people(found)}; name one by id (e.g. {found[0].id})")
    return found[0]


def similar_people(session: Session, org_id: int, name: str, *, besides: int | None = None) -> list[Person]:
    """People whose name is the same as `name` to a reader (``name_key``), but for `besides`."""
    key = name_key(name)
    ids = [pid for pid, n in session.execute(select(Person.id, Person.display_name).where(Person.org_id == org_id))
           if name_key(n) == key and pid != besides]
    return list(session.exec(select(Person).where(col(Person.id).in_(ids)).order_by(col(Person.id)))) if ids else []


def describe_people(people: Iterable[Person]) -> str:
    """"Priya Shah (id 3, priya@x.gov.uk), PRIYA SHAH (id 7)": enough to tell them apart."""
    return ", ".join(f"{p.display_name} (id {p.id}{', ' + p.email if p.email else ''}{', ' + p.role_title if p.role_title else ''})" for p in people)


def person_snapshot(p: Person) -> PersonSnapshot:
    assert p.id is not None
    return PersonSnapshot(
        id=p.id,
        display_name=p.display_name,
        timezone=p.timezone,
        away_until=p.away_until,
        manager_id=p.manager_id,
        slack_user_id=p.slack_user_id,
        teams_user_id=p.teams_user_id,
    )


def grants(session: Session, person_id: int) -> tuple[Grant, ...]:
    rows = session.exec(select(RoleGrant).where(RoleGrant.person_id == person_id)).all()
    return tuple(Grant(role=Role(r.role), plan_id=r.plan_id, stage=r.stage) for r in rows)


def actor_for(session: Session, person: Person | None, *, operator: bool = False) -> Actor:
    if person is None:
        return Actor(person_id=None, operator=operator)
    assert person.id is not None
    return Actor(person_id=person.id, grants=grants(session, person.id), operator=operator)


def role_holders(session: Session, org_id: int, role: Role, plan_id: int | None = None) -> list[Person]:
    q = select(Person).join(RoleGrant, col(RoleGrant.person_id) == col(Person.id)).where(
        RoleGrant.org_id == org_id, RoleGrant.role == role.value
    )
    if plan_id is not None:
        q = q.where(RoleGrant.plan_id == plan_id)
    return list(session.exec(q))


# --- audit ----------------------------------------------------------------------------------
def audit(
    session: Session,
    *,
    org_id: int,
    actor_id: int | None,
    actor_text: str,
    channel: str,
    entity: str,
    entity_id: int | None,
    op: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditLog:
    row = AuditLog(
        org_id=org_id,
        actor_id=actor_id,
        actor_text=actor_text,
        channel=channel,
        entity=entity,
        entity_id=entity_id,
        op=op,
        before=before,
        after=after,
    )
    if at is not None:
        row.at = at
    session.add(row)
    return row


def audit_log(session: Session, org_id: int, *, entity: str | None = None, limit: int = 50) -> list[AuditLog]:
    q = select(AuditLog).where(AuditLog.org_id == org_id)
    if entity:
        q = q.where(AuditLog.entity == entity)
    return list(session.exec(q.order_by(col(AuditLog.id).desc()).limit(limit)))


def row_dict(row: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of a row, JSON-ready (dates as ISO text)."""
    out: dict[str, Any] = {}
    for f in fields:
        v = getattr(row, f)
        out[f] = v.isoformat() if hasattr(v, "isoformat") else v
    return out
