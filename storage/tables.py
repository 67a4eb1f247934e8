"""SQLModel tables of the register.

Every row that belongs to an organisation carries ``org_id`` (directly or through its plan) and
every repository function filters by it, so several organisations share one database without
seeing each other's plans. History tables (``update``, ``audit_log``, ``signoff``) are
append-only: repository code inserts into them and never updates or deletes.

Times are stored as UTC and read back as aware UTC datetimes (``UTCDateTime``) on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, LargeBinary, Table, Text, UniqueConstraint, event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from bot.domain import limits
from bot.domain.model import InvalidValue


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, stored as UTC and read back as an aware UTC datetime on every database.

    SQLite keeps no zone: without this, an aware time given in BST would be stored as its
    wall-clock reading, an hour off. A naive datetime is refused rather than guessed at."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


def _text(limit: int | None = limits.LONG_TEXT, default: str = "") -> Any:
    """Long text, at most `limit` characters (checked by ``check_values``; None: internal text)."""
    return Field(default=default, sa_column=Column(Text, nullable=False, default=default, info={"max_chars": limit}))


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(max_length=200)
    slack_team_id: str | None = Field(default=None, index=True, max_length=32)
    teams_tenant_id: str | None = Field(default=None, index=True, max_length=64)
    country: str = Field(default="GB", max_length=2)  # ISO 3166: how its plans write numeric dates (bot/domain/country.py)
    created_at: datetime = _created()


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("org_id", "display_name", name="uq_person_org_name"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    display_name: str = Field(max_length=200)
    role_title: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254)
    slack_user_id: str | None = Field(default=None, max_length=32)
    teams_user_id: str | None = Field(default=None, max_length=128)
    timezone: str = Field(default="Europe/London", max_length=64)
    away_until: date | None = None
    manager_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _created()


class Plan(SQLModel, table=True):
    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("org_id", "slug", name="uq_plan_org_slug"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    slug: str = Field(max_length=80)
    title: str = _text()
    organisation_name: str = Field(default="", max_length=300)
    period: str = Field(default="", max_length=100)
    plan_date: date | None = None  # the plan's own date (inspection or issue): relative timescales count from it
    source_file: str = Field(default="", max_length=500)
    rag_scheme: str = Field(default="BRAG", max_length=8)
    cadence: str = Field(default="monthly:last", max_length=32)
    timezone: str = Field(default="Europe/London", max_length=64)
    due_soon_days: int = 14
    digest_channels: list[str] = _json(list)  # "slack:C0123", "teams:<conversation id>"
    signoff_stages: list[str] = _json(list)  # e.g. ["Evidence Challenge Panel", "Directorate Leadership Team"]
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    archived: bool = False
    chase_from: date | None = None  # lead officers are chased from this day (plan timezone); None: from the start
    country: str | None = Field(default=None, max_length=2)  # numeric dates' order in its files; None: the organisation's
    created_at: datetime = _created()


class Priority(SQLModel, table=True):
    __tablename__ = "priority"
    __table_args__ = (UniqueConstraint("plan_id", "ref", name="uq_priority_plan_ref"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    ref: str = Field(max_length=40)
    title: str = _text()
    timescale: str = Field(default="", max_length=200)
    expected_outcome: str = _text()
    findings: str = _text()
    accountable_text: str = Field(default="", max_length=500)
    accountable_id: int | None = Field(default=None, foreign_key="person.id")
    position: int = 0


class Action(SQLModel, table=True):
    __tablename__ = "action"
    __table_args__ = (UniqueConstraint("plan_id", "ref", name="uq_action_plan_ref"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    priority_id: int | None = Field(default=None, foreign_key="priority.id")
    ref: str = Field(max_length=40)
    text: str = _text()
    outputs: str = _text()
    outcome_required: str = _text()
    evidence_required: str = _text()
    links: str = _text()
    lead_text: str = Field(default="", max_length=500)
    original_target: date | None = None
    original_target_raw: str = Field(default="", max_length=300)
    revised_target: date | None = None
    revised_reason: str = _text(limits.REASON)
    status: str = Field(default="not_started", max_length=16)
    rag: str | None = Field(default=None, max_length=1)
    extra: dict[str, str] = _json(dict)
    position: int = 0
    removed: bool = False  # dropped by a re-import: kept with its history, hidden from lists
    version: int = 1
    signoff_stage: int = 0  # index of the sign-off stage it is waiting for (when complete)
    returned_at: datetime | None = _ts(nullable=True)
    last_update_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ActionPerson(SQLModel, table=True):
    """Who owns an action, and delegates who may update for them."""

    __tablename__ = "action_person"
    action_id: int = Field(foreign_key="action.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    kind: str = Field(default="owner", primary_key=True, max_length=10)  # owner | delegate


class Update(SQLModel, table=True):
    """Append-only progress history. Editing an update adds a new one with ``supersedes_id``."""

    __tablename__ = "action_update"
    __table_args__ = (Index("ix_update_action_at", "action_id", "at", "id"),)  # by id too: see migration 0011
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id")
    at: datetime = _created()
    author_id: int | None = Field(default=None, foreign_key="person.id")
    author_text: str = Field(default="", max_length=200)
    channel: str = Field(max_length=10)
    text: str = _text()
    status: str | None = Field(default=None, max_length=16)
    rag: str | None = Field(default=None, max_length=1)
    revised_target: date | None = None
    revised_reason: str = _text(limits.REASON)
    evidence: list[str] = _json(list)
    period_label: str = Field(default="", max_length=100)
    supersedes_id: int | None = Field(default=None, foreign_key="action_update.id")


class Signoff(SQLModel, table=True):
    """Append-only decisions of sign-off stages. A later status change clears them
    (``cleared_at``) rather than deleting them."""

    __tablename__ = "signoff"
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True)
    stage_index: int
    stage_name: str = Field(max_length=200)
    decision: str = Field(max_length=10)  # approved | returned
    by_id: int | None = Field(default=None, foreign_key="person.id")
    at: datetime = _created()
    note: str = _text(limits.NOTE)
    cleared_at: datetime | None = _ts(nullable=True)


class RoleGrant(SQLModel, table=True):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("person_id", "role", "plan_id", "stage", name="uq_role_grant"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=16)
    plan_id: int | None = Field(default=None, foreign_key="plan.id")
    stage: str = Field(default="", max_length=200)  # approvers: which sign-off stage
    granted_at: datetime = _created()


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    at: datetime = _created()
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    actor_text: str = Field(default="", max_length=200)
    channel: str = Field(max_length=10)
    entity: str = Field(max_length=20)
    entity_id: int | None = None
    op: str = Field(max_length=20)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


# --- the engine: the database is the schedule ------------------------------------------------
class Job(SQLModel, table=True):
    """Due work (a person's nudge, a plan's digest) with a UTC due time. ``key`` makes
    scheduling idempotent: two processes planning the same nudge insert one row."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_pending_due", "status", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    key: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=20)  # nudge | digest
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    payload: dict[str, Any] = _json(dict)
    status: str = Field(default="pending", max_length=10)  # pending | running | done | failed
    claimed_by: str = Field(default="", max_length=100)
    lease_until: datetime | None = _ts(nullable=True)
    attempts: int = 0
    last_error: str = _text(None)
    done_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _created()


