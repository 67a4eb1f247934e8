"""Reading dates as councils write them: plan target cells and dates inside chat replies.

Two layers, both pure (the caller passes `plan_date` / `today`):

* `read_target` reads a plan's target-date cell ("Nov 12", "December 2011 and annually",
  "Commence August Review October Complete December", "Q1 2023", "<b>complete</b>").
* `find_when` / `find_dates` find a date phrase inside a free-text reply ("slipping to end of
  Jan", "w/c 23 Nov", "session delivered 3 Nov").

Conventions, chosen once and used everywhere:

* A month on its own means its LAST day: "December 2011" -> 31 Dec 2011.
* "Mon YY" in a plan cell is month + year, never a day: "Nov 12" -> 30 Nov 2012.
* Numeric dates are UK day-first: "14/11/2022" -> 14 Nov 2022, unless the caller says
  month-first (the importer decides once per file: bot/importer/dateorder.py).
* Quarters are calendar quarters: "Q1 2023" -> 31 Mar 2023. When a financial year is written
  ("Q1 2023/24") the quarter is of that April-to-March year: 30 Jun 2023.
* "Within 3 months" / "Three months" / "20 days" are added to the plan's date exactly
  (the day of the month is kept, clamped to the month's length): 14 Nov 2022 + 3 months ->
  14 Feb 2023. Without a plan date there is no date.
* A month without a year is the next such month-end on or after the plan date (or `today`).

dateparser (always `languages=['en']`, day-first, future, based on `today`) is only a fallback
for chat text, and its finds are accepted only when they contain a date word (see
`_DATE_WORD_RE`) and get a low confidence: its `search_dates` invents dates from "2 of the 3"
or refs such as "2.4".
"""

from __future__ import annotations

import calendar
import datetime as _dt
import html
import re
from dataclasses import dataclass, replace

# --------------------------------------------------------------------------------------------
# vocabulary

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
    "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12,
    "december": 12,
}  # fmt: skip
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5,
    "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_WEEKDAY_RE = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple of": 2,
    "a couple of": 2, "few": 3, "a few": 3,
}  # fmt: skip
_NUMBER_RE = r"(?:\d{1,3}|a couple of|couple of|a few|few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_ORD = r"(?:st|nd|rd|th)?"

TARGET_KINDS = ("date", "month", "quarter", "relative", "ongoing", "complete", "immediate", "unknown", "empty")


def _number(word: str) -> int:
    word = word.strip().lower()
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _month_end(year: int, month: int) -> _dt.date:
    return _dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: _dt.date, months: int) -> _dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return _dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _add(day: _dt.date, n: int, unit: str) -> _dt.date:
    unit = unit.lower().rstrip("s")
    if unit == "day":
        return day + _dt.timedelta(days=n)
    if unit == "week":
        return day + _dt.timedelta(weeks=n)
    if unit == "fortnight":
        return day + _dt.timedelta(weeks=2 * n)
    if unit == "month":
        return _add_months(day, n)
    return _add_months(day, 12 * n)  # year


def _year(text: str) -> int:
    value = int(text.lstrip("'’"))
    return value + 2000 if value < 100 else value


def _next_month_end(month: int, after: _dt.date) -> _dt.date:
    """The end of `month` falling on or after `after`."""
    candidate = _month_end(after.year, month)
    return candidate if candidate >= after else _month_end(after.year + 1, month)


def _quarter_end(quarter: int, year: int, financial: bool = False) -> _dt.date:
    if financial:  # Q1 of 2023/24 is April-June 2023
        month = quarter * 3 + 3
        return _month_end(year + (month > 12), (month - 1) % 12 + 1)
    return _month_end(year, quarter * 3)


def _safe_date(year: int, month: int, day: int) -> _dt.date | None:
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def clean_text(text: str) -> str:
    """Cell or message text without inline HTML, entities, superscript gaps ("14 <sup>th</sup>")
    or runs of spaces; line breaks are kept (one per break)."""
    text = re.sub(r"<[^>]{0,200}>", " ", text or "")
    text = html.unescape(text)
    text = re.sub(r"(\d)\s+(st|nd|rd|th)\b", r"\1\2", text)  # "14 th" -> "14th"
    text = re.sub(r"[^\S\n]+", " ", text)  # line breaks kept: they separate a reply's points
    return re.sub(r" ?\n[\s]*", "\n", text).strip()


# --------------------------------------------------------------------------------------------
# plan target cells


@dataclass(frozen=True)
class TargetReading:
    """What a plan's target-date cell says.

    `date` is the date the action is due by (None when the cell has none); `raw` the cell's text
    as given, stripped; `kind` one of TARGET_KINDS; `note` what else the cell says
    ("and annually", "later of two dates", "start date", "Tender by", ...)."""

    date: _dt.date | None
    raw: str
    kind: str
    note: str = ""


