"""bot.domain.digest rebuilds history only for actions that changed inside the digest's window
and rates the others once; these tests hold it to the digest as first written
(tests/digest_reference.py) on random registers: every field of the result, in order."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.digest import build_digest, trails_of
from bot.domain.model import (
    ActionSnapshot,
    Channel,
    PersonSnapshot,
    PlanSnapshot,
    Rag,
    RagScheme,
    Status,
    UpdateSnapshot,
)
from tests.digest_reference import build_digest as reference

AS_OF = date(2026, 3, 20)


def random_plan(seed: int, n: int = 400):
    rnd = random.Random(seed)
    tz_name = rnd.choice(["Europe/London", "America/New_York", "UTC", "Australia/Lord_Howe"])
    tz = ZoneInfo(tz_name)
    plan = PlanSnapshot(id=1, title="Plan", rag_scheme=rnd.choice(list(RagScheme)), timezone=tz_name,
                        due_soon_days=rnd.choice([7, 14, 28]), owner_id=1,
                        created_at=rnd.choice([None, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)]))
    end = datetime(2026, 3, 21, tzinfo=tz)

    def moment(days_back: int = 140) -> datetime:
        # often near a week's end (the digest's cutoffs), in UTC or the plan's zone
        if rnd.random() < 0.4:
            at = end - timedelta(days=7 * rnd.randint(0, 12)) + timedelta(microseconds=rnd.choice([-1, 0, 1]))
        else:
            at = end - timedelta(minutes=rnd.randint(0, 60 * 24 * days_back))
        return at.astimezone(UTC) if rnd.random() < 0.7 else at

    def day() -> date | None:
        return None if rnd.random() < 0.1 else AS_OF + timedelta(days=rnd.randint(-90, 60))

    people = {i: PersonSnapshot(id=i, display_name=f"Person {i}") for i in range(1, 8)}
    actions, updates = [], []
    for i in range(1, n + 1):
        created = moment(200) if rnd.random() < 0.95 else None
        history = []
        for _ in range(rnd.choice([0, 0, 1, 2, 3, 5])):
            history.append(UpdateSnapshot(
                action_id=i, at=moment(), channel=rnd.choice(list(Channel)),
                status=rnd.choice([None, None, *Status]), rag=rnd.choice([None, None, *Rag]),
                revised_target=day() if rnd.random() < 0.2 else None))
        updates += history
        last = max((u.at for u in history), default=None)
        if rnd.random() < 0.3:
            last = moment()  # a change the updates do not show (an edit)
        actions.append(ActionSnapshot(
            id=i, plan_id=1, ref=f"{i % 9}.{i}", text=f"Action {i}", status=rnd.choice(list(Status)),
            rag=rnd.choice([None, *Rag]), priority_ref=rnd.choice([None, "1", "2", "9"]),
            lead_text=rnd.choice(["", "Head of Service"]), owner_ids=tuple(rnd.sample(range(1, 10), rnd.choice([0, 1, 1, 2]))),
            original_target=day(), revised_target=day() if rnd.random() < 0.2 else None,
            last_update_at=last, created_at=created))
    updates.append(UpdateSnapshot(action_id=n + 99, at=moment(), channel=Channel.CLI, status=Status.COMPLETE))  # not in the plan
    rnd.shuffle(updates)
    waiting = [(a.id, "Panel") for a in actions if a.status is Status.COMPLETE][:20] + [(n + 50, "Panel")]
    return plan, actions, updates, people, waiting


@pytest.mark.parametrize("seed", range(8))
def test_the_digest_is_the_one_first_written(seed):
    plan, actions, updates, people, waiting = random_plan(seed)
    prios = [("1", "Front door"), ("2", "Oversight")]
    rnd = random.Random(seed)
    for as_of, since, weeks, stale in [(AS_OF, None, 8, 4), (AS_OF - timedelta(days=rnd.randint(1, 30)), None, 3, 2),
                                       (AS_OF, AS_OF - timedelta(days=30), 1, 8)]:
        kw = dict(as_of=as_of, since=since, stale_weeks=stale, people=people, awaiting_signoff=waiting, history_weeks=weeks)
        got = build_digest(plan, prios, actions, list(updates), **kw)
        want = reference(plan, prios, actions, list(updates), **kw)
        assert got == want
        assert got.to_json(private=True) == want.to_json(private=True)
        assert build_digest(plan, prios, actions, trails_of(updates), **kw) == want  # grouped, as storage reads it
        assert got.moved.count and got.overdue and got.trend  # the register exercises what is compared
        # the trend days an earlier digest reported, all or some of them (as_of's own point
        # too, which is worked out again): the days left are rebuilt to the same digest
        points = {p.week_ending: p.counts for p in want.trend}
        for some in (points, {d: c for d, c in points.items() if rnd.random() < 0.5}):
            assert build_digest(plan, prios, actions, trails_of(updates), **kw, reported_weeks=some) == want


def test_a_reported_week_is_shown_as_reported_and_as_of_is_worked_out_again():
    """A week an earlier digest reported keeps the counts it reported (the register may since
    have changed: an action removed, a rating corrected), whatever the history now rebuilds;
    a week nobody reported, and as_of itself, are worked out from the register."""
    plan, actions, updates, people, waiting = random_plan(3)
    kw = dict(as_of=AS_OF, people=people, awaiting_signoff=waiting)
    want = build_digest(plan, [], actions, updates, **kw)
    days = [p.week_ending for p in want.trend]
    told = {days[2]: {"R": 7, "G": 1}, days[-1]: {"R": 1}, AS_OF + timedelta(days=7): {"R": 3}}
    got = build_digest(plan, [], actions, updates, **kw, reported_weeks=told)
    assert got.trend[2].counts == {"B": 0, "G": 1, "A": 0, "R": 7, "none": 0}
    assert [p for i, p in enumerate(got.trend) if i != 2] == [p for i, p in enumerate(want.trend) if i != 2]
    assert got.trend[-1].counts == want.totals.by_rating and dataclasses.replace(got, trend=want.trend) == want


def test_a_plan_with_no_updates_and_one_held_before_the_register_are_the_same_too():
    plan, actions, _, people, waiting = random_plan(99, n=50)
    kw = dict(as_of=AS_OF, people=people, awaiting_signoff=waiting)
    assert build_digest(plan, [], actions, [], **kw) == reference(plan, [], actions, [], **kw)
    early = dict(kw, as_of=date(2024, 1, 1))
    assert build_digest(plan, [], actions, [], **early) == reference(plan, [], actions, [], **early)
