"""bot.domain.due compares local days through their UTC edges and words each reason once per
plan and day. These tests hold it to the straightforward rule (every moment converted to the
plan's zone, every reason worded afresh), written out here as it was first written, on random
registers in zones whose clocks change at or across midnight."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.due import (
    DueAction,
    DueReason,
    cadence_points,
    describe_cadence,
    needs_update,
    plan_nudges,
    zone,
)
from bot.domain.model import ActionSnapshot, Cadence, PersonSnapshot, PlanSnapshot, Status
from bot.domain.rag import fmt_date

_CLOSED = (Status.SIGNED_OFF, Status.ON_HOLD, Status.CANCELLED)
# Clocks that change at midnight (Santiago, Asuncion, Beirut, Cairo, Havana), by half an hour
# (Lord Howe), a whole day (Apia, end of 2011), and the register's own zone.
ZONES = ["Europe/London", "America/Santiago", "America/Asuncion", "Asia/Beirut", "Africa/Cairo", "America/Havana",
         "Australia/Lord_Howe", "Pacific/Apia", "Pacific/Chatham", "America/St_Johns", "Asia/Kathmandu", "UTC"]


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def reference(action: ActionSnapshot, *, plan: PlanSnapshot, now: datetime) -> DueReason | None:
    """needs_update as first written: every moment converted to a local day."""
    tz = zone(plan.timezone)
    today = now.astimezone(tz).date()
    _, previous_point = cadence_points(plan.cadence, today)
    if action.status in _CLOSED or not (plan.chase_from is None or today >= plan.chase_from):
        return None
    if action.returned_at is not None:
        when = fmt_date(action.returned_at.astimezone(tz).date())
        return DueReason("returned", f"Returned by the sign-off panel on {when}: it needs an update before it goes back.")
    if action.status is Status.COMPLETE:
        return None
    answered = action.last_answer_at
    last = answered or action.created_at
    last_day = last.astimezone(tz).date() if last is not None else None
    cadence_due = last_day is None or last_day <= previous_point
    updated = answered.astimezone(tz).date() if answered is not None else None
    target = action.target
    if target is not None and target < today:
        if updated is None or updated <= target or cadence_due:
            return DueReason("overdue", f"The target date {fmt_date(target)} passed {_days((today - target).days)} ago: "
                                        "please say where it stands and, if it needs one, give a revised target.")
    elif target is not None and (target - today).days <= plan.due_soon_days:
        window_opened = target - timedelta(days=plan.due_soon_days)
        if updated is None or updated < window_opened or cadence_due:
            left = (target - today).days
            when = "today" if left == 0 else f"in {_days(left)}"
            return DueReason("target_near", f"The target date {fmt_date(target)} is {when}: is it on track?")
    if cadence_due:
        rhythm = describe_cadence(plan.cadence)
        if answered is None:
            return DueReason("cadence", f"No progress update yet; this plan asks for one {rhythm}.")
        return DueReason("cadence", f"No update since {fmt_date(answered.astimezone(tz).date())}; this plan asks for one {rhythm}.")
    return None


def at_midnight(rnd: random.Random, tz: ZoneInfo, day: date) -> datetime:
    """A moment within a few hours (or a microsecond) of the start of local `day`."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    return start + rnd.choice([timedelta(microseconds=rnd.choice([0, 1, -1])), timedelta(minutes=rnd.randint(-180, 180))])


def random_register(seed: int, tz_name: str, n: int = 300):
    """Actions whose answers, creations and returns fall near the local midnights the rule
    compares against: the target day's end, the day the due-soon window opens, the cadence day."""
    rnd = random.Random(seed)
    tz = ZoneInfo(tz_name)
    now = datetime(rnd.choice([2011, 2016, 2023, 2026]), rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 23),
                   rnd.randint(0, 59), tzinfo=UTC)
    if tz_name == "Pacific/Apia" and rnd.random() < 0.5:
        now = datetime(2012, 1, rnd.randint(1, 20), 10, tzinfo=UTC)  # just after Samoa skipped 30 Dec 2011
    p = PlanSnapshot(id=1, title="Plan", timezone=tz_name, due_soon_days=rnd.choice([0, 7, 14, 28]),
                     cadence=Cadence.parse(rnd.choice(["weekly:mon", "fortnightly:thu", "monthly:last", "monthly:15"])),
                     owner_id=1)
    today = now.astimezone(tz).date()
    latest, previous = cadence_points(p.cadence, today)

    def day() -> date | None:
        if rnd.random() < 0.1:
            return None
        return today + timedelta(days=rnd.randint(-40, p.due_soon_days + 5))

    actions = []
    for i in range(n):
        target, revised = day(), day() if rnd.random() < 0.3 else None
        t = revised or target or today
        edges = [t, t + timedelta(days=1), t - timedelta(days=p.due_soon_days), t - timedelta(days=p.due_soon_days - 1),
                 previous, previous + timedelta(days=1), latest, today]

        def moment(edges: list[date] = edges) -> datetime | None:
            r = rnd.random()
            if r < 0.15:
                return None
            if r < 0.85:
                return at_midnight(rnd, tz, rnd.choice(edges))
            return now - timedelta(minutes=rnd.randint(0, 60 * 24 * 400))

        last = moment()
        answer = rnd.choice([last, moment()]) if last is not None else None
        actions.append(ActionSnapshot(
            id=i + 1, plan_id=1, ref=f"{i}.1", text=f"Action {i}", status=rnd.choice(list(Status)),
            owner_ids=tuple(rnd.sample([1, 2, 3, 99], rnd.choice([0, 1, 1, 1, 2]))), original_target=target,
            revised_target=revised, last_update_at=last, last_answer_at=answer,
            returned_at=at_midnight(rnd, tz, rnd.choice(edges)) if rnd.random() < 0.05 else None,
            created_at=moment() if rnd.random() < 0.9 else None))
    people = {i: PersonSnapshot(id=i, display_name=f"P{i}") for i in (1, 2, 3)}
    return p, actions, people, now


@pytest.mark.parametrize("tz_name", ZONES)
@pytest.mark.parametrize("seed", range(4))
def test_needs_update_is_the_straightforward_rule(tz_name, seed):
    plan, actions, _, now = random_register(seed, tz_name)
    for later in (timedelta(0), timedelta(hours=13)):
        for a in actions:
            assert needs_update(a, plan=plan, now=now + later) == reference(a, plan=plan, now=now + later), a


@pytest.mark.parametrize("tz_name", ["Europe/London", "America/Santiago", "Pacific/Apia"])
def test_plan_nudges_lists_what_the_straightforward_rule_finds(tz_name):
    plan, actions, people, now = random_register(11, tz_name, n=600)
    nudges = plan_nudges(actions, people, {1: plan}, now=now)
    got = {(d.action_id, n.person_id, d.reason) for n in nudges for d in (*n.actions, *n.unassigned)}
    want = set()
    for a in actions:
        reason = reference(a, plan=plan, now=now)
        if reason is None:
            continue
        owners = [p for p in dict.fromkeys(a.owner_ids) if p in people]
        for p in owners or [plan.owner_id]:
            want.add((a.id, p, reason))
    assert got == want and got
    assert all(isinstance(d, DueAction) for n in nudges for d in n.actions)
