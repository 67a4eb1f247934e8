"""Reading dates as councils write them: plan target cells and dates inside chat replies.

Two layers, both pure (the caller passes `plan_date` / `today`):

* `read_target` reads a plan's target-date cell ("Nov 12", "December 2011 and annually",
  "Commence August Review October Complete December", "Q1 2023", "<b>complete</b>").
* `find_when` / `find_dates` find a date phrase inside a free-text reply ("slipping to end of
  Jan", "w/c 23 Nov", "session delivered 3 Nov").

Conventions, chosen once and used everywhere:

* A month on its own means its LAST day: "December 2011" -> 31 Dec 2011.
* "Mon YY" in a plan cell is month + year, never a day: "Nov 12" -> 30 Nov 2012.
* Numeric dates are UK day-first: "14/11/2022" -> 14 Nov 2022.
* Quarters are calendar quarters: "Q1 2023" -> 31 Mar 2023. When a financial year is written
  ("Q1 2023/24") the quarter is of that April-to-March year: 30 Jun 2023.
* "Within 3 months" / "Three months" / "20 days" are added to the plan's date exactly
  (the day of the month is kept, clamped to the month's length): 14 Nov 2022 + 3 months ->
  14 Feb 2023. Without a plan date there is no date.
* A month without a year is the next such month-end on or after the plan date (or `today`).

dateparser (always `languages=['en']`, day-first, future, based on `today`) is only a fallback
for chat text, and its finds are accepted only when they contain a date word (see
`_DATEPARSER_WORDS`) and get a low confidence: its `search_dates` invents dates from "2 of the 3"
or refs such as "2.4".
"""

from __future__ import annotations

import calendar
import datetime as _dt
import html
import re
from dataclasses import dataclass

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
    or runs of whitespace."""
    text = re.sub(r"<[^>]{0,200}>", " ", text or "")
    text = html.unescape(text)
    text = re.sub(r"(\d)\s+(st|nd|rd|th)\b", r"\1\2", text)  # "14 th" -> "14th"
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------------------------
# plan target cells


@dataclass(frozen=True)
class TargetReading:
    """What a plan's target-date cell says.

    `date` is the date the action is due by (None when the cell has none); `raw` the cell's text
    as given, stripped; `kind` one of TARGET_KINDS; `note` what else the cell says
    ("and annually", "later of 2 dates", "start date", "Tender by", ...)."""

    date: _dt.date | None
    raw: str
    kind: str
    note: str = ""


_COMPLETE_RE = re.compile(r"^(?:action\s+)?(?:complete|completed|done|achieved|closed)\W*$", re.I)
_ONGOING_RE = re.compile(r"^(?:on[\s-]?going|continuous|continuing|business as usual|bau)\W*$", re.I)
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


def read_target(raw: str, *, plan_date: _dt.date | None = None) -> TargetReading:
    """Read a plan's target-date cell. Never raises: what it cannot read is kind "unknown".

    Recognised (see the module docstring for the conventions):
    empty -> "empty"; "complete"/"Completed"/"<b>complete</b>" -> "complete" (no date);
    "Ongoing" -> "ongoing" (no date); "Immediate" -> "immediate" (the plan date);
    "20 days"/"Within 3 months"/"Six months" -> "relative" (plan date + that);
    "14 November 2022", "14/11/2022", "2022-11-14", "2022-11-14 00:00:00", Excel serial
    "44879" -> "date"; "Q1 2023" -> "quarter"; anything naming months ("Nov 12",
    "December 2011 and annually", "June/July 2011", "From August 2011", "Tender by December
    2011", "Commence August Review October Complete December") -> "month", the month's last day:
    the month after a completion word if there is one, else the latest month named."""
    raw_stripped = (raw or "").strip()
    try:
        return _read_target(raw_stripped, plan_date)
    except (ValueError, OverflowError, KeyError):
        return TargetReading(None, raw_stripped, "unknown")


def _read_target(raw: str, plan_date: _dt.date | None) -> TargetReading:
    text = clean_text(raw).strip(" .;,:-–")
    if not text:
        return TargetReading(None, raw, "empty")
    if _COMPLETE_RE.match(text):
        return TargetReading(None, raw, "complete")
    if _ONGOING_RE.match(text):
        return TargetReading(None, raw, "ongoing")
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

    exact = _exact_date(text, plan_date)
    if exact is not None:
        when, span = exact
        return TargetReading(when, raw, "date", _note(note_parts, text, [span]))
    m = _QUARTER_RE.search(text)
    if m and (m[2] or plan_date):
        quarter = int(m[1])
        if m[2]:
            when = _quarter_end(quarter, int(m[2]), financial=bool(m[3]))
        else:
            when = _quarter_end(quarter, plan_date.year)  # type: ignore[union-attr]
            if when < plan_date:
                when = _quarter_end(quarter, plan_date.year + 1)  # type: ignore[union-attr]
        kind_note = "financial-year quarter" if m[3] else "calendar quarter"
        return TargetReading(when, raw, "quarter", _note([kind_note, *note_parts], text, [m.span()]))
    return _read_months(text, raw, plan_date, note_parts)


def _exact_date(text: str, plan_date: _dt.date | None) -> tuple[_dt.date, tuple[int, int]] | None:
    """A written day: ISO, day-first numeric, "14 November 2022", "November 14, 2022", or
    "14 November" (the next one on or after the plan date)."""
    for rx, order in ((_ISO_RE, "ymd"), (_DMY_RE, "dmy"), (_MONTH_DAY_YEAR_RE, "mdy"), (_DAY_MONTH_RE, "dmy")):
        for m in rx.finditer(text):
            parts = dict(zip(order, m.groups()))
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
        _month_end(y, mo) if y else None for mo, y in zip(months, years)
    ]
    if any(d is None for d in dates):
        if plan_date is None:
            return TargetReading(None, raw, "month", _join(note_parts + ["no year given and no plan date"]))
        dates = [d or _next_month_end(mo, plan_date) for d, mo in zip(dates, months)]
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
