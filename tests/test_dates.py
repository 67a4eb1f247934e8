"""Dates as councils write them: plan target cells (read_target) and chat replies (find_when)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from bot.domain.dates import TARGET_KINDS, TargetReading, clean_text, find_dates, find_when, read_target
from tests.conftest import BASIC, PLANS, need_real_plans
from tests.fixtures.basic import make_plans as basic

OCT_2012 = date(2012, 10, 1)  # Rotherham improvement panel plan
MAY_2011 = date(2011, 5, 31)  # Derby plan after the May 2011 inspection
NOV_2022 = date(2022, 11, 14)  # Rotherham ILACS plan


# ---------------------------------------------------------------------------------------------
# read_target


@pytest.mark.parametrize(
    ("raw", "plan_date", "expected", "kind"),
    [
        ("Nov 12", OCT_2012, date(2012, 11, 30), "month"),
        ("Mar 13", OCT_2012, date(2013, 3, 31), "month"),
        ("Sept 12", OCT_2012, date(2012, 9, 30), "month"),
        ("Oct 12", None, date(2012, 10, 31), "month"),
        ("Dec 12", OCT_2012, date(2012, 12, 31), "month"),
        ("December 2011", MAY_2011, date(2011, 12, 31), "month"),
        ("December 2011.", MAY_2011, date(2011, 12, 31), "month"),
        ("February 2024", None, date(2024, 2, 29), "month"),
        ("September/ October 2011", MAY_2011, date(2011, 10, 31), "month"),
        ("June/July 2011", MAY_2011, date(2011, 7, 31), "month"),
        ("From August 2011", MAY_2011, date(2011, 8, 31), "month"),
        ("Start September and ongoing", MAY_2011, date(2011, 9, 30), "month"),
        ("September 2011 and ongoing", MAY_2011, date(2011, 9, 30), "month"),
        ("Tender by December 2011", MAY_2011, date(2011, 12, 31), "month"),
        ("Completed by December 2011", MAY_2011, date(2011, 12, 31), "month"),
        ("Commence August Review October Complete December", MAY_2011, date(2011, 12, 31), "month"),
        ("First part of programme to be delivered September 2011", MAY_2011, date(2011, 9, 30), "month"),
        ("LLG to be established by October 2022", NOV_2022, date(2022, 10, 31), "month"),
        ("January 2023 development of proposed pathway", NOV_2022, date(2023, 1, 31), "month"),
        ("September 2011 November 2011", MAY_2011, date(2011, 11, 30), "month"),
        ("December", NOV_2022, date(2022, 12, 31), "month"),
        ("October", NOV_2022, date(2023, 10, 31), "month"),  # the next October on/after the plan
        ("November", NOV_2022, date(2022, 11, 30), "month"),
        ("14 November 2022", None, date(2022, 11, 14), "date"),
        ("14 <sup>th</sup> November 2022", None, date(2022, 11, 14), "date"),
        ("November 14, 2022", None, date(2022, 11, 14), "date"),
        ("14/11/2022", None, date(2022, 11, 14), "date"),
        ("01/02/2023", None, date(2023, 2, 1), "date"),  # UK day-first, never 2 January
        ("14.11.22", None, date(2022, 11, 14), "date"),
        ("2022-11-14", None, date(2022, 11, 14), "date"),
        ("2022-11-14 00:00:00", None, date(2022, 11, 14), "date"),
        ("44879", None, date(2022, 11, 14), "date"),
        ("15 Dec", NOV_2022, date(2022, 12, 15), "date"),
        ("Q1 2023", None, date(2023, 3, 31), "quarter"),
        ("Q4 2022", None, date(2022, 12, 31), "quarter"),
        ("Q1", NOV_2022, date(2023, 3, 31), "quarter"),
        ("Q4", NOV_2022, date(2022, 12, 31), "quarter"),
        ("Q1 2023/24", None, date(2023, 6, 30), "quarter"),
        ("Q4 2023/24", None, date(2024, 3, 31), "quarter"),
        ("20 days", MAY_2011, date(2011, 6, 20), "relative"),
        ("Within 3 Months", NOV_2022, date(2023, 2, 14), "relative"),
        ("Three months", MAY_2011, date(2011, 8, 31), "relative"),
        ("Six months", MAY_2011, date(2011, 11, 30), "relative"),
        ("Six months", date(2022, 8, 31), date(2023, 2, 28), "relative"),  # day clamped
        ("2 weeks", NOV_2022, date(2022, 11, 28), "relative"),
        ("Immediate", MAY_2011, MAY_2011, "immediate"),
        ("Immediate", None, None, "immediate"),
        ("20 days", None, None, "relative"),
        ("Ongoing", MAY_2011, None, "ongoing"),
        ("on-going", MAY_2011, None, "ongoing"),
        ("complete", OCT_2012, None, "complete"),
        ("<b>complete</b>", OCT_2012, None, "complete"),
        ("<b>Complete</b>", OCT_2012, None, "complete"),
        ("Completed", None, None, "complete"),
        ("", MAY_2011, None, "empty"),
        ("   ", MAY_2011, None, "empty"),
        ("<b></b>", MAY_2011, None, "empty"),
        ("HOS all aware and implementing", MAY_2011, None, "unknown"),
        ("As Above", MAY_2011, None, "unknown"),
        ("may be later", NOV_2022, None, "unknown"),  # the verb, not the month
        ("December", None, None, "month"),  # no year and nothing to anchor it
    ],
)
def test_read_target_dates_and_kinds(raw: str, plan_date: date | None, expected: date | None, kind: str) -> None:
    reading = read_target(raw, plan_date=plan_date)
    assert (reading.date, reading.kind) == (expected, kind)
    assert reading.kind in TARGET_KINDS


def test_mon_yy_is_never_a_day_of_the_month() -> None:
    # dateparser reads "Nov 12" as 12 November; plans mean November 2012
    assert read_target("Nov 12", plan_date=date(2030, 1, 1)).date == date(2012, 11, 30)
    assert read_target("Mar 13").date == date(2013, 3, 31)


@pytest.mark.parametrize(
    ("raw", "note"),
    [
        ("December 2011 and annually", "and annually"),
        ("December 2011 then annually", "then annually"),
        ("September 2011 and ongoing", "and ongoing"),
        ("From August 2011", "start date"),
        ("June/July 2011", "later of two dates"),
        ("September 2011 November 2011", "later of two dates"),
        ("Commence August Review October Complete December", "completion month"),
        ("Tender by December 2011", "Tender by"),
        ("LLG to be established by October 2022", "LLG to be established by"),
        ("January 2023 development of proposed pathway", "development of proposed pathway"),
        ("Q1 2023", "calendar quarter"),
        ("Q1 2023/24", "financial-year quarter"),
        ("44879", "Excel serial"),
    ],
)
def test_read_target_notes(raw: str, note: str) -> None:
    assert note in read_target(raw, plan_date=MAY_2011).note


def test_start_and_ongoing_keeps_both_notes() -> None:
    note = read_target("Start September and ongoing", plan_date=MAY_2011).note
    assert "start date" in note and "and ongoing" in note


def test_plain_month_has_no_note() -> None:
    assert read_target("December 2011", plan_date=MAY_2011).note == ""


def test_raw_is_the_given_text_stripped() -> None:
    reading = read_target("  <b>complete</b>\n", plan_date=OCT_2012)
    assert reading == TargetReading(None, "<b>complete</b>", "complete", "")


def test_yearless_completion_month_is_the_next_one_after_the_plan_date() -> None:
    # each yearless month is the next one on/after the plan's date; the completion month wins
    reading = read_target("Commence August Review October Complete December", plan_date=date(2011, 9, 1))
    assert reading.date == date(2011, 12, 31)


def test_year_inherited_across_a_new_year() -> None:
    assert read_target("November/ January 2012").date == date(2012, 1, 31)
    assert read_target("December 2011 / February").date == date(2012, 2, 29)


def test_excel_serial_only_in_a_plausible_range() -> None:
    assert read_target("12345").kind == "unknown"


@pytest.mark.parametrize(
    "raw",
    ["31/02/2023", "2023-13-45", "Q5 2023", "99999999999999999999 days", "\x00\x01", "<<<>>>", "30 Feb", "§±!"],
)
def test_read_target_never_raises(raw: str) -> None:
    reading = read_target(raw, plan_date=NOV_2022)
    assert reading.kind in TARGET_KINDS
    assert reading.raw == raw.strip()


def test_every_target_cell_in_the_invented_plan_reads() -> None:
    rows = [row for row in read_plan_rows(BASIC) if row["ref"]]  # not the continuation row
    readings = {row["ref"]: read_target(row["target"], plan_date=date(2026, 11, 2)) for row in rows}
    assert list(readings) == basic.REFS
    assert all(r.date is not None and r.kind not in ("unknown", "empty") for r in readings.values())
    assert readings["1.3"].date == date(2027, 2, 2) and readings["2.3"].date == date(2026, 10, 31)


@pytest.mark.real_plans
def test_every_target_cell_in_the_sample_plans_reads(plan_rows: list[dict[str, str]]) -> None:
    """Every real target cell gets a date or a deliberate dateless kind, never a crash."""
    plan_dates = {"000": OCT_2012, "003": MAY_2011, "004": NOV_2022}
    seen = 0
    for row in plan_rows:
        target = row["target"]
        reading = read_target(target, plan_date=plan_dates[row["plan"]])
        seen += 1
        if reading.kind in ("complete", "ongoing", "empty"):
            assert reading.date is None
        elif reading.kind == "unknown":
            assert target in ("HOS all aware and implementing",), target
        else:
            assert reading.date is not None, target
            assert date(2011, 5, 1) <= reading.date <= date(2024, 12, 31), (target, reading)
    assert seen > 100


# ---------------------------------------------------------------------------------------------
# find_when: dates in chat replies

SUN = date(2026, 11, 22)  # a Sunday
MON = date(2022, 11, 14)  # a Monday, the Rotherham plan's date


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("end of next month", SUN, date(2026, 12, 31)),
        ("end of next month", date(2027, 1, 31), date(2027, 2, 28)),
        ("end of January", SUN, date(2027, 1, 31)),
        ("end of Jan", SUN, date(2027, 1, 31)),
        ("end of the month", SUN, date(2026, 11, 30)),
        ("by the end of this month", MON, date(2022, 11, 30)),
        ("month end", SUN, date(2026, 11, 30)),
        ("mid December", SUN, date(2026, 12, 15)),
        ("mid-November", SUN, date(2026, 11, 15)),  # this November, although the 15th has gone
        ("late March", SUN, date(2027, 3, 31)),
        ("early May", SUN, date(2027, 5, 7)),
        ("beginning of February", SUN, date(2027, 2, 1)),
        ("w/c 23 Nov", SUN, date(2026, 11, 23)),
        ("w/c 25 Nov", SUN, date(2026, 11, 23)),  # not a Monday: that week's Monday
        ("week commencing 28/11", MON, date(2022, 11, 28)),
        ("w/c 16 Nov", SUN, date(2026, 11, 16)),  # the week still running, not next year's
        ("Q1", SUN, date(2027, 3, 31)),
        ("Q4", SUN, date(2026, 12, 31)),
        ("Q1 2027", SUN, date(2027, 3, 31)),
        ("Q2 2027/28", SUN, date(2027, 9, 30)),
        ("next Friday", SUN, date(2026, 11, 27)),
        ("next Friday", MON, date(2022, 11, 18)),
        ("Friday", SUN, date(2026, 11, 27)),
        ("Monday", MON, date(2022, 11, 21)),  # said on a Monday: next Monday
        ("this Monday", MON, MON),
        ("Friday week", SUN, date(2026, 12, 4)),
        ("a week on Tuesday", SUN, date(2026, 12, 1)),
        ("in two weeks", SUN, date(2026, 12, 6)),
        ("in 2 weeks' time", SUN, date(2026, 12, 6)),
        ("3 weeks", SUN, date(2026, 12, 13)),
        ("in a fortnight", SUN, date(2026, 12, 6)),
        ("in a couple of weeks", SUN, date(2026, 12, 6)),
        ("within 10 days", MON, date(2022, 11, 24)),
        ("in a month", date(2027, 1, 31), date(2027, 2, 28)),
        ("by 15/12", SUN, date(2026, 12, 15)),
        ("by 15/12/2027", SUN, date(2027, 12, 15)),
        ("15.12.2026", SUN, date(2026, 12, 15)),
        ("2026-12-15", SUN, date(2026, 12, 15)),
        ("15 Dec", SUN, date(2026, 12, 15)),
        ("15th of December", SUN, date(2026, 12, 15)),
        ("Dec 15th", SUN, date(2026, 12, 15)),
        ("15 Nov", SUN, date(2027, 11, 15)),  # future unless the text says otherwise
        ("December", SUN, date(2026, 12, 31)),
        ("December 2027", SUN, date(2027, 12, 31)),
        ("Dec '27", SUN, date(2027, 12, 31)),
        ("November", SUN, date(2026, 11, 30)),
        ("in May", SUN, date(2027, 5, 31)),
        ("the 20th", SUN, date(2026, 12, 20)),
        ("by the 30th", SUN, date(2026, 11, 30)),
        ("the 31st", date(2026, 11, 22), date(2026, 12, 31)),  # November has no 31st
        ("tomorrow", SUN, date(2026, 11, 23)),
        ("3 December next year", SUN, date(2027, 12, 3)),
        ("Monday 30th November 2026", SUN, date(2026, 11, 30)),
        ("today", SUN, SUN),
        ("this week", MON, date(2022, 11, 18)),
        ("end of the week", SUN, date(2026, 11, 27)),  # at a weekend: the coming week
        ("next week", MON, date(2022, 11, 25)),
        ("next month", SUN, date(2026, 12, 31)),
        ("end of the year", SUN, date(2026, 12, 31)),
        ("end of the financial year", SUN, date(2027, 3, 31)),
        ("end of the financial year", date(2027, 2, 1), date(2027, 3, 31)),
        ("end of the quarter", SUN, date(2026, 12, 31)),
        ("end of next quarter", SUN, date(2027, 3, 31)),
    ],
)
def test_find_when_dates(text: str, today: date, expected: date) -> None:
    found = find_when(text, today=today)
    assert found is not None, text
    assert found.date == expected
    assert found.source == "rules"


def test_find_when_reports_the_phrase_and_its_span() -> None:
    text = "2.4 slipping to end of Jan because of staffing"
    found = find_when(text, today=SUN)
    assert found is not None
    assert found.text == "end of Jan"
    assert text[found.span[0] : found.span[1]] == "end of Jan"
    assert found.role == "target"
    assert not found.past


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("last Friday", date(2026, 11, 20)),
        ("2 weeks ago", date(2026, 11, 8)),
        ("yesterday", date(2026, 11, 21)),
        ("session delivered 3 Nov", date(2026, 11, 3)),
        ("workshop was held on 15th November", date(2026, 11, 15)),
        ("launched in October", date(2026, 10, 31)),
    ],
)
def test_find_when_goes_back_when_the_text_says_so(text: str, expected: date) -> None:
    found = find_when(text, today=SUN)
    assert found is not None
    assert (found.date, found.past, found.role) == (expected, True, "past")


def test_future_wording_beats_a_past_participle() -> None:
    found = find_when("will be delivered 3 Dec", today=SUN)
    assert found is not None and found.date == date(2026, 12, 3) and found.role == "scheduled"


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("slipping to 15 Dec", "target"),
        ("new deadline 15 Dec", "target"),
        ("further session booked for 15 Dec", "scheduled"),
        ("next meeting 15 Dec", "scheduled"),
        ("on hold till 15 Dec", "until"),
        ("from 15 Dec", "from"),
        ("sessions to begin on 15 Dec", "from"),
        ("papers distributed 15 Nov", "past"),
        ("to be reported 15 Dec", "scheduled"),
        ("workshop held 15 Nov", "past"),
        ("panel on 15 Dec", ""),
        ("report back to the safeguarding board in December", ""),
        ("slipping to the end of Jan", "target"),
        ("it will be ready 15 Dec", "scheduled"),
    ],
)
def test_roles_from_the_words_before(text: str, role: str) -> None:
    found = find_when(text, today=SUN)
    assert found is not None and found.role == role


def test_find_when_prefers_the_target_over_a_delivery_date() -> None:
    text = "session delivered 3 Nov, the follow-up is booked for 10 Dec"
    found = find_when(text, today=SUN)
    assert found is not None and found.date == date(2026, 12, 10)
    assert [f.date for f in find_dates(text, today=SUN)] == [date(2026, 11, 3), date(2026, 12, 10)]


def test_find_when_prefers_the_new_date_when_slipping_from_one_to_another() -> None:
    found = find_when("slipping from 15 Dec to end of Jan", today=SUN)
    assert found is not None and found.date == date(2027, 1, 31)


def test_past_explicit_date_is_flagged_past() -> None:
    found = find_when("Sign off approved at the Evidence Challenge Panel on the 14 November 2022", today=SUN)
    assert found is not None and found.date == date(2022, 11, 14) and found.past


def test_a_period_is_not_a_move() -> None:
    found = find_dates("Decision April to June 2027. Procurement July 2027 to March 2028.", today=SUN)
    assert [(f.date, f.role) for f in found] == [
        (date(2027, 4, 30), "range"),
        (date(2027, 6, 30), "range"),
        (date(2027, 7, 31), "range"),
        (date(2028, 3, 31), "range"),
    ]
    moved = find_dates("slipping from 15 Dec to end of Jan", today=SUN)
    assert [f.role for f in moved] == ["from", "target"]


def test_plan_speak_month_and_two_digit_year_in_text() -> None:
    found = find_dates("First report in July 11 with follow up due in January 12.", today=date(2011, 12, 1))
    assert [f.date for f in found] == [date(2011, 7, 31), date(2012, 1, 31)]
    found = find_dates("on target for completion end of October 12", today=date(2012, 10, 1))
    assert [(f.date, f.role) for f in found] == [(date(2012, 10, 31), "target")]
    # "on January 12" is still a day
    assert find_when("meeting on January 12", today=SUN).date == date(2027, 1, 12)  # type: ignore[union-attr]


def test_until_and_from_are_told_apart() -> None:
    hold = find_when("on hold until April", today=SUN)
    assert hold is not None and (hold.date, hold.role) == (date(2027, 4, 30), "until")
    start = find_dates("starting from 1st December", today=SUN)
    assert [(f.date, f.role) for f in start] == [(date(2026, 12, 1), "from")]


@pytest.mark.parametrize(
    "text",
    [
        "2 of the 3 are done",
        "2.4 is progressing",
        "1.10 and 2.12 are on track",
        "CP 10 complete",
        "once a week",
        "we may need more time",
        "we march on",
        "a 24/7 service",
        "2/3 of cases audited",
        "3 weeks late",
        "sat down with the team",
        "the 2nd draft",
        "two days after the panel",
        "",
    ],
)
def test_find_when_does_not_invent_dates(text: str) -> None:
    assert find_when(text, today=SUN) is None


def test_month_day_in_chat_is_a_day_but_less_sure() -> None:
    found = find_when("Nov 12", today=SUN)
    assert found is not None and found.date == date(2027, 11, 12)
    assert found.confidence < find_when("12 Nov", today=SUN).confidence  # type: ignore[union-attr]


def test_confidence_is_lower_for_bare_phrases() -> None:
    cued = find_when("in 3 weeks", today=SUN)
    bare = find_when("3 weeks", today=SUN)
    assert cued is not None and bare is not None
    assert bare.confidence < cued.confidence
    assert all(0 < f.confidence <= 1 for f in find_dates("by 15/12 or 3 weeks or December", today=SUN))


def test_dateparser_fills_gaps_with_low_confidence() -> None:
    found = find_when("a year from now", today=SUN)
    assert found is not None
    assert found.date == date(2027, 11, 22)
    assert found.source == "dateparser" and found.confidence < 0.5


def test_find_dates_never_raises_on_odd_text() -> None:
    for text in ["31/02", "w/c 31/02", "the 99th", "Q9", "\x00", "<b>15 Dec</b>", "32 Dec", "99/99/9999"]:
        for f in find_dates(text, today=SUN):
            assert isinstance(f.date, date)


# ---------------------------------------------------------------------------------------------
# the sample plans' tables, read crudely: header row starting "Ref", rows with as many cells


def read_plan_rows(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.txt")):
        target_col = progress_col = None
        width = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            cells = [clean_text(c) for c in line.split("\t")]
            if cells and re.match(r"ref\b", cells[0], re.I):
                target_col = next(i for i, c in enumerate(cells) if re.search(r"date|timescale|by when", c, re.I))
                progress_col = next(i for i, c in enumerate(cells) if re.search(r"progress", c, re.I))
                width = len(cells)
                continue
            if target_col is None or len(cells) < width:
                continue
            raw_cells = line.split("\t")
            rows.append(
                {
                    "plan": path.name[:3],
                    "ref": cells[0].rstrip("."),
                    "target": raw_cells[target_col].strip(),
                    "progress": cells[progress_col],
                }
            )
    return rows


@pytest.fixture(scope="module")
def plan_rows() -> list[dict[str, str]]:
    need_real_plans()
    rows = read_plan_rows(PLANS)
    assert {r["plan"] for r in rows} == {"000", "003", "004"}
    return rows