class Outbox(SQLModel, table=True):
    """A message to send, written in the same transaction as the change that caused it.
    ``key`` is the idempotency key: the same message is never queued twice."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    key: str = Field(unique=True, max_length=200)
    platform: str = Field(max_length=10)  # slack | teams | console
    target: str = Field(max_length=200)  # user or channel id on that platform; person id for console
    person_id: int | None = Field(default=None, foreign_key="person.id")
    screen: str = Field(max_length=20)  # nudge | digest | escalation | confirmation | notice
    view: dict[str, Any] = _json(dict)  # the neutral view model (cards/)
    status: str = Field(default="pending", max_length=10)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = _created()
    claimed_by: str = Field(default="", max_length=100)
    lease_until: datetime | None = _ts(nullable=True)
    sent_at: datetime | None = _ts(nullable=True)
    platform_ref: str = Field(default="", max_length=200)  # message ts / activity id, to update the card later
    last_error: str = _text(None)
    created_at: datetime = _created()


class NudgeStateRow(SQLModel, table=True):
    """What we remember about reminding one person."""

    __tablename__ = "nudge_state"
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    last_nudged_at: datetime | None = _ts(nullable=True)
    snoozed_until: datetime | None = _ts(nullable=True)
    unanswered_count: int = 0
    escalated_at: datetime | None = _ts(nullable=True)
    last_answered_at: datetime | None = _ts(nullable=True)


class PendingReply(SQLModel, table=True):
    """What was read from someone's free text, waiting for them to confirm. Nothing changes in
    the register until they do; ``versions`` are the actions' versions when it was read."""

    __tablename__ = "pending_reply"
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, max_length=40)
    org_id: int = Field(foreign_key="organisation.id")
    person_id: int = Field(foreign_key="person.id", index=True)
    plan_id: int = Field(foreign_key="plan.id")
    channel: str = Field(max_length=10)
    text: str = _text()
    reading: dict[str, Any] = _json(dict)
    versions: dict[str, int] = _json(dict)  # action id → version seen
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolved_at: datetime | None = _ts(nullable=True)
    outcome: str = Field(default="", max_length=20)  # confirmed | cancelled | conflict | expired


