"""Reading a lead officer's free-text reply into PROPOSED register changes.

Nothing here changes the register: `read_reply` says what the reply seems to mean (which
actions, status, RAG, revised target, evidence, reason) and what to ask when unsure; the caller
shows that to the person to confirm. Pure: regexes and the word tables below, no NLP model.

How a reply is read:

* Refs: "2.4", "1.10", "CP4", "CP 10", "action 7" -- matched to `known_refs` and spelt as
  there; a ref after "superseded by", "see", "linked to"... is a mention, not a subject. With no
  ref named, `context_ref` (the action the conversation is about).
* Status: the phrases in STATUS_PHRASES; "complete" is not completion after "not", "nearly",
  "once", "to be"... or before "by <date>". When statuses disagree, the one the reply opens with
  wins ("Complete - ongoing"); otherwise the first is proposed and a question asked.
* RAG: a colour named ("RAG red", "now green"), else what RAG_SIGNALS imply ("on track" Green,
  "slipping" Amber, "major slippage" Red); a signal alone also means in progress. Completion is
  not turned into Blue here: whether a plan uses Blue is the plan's RAG scheme's business.
* Revised target: a future date the words mark as a target ("slipping to end of Jan", "by 15
  Dec", "now w/c 7 Dec") or that sits in a clause about completing ("complete end of Jan").
  Never a past date, never a date when the reply says the action is complete (that is the
  delivery date), never the "until" of "on hold until April" or "can't start until 3 Dec".
* A blocked start ("can't start until the new audit tool is ready") is proposed as not started,
  with the blocker as the reason and a question: the officer has not said it is on hold (a
  decision the plan owner records) nor that the target is at risk, so neither is guessed.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from bot.domain.dates import _MONTH_RE, WhenMatch, clean_text, find_dates
from bot.domain.due import parse_snooze, zone
from bot.domain.model import Rag, Status
from bot.domain.vocabulary import REPLY_STATUS_PHRASES, ref_key

# --------------------------------------------------------------------------------------------
# word tables: everything the reader recognises, in one place

# Explicit statuses, most specific first: a later phrase overlapping an earlier match is ignored
# ("not started" is not "started"). The words are shared with the importer (bot/domain/vocabulary.py).
STATUS_PHRASES: tuple[tuple[Status, str], ...] = REPLY_STATUS_PHRASES

# Words in the few words before "complete"/"done" that make it not (yet) complete.
NOT_YET_WORDS = frozenset(
    "not nearly almost once until when if be being partially partly half awaiting pending will "
    "should expect expected hope hoping aim aiming before after nor".split()
)
# ...and what after it makes it a target: "complete by end of Jan", "done in 2 weeks".
_NOT_YET_AFTER = re.compile(r"\s+(?:by|before|within|in\s+(?:\d|a\b|an\b|one|two|three|four|five|six)|end\s+of|next)\b", re.I)

# Phrases that imply a RAG rating (and, alone, that the action is in progress). Red first.
RAG_SIGNALS: tuple[tuple[Rag, str], ...] = (
    (Rag.RED, r"major\s+slippage|significant(?:ly)?\s+(?:slippage|behind|delayed|late)|serious(?:ly)?\s+"
              r"(?:behind|delayed|late)|off\s+track|(?:will|won'?t|going\s+to|cannot|can'?t)\s+(?:miss|meet)"
              r"\s+the\s+(?:target|deadline)|will\s+miss|badly\s+behind"),
    (Rag.AMBER, r"slipp(?:ing|age|ed)|slight(?:ly)?\s+behind|behind(?:\s+schedule)?|delayed|running\s+late"
                r"|at\s+risk|some\s+delay"),
    (Rag.GREEN, r"on\s+track|on\s+target|on\s+schedule|going\s+well|as\s+planned"),
)  # fmt: skip

_COLOURS = {"red": Rag.RED, "amber": Rag.AMBER, "green": Rag.GREEN, "blue": Rag.BLUE}
# A colour named outright; single letters only after "RAG"/"rating".
_RAG_EXPLICIT = re.compile(
    r"\b(?:rag|rating|rag\s+rating|rag\s+status)\s*(?:is|now|=|:|-|–|to|as)?\s*(?:now\s+)?(r|a|g|b)\b"
    r"|\b(red|amber|green|blue)\b",
    re.I,
)
# Colour words that are not ratings.
NOT_RAG = re.compile(r"\b(?:red\s+book|red\s+tape|red\s+flags?|green\s+paper|green\s+light|blue\s+badge)\b", re.I)

# Reasons for slippage: the clause after these words.
_REASON = re.compile(
    r"\b(?:because(?:\s+of)?|due\s+to(?!\s+(?:be|take|go|start|finish|complete|commence|launch|report|begin|meet|have|the\s+end)\b)"
    r"|owing\s+to|as\s+a\s+result\s+of|caused\s+by|waiting\s+(?:for|on)|awaiting(?!\s+(?:a\s+)?(?:start|sign))|dependent\s+on|depends\s+on)\s+"
    r"(?P<reason>[^.;,\n]{2,80})",
    re.I,
)
_BLOCKER = re.compile(r"\b(?:can\s*not|can'?t|cannot|won'?t|unable\s+to)\s+(?:start|begin|commence|progress)\s+until\s+(?P<reason>[^.;,\n]{2,80})", re.I)

# Where evidence lives.
EVIDENCE_PLACES = (
    r"intranet|sharepoint|share\s*point|shared\s+drive|(?:the\s+)?drive|teams(?:\s+site|\s+channel)?|documents?\s+library"
    r"|tri-?x|evidence\s+(?:folder|log|library|store)|portal|the\s+folder|onedrive"
)
_URL = re.compile(r"\bhttps?://[^\s<>\"')\]]+|\bwww\.[^\s<>\"')\]]+", re.I)
_EVIDENCE_PHRASES = re.compile(
    rf"\bevidence(?!\s+challenge)\b(?:\s+\w+){{0,3}}?\s+(?:is\s+|are\s+|has\s+been\s+|now\s+)*(?:on|in|at|via|uploaded|saved|stored|attached|available|here)\b[^.;,\n]{{0,60}}"
    rf"|\b(?:uploaded|saved|stored|filed|published|available)\s+(?:to|on|in|at)\s+(?:the\s+)?(?:{EVIDENCE_PLACES})\b"
    r"|\b(?:see\s+)?attached\b",
    re.I,
)

# A ref named after these words is mentioned, not the action the reply is about.
_MENTION_BEFORE = re.compile(
    r"\b(?:superseded|replaced|covered|merged|linked|dependent|depends|see|per|same\s+as|duplicate\s+of|moved|"
    r"part\s+of|along\s+with|led\s+by|from)(?:\s+(?:by|to|on|into|in|with|under|of|action|ref))*\s*$",
    re.I,
)
_REF = re.compile(
    r"(?<![\w.£$/])(?:(?P<pre>action|ref(?:erence)?\.?|item|#)\s*)?"
    r"(?P<ref>(?:(?-i:[A-Z]{1,4})\s?|[a-z]{1,4})\d{1,3}(?:\.\d{1,3})*|\d{1,3}(?:\.\d{1,3}){1,3}|\d{1,3})"
    r"\.?(?![\w%/]|\.\d|\s*(?:am|pm|%|days?|weeks?|months?|hours?|hrs?|years?|fte|k)\b)",
    re.I,
)

# Words that carry no update of their own: a stretch of the reply made only of these, refs,
# statuses and ratings is a command, not progress to record.
FILLER_WORDS = frozenset(
    "and & now is are rag status rating update action actions re ref please thanks thank you all "
    "both the it this has have been as at currently still fully ok okay yes hi hello also so "
    "just it's its i we our my is was work task".split()
)
_SEGMENT_SPLIT = re.compile(r"\s*(?:[,;\n]|[.!?](?:\s|$)|\s[-–—]\s|:\s)\s*")
_COMPLETION_WORDS = re.compile(r"\b(?:complet\w*|finish\w*|done|ready|in\s+place|closed?|go(?:es|ing)?\s+live)\b", re.I)

# ...and the words around a date that, alone, make the reply a new target: "new date: 15 Dec".
_DATE_ONLY_WORDS = frozenset("new date target revised by in on now to deadline".split())

_QUESTION_LIMIT = 5

# The longest reply read, as in chat: past this the reader asks for a shorter one and reads
# nothing (every step below is linear in the length, but a register update is not an essay).
MAX_TEXT = 4000

# A request to be reminded later rather than an update: "remind me Monday", "snooze 3 days",
# "not now", "later please". When it is understood is due.parse_snooze's business.
_SNOOZE = re.compile(
    r"^\W*(?:(?:please|pls|can\s+you|could\s+you|ok|thanks)[\s,]+)*(?:remind\s+me|snooze|not\s+now|later\b|ask\s+me\s+(?:again|later))",
    re.I,
)

# Dates written with numbers or a month name that no calendar has: "31/02/2027", "30 February".
_NUMERIC_DAY_MONTH = re.compile(r"(?<![\w./-])(\d{1,2})([/-])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\w/-]|\.\d)"
                                r"|(?<![\w./-])(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?![\w./-])")
_WORDY_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b\.?(?:,?\s+(\d{{4}}))?"
    rf"|\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?",
    re.I,
)
_MONTH_NUMBERS = {m: i for i, names in enumerate(
    ("jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july", "aug august",
     "sep sept september", "oct october", "nov november", "dec december"), start=1) for m in names.split()}


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What a reply proposes. Nothing is applied until the person confirms."""

    refs: tuple[str, ...]
    status: Status | None
    rag: Rag | None
    target_date: date | None
    progress: str
    evidence: tuple[str, ...] = ()
    reason: str | None = None
    confidence: float = 0.0
    questions: tuple[str, ...] = ()
    snooze: bool = False  # a request to be reminded later, not an update
    snooze_until: datetime | None = None  # when, as UTC; None when the words did not say

    @property
    def proposes_change(self) -> bool:
        """Whether confirming this would record anything."""
        return bool(self.status or self.rag or self.target_date or self.progress or self.evidence or self.reason)

    def to_json(self) -> dict[str, object]:
        return {
            "refs": list(self.refs),
            "status": self.status.value if self.status else None,
            "rag": self.rag.value if self.rag else None,
            "target_date": self.target_date.isoformat() if self.target_date else None,
            "progress": self.progress,
            "evidence": list(self.evidence),
            "reason": self.reason,
            "confidence": round(self.confidence, 2),
            "questions": list(self.questions),
            "snooze": self.snooze,
            "snooze_until": self.snooze_until.isoformat() if self.snooze_until else None,
        }