_COMPLETE_RE = re.compile(r"^(?:action\s+)?(?:complete|completed|done|achieved|closed)\W*$", re.I)
_ONGOING_RE = re.compile(
    r"^(?:on[\s-]?going|continuous|continuing|business as usual|bau|(?:every\s+)?(?:annual(?:ly)?|yearly|quarterly|monthly|termly|weekly|"
    r"each\s+(?:year|quarter|month|term|week)))\W*$",
    re.I,
)  # recurring work has no single due date
_NO_DATE_RE = re.compile(r"^(?:tbc|tba|tbd|n/?a|none|not applicable|to be (?:confirmed|agreed|decided))\W*$", re.I)
_IMMEDIATE_RE = re.compile(r"^(?:immediate(?:ly)?|with immediate effect|now)\W*$", re.I)
_RELATIVE_RE = re.compile(
    rf"^(?:within\s+|in\s+)?({_NUMBER_RE})\s+(day|week|fortnight|month|year)s?(?:'?\s*time)?\W*$", re.I
)
_ISO_RE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b")
_DMY_RE = re.compile(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})\b")
_DAY_MONTH_RE = re.compile(rf"\b(\d{{1,2}}){_ORD}(?:\s+of)?\s+({_MONTH_RE})\b\.?,?(?:\s+(\d{{4}}))?", re.I)
_MONTH_DAY_YEAR_RE = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}}){_ORD},?\s+(\d{{4}})\b", re.I)
_QUARTER_RE = re.compile(
    r"\b(?:q|quarter\s*)([1-4])\b(?:\s*(?:of\s+)?(\d{4})(?:\s*[/-]\s*(\d{2}|\d{4}))?)?", re.I
)
_MONTH_TOKEN_RE = re.compile(rf"\b({_MONTH_RE})\b\.?(?:\s*['’]?(\d{{4}}|\d{{2}})\b)?", re.I)
_EXCEL_SERIAL_RE = re.compile(r"^(\d{5})(?:\.0+)?$")

# Words in a target cell that qualify the date; the first match of each is put in the note.
_TARGET_QUALIFIERS = [
    (re.compile(r"^\s*(?:from|start(?:ing)?|commencing|beginning)\b", re.I), "start date"),
    (re.compile(r"\b(?:and|then|&)\s+annually\b|\bannual(?:ly)?\b", re.I), None),
    (re.compile(r"\b(?:and|then|&)\s+on[\s-]?going\b", re.I), None),
    (re.compile(r"\b(?:and|then|&)\s+(?:quarterly|monthly)\b", re.I), None),
]
_COMPLETION_WORD_RE = re.compile(r"\b(?:complete|completion|end|finish)\w*\s+$", re.I)


def read_target(raw: str, *, plan_date: _dt.date | None = None, month_first: bool = False) -> TargetReading:
    """Read a plan's target-date cell. Never raises: what it cannot read is kind "unknown".

    Recognised (see the module docstring for the conventions):
    empty -> "empty"; "complete"/"Completed"/"<b>complete</b>" -> "complete" (no date);
    "Ongoing" -> "ongoing" (no date); "Immediate" -> "immediate" (the plan date);
    "20 days"/"Within 3 months"/"Six months" -> "relative" (plan date + that);
    "14 November 2022", "14/11/2022", "2022-11-14", "2022-11-14 00:00:00", Excel serial
    "44879" -> "date"; "Q1 2023" -> "quarter"; anything naming months ("Nov 12",
    "December 2011 and annually", "June/July 2011", "From August 2011", "Tender by December
    2011", "Commence August Review October Complete December") -> "month", the month's last day:
    the month after a completion word if there is one, else the latest month named.

    `month_first` reads numeric dates as month/day/year ("7/25/2025"); the importer decides it
    once per file (numeric_date_cells, bot/importer/dateorder.py), never per cell."""
    raw_stripped = (raw or "").strip()
    try:
        return _read_target(raw_stripped, plan_date, month_first)
    except (ValueError, OverflowError, KeyError):
        return TargetReading(None, raw_stripped, "unknown")


def _read_target(raw: str, plan_date: _dt.date | None, month_first: bool = False) -> TargetReading:
    text = clean_text(raw).strip(" .;,:-–")
    if not text:
        return TargetReading(None, raw, "empty")
    if _COMPLETE_RE.match(text):
        return TargetReading(None, raw, "complete")
    if _ONGOING_RE.match(text):
        return TargetReading(None, raw, "ongoing")
    if _NO_DATE_RE.match(text):
        return TargetReading(None, raw, "empty", "no date given yet")
    if _IMMEDIATE_RE.match(text):
        return TargetReading(plan_date, raw, "immediate")
    m = _RELATIVE_RE.match(text)
    if m:
        when = _add(plan_date, _number(m[1]), m[2]) if plan_date else None
        return TargetReading(when, raw, "relative", "" if plan_date else "no plan date to count from")
    m = _EXCEL_SERIAL_RE.match(text)
    if m and 20000 <= int(m[1]) <= 80000:  # 1954..2119: a spreadsheet date typed as a number
        return TargetReading(_dt.date(1899, 12, 30) + _dt.timedelta(days=int(m[1])), raw, "date", "Excel serial")

    note_parts = [q.group(0).strip() if label is None else label for rx, label in _TARGET_QUALIFIERS
                  if (q := rx.search(text))]  # fmt: skip

    exact = _exact_date(text, plan_date, month_first)
    if exact is not None:
        when, span = exact
        return TargetReading(when, raw, "date", _note(note_parts, text, [span]))
    m = _QUARTER_RE.search(text)
    if m and (m[2] or plan_date):
        quarter = int(m[1])
        if m[2]:
            when = _quarter_end(quarter, int(m[2]), financial=bool(m[3]))
        else:
            assert plan_date is not None  # the condition above
            when = _quarter_end(quarter, plan_date.year)
            if when < plan_date:
                when = _quarter_end(quarter, plan_date.year + 1)
        kind_note = "financial-year quarter" if m[3] else "calendar quarter"
        return TargetReading(when, raw, "quarter", _note([kind_note, *note_parts], text, [m.span()]))
    return _read_months(text, raw, plan_date, note_parts)


