"""The register's vocabulary: statuses, RAG ratings, cadences, roles and read-only snapshots.

Pure standard library. Everything the engine's rules need arrives as these snapshots; the
storage layer builds them from rows, tests build them by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, make_dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple, cast

from bot.domain.limits import shown


class InvalidValue(ValueError):
    """A value typed by a person (CLI, chat, import) that is not one we know. The message says
    what was given and what is accepted, so it can be shown as it is."""


_SAME = object()  # a default meaning "the same as another field"
_SAME_MOMENT = cast(datetime, _SAME)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-–—/]+", " ", text.strip().lower()).strip()


class Status(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"  # reported complete, awaiting sign-off
    SIGNED_OFF = "signed_off"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        """Open actions are the ones that still need progress updates."""
        return self in (Status.NOT_STARTED, Status.IN_PROGRESS)

    @classmethod
    def parse(cls, text: str) -> Status:
        key = _norm(text)
        for status in cls:
            if key in (_norm(status.value), _norm(status.label)):
                return status
        from bot.domain.vocabulary import exact_status  # the shared status words; it imports this module

        found = exact_status(text)
        if found is not None:
            return found
        accepted = ", ".join(s.value for s in cls)
        raise InvalidValue(f"unknown status {shown(text)}; use one of: {accepted}")


_STATUS_LABELS = {
    Status.NOT_STARTED: "Not started",
    Status.IN_PROGRESS: "In progress",
    Status.COMPLETE: "Complete (awaiting sign-off)",
    Status.SIGNED_OFF: "Signed off",
    Status.ON_HOLD: "On hold",
    Status.CANCELLED: "Cancelled",
}

class Rag(StrEnum):
    RED = "R"
    AMBER = "A"
    GREEN = "G"
    BLUE = "B"  # complete (BRAG schemes)

    @property
    def label(self) -> str:
        return {"R": "Red", "A": "Amber", "G": "Green", "B": "Blue"}[self.value]

    @property
    def severity(self) -> int:
        """Higher is worse: Blue 0, Green 1, Amber 2, Red 3."""
        return {"B": 0, "G": 1, "A": 2, "R": 3}[self.value]

    @classmethod
    def parse(cls, text: str) -> Rag:
        found = cls.find(text)
        if found is None:
            raise InvalidValue(f"unknown RAG rating {shown(text)}; use R, A, G or B (Red, Amber, Green, Blue)")
        return found

    @classmethod
    def find(cls, text: str | None) -> Rag | None:  # type: ignore[override]  # a class method, not str.find
        """Read a RAG cell as people write it: "R", "Red", "amber", "Gree" (cut off), "G/A"
        (the worse of the two), "Blue – complete". None when the text is not a rating."""
        if not text:
            return None
        words = re.findall(r"[a-z]+", text.lower())
        found: list[Rag] = []
        for w in words:
            if w in ("r", "red") or (len(w) >= 3 and "red".startswith(w)):
                found.append(Rag.RED)
            elif w in ("a", "amber") or (len(w) >= 3 and "amber".startswith(w)):
                found.append(Rag.AMBER)
            elif w in ("g", "green") or (len(w) >= 3 and "green".startswith(w)):
                found.append(Rag.GREEN)
            elif w in ("b", "blue") or (len(w) >= 3 and "blue".startswith(w)):
                found.append(Rag.BLUE)
            elif len(words) <= 2:
                return None
        if not found:
            return None
        return max(found, key=lambda r: r.severity)


class RagScheme(StrEnum):
    RAG = "RAG"
    BRAG = "BRAG"  # Blue = complete

    @classmethod
    def parse(cls, text: str) -> RagScheme:
        key = text.strip().upper()
        if key in cls.__members__:
            return cls[key]
        raise InvalidValue(f"unknown RAG scheme {shown(text)}; use RAG or BRAG")


class Channel(StrEnum):
    """Where a change came from."""

    SLACK = "slack"
    TEAMS = "teams"
    CLI = "cli"
    CONSOLE = "console"
    IMPORT = "import"
    SYSTEM = "system"


class Role(StrEnum):
    ADMIN = "admin"  # administrator of an organisation
    OWNER = "owner"  # a plan's owner
    APPROVER = "approver"  # approver of one sign-off stage of a plan
    READER = "reader"  # leadership reader of a plan

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(_norm(text))
        except ValueError:
            raise InvalidValue(f"unknown role {shown(text)}; use one of: {', '.join(r.value for r in cls)}") from None


_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class Cadence:
    """How often a plan's actions need a progress update.

    weekly / fortnightly on a weekday (0 = Monday), or monthly on a day of the month
    (1..28, or -1 for the last day). Written as text: "monthly", "monthly:15", "monthly:last",
    "weekly:mon", "fortnightly:thu"."""

    kind: str = "monthly"
    day: int = -1

    @classmethod
    def parse(cls, text: str) -> Cadence:
        raw = text.strip().lower()
        kind, _, day_text = raw.partition(":")
        if kind not in ("weekly", "fortnightly", "monthly"):
            raise InvalidValue(
                f"unknown cadence {shown(text)}; use weekly[:mon..sun], fortnightly[:mon..sun] or monthly[:1..28|last]"
            )
        if kind == "monthly":
            if not day_text or day_text == "last":
                return cls("monthly", -1)
            if day_text.isdigit() and 1 <= int(day_text) <= 28:
                return cls("monthly", int(day_text))
            raise InvalidValue(f"monthly cadence day must be 1..28 or 'last', not {shown(day_text)}")
        if not day_text:
            return cls(kind, 0)
        if day_text[:3] in _WEEKDAYS:
            return cls(kind, _WEEKDAYS.index(day_text[:3]))
        raise InvalidValue(f"{kind} cadence day must be a weekday (mon..sun), not {shown(day_text)}")

    def __str__(self) -> str:
        if self.kind == "monthly":
            return "monthly:last" if self.day == -1 else f"monthly:{self.day}"
        return f"{self.kind}:{_WEEKDAYS[self.day]}"


class _ActionFields(NamedTuple):
    id: int
    plan_id: int
    ref: str
    text: str
    status: Status
    rag: Rag | None = None
    priority_ref: str | None = None
    lead_text: str = ""
    owner_ids: tuple[int, ...] = ()
    delegate_ids: tuple[int, ...] = ()
    original_target: date | None = None
    original_target_raw: str = ""
    revised_target: date | None = None
    last_update_at: datetime | None = None
    returned_at: datetime | None = None  # a sign-off panel returned it and nobody has updated since
    created_at: datetime | None = None
    version: int = 0  # the register's version of the action: a card that carries it can detect a stale save
    # The latest update a person gave (in chat, on the command line…), not counting imports: an
    # imported file is not the lead officer's answer. Left out: the same as last_update_at.
    last_answer_at: datetime | None = _SAME_MOMENT


class ActionSnapshot(_ActionFields):
    """An action as the engine's rules see it. Times are timezone-aware UTC.

    An immutable named tuple of the fields above, in that order: the register is read many
    thousand actions at a time, and a tuple is made four to five times faster than a frozen
    dataclass with a __dict__ (storage.snapshots makes them with ``tuple.__new__``). It keeps
    the dataclass protocol its callers use: ``dataclasses.fields``, ``replace`` and ``asdict``
    work on it as on the frozen dataclass it was (see _dataclass_protocol below)."""

    __slots__ = ()

    def __new__(cls, id: int, plan_id: int, ref: str, text: str, status: Status, rag: Rag | None = None,
                priority_ref: str | None = None, lead_text: str = "", owner_ids: tuple[int, ...] = (),
                delegate_ids: tuple[int, ...] = (), original_target: date | None = None, original_target_raw: str = "",
                revised_target: date | None = None, last_update_at: datetime | None = None,
                returned_at: datetime | None = None, created_at: datetime | None = None, version: int = 0,
                last_answer_at: datetime | None = _SAME_MOMENT) -> ActionSnapshot:
        return tuple.__new__(cls, (id, plan_id, ref, text, status, rag, priority_ref, lead_text, owner_ids, delegate_ids,
                                   original_target, original_target_raw, revised_target, last_update_at, returned_at,
                                   created_at, version, last_update_at if last_answer_at is _SAME else last_answer_at))

    @property
    def target(self) -> date | None:
        """The date the action is now due: the revised one if re-baselined."""
        return self.revised_target or self.original_target

    @property
    def rebaselined(self) -> bool:
        return self.revised_target is not None and self.revised_target != self.original_target


def _dataclass_protocol(cls: Any, fields_of: Any) -> None:
    """Give the named tuple `cls` the fields a frozen dataclass of the same fields has, so
    ``dataclasses.fields``, ``replace`` (which makes the new one with ``cls(**fields)``) and
    ``asdict`` work on it."""
    spec = make_dataclass(cls.__name__, [(name, fields_of.__annotations__[name],
                                          field(default=fields_of._field_defaults[name]))
                                         if name in fields_of._field_defaults else (name, fields_of.__annotations__[name])
                                         for name in fields_of._fields], frozen=True)
    cls.__dataclass_fields__ = spec.__dataclass_fields__  # type: ignore[attr-defined]
    cls.__dataclass_params__ = spec.__dataclass_params__  # type: ignore[attr-defined]


_dataclass_protocol(ActionSnapshot, _ActionFields)


@dataclass(frozen=True)
class UpdateSnapshot:
    """One entry of an action's append-only history."""

    action_id: int
    at: datetime
    channel: Channel
    status: Status | None = None
    rag: Rag | None = None
    text: str = ""
    revised_target: date | None = None
    author_id: int | None = None
    label: str = ""


@dataclass(frozen=True)
class PersonSnapshot:
    id: int
    display_name: str
    timezone: str = "Europe/London"
    away_until: date | None = None
    manager_id: int | None = None
    slack_user_id: str | None = None
    teams_user_id: str | None = None


@dataclass(frozen=True)
class PlanSnapshot:
    id: int
    title: str
    rag_scheme: RagScheme = RagScheme.BRAG
    cadence: Cadence = field(default_factory=Cadence)
    timezone: str = "Europe/London"
    due_soon_days: int = 14
    owner_id: int | None = None
    signoff_stages: tuple[str, ...] = ()
    created_at: datetime | None = None  # when the plan entered the register
    chase_from: date | None = None  # no nudges about its actions before this day (plan timezone); None: from the start