def is_snooze_request(text: str) -> bool:
    """Whether `text` asks to be reminded later ("remind me Monday", "snooze 3 days")."""
    t = clean_text(text)
    return bool(_SNOOZE.match(t)) or "remind me" in t[:40].lower()


def read_reply(
    text: str, *, today: date, known_refs: Collection[str] = (), context_ref: str | None = None,
    now: datetime | None = None, tz: str | tzinfo = "Europe/London",
) -> Reading:
    """Read a lead officer's reply. Pure; see the module docstring for what is recognised.

    A request to be reminded later is read as that (`snooze`, and `snooze_until` counted from
    `now`, else from the start of `today`, in `tz`), never as an update. A reply longer than
    MAX_TEXT characters is not read: the reading asks for a shorter one."""
    if len(text) > MAX_TEXT:
        return Reading((), None, None, None, "", confidence=0.05, questions=(
            f"That message is {len(text)} characters; please keep an update under {MAX_TEXT}.",))
    text = clean_text(text)
    if is_snooze_request(text):
        moment = now or datetime.combine(today, time(0), tzinfo=zone(tz))
        until = parse_snooze(text, now=moment, tz=tz)
        ask = () if until else ('When shall I remind you? For example "remind me Monday", "remind me tomorrow at 2pm" '
                                'or "snooze 3 days".',)
        return Reading((), None, None, None, "", confidence=0.9 if until else 0.3, questions=ask, snooze=True,
                       snooze_until=until)
    questions: list[str] = []
    dates = find_dates(text, today=today)
    date_spans = [d.span for d in dates]

    refs, ref_spans, unknown = _find_refs(text, known_refs, date_spans)
    if not refs and not unknown:  # a ref was named but is not known: never fall back to another action
        if context_ref:
            refs = [_spelt_as_known(context_ref, known_refs)]
        elif not unknown:
            questions.append("Which action is this about? Please give its ref (for example 2.4).")
    for ref in unknown:
        questions.append(f"I can't find action {ref} in this plan. Which action did you mean?")
    label = " and ".join(refs) if refs else "this action"

    statuses = _find_statuses(text)
    signal_rag, _signal_spans = _find_signals(text)
    explicit_rag = _find_explicit_rag(text)
    status = _choose_status(text, statuses, ref_spans, questions)
    if status is None and signal_rag is not None:
        status = Status.IN_PROGRESS
    rag = explicit_rag or signal_rag
    if explicit_rag and signal_rag and explicit_rag != signal_rag:
        questions.append(
            f"You rated it {explicit_rag.label} but the words suggest {signal_rag.label}. Which rating is right?"
        )

    reason = _find_reason(text) if status not in (Status.COMPLETE, Status.CANCELLED) else None
    target, date_questions = _choose_target(text, dates, status, label, today)
    questions.extend(date_questions)
    impossible = _impossible_dates(text, date_spans)
    for raw, why in impossible:
        questions.append(f'"{raw}" is not a date ({why}). What date did you mean?')
    if impossible:
        target = None  # whatever was read near an impossible date is a guess: ask instead
    blocker = _BLOCKER.search(text)
    if status == Status.NOT_STARTED and blocker:
        questions.append(
            f"Is {label} blocked? If it can't start until {blocker['reason'].strip()}, should it go on hold, "
            "and is the target date still achievable?"
        )
    if status == Status.COMPLETE and re.search(r"\bsign(?:ed)?[\s-]*off\b", text, re.I):
        questions.append(
            "You mention sign-off. I'll record the action as complete (awaiting sign-off); "
            "the plan's approver records the sign-off itself. Is that right?"
        )

    evidence = _find_evidence(text)
    progress = _progress_text(text, ref_spans)
    found_something = bool(status or rag or target or evidence)
    if refs and not (found_something or progress or reason) and not questions:
        questions.append(f'What would you like to record for {label}? For example "{label} on track", '
                         f'"{label} done, evidence on the intranet" or "{label} slipping to end of Jan because of staffing".')
    confidence = _confidence(bool(refs), found_something, len(questions), dates, target)
    if impossible:
        confidence = min(confidence, 0.5)
    return Reading(
        refs=tuple(refs),
        status=status,
        rag=rag,
        target_date=target,
        progress=progress,
        evidence=tuple(evidence),
        reason=reason,
        confidence=confidence,
        questions=tuple(questions[:_QUESTION_LIMIT]),
    )


