"""Which way round a plan's numeric dates are written: decided once per file, never per cell.

"04/05/2025" is 4 May or 5 April. The file's own dates settle it when any of them can only be
read one way ("25/07/2025" is day-first, "7/25/2025" month-first). When none does, the plan's
country decides (bot/domain/country.py: `import --country`, else the plan's, else the
organisation's, else GB), and the preview says so. When they contradict each other (a
"13/05/2025" and a "05/13/2025" in one file) the plan is still read, since refusing a whole
plan for a few cells helps nobody: the order most of its one-way dates use wins (the country on
a tie), dates written the other way are kept as written without a date, and the preview names
the actions whose dates could be either way, to be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.domain.country import DEFAULT_COUNTRY, numeric_order
from bot.domain.dates import numeric_date_cells, read_target
from bot.importer.check import UNREAD_MARK, list_some, unread_targets_warning

if TYPE_CHECKING:
    from bot.importer.parsed import ParsedPlan

_WORDS = {"dmy": "day-first", "mdy": "month-first"}
_FROM = {"default": "the default", "organisation": "the organisation's", "plan": "this plan's", "--country": "given with --country"}


@dataclass
class DateOrder:
    order: str  # "dmy" or "mdy": how the file's numeric dates were read
    settled_by: str  # "file" (its own dates), "country" (none settles it), "conflict", or "none" (no numeric dates)
    country: str = DEFAULT_COUNTRY
    country_from: str = "default"  # "default", "organisation", "plan" or "--country"
    day_first: list[str] = field(default_factory=list)  # cells that can only be day-first ("25/07/2025")
    month_first: list[str] = field(default_factory=list)  # … only month-first ("7/25/2025")
    either: list[str] = field(default_factory=list)  # cells that read both ways ("04/05/2025")
    check_refs: list[str] = field(default_factory=list)  # conflict: actions whose dates read both ways

    @property
    def month_first_read(self) -> bool:
        return self.order == "mdy"

    def message(self) -> str | None:
        """What the preview says about it; None when there is nothing to say (a UK plan whose
        dates are day-first, or a plan with no numeric dates)."""
        words = _WORDS[self.order]
        country = f"country {self.country} ({_FROM.get(self.country_from, self.country_from)})"
        if self.settled_by == "file":
            if self.order == numeric_order(self.country):
                return None  # as the country writes them: nothing to say
            example = (self.month_first if self.order == "mdy" else self.day_first)[0]
            return (f"numeric dates were read {words}: the file's own dates settle it (e.g. {example}), "
                    f"though {country} writes them {_WORDS[numeric_order(self.country)]}.")  # fmt: skip
        if self.settled_by == "country":
            other = "US" if self.order == "dmy" else "GB"
            return (f"numeric dates were read {words}: no date in the file settles it (e.g. {self.either[0]} could be either); "
                    f"{country}. If they are {_WORDS['mdy' if self.order == 'dmy' else 'dmy']}, import again with --country {other}.")  # fmt: skip
        if self.settled_by == "conflict":
            lost = self.month_first if self.order == "dmy" else self.day_first
            kept = self.day_first if self.order == "dmy" else self.month_first
            why = f"as most of its one-way dates are ({len(kept)} to {len(lost)})" if len(kept) != len(lost) else country
            said = (f"the file's numeric dates contradict each other: {len(self.day_first)} can only be day-first "
                    f"({list_some(self.day_first, 3)}) and {len(self.month_first)} only month-first ({list_some(self.month_first, 3)}). "
                    f"They were read {words}, {why}; {list_some(lost, 5)} (written the other way) kept as written, without a date")  # fmt: skip
            if self.check_refs:
                said += f", and the dates that could be either way were read {words}: check the targets of {list_some(self.check_refs)}"
            return said + "."
        return None

    def to_json(self) -> dict[str, object]:
        return {"order": self.order, "settled_by": self.settled_by, "country": self.country, "country_from": self.country_from}


def decide_order(cells: list[str], country: str = DEFAULT_COUNTRY, country_from: str = "default") -> DateOrder:
    """The order to read these date cells in (all of one file's target cells at once)."""
    day_first, month_first, either = numeric_date_cells(cells)
    return _decide(day_first, month_first, either, country, country_from)


def _decide(day_first: list[str], month_first: list[str], either: list[str], country: str, country_from: str) -> DateOrder:
    if day_first and month_first:
        if len(day_first) != len(month_first):
            order = "dmy" if len(day_first) > len(month_first) else "mdy"
        else:
            order = numeric_order(country)
        settled = "conflict"
    elif day_first or month_first:
        order, settled = ("dmy" if day_first else "mdy"), "file"
    else:
        order, settled = numeric_order(country), ("country" if either else "none")
    return DateOrder(order, settled, country, country_from, day_first, month_first, either)


def apply_country(plan: ParsedPlan, country: str, country_from: str) -> None:
    """Read `plan` (already parsed) as written in `country`: the plan it is imported into may
    say another country than the one it was parsed with. Only when the file's own dates left
    the order to the country do its dates change; the preview's words always follow."""
    old: DateOrder | None = plan.date_order
    if old is None:
        return
    new = _decide(old.day_first, old.month_first, old.either, country, country_from)
    new.check_refs = old.check_refs
    if new.order != old.order:
        for a in plan.actions:
            reading = read_target(a.target_raw, plan_date=plan.plan_date, month_first=new.month_first_read)
            a.target_date, a.target_kind, a.target_note = reading.date, reading.kind, reading.note
            if a.revised_target_raw:
                a.revised_target_date = read_target(a.revised_target_raw, plan_date=plan.plan_date, month_first=new.month_first_read).date
    before, after = old.message(), new.message()
    if before in plan.warnings:
        index = plan.warnings.index(before)
        if after:
            plan.warnings[index] = after
        else:
            del plan.warnings[index]
    elif after:
        plan.warnings.insert(0, after)
    if new.order != old.order:  # which targets could not be read changes with the order
        plan.warnings[:] = [w for w in plan.warnings if UNREAD_MARK not in w]
        fresh = unread_targets_warning(plan.actions)
        if fresh:
            plan.warnings.append(fresh)
    plan.date_order = new
