import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.due import (
    NudgeState,
    cadence_points,
    describe_cadence,
    is_nudge_time,
    needs_update,
    next_nudge_time,
    nudges_to_json,
    parse_snooze,
    plan_nudges,
)
from bot.domain.model import ActionSnapshot, Cadence, PersonSnapshot, PlanSnapshot, Status

LON = ZoneInfo("Europe/London")
NY = ZoneInfo("America/New_York")


def utc(y, m, d, h=0, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def london(y, m, d, h=0, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=LON)


def plan(cadence="weekly:mon", **kw):
    return PlanSnapshot(id=1, title="ILACS plan", cadence=Cadence.parse(cadence), **kw)


def action(ref="1.1", status=Status.IN_PROGRESS, last=None, created=None, target=None, revised=None,
           returned=None, owners=(), plan_id=1, id=None):
    return ActionSnapshot(
        id=id if id is not None else 1, plan_id=plan_id, ref=ref, text=f"Action {ref}",
        status=status, original_target=target, revised_target=revised, last_update_at=last,
        created_at=created, returned_at=returned, owner_ids=tuple(owners),
    )


# ----------------------------------------------------------------- cadence

# March 2026: Mondays are 2, 9, 16, 23, 30.


def test_weekly_update_counts_for_the_week_it_falls_in():
    p = plan("weekly:mon")
    a = action(last=london(2026, 3, 3, 11))  # Tuesday after Monday 2 March
    assert needs_update(a, plan=p, now=london(2026, 3, 9, 10)) is None
    assert needs_update(a, plan=p, now=london(2026, 3, 15, 10)) is None
    reason = needs_update(a, plan=p, now=london(2026, 3, 16, 10))
    assert reason is not None and reason.code == "cadence"
    assert "3 Mar 2026" in reason.text and "every Monday" in reason.text


def test_weekly_update_on_the_update_day_counts_for_that_week():
    p = plan("weekly:mon")
    a = action(last=london(2026, 3, 2, 16))
    assert needs_update(a, plan=p, now=london(2026, 3, 8, 10)) is None
    assert needs_update(a, plan=p, now=london(2026, 3, 9, 10)).code == "cadence"


def test_cadence_day_is_the_plans_local_day():
    # 23:30 UTC on Sunday 29 March is 00:30 BST on Monday 30 March
    p = plan("weekly:mon")
    a = action(last=london(2026, 3, 23, 9))
    assert needs_update(a, plan=p, now=utc(2026, 3, 29, 22, 30)) is None  # 23:30 BST Sunday
    assert needs_update(a, plan=p, now=utc(2026, 3, 29, 23, 30)).code == "cadence"


def test_fortnightly_on_thursday_skips_the_off_week():
    p = plan("fortnightly:thu")
    latest, previous = cadence_points(p.cadence, date(2026, 3, 20))
    assert latest == date(2026, 3, 12) and previous == date(2026, 2, 26)
    assert latest.weekday() == 3
    a = action(last=london(2026, 3, 13, 10))  # the day after an update Thursday
    assert needs_update(a, plan=p, now=london(2026, 3, 19, 10)) is None  # off-week Thursday
    assert needs_update(a, plan=p, now=london(2026, 3, 26, 10)) is None  # covers 13..26 Mar
    assert needs_update(a, plan=p, now=london(2026, 4, 9, 10)).code == "cadence"
    assert describe_cadence(p.cadence) == "every other Thursday"


def test_monthly_on_a_day():
    p = plan("monthly:15")
    assert cadence_points(p.cadence, date(2026, 3, 14)) == (date(2026, 2, 15), date(2026, 1, 15))
    assert cadence_points(p.cadence, date(2026, 1, 15)) == (date(2026, 1, 15), date(2025, 12, 15))
    a = action(last=london(2026, 2, 20, 10))
    assert needs_update(a, plan=p, now=london(2026, 3, 14, 10)) is None
    assert needs_update(a, plan=p, now=london(2026, 3, 15, 10)) is None  # covers 16 Feb..15 Mar
    assert needs_update(a, plan=p, now=london(2026, 4, 15, 10)).code == "cadence"
    assert "by the 15th of each month" in needs_update(a, plan=p, now=london(2026, 4, 15, 10)).text


def test_monthly_last_day_in_february_and_leap_year():
    p = plan("monthly:last")
    assert cadence_points(p.cadence, date(2026, 2, 28)) == (date(2026, 2, 28), date(2026, 1, 31))
    assert cadence_points(p.cadence, date(2026, 2, 27)) == (date(2026, 1, 31), date(2025, 12, 31))
    assert cadence_points(p.cadence, date(2028, 3, 1)) == (date(2028, 2, 29), date(2028, 1, 31))
    a = action(last=london(2026, 1, 20, 10))
    assert needs_update(a, plan=p, now=london(2026, 2, 27, 10)) is None
    assert needs_update(a, plan=p, now=london(2026, 2, 28, 10)).code == "cadence"
    b = action(last=london(2026, 2, 10, 10))
    assert needs_update(b, plan=p, now=london(2026, 3, 30, 10)) is None
    assert needs_update(b, plan=p, now=london(2026, 3, 31, 10)).code == "cadence"


def test_never_updated_counts_from_creation():
    p = plan("weekly:mon")
    a = action(created=london(2026, 3, 4, 10))
    assert needs_update(a, plan=p, now=london(2026, 3, 9, 10)) is None
    r = needs_update(a, plan=p, now=london(2026, 3, 16, 10))
    assert r.code == "cadence" and "No progress update yet" in r.text
    # nothing known at all: ask
    assert needs_update(action(), plan=p, now=london(2026, 3, 16, 10)).code == "cadence"


# ----------------------------------------------------------------- target dates


def test_target_near_asks_once_in_the_window():
    p = plan("monthly:last", due_soon_days=14)
    now = london(2026, 3, 10, 10)
    before_window = action(last=london(2026, 3, 1, 10), target=date(2026, 3, 20))  # window opened 6 Mar
    r = needs_update(before_window, plan=p, now=now)
    assert r.code == "target_near" and "20 Mar 2026 is in 10 days" in r.text
    in_window = action(last=london(2026, 3, 7, 10), target=date(2026, 3, 20))
    assert needs_update(in_window, plan=p, now=now) is None
    far = action(last=london(2026, 3, 1, 10), target=date(2026, 3, 25))
    assert needs_update(far, plan=p, now=now) is None
    assert needs_update(far, plan=plan("monthly:last", due_soon_days=15), now=now).code == "target_near"


def test_target_today_is_near_not_overdue():
    p = plan("monthly:last")
    r = needs_update(action(last=london(2026, 2, 1), target=date(2026, 3, 10)), plan=p, now=london(2026, 3, 10, 10))
    assert r.code == "target_near" and "is today" in r.text


def test_overdue_until_someone_says_something():
    p = plan("monthly:last")
    now = london(2026, 3, 10, 10)
    stale = action(last=london(2026, 3, 2, 10), target=date(2026, 3, 5))
    r = needs_update(stale, plan=p, now=now)
    assert r.code == "overdue" and "5 Mar 2026 passed 5 days ago" in r.text
    answered = action(last=london(2026, 3, 6, 10), target=date(2026, 3, 5))
    assert needs_update(answered, plan=p, now=now) is None
    # ... but the cadence still applies, and the reason says it is overdue
    assert needs_update(answered, plan=p, now=london(2026, 4, 30, 10)).code == "overdue"


def test_revised_target_is_the_one_that_counts():
    p = plan("monthly:last")
    now = london(2026, 3, 10, 10)
    a = action(last=london(2026, 3, 2, 10), target=date(2026, 3, 5), revised=date(2026, 9, 30))
    assert needs_update(a, plan=p, now=now) is None


def test_returned_by_panel():
    p = plan("monthly:last")
    now = london(2026, 3, 10, 10)
    r = needs_update(action(last=london(2026, 3, 9), returned=london(2026, 3, 9, 15)), plan=p, now=now)
    assert r.code == "returned" and "9 Mar 2026" in r.text
    # returned outranks a complete status: the panel has said it is not done
    done = action(status=Status.COMPLETE, returned=london(2026, 3, 9, 15))
    assert needs_update(done, plan=p, now=now).code == "returned"


@pytest.mark.parametrize("status", [Status.COMPLETE, Status.SIGNED_OFF, Status.ON_HOLD, Status.CANCELLED])
def test_inactive_statuses_never_need_an_update(status):
    p = plan("weekly:mon")
    a = action(status=status, last=london(2025, 1, 1), target=date(2025, 6, 1))
    assert needs_update(a, plan=p, now=london(2026, 3, 10, 10)) is None


@pytest.mark.parametrize("status", [Status.SIGNED_OFF, Status.ON_HOLD, Status.CANCELLED])
def test_closed_statuses_ignore_returned(status):
    a = action(status=status, returned=london(2026, 3, 9))
    assert needs_update(a, plan=plan(), now=london(2026, 3, 10, 10)) is None


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone"):
        needs_update(action(), plan=plan(), now=datetime(2026, 3, 10, 10))  # noqa: DTZ001 - the naive moment under test


# ----------------------------------------------------------------- nudge timing

ALICE = PersonSnapshot(id=1, display_name="Alice Adams", manager_id=3)
NYC = PersonSnapshot(id=9, display_name="Nia York", timezone="America/New_York")


def nxt(person=ALICE, now=None, last=None, snooze=None, **kw):
    return next_nudge_time(person, now=now, last_nudged_at=last, snoozed_until=snooze, **kw)


def test_inside_working_hours_is_now():
    now = utc(2026, 3, 10, 10)  # Tuesday, GMT
    assert nxt(now=now) == now
    assert is_nudge_time(ALICE, now=now, last_nudged_at=None, snoozed_until=None)


def test_before_and_after_working_hours():
    assert nxt(now=utc(2026, 3, 10, 7, 45)) == utc(2026, 3, 10, 9)
    assert nxt(now=utc(2026, 3, 10, 17, 0)) == utc(2026, 3, 11, 9)
    assert not is_nudge_time(ALICE, now=utc(2026, 3, 10, 17), last_nudged_at=None, snoozed_until=None)
    assert nxt(now=utc(2026, 3, 10, 7), working_hours=(time(8), time(16))) == utc(2026, 3, 10, 8)


def test_weekends_are_skipped():
    assert nxt(now=utc(2026, 3, 13, 17, 30)) == utc(2026, 3, 16, 9)  # Friday evening -> Monday
    assert nxt(now=utc(2026, 3, 14, 11)) == utc(2026, 3, 16, 9)  # Saturday
    assert not is_nudge_time(ALICE, now=utc(2026, 3, 15, 11), last_nudged_at=None, snoozed_until=None)


def test_christmas_and_the_boxing_day_substitute():
    # Thu 24 Dec 2026 evening: 25 Dec (Fri), weekend, 28 Dec (Boxing Day substitute) are all off
    assert nxt(now=utc(2026, 12, 24, 17, 30)) == utc(2026, 12, 29, 9)
    assert not is_nudge_time(ALICE, now=utc(2026, 12, 25, 10), last_nudged_at=None, snoozed_until=None)
    assert not is_nudge_time(ALICE, now=utc(2026, 12, 28, 10), last_nudged_at=None, snoozed_until=None)
    assert is_nudge_time(ALICE, now=utc(2026, 12, 29, 10), last_nudged_at=None, snoozed_until=None)


def test_august_bank_holiday_and_a_configurable_calendar():
    fri_evening = utc(2026, 8, 28, 17)  # 18:00 BST
    assert nxt(now=fri_evening) == utc(2026, 9, 1, 8)  # Tue 1 Sep 09:00 BST
    # Scotland's summer holiday is in early August, so 31 Aug is a working day there
    assert nxt(now=fri_evening, holiday_subdiv="SCT") == utc(2026, 8, 31, 8)
    # no calendar at all: Christmas Day is a working day
    assert nxt(now=utc(2026, 12, 25, 10), holiday_country=None) == utc(2026, 12, 25, 10)


def test_unknown_holiday_calendar_is_a_clear_error():
    with pytest.raises(ValueError, match="bank holiday calendar"):
        nxt(now=utc(2026, 3, 10, 10), holiday_country="XX")


CALENDARS = """
import json, sys
from bot.domain.due import _holiday_calendar
asked = [("GB", "ENG"), ("GB", "SCT"), ("GBR", "NIR"), ("UnitedKingdom", "WLS"), ("IM", None), ("US", "NY"), ("FR", None)]
out = {f"{c}-{s}": sorted(d.isoformat() for d in _holiday_calendar(c, s, 2026)) for c, s in asked}
for c, s in [("XX", None), ("GB", "ZZZ")]:
    try:
        _holiday_calendar(c, s, 2026)
    except ValueError as e:
        out[f"{c}-{s}"] = str(e)
out["countries loaded"] = sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("holidays.countries."))
from holidays.countries import UnitedKingdom  # the package's own names still answer
import holidays.countries
out["names"] = [UnitedKingdom.__name__, holidays.countries.Canada.__name__]
print(json.dumps(out))
"""


def test_one_countrys_calendar_loads_that_country_alone_and_the_same_days(tmp_path):
    """The holidays package imports all 250 of its countries' modules when one calendar is
    asked for; the register loads the ones asked about, with the same bank holidays as the
    package loaded whole (in another process, as it would be without the stand-in)."""
    import subprocess
    import sys

    def calendars(first: str) -> dict:
        done = subprocess.run([sys.executable, "-c", first + CALENDARS], capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    alone, whole = calendars(""), calendars("import holidays.countries\n")
    # the Isle of Man's calendar is built on the United Kingdom's, which it loads itself
    assert alone.pop("countries loaded") == ["france", "isle_of_man", "united_kingdom", "united_states"]
    assert len(whole.pop("countries loaded")) > 200
    assert alone == whole
    assert "2026-12-28" in alone["GB-ENG"] and "2026-08-03" in alone["GB-SCT"] and "2026-08-31" not in alone["GB-SCT"]
    assert alone["XX-None"].startswith("no bank holiday calendar")
    assert alone["names"] == ["UnitedKingdom", "Canada"]


def test_away_until_is_inclusive():
    away = PersonSnapshot(id=1, display_name="Alice", away_until=date(2026, 3, 11))
    assert nxt(away, now=utc(2026, 3, 10, 10)) == utc(2026, 3, 12, 9)
    assert nxt(away, now=utc(2026, 3, 11, 16)) == utc(2026, 3, 12, 9)
    assert nxt(away, now=utc(2026, 3, 12, 11)) == utc(2026, 3, 12, 11)
    # back on a Friday evening: the next working day
    back = PersonSnapshot(id=1, display_name="Alice", away_until=date(2026, 3, 12))
    assert nxt(back, now=utc(2026, 3, 10, 10)) == utc(2026, 3, 13, 9)


def test_snooze():
    now = utc(2026, 3, 10, 10)
    assert nxt(now=now, snooze=utc(2026, 3, 12, 14)) == utc(2026, 3, 12, 14)
    assert nxt(now=now, snooze=utc(2026, 3, 12, 18)) == utc(2026, 3, 13, 9)  # ends after hours
    assert nxt(now=now, snooze=utc(2026, 3, 9, 14)) == now  # already over
    assert not is_nudge_time(ALICE, now=now, last_nudged_at=None, snoozed_until=utc(2026, 3, 10, 11))


def test_one_nudge_per_local_day():
    now = utc(2026, 3, 10, 14)
    assert nxt(now=now, last=utc(2026, 3, 10, 9, 5)) == utc(2026, 3, 11, 9)
    assert nxt(now=now, last=utc(2026, 3, 9, 16)) == now
    assert not is_nudge_time(ALICE, now=now, last_nudged_at=utc(2026, 3, 10, 9, 5), snoozed_until=None)


def test_one_nudge_per_day_uses_the_persons_own_day():
    # 16:30 in New York on Monday 9 March (EDT, UTC-4) is 20:30 UTC; Tuesday 09:00 there is 13:00 UTC
    last = utc(2026, 3, 9, 20, 30)
    assert nxt(NYC, now=utc(2026, 3, 10, 12), last=last) == utc(2026, 3, 10, 13)
    # for a Londoner the same instant is already Monday evening, so Tuesday 09:00 GMT is fine
    assert nxt(now=utc(2026, 3, 10, 9), last=last) == utc(2026, 3, 10, 9)


def test_spring_clock_change_29_march_2026():
    # Fri 27 Mar 17:30 GMT -> Mon 30 Mar 09:00 BST, which is 08:00 UTC
    assert nxt(now=utc(2026, 3, 27, 17, 30)) == utc(2026, 3, 30, 8)
    assert is_nudge_time(ALICE, now=utc(2026, 3, 30, 8, 30), last_nudged_at=None, snoozed_until=None)
    assert not is_nudge_time(ALICE, now=utc(2026, 3, 27, 8, 30), last_nudged_at=None, snoozed_until=None)
    # working hours end at 17:00 BST = 16:00 UTC after the change
    assert not is_nudge_time(ALICE, now=utc(2026, 3, 30, 16, 30), last_nudged_at=None, snoozed_until=None)
    assert is_nudge_time(ALICE, now=utc(2026, 3, 27, 16, 30), last_nudged_at=None, snoozed_until=None)


def test_autumn_clock_change_25_october_2026():
    # Fri 23 Oct 16:30 UTC is 17:30 BST: too late; Mon 26 Oct 09:00 GMT is 09:00 UTC
    assert nxt(now=utc(2026, 10, 23, 16, 30)) == utc(2026, 10, 26, 9)
    assert is_nudge_time(ALICE, now=utc(2026, 10, 23, 8, 30), last_nudged_at=None, snoozed_until=None)
    assert not is_nudge_time(ALICE, now=utc(2026, 10, 26, 8, 30), last_nudged_at=None, snoozed_until=None)
    # one a day across the change: nudged Fri 23 Oct at 15:59 UTC (16:59 BST)
    assert nxt(now=utc(2026, 10, 23, 15, 59), last=utc(2026, 10, 23, 9)) == utc(2026, 10, 26, 9)


def test_new_york_working_hours_follow_us_clock_changes():
    # US clocks change 8 Mar 2026, three weeks before the UK
    assert nxt(NYC, now=utc(2026, 3, 6, 12), holiday_country="US", holiday_subdiv=None) == utc(2026, 3, 6, 14)  # EST
    assert nxt(NYC, now=utc(2026, 3, 16, 12), holiday_country="US", holiday_subdiv=None) == utc(2026, 3, 16, 13)  # EDT
    # 3 July 2026 is the observed Independence Day there
    assert nxt(NYC, now=utc(2026, 7, 3, 14), holiday_country="US", holiday_subdiv="NY") == utc(2026, 7, 6, 13)


def test_unknown_timezone_falls_back_to_london():
    odd = PersonSnapshot(id=5, display_name="Odd", timezone="Mars/Olympus")
    assert nxt(odd, now=utc(2026, 6, 10, 7)) == utc(2026, 6, 10, 8)


# ----------------------------------------------------------------- snooze text

TUE = utc(2026, 3, 10, 10)  # Tuesday 10 March 2026, 10:00 GMT


@pytest.mark.parametrize("text, expected", [
    ("remind me Monday", utc(2026, 3, 16, 9)),
    ("Remind me on Tuesday", utc(2026, 3, 17, 9)),  # today is Tuesday: next week's
    ("remind me tomorrow", utc(2026, 3, 11, 9)),
    ("snooze 3 days", utc(2026, 3, 13, 9)),
    ("snooze for three days", utc(2026, 3, 13, 9)),
    ("remind me in a couple of days", utc(2026, 3, 12, 9)),
    ("remind me next week", utc(2026, 3, 16, 9)),
    ("remind me in 2 weeks", utc(2026, 3, 24, 9)),
    ("snooze 2 hours", utc(2026, 3, 10, 12)),
    ("remind me tomorrow at 2pm", utc(2026, 3, 11, 14)),
    ("remind me friday at 14:30", utc(2026, 3, 13, 14, 30)),
    ("remind me next month", utc(2026, 4, 1, 8)),  # BST by then
    ("remind me on 5 April", utc(2026, 4, 5, 8)),
    ("remind me 12/04", utc(2026, 4, 12, 8)),
])
def test_parse_snooze(text, expected):
    assert parse_snooze(text, now=TUE, tz="Europe/London") == expected


def test_parse_snooze_across_the_clock_change():
    fri = utc(2026, 3, 27, 11)
    assert parse_snooze("remind me Monday", now=fri, tz="Europe/London") == utc(2026, 3, 30, 8)
    assert parse_snooze("remind me next week", now=utc(2026, 10, 23, 11), tz=LON) == utc(2026, 10, 26, 9)


def test_parse_snooze_in_the_persons_timezone():
    assert parse_snooze("remind me tomorrow", now=TUE, tz="America/New_York") == utc(2026, 3, 11, 13)
    # 02:00 UTC Wednesday is still Tuesday evening in New York: tomorrow is Wednesday there
    assert parse_snooze("remind me tomorrow", now=utc(2026, 3, 11, 2), tz=NY) == utc(2026, 3, 11, 13)


@pytest.mark.parametrize("text", ["snooze", "what is this", "remind me yesterday", "remind me on 1 March 2020",
                                  "snooze 0 days", "snooze lots of days"])
def test_parse_snooze_not_understood(text):
    assert parse_snooze(text, now=TUE, tz="Europe/London") is None


# ----------------------------------------------------------------- planning nudges

OWNER = PersonSnapshot(id=2, display_name="Olu Owner")
MANAGER = PersonSnapshot(id=3, display_name="Mo Manager")
BOB = PersonSnapshot(id=4, display_name="Bob Brown")  # no manager
PEOPLE = {p.id: p for p in (ALICE, OWNER, MANAGER, BOB)}
MON = london(2026, 3, 16, 10)
STALE = london(2026, 2, 20, 10)


def the_plan(**kw):
    return PlanSnapshot(id=1, title="ILACS", cadence=Cadence.parse("weekly:mon"), owner_id=2, **kw)


def register():
    return [
        action("1.1", id=11, last=STALE, owners=[1]),
        action("1.2", id=12, last=STALE, owners=[1], target=date(2026, 3, 1)),
        action("1.3", id=13, last=london(2026, 3, 10), owners=[1]),  # not due
        action("2.1", id=21, last=STALE, owners=[4, 1]),
        action("2.2", id=22, last=STALE, owners=[]),
        action("2.3", id=23, last=STALE, owners=[77]),  # owner not known to us
        action("2.4", id=24, last=STALE, owners=[4], status=Status.SIGNED_OFF),
    ]


def by_name(nudges):
    return {n.person_name: n for n in nudges}


def test_one_nudge_per_person_with_all_their_due_actions():
    nudges = plan_nudges(register(), PEOPLE, the_plan(), now=MON)
    got = by_name(nudges)
    assert set(got) == {"Alice Adams", "Bob Brown", "Olu Owner"}
    alice = got["Alice Adams"]
    assert [a.ref for a in alice.actions] == ["1.1", "1.2", "2.1"]
    assert {a.ref: a.reason.code for a in alice.actions} == {"1.1": "cadence", "1.2": "overdue", "2.1": "cadence"}
    assert alice.send_now and alice.send_at == MON.astimezone(UTC)
    assert [a.ref for a in got["Bob Brown"].actions] == ["2.1"]
    owner = got["Olu Owner"]
    assert owner.actions == () and [a.ref for a in owner.unassigned] == ["2.2", "2.3"]
    assert all(n.escalations == () for n in nudges)


def test_nudge_respects_state_and_reports_when_it_can_go():
    state = {1: NudgeState(last_nudged_at=london(2026, 3, 16, 9)), 4: NudgeState(snoozed_until=utc(2026, 3, 18, 12))}
    got = by_name(plan_nudges(register(), PEOPLE, [the_plan()], now=MON, nudge_state=state))
    assert not got["Alice Adams"].send_now and got["Alice Adams"].send_at == utc(2026, 3, 17, 9)
    assert not got["Bob Brown"].send_now and got["Bob Brown"].send_at == utc(2026, 3, 18, 12)
    assert got["Olu Owner"].send_now


def test_plan_without_owner_leaves_unowned_actions_with_nobody():
    p = PlanSnapshot(id=1, title="ILACS", cadence=Cadence.parse("weekly:mon"))
    nudges = plan_nudges(register(), PEOPLE, {1: p}, now=MON)
    last = nudges[-1]
    assert last.person_id is None and last.send_at is None and not last.send_now
    assert [a.ref for a in last.unassigned] == ["2.2", "2.3"]


def test_action_of_unknown_plan_is_an_error():
    with pytest.raises(ValueError, match="plan 9"):
        plan_nudges([action("9.9", plan_id=9, last=STALE)], PEOPLE, the_plan(), now=MON)


def test_escalation_goes_privately_to_the_manager_after_two_unanswered():
    state = {1: NudgeState(unanswered_count=2, last_nudged_at=london(2026, 3, 13, 9))}
    alice = by_name(plan_nudges(register(), PEOPLE, the_plan(), now=MON, nudge_state=state))["Alice Adams"]
    assert len(alice.escalations) == 1
    esc = alice.escalations[0]
    assert esc.to_id == MANAGER.id and esc.about_id == ALICE.id
    assert [a.ref for a in esc.actions] == ["1.1", "1.2", "2.1"]
    assert "Alice Adams has not answered the last 2 reminders about 3 actions (1.1, 1.2, 2.1)" in esc.text
    assert "only to you" in esc.text
    assert esc.to_json()["private"] is True


def test_no_escalation_before_the_threshold_or_twice():
    one = {1: NudgeState(unanswered_count=1)}
    assert by_name(plan_nudges(register(), PEOPLE, the_plan(), now=MON, nudge_state=one))["Alice Adams"].escalations == ()
    done = {1: NudgeState(unanswered_count=3, escalated_at=london(2026, 3, 13, 10))}
    assert by_name(plan_nudges(register(), PEOPLE, the_plan(), now=MON, nudge_state=done))["Alice Adams"].escalations == ()
    two = {1: NudgeState(unanswered_count=2)}
    got = plan_nudges(register(), PEOPLE, the_plan(), now=MON, nudge_state=two, escalate_after=3)
    assert by_name(got)["Alice Adams"].escalations == ()


def test_escalation_without_a_manager_goes_to_the_plan_owner():
    state = {4: NudgeState(unanswered_count=2)}
    bob = by_name(plan_nudges(register(), PEOPLE, the_plan(), now=MON, nudge_state=state))["Bob Brown"]
    assert [(e.to_id, e.to_name) for e in bob.escalations] == [(OWNER.id, "Olu Owner")]


def test_plan_owner_without_manager_is_not_escalated_to_themselves():
    own = [action("3.1", id=31, last=STALE, owners=[2])]
    state = {2: NudgeState(unanswered_count=5)}
    (nudge,) = plan_nudges(own, PEOPLE, the_plan(), now=MON, nudge_state=state)
    assert nudge.person_id == 2 and nudge.escalations == ()


def test_actions_across_plans_group_into_one_nudge():
    plans = [the_plan(), PlanSnapshot(id=2, title="SEND plan", cadence=Cadence.parse("monthly:last"), owner_id=2)]
    acts = register() + [action("S1", id=91, plan_id=2, last=london(2026, 1, 5), owners=[1])]
    alice = by_name(plan_nudges(acts, PEOPLE.values(), plans, now=MON))["Alice Adams"]
    assert [a.ref for a in alice.actions] == ["1.1", "1.2", "2.1", "S1"]
    assert [a.plan_id for a in alice.actions] == [1, 1, 1, 2]


def test_json_for_the_cli():
    nudges = plan_nudges(register(), PEOPLE, the_plan(), now=MON, nudge_state={1: NudgeState(unanswered_count=2)})
    out = json.loads(json.dumps(nudges_to_json(nudges, now=MON)))
    assert out["as_of"] == "2026-03-16T10:00:00+00:00"
    assert out["people"] == 3 and out["actions"] == 6
    alice = next(n for n in out["nudges"] if n["name"] == "Alice Adams")
    assert [a["ref"] for a in alice["actions"]] == ["1.1", "1.2", "2.1"]
    assert alice["actions"][1]["reason"] == "overdue" and "1 Mar 2026" in alice["actions"][1]["why"]
    assert alice["escalations"][0]["to_name"] == "Mo Manager"


def test_nothing_due_nothing_planned():
    acts = [action("1.3", last=london(2026, 3, 16, 9), owners=[1])]
    assert plan_nudges(acts, PEOPLE, the_plan(), now=MON + timedelta(hours=1)) == []