# --------------------------------------------------------------------------------------------
# refs


_FIRST_WORD = re.compile(r"\w")
_MENTION_LOOKBACK = 80  # characters before a ref searched for "superseded by", "see", "linked to"...
_NEGATION_LOOKBACK = 60  # ...before a RAG signal for "not", "no longer"
_NOT_YET_LOOKBACK = 80  # ...before a status for NOT_YET_WORDS (four words)


def _before(text: str, end: int, width: int) -> str:
    """Up to `width` characters before `end`, starting at a word boundary: what look-behind
    rules read, so that a reply with many refs or dates is read in time linear in its length."""
    start = max(0, end - width)
    if start == 0:
        return text[:end]
    cut = text.find(" ", start, end)
    return text[cut + 1 if cut >= 0 else end : end]


def _mask(length: int, spans: list[tuple[int, int]]) -> bytearray:
    """1 at every character inside one of `spans`."""
    mask = bytearray(length + 1)
    for s, e in spans:
        mask[s:e] = b"\x01" * (e - s)
    return mask


def _shape(ref: str) -> tuple[str, int]:
    key = ref_key(ref)
    return re.sub(r"[\d.]", "", key), key.count(".")


def _spelt_as_known(ref: str, known_refs: Collection[str]) -> str:
    by_key = {ref_key(k): k for k in known_refs}
    return by_key.get(ref_key(ref), ref)


