"""The words a register is written in, kept once for every reader of them.

Three readers meet the same vocabulary: the plan importer (a status cell, "Action Complete Sign
off approved at the Evidence Challenge Panel…"), the free-text reader of chat replies ("2.4
done, session delivered 3 Nov") and the CLI (`--status "on hold"`). Each used to keep its own
copy of the status words and of the ref rules; they live here now.

Status phrases carry a scope:

* ``any``   -- meant the same in a cell, a reply and a typed value ("on hold", "completed");
* ``cell``  -- how plans word a status cell, read at the cell's start ("Not yet due", "Met",
  "Delivered", "Partially achieved"); in a chat reply these words are too loose ("training
  delivered" is news, not a status);
* ``reply`` -- how people phrase it in a message ("can't start", "making good progress");
* ``exact`` -- only as the whole of a typed value ("new", "hold").

A sign-off phrase is SIGNED_OFF in a plan cell; in a reply it only reports completion (signing
off is a panel's decision, made through the sign-off command).
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.domain.model import Status

# (status, scope, pattern). Patterns are regex fragments, matched case-insensitively; most
# specific first within a status.
STATUS_WORDS: tuple[tuple[Status, str, str], ...] = (
    (Status.NOT_STARTED, "any", r"not\s+(?:yet\s+)?(?:been\s+)?(?:started|begun|commenced)"),
    (Status.NOT_STARTED, "any", r"awaiting\s+(?:a\s+)?start"),
    (Status.NOT_STARTED, "any", r"yet\s+to\s+(?:start|begin|commence)"),
    (Status.NOT_STARTED, "reply", r"(?:can\s*not|can'?t|cannot|won'?t|unable\s+to)\s+(?:start|begin|commence)"),
    (Status.NOT_STARTED, "reply", r"no\s+progress(?:\s+yet)?"),
    (Status.NOT_STARTED, "reply", r"not\s+yet\s+under\s*way"),
    (Status.NOT_STARTED, "cell", r"not\s+(?:yet\s+)?due"),
    (Status.NOT_STARTED, "cell", r"to\s+start"),
    (Status.NOT_STARTED, "cell", r"not\s+(?:yet\s+)?(?:achieved|met)"),
    (Status.NOT_STARTED, "exact", r"new"),
    (Status.CANCELLED, "any", r"cancell?ed|withdrawn|superseded"),
    (Status.CANCELLED, "any", r"no\s+longer\s+(?:needed|required|relevant)"),
    (Status.CANCELLED, "reply", r"dropped"),
    (Status.CANCELLED, "exact", r"dropped"),
    (Status.ON_HOLD, "any", r"on\s+hold|paused|suspended"),
    (Status.ON_HOLD, "reply", r"parked"),
    (Status.ON_HOLD, "cell", r"deferred"),
    (Status.ON_HOLD, "exact", r"hold"),
    (Status.SIGNED_OFF, "any", r"signed[\s-]*off"),
    (Status.SIGNED_OFF, "any", r"sign[\s-]*off\s+(?:approved|agreed|given)"),
    (Status.SIGNED_OFF, "cell", r"sign[\s-]*off\s+(?:confirmed|granted)"),
    (Status.SIGNED_OFF, "cell", r"closed(?!\s*-\s*not)|approved\s+(?:for\s+closure|and\s+closed)"),
    (Status.SIGNED_OFF, "exact", r"sign\s+off|closed|approved"),
    (Status.COMPLETE, "any", r"complete[d]?|done|finished|achieved"),
    (Status.COMPLETE, "any", r"awaiting\s+sign[\s-]*off"),
    (Status.COMPLETE, "cell", r"fully\s+(?:achieved|met)|delivered|met(?=\s*(?:$|[-:.(,;]))"),
    (Status.COMPLETE, "cell", r"reviewed\s+at\b.{0,120}?\bagreed\s+that\s+the\s+action\s+(?:was|is|had\s+been)\s+complete"),
    (Status.IN_PROGRESS, "any", r"in[\s-]+progress|under\s*way|on[\s-]?going|progressing|started|commenced"),
    (Status.IN_PROGRESS, "reply", r"begun|making\s+(?:good\s+)?progress"),
    (Status.IN_PROGRESS, "cell", r"on[\s-]+(?:track|target|schedule)|partially\s+(?:achieved|met)|partly\s+(?:achieved|met)"),
    (Status.IN_PROGRESS, "cell", r"being\s+(?:developed|progressed|implemented)"),
    (Status.IN_PROGRESS, "exact", r"on\s+track|progress"),
)  # fmt: skip


def _alternation(statuses_in_order: tuple[Status, ...], scopes: set[str], fold: dict[Status, Status] | None = None) -> tuple[tuple[Status, str], ...]:
    fold = fold or {}
    out: dict[Status, list[str]] = {}
    for status in statuses_in_order:
        for s, scope, pattern in STATUS_WORDS:
            if scope in scopes and fold.get(s, s) is status:
                out.setdefault(status, []).append(pattern)
    return tuple((status, "|".join(patterns)) for status, patterns in out.items())


# What a chat reply can mean, most specific first (a later phrase overlapping an earlier match
# is ignored: "not started" is not "started"). Sign-off words report completion.
REPLY_STATUS_PHRASES: tuple[tuple[Status, str], ...] = _alternation(
    (Status.NOT_STARTED, Status.CANCELLED, Status.ON_HOLD, Status.COMPLETE, Status.IN_PROGRESS),
    {"any", "reply"},
    {Status.SIGNED_OFF: Status.COMPLETE},
)

# How a plan's status or progress cell opens. Sign-off is tried first ("Complete - signed off"
# is signed off), then completion, then the rest.
_CELL_ORDER = (Status.SIGNED_OFF, Status.COMPLETE, Status.NOT_STARTED, Status.ON_HOLD, Status.CANCELLED, Status.IN_PROGRESS)
_CELL_PREFIX = {
    Status.SIGNED_OFF: r"(?:complete[d]?\W+)?(?:and\s+)?",
    Status.IN_PROGRESS: r"(?:currently\s+|work\s+)?",
}
_CELL_RULES: tuple[tuple[Status, re.Pattern[str]], ...] = tuple(
    (status, re.compile(rf"^(?:action\s+)?{_CELL_PREFIX.get(status, '')}(?:{pattern})\b"))
    for status, pattern in _alternation(_CELL_ORDER, {"any", "cell"})
)
_EXACT: tuple[tuple[Status, re.Pattern[str]], ...] = tuple(
    (status, re.compile(rf"(?:{pattern})"))
    for status, pattern in _alternation(_CELL_ORDER, {"any", "cell", "exact"})
)
_DASHES_RE = re.compile(r"[–—]")


@lru_cache(maxsize=50_000)
def _cell_status(head: str) -> Status | None:
    if "–" in head or "—" in head:
        head = _DASHES_RE.sub("-", head)
    return next((status for status, rx in _CELL_RULES if rx.search(head)), None)


def cell_status(text: str) -> Status | None:
    """The status a plan's status or progress cell opens with, or None: "Action Complete Sign
    off approved at the Evidence Challenge Panel…" -> signed_off; "In Progress – on track" ->
    in_progress; "Not yet due" -> not_started; "Partly met" -> in_progress."""
    if not text:
        return None
    return _cell_status(text[:200].lower())


def exact_status(text: str) -> Status | None:
    """A whole typed value as a status ("on hold", "Signed-off", "awaiting sign off"), or None."""
    key = " ".join(re.sub(r"[_\-–—/]+", " ", text.strip().lower()).split())
    return next((status for status, rx in _EXACT if rx.fullmatch(key)), None)


# --------------------------------------------------------------------------------------------
# refs

# A ref as written in a ref cell: "1.2", "2.4a", "CP10", "CP 10", "AFI 2", "P1.F2.A1", "3)", "R2".
_CELL_REF_RE = re.compile(
    r"^(?:[A-Za-z]{1,6}[ .\-]?)?\d{1,4}[a-z]?(?:[.\-/](?:[A-Za-z]{1,3})?\d{1,4}[a-z]?)*[.)]?$|^[A-Za-z]{1,2}\d{0,2}[.)]?$"
)
_REF_SPACE_RE = re.compile(r"^([A-Za-z]+)\s+(?=\d)")


def is_ref(text: str) -> bool:
    """Does a cell hold a ref and nothing else?"""
    return len(text) <= 15 and bool(_CELL_REF_RE.match(text))


def tidy_ref(text: str) -> str:
    """A ref as it is shown: "1.1." -> "1.1", "CP 10" -> "CP10", "3)" -> "3"."""
    text = text.strip().rstrip(".)").strip()
    return _REF_SPACE_RE.sub(r"\1", text) if " " in text else text


def ref_key(ref: str) -> str:
    """How refs are compared: "CP 10" = "cp10" = "CP10", "1.1." = "1.1"."""
    return re.sub(r"\s+", "", ref).upper().rstrip(".")
