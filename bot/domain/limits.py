"""How big a value may be: one limit per kind of field, defined here once.

Short fields (names, refs, labels) have their limit as the column size in ``storage/tables.py``;
long text fields have theirs below and carry it as column info. Every value is checked against
its limit before the database sees it (``storage.tables.check_values``), so SQLite, which would
store 100 kB in a 40-character column, and PostgreSQL, which would refuse it with a DataError,
behave the same: one clear message, nothing stored.
"""

from __future__ import annotations

import re
from datetime import date

PROGRESS_TEXT = 4000  # one progress update, as typed in chat or on the command line
REASON = 1000  # why a target moves
NOTE = 2000  # a sign-off note
EVIDENCE_LINK = 2000  # one evidence link
EVIDENCE_LINKS = 20  # links on one update
LONG_TEXT = 20_000  # an action's or priority's text, outputs, outcomes, findings; imported progress
IDENT = 300  # what a command is given to find a plan, action or person by

# Dates typed or imported: anything outside is a typing slip (and 0001 or 9999 would overflow
# the date arithmetic of cadences and digests).
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)

# Integers stored in 32-bit columns (versions, limits, counts) on PostgreSQL.
INT_MAX = 2**31 - 1

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def bad_text(value: str) -> str | None:
    """What makes `value` unstorable text, or None: a NUL character or half of a surrogate pair
    (which no database stores and no chat platform sends)."""
    m = _BAD_TEXT.search(value)
    if m is None:
        return None
    return "a NUL character" if m.group() == "\x00" else "an invalid character (a lone surrogate, or bytes that are not UTF-8)"


def shown(value: str, n: int = 60) -> str:
    """`value` quoted for a message, cut to `n` characters: never echo 100 kB back."""
    value = _BAD_TEXT.sub("\ufffd", value)
    return repr(value if len(value) <= n else value[: n - 1] + "…")


def check_date(d: date, what: str) -> date:
    from bot.domain.model import InvalidValue

    if not EARLIEST <= d <= LATEST:
        raise InvalidValue(f"{what} {d.isoformat()} is outside the dates actionbot works with "
                           f"({EARLIEST.isoformat()} to {LATEST.isoformat()})")
    return d