def _find_refs(
    text: str, known_refs: Collection[str], date_spans: list[tuple[int, int]]
) -> tuple[list[str], list[tuple[int, int]], list[str]]:
    """(refs the reply is about, spans of every ref token, refs named but not in the plan)."""
    by_key = {ref_key(k): k for k in known_refs}
    shapes = {_shape(k) for k in known_refs}
    refs: list[str] = []
    spans: list[tuple[int, int]] = []
    unknown: list[str] = []
    in_date = _mask(len(text), date_spans)
    first_word = _FIRST_WORD.search(text)
    first_word_at = first_word.start() if first_word else len(text)
    for m in _REF.finditer(text):
        if any(in_date[m.start("ref") : m.end("ref")]):
            continue
        raw = m["ref"]
        if re.fullmatch(r"(?i)q[1-4]", raw):
            continue  # a quarter
        explicit = bool(m["pre"])
        at_start = m.start() <= first_word_at
        dotted = "." in raw
        lettered = bool(re.match(r"[A-Za-z]", raw))
        if lettered and not by_key and not raw[:1].isupper():
            continue  # "cp10" is a ref only when the plan has it
        if not (explicit or dotted or (lettered and (at_start or by_key))):
            continue  # a bare number such as "2 of the 3"
        if dotted and not by_key and (raw.startswith("0") or re.search(r"\d\.\d{3}", raw)):
            continue  # a decimal
        mention = bool(_MENTION_BEFORE.search(_before(text, m.start(), _MENTION_LOOKBACK)))
        key = ref_key(raw)
        spans.append(m.span())
        if by_key:
            if key in by_key:
                if not mention and by_key[key] not in refs:
                    refs.append(by_key[key])
            elif not mention and (explicit or _shape(raw) in shapes) and raw not in unknown:  # few: a list is fine
                unknown.append(raw)
        elif not mention and raw not in refs:
            refs.append(raw.rstrip("."))
    return refs, spans, unknown