class TeamsConversation(SQLModel, table=True):
    """A Teams conversation the bot can post into unprompted: what a proactive send needs (the
    conversation id, the service URL and the tenant), kept from installation and refreshed on
    every message. ``kind`` is personal (a 1:1 chat with ``user_id``), channel or groupChat."""

    __tablename__ = "teams_conversation"
    __table_args__ = (Index("ix_teams_conversation_user", "user_id"), Index("ix_teams_conversation_aad", "aad_object_id"))
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(unique=True, max_length=400)
    kind: str = Field(default="personal", max_length=20)
    service_url: str = Field(max_length=400)
    tenant_id: str = Field(default="", max_length=64, index=True)
    user_id: str | None = Field(default=None, max_length=128)  # the Teams user id (29:…) of a personal chat
    aad_object_id: str | None = Field(default=None, max_length=64)  # the user's Entra object id
    user_name: str = Field(default="", max_length=200)
    team_id: str | None = Field(default=None, max_length=400)  # the team of a channel conversation
    channel_name: str = Field(default="", max_length=200)
    bot_id: str = Field(default="", max_length=128)
    timezone: str | None = Field(default=None, max_length=64)
    installed: bool = True  # False once the app was removed from this conversation
    created_at: datetime = _created()
    updated_at: datetime = _created()


class TeamsMember(SQLModel, table=True):
    """Someone in a team the bot was added to (from the team's roster and later member-added
    events): enough to start a 1:1 chat with them proactively when they have none with the
    bot yet (the service URL and bot id of the team's conversation, their tenant)."""

    __tablename__ = "teams_member"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", name="uq_teams_member"), Index("ix_teams_member_user", "user_id"),
                      Index("ix_teams_member_aad", "aad_object_id"))
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    user_id: str = Field(max_length=128)  # the Teams user id (29:…)
    aad_object_id: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    service_url: str = Field(max_length=400)
    bot_id: str = Field(default="", max_length=128)
    team_id: str | None = Field(default=None, max_length=400)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class TeamsUpload(SQLModel, table=True):
    """A file (an export) offered in a Teams 1:1 chat with a file consent card: its bytes wait
    here until the person accepts (they are then uploaded to their OneDrive) or declines, and
    are dropped as soon as either happens; rows past ``expires_at`` are deleted."""

    __tablename__ = "teams_upload"
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, max_length=40)  # in the card's accept/decline context
    conversation_id: str = Field(max_length=400)
    user_id: str = Field(default="", max_length=128)
    file_name: str = Field(max_length=300)
    mime: str = Field(default="application/octet-stream", max_length=200)
    size: int = 0
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="offered", max_length=20)  # offered | uploading | uploaded | declined | failed
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    resolved_at: datetime | None = _ts(nullable=True)


