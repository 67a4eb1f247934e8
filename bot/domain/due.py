"""Who owes an update, and when they may be reminded.

When an action needs an update (first match wins; only open actions, plus returned ones):

| code          | when                                                                                |
|---------------|-------------------------------------------------------------------------------------|
| `returned`    | a sign-off panel returned it (also when its status still says complete)             |
| `overdue`     | its target date has passed and no update was given since, or a cadence update is due |
| `target_near` | its target is within the plan's `due_soon_days` and no update was given since that   |
|               | window opened (an action never updated is asked), or a cadence update is due        |
| `cadence`     | no update since the cadence day before the latest one (see below)                    |

Signed-off, on-hold and cancelled actions never need one; complete ones only when returned.

Only a person's update counts as an answer (`ActionSnapshot.last_answer_at`): an imported file
is not the lead officer's answer, so an action whose target passed before it was imported is
asked about at once. A plan may start being chased later than that (`PlanSnapshot.chase_from`,
by default the next working day after its import, so its administrator can map people first):
before that day (plan timezone) none of its actions is asked about.

Cadence: each plan has update days (every Monday; every other Thursday; the 15th or the last
day of each month). An update counts for the period that ends on the next update day, so an
action needs one on an update day when it has had none since the previous update day. A new
action counts from its creation. Fortnightly weeks are the even weeks since Monday 1 January
2024 (the same fortnight for every plan). Days are the plan's local days.

Reminders ("nudges") to a person: at most one per calendar day in their own timezone, only in
their working hours, never on weekends or bank holidays (England & Wales by default), never
while away (up to and including `away_until`), never before a snooze ends. All of a person's
due actions go in one nudge. After `escalate_after` unanswered nudges their manager (or the
plan's owner) gets a private note; nobody is ever named in a public channel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.model import ActionSnapshot, Cadence, PersonSnapshot, PlanSnapshot, Status
from bot.domain.rag import fmt_date

FORTNIGHT_ANCHOR = date(2024, 1, 1)  # a Monday; weeks 0, 2, 4... from here are "on" weeks
DEFAULT_TZ = "Europe/London"
_WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_CLOSED = (Status.SIGNED_OFF, Status.ON_HOLD, Status.CANCELLED)


def zone(name: str | tzinfo | None) -> tzinfo:
    """A timezone from its IANA name; an unknown or empty name falls back to Europe/London
    (the register's home) rather than stopping every reminder."""
    if isinstance(name, tzinfo):
        return name
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def _require_aware(dt: datetime, what: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must carry a timezone (got {dt.isoformat()})")


# --------------------------------------------------------------------------- cadence


def _last_day(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _month_point(year: int, month: int, day: int) -> date:
    return _last_day(year, month) if day == -1 else date(year, month, day)


def _prev_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


@lru_cache(maxsize=256)
def cadence_points(cadence: Cadence, today: date) -> tuple[date, date]:
    """(latest update day on or before `today`, the update day before that)."""
    if cadence.kind == "monthly":
        y, m = today.year, today.month
        latest = _month_point(y, m, cadence.day)
        if latest > today:
            y, m = _prev_month(y, m)
            latest = _month_point(y, m, cadence.day)
        py, pm = _prev_month(y, m)
        return latest, _month_point(py, pm, cadence.day)
    latest = today - timedelta(days=(today.weekday() - cadence.day) % 7)
    if cadence.kind == "weekly":
        return latest, latest - timedelta(days=7)
    if ((latest - FORTNIGHT_ANCHOR).days // 7) % 2:
        latest -= timedelta(days=7)
    return latest, latest - timedelta(days=14)


def describe_cadence(cadence: Cadence) -> str:
    """"every Monday", "every other Thursday", "by the 15th of each month"."""
    if cadence.kind == "weekly":
        return f"every {_WEEKDAY_NAMES[cadence.day]}"
    if cadence.kind == "fortnightly":
        return f"every other {_WEEKDAY_NAMES[cadence.day]}"
    if cadence.day == -1:
        return "by the last day of each month"
    d = cadence.day
    suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"by the {d}{suffix} of each month"


# --------------------------------------------------------------------------- needs_update


@dataclass(frozen=True)
class DueReason:
    code: str  # "cadence" | "target_near" | "overdue" | "returned"
    text: str  # a sentence for the person being asked


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


_NEVER_WITHIN = timedelta(hours=52)  # more than two moments' UTC offsets in one zone ever differ by


class _PlanDay:
    """What needs_update uses of a plan on one day, worked out once per plan rather than once
    per action: the plan's zone, today there, the last cadence point, whether chasing has
    started, and (filled as actions ask) the UTC edges of the local days compared against and
    the reasons already worded, which many actions share."""

    __slots__ = ("_edges", "_reasons", "cadence_edges", "chasing", "plan", "previous_point", "rhythm", "today", "tz")

    def __init__(self, plan: PlanSnapshot, tz: tzinfo, today: date, previous_point: date, chasing: bool, rhythm: str):
        self.plan, self.tz, self.today, self.previous_point, self.chasing = plan, tz, today, previous_point, chasing
        self.rhythm = rhythm  # "every Monday": how the plan asks for updates
        self._edges: dict[date, tuple[datetime, datetime] | None] = {}
        self._reasons: dict[tuple[str, date | None], DueReason] = {}
        self.cadence_edges = self.edges(previous_point)

    @classmethod
    def of(cls, plan: PlanSnapshot, now: datetime) -> _PlanDay:
        tz = zone(plan.timezone)
        today = now.astimezone(tz).date()
        _, previous_point = cadence_points(plan.cadence, today)
        return cls(plan, tz, today, previous_point, plan.chase_from is None or today >= plan.chase_from,
                   describe_cadence(plan.cadence))

    def edges(self, day: date) -> tuple[datetime, datetime] | None:
        """(lo, hi) in UTC: a moment before lo falls on `day` or earlier in the plan's zone, one
        at or after hi later; only moments between them need converting to know. None (always
        convert) at the ends of the calendar."""
        try:
            return self._edges[day]
        except KeyError:
            pass
        try:
            midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(UTC)
            got: tuple[datetime, datetime] | None = (midnight - _NEVER_WITHIN, midnight + _NEVER_WITHIN)
        except OverflowError:
            got = None
        self._edges[day] = got
        return got

    def on_or_before(self, moment: datetime, day: date, edges: tuple[datetime, datetime] | None) -> bool:
        """moment.astimezone(tz).date() <= day, converting only moments near `day`'s end."""
        if edges is not None:
            if moment < edges[0]:
                return True
            if moment >= edges[1]:
                return False
        return moment.astimezone(self.tz).date() <= day

    def reason(self, code: str, day: date | None) -> DueReason:
        """The reason `code` about `day` (a target, the day of the last answer or return), worded once."""
        key = (code, day)
        got = self._reasons.get(key)
        if got is None:
            got = self._reasons[key] = _word(code, day, self)
        return got


def _word(code: str, day: date | None, pd: _PlanDay) -> DueReason:
    today = pd.today
    if code == "returned":
        assert day is not None
        return DueReason("returned", f"Returned by the sign-off panel on {fmt_date(day)}: it needs an update before it goes back.")
    if code == "overdue":
        assert day is not None
        return DueReason(
            "overdue",
            f"The target date {fmt_date(day)} passed {_days((today - day).days)} ago: "
            "please say where it stands and, if it needs one, give a revised target.",
        )
    if code == "target_near":
        assert day is not None
        left = (day - today).days
        when = "today" if left == 0 else f"in {_days(left)}"
        return DueReason("target_near", f"The target date {fmt_date(day)} is {when}: is it on track?")
    if day is None:
        return DueReason("cadence", f"No progress update yet; this plan asks for one {pd.rhythm}.")
    return DueReason("cadence", f"No update since {fmt_date(day)}; this plan asks for one {pd.rhythm}.")


def needs_update(action: ActionSnapshot, *, plan: PlanSnapshot, now: datetime) -> DueReason | None:
    """Why `action` needs a progress update at `now`, or None when it does not (table above)."""
    _require_aware(now, "now")
    return _needs_update(action, _PlanDay.of(plan, now))


def _needs_update(action: ActionSnapshot, day: _PlanDay) -> DueReason | None:
    # Local days are compared through their UTC edges (_PlanDay.on_or_before): the same answers
    # as converting every moment to the plan's zone, without a conversion per action.
    status = action.status
    if status in _CLOSED or not day.chasing:
        return None
    if action.returned_at is not None:
        return day.reason("returned", action.returned_at.astimezone(day.tz).date())
    if status is Status.COMPLETE:
        return None

    answered = action.last_answer_at
    last = answered or action.created_at
    cadence_due = last is None or day.on_or_before(last, day.previous_point, day.cadence_edges)

    # Target checks count real answers only: an action created (or imported) inside the window is still asked.
    target = action.revised_target or action.original_target
    if target is not None:
        today = day.today
        if target < today:
            # answered on or before the target day
            if answered is None or cadence_due or day.on_or_before(answered, target, day.edges(target)):
                return day.reason("overdue", target)
        elif (target - today).days <= day.plan.due_soon_days:
            opened = target - timedelta(days=day.plan.due_soon_days)
            # answered before the window opened: on or before the day before it
            if answered is None or cadence_due or day.on_or_before(answered, opened - _ONE_DAY, day.edges(opened - _ONE_DAY)):
                return day.reason("target_near", target)
    if cadence_due:
        return day.reason("cadence", answered.astimezone(day.tz).date() if answered is not None else None)
    return None


_ONE_DAY = timedelta(days=1)


# --------------------------------------------------------------------------- nudge timing


@lru_cache(maxsize=64)
def _holiday_calendar(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    import holidays  # here, not at the top: a command that never asks about a working day does not load it (20 ms, 4 MB)

    _countries_one_by_one(holidays)
    try:
        cal = holidays.country_holidays(country, subdiv=subdiv, years=year)
    except NotImplementedError as exc:  # unknown country or region
        raise ValueError(f"no bank holiday calendar for country {country!r}, region {subdiv!r}") from exc
    return frozenset(cal.keys())


def _countries_one_by_one(holidays: Any) -> None:
    """Put a stand-in for the package `holidays.countries` in place before anything imports it.
    The real package imports all of its 250 countries' modules as soon as one country's
    calendar is asked for (9 MB and 60 ms; England's calendar needs one module). The stand-in
    is that package's module object with its real folder, not run: `holidays.countries.X`
    and the country modules X imports load alone, and a name asked of the package itself
    (`from holidays.countries import UnitedKingdom`) loads the module holidays' registry says
    defines it. If the package is loaded already, or holidays' registry is not as expected,
    nothing is done and the package loads as usual."""
    import importlib
    import importlib.util
    import sys

    if "holidays.countries" in sys.modules:
        return
    try:
        from holidays.registry import COUNTRIES, IMPORT_LOCK

        defined_in = {name: module for module, names in COUNTRIES.items() for name in names}
        spec = importlib.util.find_spec("holidays.countries")
    except (ImportError, AttributeError, TypeError, ValueError):
        return
    if spec is None or not spec.submodule_search_locations:
        return

    def country(name: str) -> Any:
        if name not in defined_in:
            raise AttributeError(f"module 'holidays.countries' has no attribute {name!r}")
        return getattr(importlib.import_module(f"holidays.countries.{defined_in[name]}"), name)

    with IMPORT_LOCK:
        if "holidays.countries" in sys.modules:
            return
        package = importlib.util.module_from_spec(spec)
        package.__getattr__ = country  # type: ignore[method-assign]  # PEP 562: module attributes on demand
        sys.modules["holidays.countries"] = package
        holidays.countries = package


def is_working_day(day: date, *, holiday_country: str | None = "GB", holiday_subdiv: str | None = "ENG") -> bool:
    """Monday to Friday and not a bank holiday (holiday_country None: no holiday calendar)."""
    if day.weekday() >= 5:
        return False
    if holiday_country is None:
        return True
    return day not in _holiday_calendar(holiday_country, holiday_subdiv, day.year)


def next_working_day(day: date, *, holiday_country: str | None = "GB", holiday_subdiv: str | None = "ENG") -> date:
    """The first working day after `day`."""
    nxt = day + timedelta(days=1)
    while not is_working_day(nxt, holiday_country=holiday_country, holiday_subdiv=holiday_subdiv):
        nxt += timedelta(days=1)
    return nxt


def _local_start(day: date, at: time, tz: tzinfo) -> datetime:
    """`day` at wall-clock `at` in `tz`, as UTC (a wall time skipped by a clock change maps to
    the instant after the change)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def next_nudge_time(
    person: PersonSnapshot,
    *,
    now: datetime,
    last_nudged_at: datetime | None,
    snoozed_until: datetime | None,
    working_hours: tuple[time, time] = (time(9), time(17)),
    holiday_country: str | None = "GB",
    holiday_subdiv: str | None = "ENG",
) -> datetime:
    """The earliest moment at or after `now` (UTC) when `person` may be sent a reminder."""
    _require_aware(now, "now")
    start_at, end_at = working_hours
    if not start_at < end_at:
        raise ValueError(f"working hours must start before they end (got {start_at} to {end_at})")
    tz = zone(person.timezone)
    earliest = now.astimezone(UTC)
    if snoozed_until is not None:
        _require_aware(snoozed_until, "snoozed_until")
        earliest = max(earliest, snoozed_until.astimezone(UTC))
    if last_nudged_at is not None:
        _require_aware(last_nudged_at, "last_nudged_at")
        next_day = last_nudged_at.astimezone(tz).date() + timedelta(days=1)
        earliest = max(earliest, _local_start(next_day, time(0), tz))
    if person.away_until is not None:
        earliest = max(earliest, _local_start(person.away_until + timedelta(days=1), time(0), tz))

    day = earliest.astimezone(tz).date()
    for _ in range(370):
        if is_working_day(day, holiday_country=holiday_country, holiday_subdiv=holiday_subdiv):
            candidate = max(earliest, _local_start(day, start_at, tz))
            if candidate < _local_start(day, end_at, tz):
                return candidate
        day += timedelta(days=1)
    raise ValueError(f"no working day found for {person.display_name} within a year of {fmt_date(day)}")


def is_nudge_time(
    person: PersonSnapshot,
    *,
    now: datetime,
    last_nudged_at: datetime | None,
    snoozed_until: datetime | None,
    working_hours: tuple[time, time] = (time(9), time(17)),
    holiday_country: str | None = "GB",
    holiday_subdiv: str | None = "ENG",
) -> bool:
    """True when `person` may be sent a reminder at `now`."""
    return next_nudge_time(
        person,
        now=now,
        last_nudged_at=last_nudged_at,
        snoozed_until=snoozed_until,
        working_hours=working_hours,
        holiday_country=holiday_country,
        holiday_subdiv=holiday_subdiv,
    ) == now.astimezone(UTC)


# --------------------------------------------------------------------------- snooze

_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2, "a few": 3, "few": 3}
_WEEKDAY_WORDS = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3, "thurs": 3,
                  "fri": 4, "sat": 5, "sun": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
                  "friday": 4, "saturday": 5, "sunday": 6}
_LEAD_IN = re.compile(r"^(?:please\s+)?(?:remind\s+me|snooze(?:\s+(?:it|this|me))?|ask\s+me(?:\s+again)?|later)\b\s*")
_FILLER = re.compile(r"^(?:again\s+)?(?:on|until|till|til|for|in|by|from|at|next\s+time\s+on)\s+")
_AT_TIME = re.compile(r"\s*(?:at\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?\s*$")


def _clock(text: str) -> tuple[str, time | None]:
    """Split a trailing "at 2pm" / "at 14:30" / "10am" off `text`."""
    m = _AT_TIME.search(text)
    if not m or not (m.group(3) or m.group(2) or re.search(r"\bat\s+\d", text)):
        return text, None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) == "pm" and hour < 12:
        hour += 12
    if m.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return text, None
    return text[: m.start()].strip(), time(hour, minute)


def _weekday(text: str) -> int | None:
    """0..6 for "monday", "on tue", "next friday", "this thursday"; None otherwise. "Next
    Friday" means the coming Friday, as most people mean it."""
    m = re.fullmatch(r"(?:next |this |on |coming |this coming )?([a-z]+)", text)
    return _WEEKDAY_WORDS.get(m.group(1)) if m else None


def _count(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return _NUMBER_WORDS.get(text)


def parse_snooze(text: str, *, now: datetime, tz: str | tzinfo, at: time = time(9)) -> datetime | None:
    """When a person asked to be reminded, as UTC; None when the words are not understood or
    name a moment that is not in the future.

    Understands "remind me Monday" (the next Monday), "remind me tomorrow", "snooze 3 days",
    "remind me in 2 weeks", "remind me next week" (next Monday), "next month" (the 1st),
    "snooze 2 hours", and dates such as "remind me on 5 March", each optionally followed by a
    time ("at 2pm", "at 14:30"). Days land at `at` (09:00) local time unless a time is given.
    """
    _require_aware(now, "now")
    zone_ = zone(tz)
    local_now = now.astimezone(zone_)
    today = local_now.date()
    raw = re.sub(r"\s+", " ", text.strip().lower()).rstrip(".!")
    rest = _LEAD_IN.sub("", raw)
    rest = _FILLER.sub("", rest).strip()
    rest, clock = _clock(rest)
    rest = _FILLER.sub("", rest).strip()
    hour_at = clock or at

    def on(day: date) -> datetime:
        return _local_start(day, hour_at, zone_)

    result: datetime | None = None
    m = re.fullmatch(r"(?:(.+?) )?(hour|hr|day|week|month)s?(?: time)?", rest)
    if rest in ("tomorrow", "tomorrow morning", "tmrw", "tmw"):
        result = on(today + timedelta(days=1))
    elif rest in ("next week", "a week on monday"):
        result = on(today + timedelta(days=7 - today.weekday()))
    elif rest == "next month":
        y, mth = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        result = on(date(y, mth, 1))
    elif (wd := _weekday(rest)) is not None:
        ahead = (wd - today.weekday()) % 7 or 7
        result = on(today + timedelta(days=ahead))
    elif m:
        n = 1 if m.group(1) is None else _count(m.group(1))
        unit = m.group(2)
        if n is None or n <= 0:
            return None
        if unit in ("hour", "hr"):
            result = now.astimezone(UTC) + timedelta(hours=n)
        elif unit == "day":
            result = on(today + timedelta(days=n))
        elif unit == "week":
            result = on(today + timedelta(days=7 * n))
        else:
            y, mth = today.year, today.month + n
            y, mth = y + (mth - 1) // 12, (mth - 1) % 12 + 1
            result = on(min(date(y, mth, 1) + timedelta(days=today.day - 1), _last_day(y, mth)))
    elif rest:
        result = _parse_date(rest, local_now, on)
    if result is None or result <= now.astimezone(UTC):
        return None
    return result


def _parse_date(text: str, local_now: datetime, on: Callable[[date], datetime]) -> datetime | None:
    """An explicit date ("5 March", "12/03", "12 March 2027") through dateparser, day first."""
    if not re.search(r"\d", text):
        return None
    import dateparser  # slow to import; only needed for explicit dates

    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "DATE_ORDER": "DMY",
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return on(parsed.date()) if parsed is not None else None


# --------------------------------------------------------------------------- planning nudges


@dataclass(frozen=True)
class NudgeState:
    """What we remember about reminding one person."""

    last_nudged_at: datetime | None = None
    snoozed_until: datetime | None = None
    unanswered_count: int = 0  # reminders sent since their last reply or update
    escalated_at: datetime | None = None  # set once escalated; cleared when they answer


@dataclass(frozen=True)
class DueAction:
    action_id: int
    plan_id: int
    ref: str
    title: str
    reason: DueReason

    def to_json(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "plan_id": self.plan_id, "ref": self.ref, "title": self.title,
                "reason": self.reason.code, "why": self.reason.text}


@dataclass(frozen=True)
class Escalation:
    """A PRIVATE note to `to_id` (the person's manager, else the plan's owner) that `about_id`
    has not answered reminders. Sent as a direct message only, never to a channel."""

    to_id: int
    to_name: str
    about_id: int
    about_name: str
    actions: tuple[DueAction, ...]
    unanswered_count: int

    @property
    def text(self) -> str:
        refs = ", ".join(a.ref for a in self.actions)
        n = len(self.actions)
        return (
            f"{self.about_name} has not answered the last {self.unanswered_count} reminders about "
            f"{n} action{'s' if n != 1 else ''} ({refs}). This note is only to you; "
            "nothing has been posted in any channel."
        )

    def to_json(self) -> dict[str, Any]:
        return {"to_id": self.to_id, "to_name": self.to_name, "about_id": self.about_id,
                "about_name": self.about_name, "refs": [a.ref for a in self.actions],
                "unanswered_count": self.unanswered_count, "private": True, "text": self.text}


@dataclass(frozen=True)
class NudgePlan:
    """One reminder to one person: their due actions, plus the unowned ones of plans they own.

    person_id None collects actions nobody can be asked about (no owner, and their plan has no
    owner either); it has no send time."""

    person_id: int | None
    person_name: str
    send_at: datetime | None  # UTC; the earliest allowed moment at or after `now`
    send_now: bool
    actions: tuple[DueAction, ...]
    unassigned: tuple[DueAction, ...] = ()
    escalations: tuple[Escalation, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "name": self.person_name,
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "send_now": self.send_now,
            "actions": [a.to_json() for a in self.actions],
            "unassigned": [a.to_json() for a in self.unassigned],
            "escalations": [e.to_json() for e in self.escalations],
        }


def nudges_to_json(nudges: Iterable[NudgePlan], *, now: datetime) -> dict[str, Any]:
    """What `actionbot due --as-of ... --json` prints."""
    items = list(nudges)
    return {
        "as_of": now.astimezone(UTC).isoformat(),
        "people": sum(1 for n in items if n.person_id is not None),
        "actions": sum(len(n.actions) + len(n.unassigned) for n in items),
        "nudges": [n.to_json() for n in items],
    }


def _as_map(items: Any) -> dict[int, Any]:
    if isinstance(items, Mapping):
        return dict(items)
    if isinstance(items, (PlanSnapshot, PersonSnapshot)):
        return {items.id: items}
    return {x.id: x for x in items}


def plan_nudges(
    actions: Iterable[ActionSnapshot],
    people: Mapping[int, PersonSnapshot] | Iterable[PersonSnapshot],
    plans: PlanSnapshot | Mapping[int, PlanSnapshot] | Iterable[PlanSnapshot],
    *,
    now: datetime,
    nudge_state: Mapping[int, NudgeState] | None = None,
    escalate_after: int = 2,
    working_hours: tuple[time, time] = (time(9), time(17)),
    holiday_country: str | None = "GB",
    holiday_subdiv: str | None = "ENG",
) -> list[NudgePlan]:
    """One NudgePlan per person with anything due, sorted by name (the unreachable last).

    Owners (not delegates) are asked. An action whose owners are unknown goes under
    `unassigned` for its plan's owner. When a person's unanswered_count has reached
    `escalate_after` and they have not been escalated yet, an Escalation goes privately to
    their manager, or else to the owner of each plan concerned (never to themselves)."""
    _require_aware(now, "now")
    person_by_id: dict[int, PersonSnapshot] = _as_map(people)
    plan_by_id: dict[int, PlanSnapshot] = _as_map(plans)
    state = nudge_state or {}

    own: dict[int, list[tuple[DueAction, ActionSnapshot]]] = {}
    unassigned: dict[int | None, list[DueAction]] = {}
    days = {pid: _PlanDay.of(p, now) for pid, p in plan_by_id.items()}
    for action in actions:
        day = days.get(action.plan_id)
        if day is None:
            raise ValueError(f"action {action.ref} belongs to plan {action.plan_id}, which was not given")
        reason = _needs_update(action, day)
        if reason is None:
            continue
        due = DueAction(action.id, action.plan_id, action.ref, action.text, reason)
        ids = action.owner_ids
        if len(ids) == 1:  # most actions: one owner, nothing to de-duplicate
            owners: Iterable[int] = ids if ids[0] in person_by_id else ()
        else:
            owners = [pid for pid in dict.fromkeys(ids) if pid in person_by_id]
        if owners:
            for pid in owners:
                bucket = own.get(pid)
                if bucket is None:
                    own[pid] = [(due, action)]
                else:
                    bucket.append((due, action))
        else:
            keeper = day.plan.owner_id if day.plan.owner_id in person_by_id else None
            unassigned.setdefault(keeper, []).append(due)

    result: list[NudgePlan] = []
    for pid in set(own) | {k for k in unassigned if k is not None}:
        person = person_by_id[pid]
        st = state.get(pid, NudgeState())
        send_at = next_nudge_time(
            person, now=now, last_nudged_at=st.last_nudged_at, snoozed_until=st.snoozed_until,
            working_hours=working_hours, holiday_country=holiday_country, holiday_subdiv=holiday_subdiv,
        )
        mine = own.get(pid, [])
        escalations: tuple[Escalation, ...] = ()
        if mine and st.unanswered_count >= escalate_after and st.escalated_at is None:
            escalations = _escalate(person, mine, st.unanswered_count, person_by_id, plan_by_id)
        result.append(NudgePlan(
            person_id=pid, person_name=person.display_name, send_at=send_at,
            send_now=send_at == now.astimezone(UTC),
            actions=tuple(d for d, _ in mine), unassigned=tuple(unassigned.get(pid, ())),
            escalations=escalations,
        ))
    result.sort(key=lambda n: (n.person_name.lower(), n.person_id))
    if None in unassigned:
        result.append(NudgePlan(None, "nobody (no owner, and the plan has no owner)", None, False,
                                actions=(), unassigned=tuple(unassigned[None])))
    return result


def _escalate(
    person: PersonSnapshot,
    mine: list[tuple[DueAction, ActionSnapshot]],
    count: int,
    person_by_id: Mapping[int, PersonSnapshot],
    plan_by_id: Mapping[int, PlanSnapshot],
) -> tuple[Escalation, ...]:
    manager = person_by_id.get(person.manager_id) if person.manager_id is not None else None
    if manager is not None and manager.id != person.id:
        return (Escalation(manager.id, manager.display_name, person.id, person.display_name,
                           tuple(d for d, _ in mine), count),)
    by_owner: dict[int, list[DueAction]] = {}
    for due, action in mine:
        owner_id = plan_by_id[action.plan_id].owner_id
        if owner_id is not None and owner_id != person.id and owner_id in person_by_id:
            by_owner.setdefault(owner_id, []).append(due)
    return tuple(
        Escalation(oid, person_by_id[oid].display_name, person.id, person.display_name, tuple(items), count)
        for oid, items in by_owner.items()
    )