# --------------------------------------------------------------------------------------------
# status and RAG


@dataclass(frozen=True)
class _Hit:
    status: Status
    start: int
    end: int


def _find_statuses(text: str) -> list[_Hit]:
    hits: list[_Hit] = []
    taken = bytearray(len(text) + 1)
    for status, pattern in STATUS_PHRASES:
        for m in re.finditer(rf"\b(?:{pattern})\b", text, re.I):
            if any(taken[m.start() : m.end()]):
                continue
            if status in (Status.COMPLETE, Status.IN_PROGRESS) and _not_yet(text, m):
                continue
            hits.append(_Hit(status, m.start(), m.end()))
            taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    return sorted(hits, key=lambda h: h.start)


def _not_yet(text: str, m: re.Match[str]) -> bool:
    before = re.findall(r"[a-z']+", _before(text, m.start(), _NOT_YET_LOOKBACK).lower())[-4:]
    if any(w in NOT_YET_WORDS or w.endswith("n't") for w in before):
        return True
    return bool(_NOT_YET_AFTER.match(text, m.end()))


def _choose_status(text: str, hits: list[_Hit], ref_spans: list[tuple[int, int]], questions: list[str]) -> Status | None:
    distinct = list(dict.fromkeys(h.status for h in hits))
    if not distinct:
        return None
    if len(distinct) == 1:
        return distinct[0]
    lead = _opening(text, ref_spans)
    if hits[0].start <= lead:
        return hits[0].status  # "Complete - ongoing": the reply opens with its status
    words = " and ".join(f'"{text[h.start:h.end]}"' for h in hits)
    questions.append(f"You said {words}. Which status is right now?")
    return hits[0].status


_OPENING_FILLER = re.compile(r"[\s,.:;&\-–—]*(?:and\b|re:?|action\b|actions\b|ref\b\.?)?[\s,.:;&\-–—]*", re.I)


def _opening(text: str, ref_spans: list[tuple[int, int]]) -> int:
    """Where the reply's own words start, after refs and "Action"/"Re:" at the front."""
    ends = dict(ref_spans)
    pos = 0
    while True:
        m = _OPENING_FILLER.match(text, pos)
        at = m.end() if m else pos
        nxt = ends.get(at)
        if nxt is None:
            return at
        pos = nxt


_NEGATED = re.compile(r"\b(?:not|no|n't|never)\s+(?:\w+\s+)?$", re.I)


def _find_signals(text: str) -> tuple[Rag | None, list[tuple[int, int]]]:
    spans: list[tuple[int, int]] = []
    found: list[Rag] = []
    taken = bytearray(len(text) + 1)
    for rag, pattern in RAG_SIGNALS:
        for m in re.finditer(rf"\b(?:{pattern})\b", text, re.I):
            if any(taken[m.start() : m.end()]):
                continue
            if _NEGATED.search(_before(text, m.start(), _NEGATION_LOOKBACK)):
                continue  # "not slipping", "no longer delayed"
            spans.append(m.span())
            found.append(rag)
            taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    return (max(found, key=lambda r: r.severity) if found else None), spans


def _find_explicit_rag(text: str) -> Rag | None:
    masked = NOT_RAG.sub(lambda m: " " * len(m[0]), text)
    found: list[Rag] = []
    for m in _RAG_EXPLICIT.finditer(masked):
        word = (m[1] or m[2]).lower()
        found.append(_COLOURS.get(word) or {"r": Rag.RED, "a": Rag.AMBER, "g": Rag.GREEN, "b": Rag.BLUE}[word])
    return found[-1] if found else None  # "was amber, now green": the last one named