def _exact_date(text: str, plan_date: _dt.date | None, month_first: bool = False) -> tuple[_dt.date, tuple[int, int]] | None:
    """A written day: ISO, day-first numeric (month-first when told), "14 November 2022",
    "November 14, 2022", or "14 November" (the next one on or after the plan date)."""
    numeric = "mdy" if month_first else "dmy"
    for rx, order in ((_ISO_RE, "ymd"), (_DMY_RE, numeric), (_MONTH_DAY_YEAR_RE, "mdy"), (_DAY_MONTH_RE, "dmy")):
        for m in rx.finditer(text):
            parts = dict(zip(order, m.groups(), strict=True))
            month = int(parts["m"]) if parts["m"].isdigit() else _MONTHS[parts["m"].lower()]
            if parts["y"] is not None:
                when = _safe_date(_year(parts["y"]), month, int(parts["d"]))
            elif plan_date is not None:
                when = _next_day(int(parts["d"]), month, plan_date)
            else:
                continue
            if when:
                return when, m.span()
    return None


def numeric_date_cells(cells: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The cells whose numeric dates can only be day-first ("25/7/2025"), only month-first
    ("7/25/2025"), and either way ("4/5/2025"), for deciding a whole file's order at once."""
    day_first: list[str] = []
    month_first: list[str] = []
    either: list[str] = []
    for cell in cells:
        if "/" not in cell and "." not in cell and "-" not in cell:
            continue
        for m in _DMY_RE.finditer(cell):
            a, b = int(m[1]), int(m[2])
            if a > 12 >= b:
                day_first.append(cell)
            elif b > 12 >= a:
                month_first.append(cell)
            elif a != b and 1 <= a <= 12 and 1 <= b <= 12:
                either.append(cell)
    return day_first, month_first, either


def _next_day(day: int, month: int, after: _dt.date) -> _dt.date | None:
    """That day of that month on or after `after` (None if it never exists, e.g. 31 June)."""
    for year in (after.year, after.year + 1, after.year + 4):
        when = _safe_date(year, month, day)
        if when and when >= after:
            return when
    return None


def _read_months(text: str, raw: str, plan_date: _dt.date | None, note_parts: list[str]) -> TargetReading:
    tokens = [m for m in _MONTH_TOKEN_RE.finditer(text) if _is_month_word(m, text)]
    if not tokens:
        return TargetReading(None, raw, "unknown")
    months = [_MONTHS[m[1].lower()] for m in tokens]
    years: list[int | None] = [_year(m[2]) if m[2] else None for m in tokens]
    _fill_years(months, years)
    dates: list[_dt.date | None] = [
        _month_end(y, mo) if y else None for mo, y in zip(months, years, strict=True)
    ]
    if any(d is None for d in dates):
        if plan_date is None:
            return TargetReading(None, raw, "month", _join(note_parts + ["no year given and no plan date"]))
        dates = [d or _next_month_end(mo, plan_date) for d, mo in zip(dates, months, strict=True)]
    chosen = None
    for i, m in enumerate(tokens):
        if _COMPLETION_WORD_RE.search(text[: m.start()][-30:]) and len(tokens) > 1:
            chosen, note_parts = i, note_parts + ["completion month"]
    if chosen is None:
        chosen = max(range(len(dates)), key=lambda i: dates[i])  # type: ignore[arg-type,return-value]
        if len(tokens) > 1:
            note_parts = note_parts + ["later of two dates" if len(tokens) == 2 else f"latest of {len(tokens)} dates"]
    leftover = "" if "completion month" in note_parts else _leftover(text, [m.span() for m in tokens])
    return TargetReading(dates[chosen], raw, "month", _join(note_parts + [leftover]))


def _fill_years(months: list[int], years: list[int | None]) -> None:
    """Give yearless months the year of a neighbour: "June/July 2011", "September 2011 November"."""
    for i in range(len(months)):
        if years[i] is not None:
            continue
        later = next((j for j in range(i + 1, len(months)) if years[j] is not None), None)
        earlier = next((j for j in range(i - 1, -1, -1) if years[j] is not None), None)
        if later is not None:
            years[i] = years[later] - (months[i] > months[later])  # type: ignore[operator]
        elif earlier is not None:
            years[i] = years[earlier] + (months[i] < months[earlier])  # type: ignore[operator]


def _is_month_word(m: re.Match[str], text: str) -> bool:
    """"may" and "march" are also ordinary words: take them only with a year or capitalised."""
    word = m[1]
    if word.lower() in ("may", "march") and not m[2]:
        return word[0].isupper()
    return True


def _leftover(text: str, spans: list[tuple[int, int]]) -> str:
    pieces, last = [], 0
    for start, end in sorted(spans):
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    rest = " ".join(" ".join(pieces).split())
    for rx, _ in _TARGET_QUALIFIERS:
        rest = rx.sub(" ", rest)
    rest = re.sub(r"\b(?:and|then|or)\s*$", "", " ".join(rest.split()), flags=re.I)
    rest = rest.strip(" /&,.;:-–")
    return rest if re.search(r"[A-Za-z]{2}", rest) else ""


def _note(parts: list[str], text: str, spans: list[tuple[int, int]]) -> str:
    return _join(parts + [_leftover(text, spans)])


def _join(parts: list[str]) -> str:
    seen: list[str] = []
    for p in parts:
        if p and p not in seen:
            seen.append(p)
    return "; ".join(seen)


# --------------------------------------------------------------------------------------------
# dates inside chat replies


@dataclass(frozen=True)
class WhenMatch:
    """A date phrase found in a reply.

    `date` is the date meant; `text`/`span` the phrase as written (span indexes the text given);
    `confidence` 0..1 how sure we are the phrase is that date; `role` what the words before it
    make of it (see CUE_WORDS): "target" (by, to, due, slipping to, deadline...), "scheduled"
    (booked, planned, next, will, to be held...), "until" (until, till), "from" (from, since,
    starting, to begin on), "past" (delivered, held, was, last Friday, 2 weeks ago), "range"
    (either end of "April to June") or "" (nothing said); `past` whether the date is before
    today; `source` "rules" or "dateparser"."""

    date: _dt.date
    text: str
    span: tuple[int, int]
    confidence: float
    role: str = ""
    past: bool = False
    source: str = "rules"


# Words that, read backwards from a date phrase within its clause, say what the date is for.
# The nearest one wins; a past word after "be" ("to be held", "will be delivered") is scheduled.
# Prepositions (PREPOSITION_CUES) count only right before the phrase, "the" allowed ("slipping to
# the end of Jan", not "sending it to HR 10 Dec"); "for", "on", "in" say nothing and are read past.
CUE_WORDS: dict[str, frozenset[str]] = {
    "from": frozenset("from since start starts starting begin begins beginning commencing commence commences".split()),
    "until": frozenset("until till til untill".split()),
    "target": frozenset(
        "by before to due deadline target w/c wc now revised moved pushed slipping slipped slip "
        "delayed deferred postponed extended rescheduled expected expect aim aiming hope hoping "
        "within".split()
    ),
    # an event on the calendar ("session booked for 3 Dec"): future, but not the action's target
    "scheduled": frozenset("booked scheduled planned arranged organised diarised next will".split()),
    "past": frozenset(
        "delivered held happened took completed finished done signed approved agreed launched "
        "issued sent submitted presented met went started began commenced received was were had "
        "attended ran circulated published shared finalised reviewed distributed provided undertaken "
        "produced reported discussed briefed implemented introduced confirmed occurred ago".split()
    ),
}
PREPOSITION_CUES = frozenset("by before to from since until till til untill within w/c wc".split())
_CLAUSE_END = re.compile(r"[;!?\n]|[.,](?:\s|$)|\s[-–—]\s")
_WINDOW_WORDS = 8

# confidences, one table so they can be compared and tuned together
_CONF = {
    "iso": 0.95, "dmy": 0.9, "day_month_year": 0.95, "day_month": 0.85, "month_day": 0.6,
    "month_day_ordinal": 0.8, "week_commencing": 0.85, "part_of_month": 0.85, "early_month": 0.6,
    "period_end": 0.9, "this_next_period": 0.6, "quarter": 0.85, "relative": 0.85,
    "relative_bare": 0.6, "weekday": 0.75, "weekday_next": 0.65, "weekday_abbrev": 0.65, "day_word": 0.9,
    "month_year": 0.9, "month_cued": 0.7, "month_bare": 0.55, "day_slash_cued": 0.75,
    "day_slash": 0.5, "ordinal_day": 0.7, "dateparser": 0.4,
}  # fmt: skip

_DATE_WORD_RE = re.compile(
    rf"\b(?:{_MONTH_RE}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow"
    r"|yesterday|fortnight|weeks?|months?|years?|days?)\b",
    re.I,
)


def find_dates(text: str, *, today: _dt.date) -> tuple[WhenMatch, ...]:
    """Every date phrase in `text`, in order of position. See `find_when` for what is read."""
    text = text or ""
    found: list[WhenMatch] = []
    taken = bytearray(len(text) + 1)  # characters already part of a date: linear, not found x found
    for rx, rule in _CHAT_RULES:
        for m in rx.finditer(text):
            if any(taken[m.start() : m.end()]):
                continue
            role = _role(text, m.start(), m.end())
            try:
                result = rule(text, m, today, role)
            except (ValueError, OverflowError, KeyError):
                result = None
            if result is None:
                continue
            when, confidence, role = result
            found.append(WhenMatch(when, m[0], m.span(), confidence, role, when < today))
            taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    found.extend(_dateparser_finds(text, today, found))
    return _mark_ranges(text, sorted(found, key=lambda f: f.span))


_RANGE_JOIN = re.compile(r"\s*(?:to|-|–|—|until|till)\s*", re.I)
_MOVE_WORDS = re.compile(r"\b(?:slip\w*|moved?|moving|push\w*|chang\w*|revis\w*|delay\w*|defer\w*|postpon\w*|extend\w*|reschedul\w*)\b", re.I)


def _mark_ranges(text: str, found: list[WhenMatch]) -> tuple[WhenMatch, ...]:
    """"April to June 2012" is a period, not a move to June: both ends get role "range" unless
    the clause says the date moved ("slipping from 15 Dec to end of Jan")."""
    out = list(found)
    for i in range(1, len(out)):
        prev, cur = out[i - 1], out[i]
        if not _RANGE_JOIN.fullmatch(text[prev.span[1] : cur.span[0]]):
            continue
        if _MOVE_WORDS.search(text[max(0, prev.span[0] - 60) : prev.span[0]]):
            continue
        if prev.role in ("", "from", "range"):
            out[i - 1] = replace(prev, role="range")
        out[i] = replace(cur, role="range")
    return tuple(out)


def find_when(text: str, *, today: _dt.date) -> WhenMatch | None:
    """The target date a reply names, or None.

    Our own rules first, then dateparser (day-first, future, English, based on `today`) for
    what they miss, its finds kept only if they contain a date word and given confidence 0.4.
    Yearless dates are the next one on or after today unless the words before them point back
    ("delivered 3 Nov", "last Friday", "2 weeks ago"), then the last one on or before today.

    Recognised: "2026-12-15", "15/12/2026", "15.12.2026", "15 Dec", "15th December 2026",
    "Dec 15th" (month-day, lower confidence: plans write "Nov 12" for a month), "w/c 23 Nov" /
    "week commencing 23/11" (that week's Monday), "end of January", "end of Jan", "mid
    December" (the 15th), "late March" (month end), "early May" (the 7th), "beginning of May"
    (the 1st), "end of the month", "end of next month", "month end", "end of the week" /
    "this week" / "next week" (the Friday), "end of the year", "end of the financial year"
    (31 March), "next month", "Q1" / "Q1 2027" (calendar quarter end; "Q1 2027/28" the
    financial year's), "in two weeks", "3 weeks" (lower confidence), "in a fortnight",
    "2 weeks ago", "next Friday" / "Friday" (the first one after today), "this Friday" (today
    if Friday), "Friday week", "last Friday", "today" / "tomorrow" / "yesterday" / "EOD",
    "December 2026", "Dec '26", "December" (month end), "by 15/12", "the 20th", "a week on
    Tuesday", "3 December next year", and plan-speak "in January 12" (January 2012).
    Refs such as "2.4" or "1.10" and counts such as "2 of the 3" are not dates.

    Returns the most likely target: dates on or after today before past ones; then those with
    a target cue ("by", "to", "slipping to"); then the most confident; then the later in the
    text. A past date is returned only if there is nothing else."""
    matches = find_dates(text, today=today)
    if not matches:
        return None
    rank = {"target": 3, "until": 2, "": 1, "scheduled": 1, "range": 1, "from": 0, "past": 0}
    return max(
        matches,
        key=lambda f: (not f.past and f.role != "past", rank[f.role], f.confidence, f.span[0]),
    )


_AGO = re.compile(r"\s+ago\b", re.I)
_ROLE_LOOKBACK = 25 * _WINDOW_WORDS  # characters: enough for the last _WINDOW_WORDS words


def _role(text: str, start: int, end: int) -> str:
    if _AGO.match(text, end):
        return "past"
    # only the last few words before the date count, so look back a bounded stretch (a reply
    # with many dates stays linear in its length)
    lookback = max(0, start - _ROLE_LOOKBACK)
    before = text[lookback:start]
    cut = 0
    for m in _CLAUSE_END.finditer(before):
        cut = m.end()
    if cut == 0 and lookback > 0:
        cut = before.find(" ") + 1  # drop the word cut in half
    words = re.findall(r"[a-z/']+", before[cut:].lower())[-_WINDOW_WORDS:]
    for i in range(len(words) - 1, -1, -1):
        word = words[i]
        if word in PREPOSITION_CUES and words[i + 1 :] not in ([], ["the"]):
            continue  # "to HR 10 Dec": the "to" belongs to another phrase
        for role, cues in CUE_WORDS.items():
            if word in cues and word != "ago":
                if role == "past" and i > 0 and words[i - 1] in ("be", "being"):
                    return "scheduled"
                return role
    return ""


def _occurrence(month: int, day: int | None, year: int | None, today: _dt.date, back: bool) -> _dt.date | None:
    """A day (or month end when `day` is None) of a month: in the year given, else the next one
    on or after today, else (back) the last one on or before today."""

    def make(y: int) -> _dt.date | None:
        return _month_end(y, month) if day is None else _safe_date(y, month, day)

    if year is not None:
        return make(year)
    if day is not None and _safe_date(2024, month, day) is None:
        return None  # 31 June never exists
    years = range(today.year, today.year - 9, -1) if back else range(today.year, today.year + 9)
    for y in years:
        when = make(y)
        if when is not None and (when <= today if back else when >= today):
            return when
    return None


def _friday_of_week(today: _dt.date, weeks: int = 0) -> _dt.date:
    """Friday of this working week (of the coming one at a weekend), plus `weeks`."""
    days = 4 - today.weekday() if today.weekday() <= 4 else 11 - today.weekday()
    return today + _dt.timedelta(days=days + 7 * weeks)


def _month_no(word: str) -> int:
    return _MONTHS[word.lower().rstrip(".")]


_MONTH_LEAD_IN = frozenset("in by until till from since of end mid during before after to for the early late".split())


def _month_ok(text: str, m: re.Match[str], group: int, has_year: bool) -> bool:
    """"may" and "march" are ordinary words too: take them with a year, after a word that leads
    into a month ("in May", "end of May", "3rd of May"), or capitalised after a day ("3 May")."""
    if m[group].lower() not in ("may", "march") or has_year:
        return True
    words = re.findall(r"[a-z]+", text[: m.start(group)].lower())
    if words and words[-1] in _MONTH_LEAD_IN:
        return True
    return m[group][0].isupper() and m.start(group) > m.start()


# Each rule: (match, today, role) -> (date, confidence, role) or None. Rules run in the order
# of _CHAT_RULES; a later rule's match overlapping an earlier one's is dropped.
_RuleResult = tuple[_dt.date, float, str] | None


def _r_iso(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    when = _safe_date(int(m[1]), int(m[2]), int(m[3]))
    return (when, _CONF["iso"], role) if when else None


def _r_dmy(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    if m[2] != "/" and len(m[4]) == 2:
        return None  # "1.10.22" is more likely a ref than a date
    when = _safe_date(_year(m[4]), int(m[3]), int(m[1]))
    return (when, _CONF["dmy"], role) if when else None


def _r_week_commencing(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    month = _month_no(m[2]) if m[2] else int(m[3])
    if not 1 <= month <= 12:
        return None
    year = _year(m[4]) if m[4] else None
    # a week still running counts as this week, not next year's
    day = _occurrence(month, int(m[1]), year, today - _dt.timedelta(days=6), role == "past")
    if day is None:
        return None
    return day - _dt.timedelta(days=day.weekday()), _CONF["week_commencing"], role or "target"


def _r_part_of_month(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    part = m[1].lower()
    day = {"mid": 15, "middle": 15, "early": 7, "beginning": 1, "start": 1}.get(part)
    year = _year(m[3]) if m[3] else None
    month = _month_no(m[2])
    # "mid November" said on 22 November still means this November, not next year's
    anchor = today if day is None else today.replace(day=1)
    when = _occurrence(month, day, year, anchor, role == "past")
    if when is None:
        return None
    conf = _CONF["early_month"] if part in ("early", "beginning", "start") else _CONF["part_of_month"]
    return when, conf, role


def _r_day_month(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    if not _month_ok(text, m, 2, bool(m[3])):
        return None
    year = _year(m[3]) if m[3] else today.year + 1 if m[4] else None
    when = _occurrence(_month_no(m[2]), int(m[1]), year, today, role == "past")
    return (when, _CONF["day_month_year" if year else "day_month"], role) if when else None


def _r_month_day(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    if not _month_ok(text, m, 1, bool(m[4])):
        return None
    if not m[3] and not m[4] and len(m[2]) == 2 and re.search(r"(?i)\b(?:in|during|until|till|from|since)\s+$", text[: m.start()]):
        # "in January 12", "since July 11": plan-speak for a month and year, not a day
        return _month_end(_year(m[2]), _month_no(m[1])), _CONF["month_day"], role
    when = _occurrence(_month_no(m[1]), int(m[2]), _year(m[4]) if m[4] else None, today, role == "past")
    kind = "day_month_year" if m[4] else "month_day_ordinal" if m[3] else "month_day"
    return (when, _CONF[kind], role) if when else None


def _r_month_year(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    if not _month_ok(text, m, 1, True):
        return None
    return _month_end(_year(m[2] or m[3]), _month_no(m[1])), _CONF["month_year"], role


def _r_period_end(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    return _period_end(m[2], today, 1 if m[1] else 0), _CONF["period_end"], role or "target"


def _r_this_next_period(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    return _period_end(m[2], today, 1 if m[1].lower() == "next" else 0), _CONF["this_next_period"], role


def _period_end(unit: str, today: _dt.date, shift: int) -> _dt.date:
    unit = " ".join(unit.lower().split())
    if unit == "week":
        return _friday_of_week(today, shift)
    if unit == "month":
        first = _add_months(today.replace(day=1), shift)
        return _month_end(first.year, first.month)
    if unit == "quarter":
        index = (today.month - 1) // 3 + shift  # quarters counted from Q1 of this year
        return _quarter_end(index % 4 + 1, today.year + index // 4)
    if unit in ("financial year", "fy"):
        return _dt.date(today.year + (today.month > 3) + shift, 3, 31)
    return _dt.date(today.year + shift, 12, 31)  # year


def _r_quarter(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    quarter = int(m[1])
    if m[2]:
        return _quarter_end(quarter, int(m[2]), financial=bool(m[3])), _CONF["quarter"] + 0.05, role
    when = _quarter_end(quarter, today.year)
    if when < today:
        when = _quarter_end(quarter, today.year + 1)
    return when, _CONF["quarter"], role


def _r_relative(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    cued = bool(m[1] or m[4] or m[5])
    number = m[2].lower()
    if not cued and number in ("a", "an", "few", "a few", "couple of", "a couple of"):
        return None  # "once a week", "a few weeks" without "in": not a date
    n = _number(number)
    if m[5]:  # "2 weeks ago"
        return _add(today, -n, m[3]), _CONF["relative"], "past"
    return _add(today, n, m[3]), _CONF["relative" if cued else "relative_bare"], role


def _r_weekday(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    prefix = (m[2] or "").lower()
    word = m[3].lower()
    full = word.endswith("day")
    if not full and not prefix:
        return None  # "sat", "sun", "wed" alone are too often other words
    target = _WEEKDAYS[word]
    if prefix == "last" or (role == "past" and prefix not in ("next", "this", "coming")):
        days = (today.weekday() - target) % 7 or 7
        return today - _dt.timedelta(days=days), _CONF["weekday"], "past"
    days = (target - today.weekday()) % 7
    if prefix != "this" and days == 0:
        days = 7
    when = today + _dt.timedelta(days=days + (7 if m[4] or m["week_on"] else 0))
    if prefix in ("by", "before", "until", "till"):
        role = "until" if prefix in ("until", "till") else "target"
    conf = _CONF["weekday_next" if prefix == "next" else "weekday" if full else "weekday_abbrev"]
    return when, conf, role


def _r_day_word(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    word = m[1].lower()
    if word == "yesterday":
        return today - _dt.timedelta(days=1), _CONF["day_word"], "past"
    if word == "tomorrow":
        return today + _dt.timedelta(days=1), _CONF["day_word"], role
    return today, _CONF["day_word"], role


def _r_month(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    if not _month_ok(text, m, 1, False):
        return None
    when = _occurrence(_month_no(m[1]), None, None, today, role == "past")
    before = re.findall(r"[a-z]+", text[: m.start()].lower())
    cued = bool(role) or (bool(before) and before[-1] in _MONTH_LEAD_IN)
    return (when, _CONF["month_cued" if cued else "month_bare"], role) if when else None


def _r_day_slash(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    if not 1 <= int(m[2]) <= 12 or m[0] == "24/7":
        return None
    when = _occurrence(int(m[2]), int(m[1]), None, today, role == "past")
    return (when, _CONF["day_slash_cued" if role else "day_slash"], role) if when else None


def _r_ordinal_day(text: str, m: re.Match[str], today: _dt.date, role: str) -> _RuleResult:
    day = int(m[1])
    back = role == "past"
    first = today.replace(day=1)
    for k in range(13):
        month = _add_months(first, -k if back else k)
        when = _safe_date(month.year, month.month, day)
        if when and (when <= today if back else when >= today):
            return when, _CONF["ordinal_day"], role
    return None


# words that may follow "the 20th" when it is a day ("by the 20th at the latest"), not "the 2nd draft"
_AFTER_ORDINAL = "at|or|and|latest|so|then|if|when|as|but|is|which|of|this|next|please|hopefully|i|we|it|for|to"

_CHAT_RULES = [
    (re.compile(r"(?<![\d./-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])"), _r_iso),
    (re.compile(r"(?<![\d./-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d./-]?\d)"), _r_dmy),
    (
        re.compile(
            r"\b(?:w/c|w\.c\.?|wc|w/b|wb|week\s+(?:commencing|beginning|starting|of))\s+(?:the\s+)?"
            rf"(?:mon(?:day)?,?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?({_MONTH_RE})\b\.?|/(\d{{1,2}}))"
            r"(?:(?:\s+|/)(\d{4}|\d{2}))?(?![\d/])",
            re.I,
        ),
        _r_week_commencing,
    ),
    (
        re.compile(
            r"\b(end|close|mid|middle|late|early|beginning|start)(?:\s*-\s*|\s+of\s+|\s+)(?:the\s+)?"
            rf"(?:month\s+of\s+)?({_MONTH_RE})\b\.?(?:,?\s+['’]?(\d{{4}}|\d{{2}})\b(?!\s*(?:st|nd|rd|th)\b))?",
            re.I,
        ),
        _r_part_of_month,
    ),
    (
        re.compile(
            rf"(?<![\d.])\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({_MONTH_RE})\b\.?"
            r"(?:,?\s+(\d{4})\b|\s+(next\s+year)\b)?",
            re.I,
        ),
        _r_day_month,
    ),
    (re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(st|nd|rd|th)?\b(?![\d:])(?:,?\s+(\d{{4}})\b)?", re.I), _r_month_day),
    (re.compile(rf"\b({_MONTH_RE})\.?\s+(?:(\d{{4}})\b|['’](\d{{2}})\b)", re.I), _r_month_year),
    (
        re.compile(r"\bend\s+of\s+(?:the\s+|this\s+)?(next\s+|following\s+)?(week|month|quarter|financial\s+year|fy|year)\b", re.I),
        _r_period_end,
    ),
    (re.compile(r"\b(?:this\s+)?(next\s+)?(week|month|quarter|year)[\s-]end\b", re.I), _r_period_end),
    (re.compile(r"\b(this|next)\s+(week|month|quarter|year)\b", re.I), _r_this_next_period),
    (re.compile(r"\b(?:q|quarter\s*)([1-4])\b(?:\s*(\d{4})(?:\s*/\s*(\d{2}|\d{4}))?)?", re.I), _r_quarter),
    (
        re.compile(
            rf"(?<![\d.,/])\b(?:(in|within)\s+)?({_NUMBER_RE})\s+(days?|weeks?|fortnights?|months?|years?)\b"
            r"(?!\s+(?:late|behind|overdue|early|of|per|a|each|every|notice|before|after|delay)\b)"
            r"('?\s*time\b)?(\s+ago\b)?",
            re.I,
        ),
        _r_relative,
    ),
    (
        re.compile(
            rf"\b(?P<week_on>a\s+week\s+(?=on\s))?(?:(next|this|last|coming|on|by|until|till|before)\s+)?"
            rf"({_WEEKDAY_RE})\b(\s+week\b)?(?!,?\s+(?:the\s+)?\d)",
            re.I,
        ),
        _r_weekday,
    ),
    (
        re.compile(r"\b(today|tonight|tomorrow|yesterday|eod|cob|end\s+of\s+(?:the\s+)?day|close\s+of\s+(?:play|business))\b", re.I),
        _r_day_word,
    ),
    (re.compile(rf"\b({_MONTH_RE})\b\.?", re.I), _r_month),
    (re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,2})(?![\d/])(?!\s+of\b)"), _r_day_slash),
    (re.compile(rf"\bthe\s+(\d{{1,2}})(?:st|nd|rd|th)\b(?=\s*(?:$|[^\w\s]|(?:{_AFTER_ORDINAL})\b))", re.I), _r_ordinal_day),
]


def _dateparser_finds(text: str, today: _dt.date, found: list[WhenMatch]) -> list[WhenMatch]:
    """What dateparser's search_dates finds that our rules did not, kept only when the phrase
    contains a date word (month, weekday, day/week/month/year...) and has no ref-like number."""
    if not _DATE_WORD_RE.search(text):
        return []
    from dateparser.search import search_dates  # slow import, only when needed

    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": _dt.datetime(today.year, today.month, today.day),  # noqa: DTZ001 - dateparser wants a naive base
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        results = search_dates(text, languages=["en"], settings=settings) or []
    except Exception:  # dateparser raises odd things on odd text; its finds are optional
        return []
    extra: list[WhenMatch] = []
    pos = 0
    for phrase, when in results:
        start = text.find(phrase, pos)
        if start < 0:
            start = text.find(phrase)
        if start < 0:
            continue
        end = start + len(phrase)
        pos = end
        taken = found + extra
        if any(start < f.span[1] and f.span[0] < end for f in taken):
            continue
        if re.search(r"\d+\.\d+", phrase) or re.search(r"(?i)\b(?:after|before|from|since|of)(?:\s+(?:the|a|an))?\s*$", phrase):
            continue  # a ref such as "2.4", or relative to something unnamed ("two days after")
        if not _DATE_WORD_RE.search(re.sub(r"(?i)\b(?:may|march)\b", " ", phrase)):
            continue  # no date word, or only "may"/"march" that our rules already turned down
        if re.fullmatch(r"(?i)\s*(?:a|an|the|of|and|or|\d+)?\s*(?:days?|weeks?|months?|years?)\s*", phrase):
            continue
        day = when.date()
        role = _role(text, start, end)
        extra.append(WhenMatch(day, phrase, (start, end), _CONF["dateparser"], role, day < today, "dateparser"))
    return extra