class SeenEvent(SQLModel, table=True):
    """A platform event already handled (Slack event_id or interaction id, Teams activity id)
    and the answer it got: a retry or a double click returns that answer and does nothing
    again, across restarts and replicas. Old rows are pruned."""

    __tablename__ = "seen_event"
    __table_args__ = (UniqueConstraint("platform", "event_id", name="uq_seen_event"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=10)
    event_id: str = Field(max_length=200)
    reply: dict[str, Any] = _json(dict)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class DigestWeek(SQLModel, table=True):
    """One point of a plan's trend as its weekly digest reported it: how many of its actions
    stood at each rating (what a person sees: reported, else suggested) at the end of that
    day. Later digests show the week as reported rather than rebuild it from the history
    (bot.domain.digest.build_digest's reported_weeks); written once, never changed."""

    __tablename__ = "digest_week"
    plan_id: int = Field(foreign_key="plan.id", primary_key=True)
    week_ending: date = Field(primary_key=True)  # the day, in the plan's timezone
    blue: int = 0
    green: int = 0
    amber: int = 0
    red: int = 0
    unrated: int = 0
    reported_at: datetime = _created()


class PendingImport(SQLModel, table=True):
    """A plan file sent in chat, waiting for its sender's Confirm. ``preview`` is the dry run
    they were shown; Confirm commits only if a new dry run still gives exactly that."""

    __tablename__ = "pending_import"
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, max_length=40)
    org_id: int = Field(foreign_key="organisation.id")
    person_id: int = Field(foreign_key="person.id", index=True)
    file_name: str = Field(max_length=300)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    plan_ident: str = Field(default="", max_length=80)  # the plan it re-imports into, when named
    preview: dict[str, Any] = _json(dict)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolved_at: datetime | None = _ts(nullable=True)
    outcome: str = Field(default="", max_length=20)  # committed | cancelled | changed | expired | superseded


# --- every value checked before the database sees it -------------------------------------------
def _label(table: Table, column: Column[Any]) -> str:
    return f"{table.name.replace('_', ' ')} {column.name.replace('_', ' ')}"


_LIMITS: dict[Column[Any], int | None] = {}


def _check(table: Table, column: Column[Any], value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value or not value.isascii():  # ASCII without NUL is always storable: skip the search
            problem = limits.bad_text(value)
            if problem:
                raise InvalidValue(f"{_label(table, column)} contains {problem}; nothing was saved")
        limit = _LIMITS.get(column, 0)
        if limit == 0:
            limit = _LIMITS[column] = getattr(column.type, "length", None) or column.info.get("max_chars")
        if limit and len(value) > limit:
            raise InvalidValue(f"{_label(table, column)} is {len(value):,} characters long; the limit is {limit:,}")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int) and isinstance(column.type, Integer) and abs(value) > limits.INT_MAX:
        raise InvalidValue(f"{_label(table, column)} {value} is out of range (at most {limits.INT_MAX:,})")
    elif isinstance(value, (list, dict)):
        for text in _strings(value):
            problem = limits.bad_text(text)
            if problem:
                raise InvalidValue(f"{_label(table, column)} contains {problem}; nothing was saved")


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def check_values(table: Table, values: Mapping[str, Any]) -> None:
    """Refuse (``InvalidValue``) a value its column cannot hold: text over the column's limit
    (see ``bot.domain.limits``), a NUL or a lone surrogate, an integer past 32 bits. The same
    check on SQLite and PostgreSQL, before either sees the value."""
    columns = _COLUMNS.get(table)
    if columns is None:  # looked up by name for every value of every row: a plain dict, made once per table
        columns = _COLUMNS[table] = {c.key: c for c in table.columns}
    for name, value in values.items():
        column = columns.get(name)
        if column is not None:
            _check(table, column, value)


_COLUMNS: dict[Table, dict[str, Column[Any]]] = {}


@event.listens_for(OrmSession, "before_flush")
def _check_before_flush(session: OrmSession, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        table = getattr(obj, "__table__", None)
        if isinstance(table, Table):
            check_values(table, {c.name: getattr(obj, c.key, None) for c in table.columns})