# --------------------------------------------------------------------------------------------
# dates, reasons, evidence, progress


def _choose_target(
    text: str, dates: tuple[WhenMatch, ...], status: Status | None, label: str, today: date
) -> tuple[date | None, list[str]]:
    questions: list[str] = []
    if status in (Status.COMPLETE, Status.CANCELLED):
        past = [d for d in dates if d.date <= today and d.role in ("past", "")]
        future = [d for d in dates if d.date > today and d.role == "target"]
        if status == Status.COMPLETE and past:
            questions.append(
                f"Was {label} delivered on {_fmt(past[-1].date)}? I'll keep that in the progress note "
                "and leave the target date as it is."
            )
        if status == Status.COMPLETE and future:
            questions.append(
                f"You said it's complete but mention {_fmt(future[0].date)}. Is it complete now, "
                "or due to complete then?"
            )
        return None, questions
    targets: list[WhenMatch] = []
    splits = _splits(text)
    for d in dates:
        if d.past or d.role in ("past", "from", "range"):
            continue
        if d.role == "until" and status in (Status.ON_HOLD, Status.NOT_STARTED):
            continue  # when it resumes or starts, not when it is due
        clause = _clause(text, d.span, splits)
        if d.role in ("target", "until") or _COMPLETION_WORDS.search(clause):
            targets.append(d)
        elif d.role == "" and d.confidence >= 0.7 and not re.search(r"\b(?:meeting|panel|board|session|event|seminar|workshop|visit)\b", clause, re.I):
            questions.append(f"Is {_fmt(d.date)} a new target date for {label}?")
    if not targets and len(dates) == 1 and not dates[0].past and dates[0].role not in ("from", "until"):
        rest = (text[: dates[0].span[0]] + " " + text[dates[0].span[1] :]).lower()
        if all(w in FILLER_WORDS or w in _DATE_ONLY_WORDS for w in re.findall(r"[\w']+", rest)):
            return dates[0].date, []  # the reply is just a date: "end of Jan", "new date 15 Dec"
    if not targets:
        return None, questions
    best = max(targets, key=lambda d: (d.role == "target", d.confidence, d.span[0]))
    if best.confidence < 0.7:
        questions.append(f'I read "{best.text}" as {_fmt(best.date)}. Is that the new target date?')
    if len({d.date for d in targets}) > 1:
        others = ", ".join(_fmt(d.date) for d in targets if d.date != best.date)
        questions.append(f"You mention more than one date ({others}). Is {_fmt(best.date)} the new target?")
    return best.date, questions


def _clause(text: str, span: tuple[int, int], splits: list[tuple[int, int]] | None = None) -> str:
    """The stretch between separators around `span`. `splits` (the separators' spans, from
    _splits) saves rescanning the text for each date."""
    if splits is None:
        splits = _splits(text)
    i = bisect_right(splits, (span[0], len(text) + 1))  # separators starting at or before the date
    start = max((e for _, e in splits[max(0, i - 2) : i] if e <= span[0]), default=0)
    j = bisect_left(splits, (span[1], -1))
    end = splits[j][0] if j < len(splits) else len(text)
    return text[start:end]


def _splits(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _SEGMENT_SPLIT.finditer(text)]


def _fmt(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


# "...until the new audit tool is ready": what it waits for is the tool, not its readiness
_READY = re.compile(
    r"\s+(?:is|are|has\s+been|have\s+been|gets?|becomes?|comes?)\s+(?:ready|available|in\s+place|done|complete[d]?|finished"
    r"|agreed|approved|signed[\s-]+off|live|launched|delivered|recruited|appointed|in\s+post|back|through|out)\s*$",
    re.I,
)


def _find_reason(text: str) -> str | None:
    blocked = _BLOCKER.search(text)
    if blocked:
        clause = _URL.sub("", blocked["reason"]).strip(" -–")
        if not clause:
            return None
        waited_for = _READY.sub("", clause)
        return f"waiting for {waited_for}" if waited_for != clause else f"waiting until {clause}"
    m = _REASON.search(text)
    if not m:
        return None
    reason = _URL.sub("", m["reason"]).strip(" -–")
    reason = re.sub(r"^(?:the\s+)", "", reason, flags=re.I)
    return reason or None


def _impossible_dates(text: str, date_spans: list[tuple[int, int]]) -> list[tuple[str, str]]:
    """Day-and-month dates written out that no calendar has ("31/02/2027", "30 February"), with
    why, outside the dates that were read. Two numbers with a dot are a ref ("2.7"), not a date."""
    in_date = _mask(len(text), date_spans)
    out: list[tuple[str, str]] = []
    for m in _NUMERIC_DAY_MONTH.finditer(text):
        if all(in_date[m.start() : m.end()]):
            continue  # read as a real date
        day, month, year = (m[1], m[3], m[4]) if m[1] else (m[5], m[6], m[7])
        why = _why_not_a_date(int(day), int(month), year)
        if why:
            out.append((m[0], why))
    for m in _WORDY_DAY_MONTH.finditer(text):
        if all(in_date[m.start() : m.end()]):
            continue
        day, month_word, year = (m[1], m[2], m[3]) if m[1] else (m[5], m[4], m[6])
        word = month_word.lower().rstrip(".")
        why = _why_not_a_date(int(day), _MONTH_NUMBERS.get(word) or _MONTH_NUMBERS[word[:3]], year)
        if why:
            out.append((m[0], why))
    return out


def _why_not_a_date(day: int, month: int, year: str | None) -> str | None:
    import calendar

    if not 1 <= month <= 12:
        return f"there is no month {month}"
    y = (2000 + int(year) if len(year) == 2 else int(year)) if year else 2024  # a leap year when none is given
    last = calendar.monthrange(y, month)[1]
    if 1 <= day <= last:
        return None
    name = calendar.month_name[month]
    return f"{name} {y} has {last} days" if year else f"{name} has at most {last} days"


def _find_evidence(text: str) -> list[str]:
    found = list(dict.fromkeys(u.rstrip(".,;:!?") for u in _URL.findall(text)))
    seen = set(found)
    for m in _EVIDENCE_PHRASES.finditer(_URL.sub(" ", text)):
        phrase = " ".join(m[0].split()).strip(" ,.;:-–")
        phrase = re.sub(r"(?i)(?:\s+(?:on|in|at|via|to|here|is|are|now))+$", "", phrase)
        if (len(phrase.split()) > 1 or phrase.lower() == "attached") and phrase not in seen:  # not "evidence at"
            found.append(phrase)
            seen.add(phrase)
    return found


def _progress_text(text: str, ref_spans: list[tuple[int, int]]) -> str:
    """The reply minus command-only stretches at its ends ("2.4 done, ..."), in the person's words."""
    pieces: list[tuple[int, int]] = []
    last = 0
    for m in _SEGMENT_SPLIT.finditer(text):
        if m.start() > last:
            pieces.append((last, m.start()))
        last = m.end()
    if last < len(text):
        pieces.append((last, len(text)))
    in_ref = _mask(len(text), ref_spans)
    kept = [(s, e) for s, e in pieces if not _is_command(text, s, e, in_ref)]
    if not kept:
        return ""
    start, end = kept[0][0], kept[-1][1]
    inner = [(s - start, e - start) for s, e in ref_spans if start <= s < end]  # once per reply
    head = _opening(text[start:end], inner)
    if not any(e <= head for _, e in inner):
        head = 0  # no ref at the front: keep "Action complete ..." as written
    return text[start + head : end].strip(" ,;:-–—")


def _is_command(text: str, start: int, end: int, in_ref: bytearray) -> bool:
    rest = "".join(" " if in_ref[i] else text[i] for i in range(start, end))
    for _, pattern in (*STATUS_PHRASES, *RAG_SIGNALS):
        rest = re.sub(rf"\b(?:{pattern})\b", " ", rest, flags=re.I)
    rest = _RAG_EXPLICIT.sub(" ", rest)
    words = re.findall(r"[\w'&]+", rest.lower())
    return all(w in FILLER_WORDS for w in words)


def _confidence(
    has_ref: bool, found_something: bool, n_questions: int, dates: tuple[WhenMatch, ...], target: date | None
) -> float:
    """0.3 to start, +0.3 for knowing the action, +0.3 for reading a status, rating, target or
    evidence, -0.15 a question; a target read from an unsure date caps it at that date's
    confidence."""
    score = 0.3 + 0.3 * has_ref + 0.3 * found_something - 0.15 * n_questions
    if target is not None:
        score = min(score, max(d.confidence for d in dates if d.date == target) + 0.1)
    return round(min(1.0, max(0.05, score)), 2)
