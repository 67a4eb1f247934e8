"""Step 3 of an import: recognising a plan's column headings by what they mean, whatever the wording.

"Ref No", "Ref." and "Reference" are all the ref; "Action required", "Key actions" the action;
"Lead Officer / Agency", "Resp. Officer", "Accountable Officers" the lead; and so on. Several
progress columns ("Progress (End of September)", "Progress (End of November)") each with its
own RAG column become a history. A heading we do not know is kept as an extra column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.importer.parsed import PlanFileError

# The fields a column can feed. "priority" is the recommendation / area for improvement text;
# "timescale" a recommendation's own timescale ("Immediate", "Three months").
FIELDS = (
    "ref", "priority_ref", "priority", "action", "lead", "target", "revised_target", "revision_reason",
    "progress", "rag", "status", "outputs", "outcome_required", "evidence_required", "links", "achievement",
    "timescale",
)  # fmt: skip
FIELD_ALIASES = {
    "recommendation": "priority", "text": "action", "lead_text": "lead", "owner": "lead",
    "target_date": "target", "date": "target", "outcome": "outcome_required", "link": "links",
    "evidence": "evidence_required", "level_of_achievement": "achievement", "extra": "extra",
    "revised": "revised_target", "reason": "revision_reason", "recommendation_ref": "priority_ref",
    "ignore": "ignore",
}  # fmt: skip

# First match wins; the order settles clashes ("Progress and related outcomes" is progress,
# "Action owner" is the lead, "Page reference for action plan" is nothing we know).
_RULES: list[tuple[str | None, re.Pattern[str]]] = [
    (None, re.compile(r"\bpage\b")),
    # the date of the latest update, which the register keeps itself (exports write it)
    ("ignore", re.compile(r"^(?:date (?:of )?)?last updated?$|^date of last update$")),
    ("priority_ref", re.compile(r"^(?:priority|recommendation|rec|area|objective) (?:ref|reference|no|number|id)(?: no)?$")),
    ("ref", re.compile(r"^(?:action |item |task )?(?:ref|reference|no|number|id|#)(?: no| number| id)?$")),
    ("extra", re.compile(r"\b(?:start|started|launch|commence\w*|begin\w*)\b")),  # a start date is not a target
    ("revision_reason", re.compile(r"\breasons?\b.*\b(?:revis|chang|slip|delay)|\bwhy\b.*\b(?:revised|changed|moved)")),
    ("revised_target", re.compile(r"\b(?:revised|re-?baselined?|new|amended|updated)\s+(?:target|deadline|due|completion|end|timescale|date)")),
    ("links", re.compile(r"\blinks?\b|\blinked\b|\brelated plans?\b|\bdependenc")),
    ("evidence_required", re.compile(r"\bevidence (?:required|needed|to be provided|of (?:impact|completion|success))|\bhow (?:will|do) (?:we|you) know\b")),
    ("rag", re.compile(r"\bb?rag\b|\btraffic light\b|^rating$|\bcolour\b")),
    ("achievement", re.compile(r"\bachievement\b|\bachieved\b")),
    ("status", re.compile(r"^(?:action |current |delivery )?status$|^complete$|^completed$|^done$")),
    ("progress", re.compile(r"\bprogress\b|\bupdates?\b|\bcommentary\b|\bcomments?\b|^evidence\b|\bcurrent position\b|\bposition statement\b")),
    ("outputs", re.compile(r"\boutputs?\b|\bdeliverables?\b")),
    ("outcome_required", re.compile(r"\boutcomes?\b|\bsuccess (?:measures?|criteria)\b|\bmeasures? of success\b|\bimpact\b")),
    ("lead", re.compile(r"\blead\b|\bleads\b|\bresp\b|\bresponsib|\baccountab|\bowners?\b|\bofficers?\b|\bagency\b|\bby whom\b|^who\b")),
    ("timescale", re.compile(r"\brecommended (?:timescale|timeframe)")),
    ("target", re.compile(r"\btarget\b|\bdates?\b|\bdeadline\b|\bcompletion\b|\btimescales?\b|\btimeframe\b|\bby when\b|^when\b|\bdue\b")),
    ("priority", re.compile(r"\brecommendations?\b|\bareas? for (?:improvement|development)\b|\bwhat needs to improve\b|\bfindings?\b|\bpriority area\b|\bimprovement priority\b|\bobjectives?\b|\b(?:ofsted|inspectors?) (?:said|found|told us)")),
    ("action", re.compile(r"\bactions?\b|\btasks?\b|\bactivit(?:y|ies)\b|\bsteps?\b|^what\b")),
]
_NORM_RE = re.compile(r"[^a-z0-9#()]+")
_PAREN_RE = re.compile(r"\(([^)]*)\)")
_LABEL_STRIP_RE = re.compile(
    r"\b(?:progress|made|update|updates|b?rag|rating|status|commentary|comments?|evidence|and|related|outcomes?)\b", re.I
)


def norm_header(text: str) -> str:
    return " ".join(_NORM_RE.sub(" ", text.lower().replace("/", " ")).replace("(", " (").split())


def classify(text: str) -> str | None:
    """The field a heading means, or None when we do not know it."""
    key = norm_header(text)
    bare = _PAREN_RE.sub(" ", key).strip() or key  # "Progress (End of September)" -> "progress"
    if len(bare) <= 40:
        for name, rx in _RULES:
            if rx.search(bare):
                return name
        return classify_truncated(bare)
    # A long heading names several things ("Actions required to address the recommendation"):
    # what it opens with is what the column holds.
    best: tuple[int, str | None] | None = None
    for name, rx in _RULES:
        m = rx.search(bare)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), name)
    return best[1] if best else None


def history_label(text: str) -> str:
    """"Progress (End of September)" -> "End of September"; "RAG Nov 2023" -> "Nov 2023"."""
    m = _PAREN_RE.search(text)
    if m and m[1].strip():
        return m[1].strip()
    rest = " ".join(_LABEL_STRIP_RE.sub(" ", text).split()).strip(" -–:")
    return rest or text.strip()


@dataclass
class Column:
    index: int
    header: str
    key: str  # a field, "progress@N" / "rag@N" (history), or "extra:<header>"


@dataclass
class HeaderMap:
    columns: list[Column]
    width: int
    where: str
    signature: tuple[str, ...]
    labels: list[str] = field(default_factory=list)  # history labels, in column order
    duplicates: list[str] = field(default_factory=list)  # headings whose field was taken already
    keys: frozenset[str] = frozenset()
    is_priority_table: bool = False  # recommendations (timescales, accountable officers), no actions
    split_at: tuple[int, ...] = ()  # columns whose heading (and cells) a conversion split in two: i and i+1 join

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recompute what the columns hold after a column's key was changed."""
        self.keys = frozenset(c.key for c in self.columns)
        self.is_priority_table = "priority" in self.keys and "action" not in self.keys

    def has(self, key: str) -> bool:
        return key in self.keys

    @property
    def mapping(self) -> dict[str, str]:
        out = {}
        for c in self.columns:
            if c.header:
                out[c.header] = c.key.split("@")[0] if not c.key.startswith("extra:") else "extra"
        return out


def normalise_mapping(mapping: dict[str, str] | None) -> dict[str, str]:
    """The administrator's own mapping (heading -> field), checked; keys normalised."""
    out: dict[str, str] = {}
    for header, name in (mapping or {}).items():
        key = name.strip().lower().replace(" ", "_")
        key = FIELD_ALIASES.get(key, key)
        if key not in FIELDS and key not in ("extra", "ignore"):
            raise PlanFileError(
                f"the column mapping says {header!r} -> {name!r}, but {name!r} is not a field we know; "
                f"use one of: {', '.join(FIELDS)}, extra or ignore."
            )
        out[norm_header(header)] = key
    return out


def cell_field(text: str, overrides: dict[str, str]) -> str | None:
    if text[:1].isdigit() and not overrides:
        return None  # "1.2", "31/03/2026": data, never a heading
    if overrides:
        hit = overrides.get(norm_header(text))
        if hit is not None:
            return hit
    return classify(text)


def split_columns(cells: list[str], overrides: dict[str, str]) -> tuple[int, ...]:
    """Headings a PDF conversion split across two cells ("Recomm | endation", "Tar | get"): the
    right part starts in lower case, is no heading on its own, and the two joined are one."""
    out = []
    for i in range(len(cells) - 1):
        left, right = cells[i], cells[i + 1]
        if left and right and right[0].islower() and left[-1].isalpha() and " " not in right.strip() and cell_field(right, overrides) is None:
            if _rule_field(left + right) is not None and _rule_field(left) is None:
                out.append(i)
    return tuple(out)


def join_split(cells: list[str], split_at: tuple[int, ...]) -> list[str]:
    """A row with the split columns joined back ("Wi | thin 6 months" -> "Within 6 months")."""
    cells = list(cells)
    for i in split_at:
        if i + 1 < len(cells):
            left, right = cells[i], cells[i + 1]
            glue = "" if left and right and left[-1].isalpha() and right[0].islower() else " "
            cells[i] = (left + glue + right).strip()
            cells[i + 1] = ""
    return cells


def build_header(cells: list[str], where: str, overrides: dict[str, str]) -> HeaderMap:
    split_at = split_columns(cells, overrides)
    if split_at:
        cells = join_split(cells, split_at)
    columns: list[Column] = []
    taken: set[str] = set()
    duplicates: list[str] = []
    labels: list[str] = []
    label = ""  # current history group (progress column) for RAG columns to its right
    progress_cols = [i for i, c in enumerate(cells) if c and cell_field(c, overrides) == "progress"]
    multi = len(progress_cols) > 1
    for index, text in enumerate(cells):
        if not text:
            continue
        name = cell_field(text, overrides)
        if name == "ignore":  # its values are read and left out, not mistaken for text under no heading
            columns.append(Column(index, text, "ignore"))
            continue
        if name is None or name == "extra":
            columns.append(Column(index, text, f"extra:{text}"))
            continue
        if multi and name == "progress":
            label = history_label(text)
            if label in labels:
                label = f"{label} ({len(labels) + 1})"
            labels.append(label)
            columns.append(Column(index, text, f"progress@{label}"))
            continue
        if multi and name == "rag" and label:
            columns.append(Column(index, text, f"rag@{label}"))
            continue
        if name in taken:
            duplicates.append(text)
            columns.append(Column(index, text, f"extra:{text}"))
            continue
        taken.add(name)
        columns.append(Column(index, text, name))
    if "priority_ref" in taken and "ref" not in taken:  # "Recommendation Ref" is the only ref
        for col in columns:
            if col.key == "priority_ref":
                col.key = "ref"
    signature = tuple(norm_header(c) for c in cells if c)
    return HeaderMap(columns, len(cells), where, signature, labels, duplicates, split_at=split_at)


# --------------------------------------------------------------------------------------------
# reading a column by what is in it
#
# A heading can be cut off ("Deadl"), unknown ("Milestone") or missing altogether; the cells
# under it still say what the column is: a column of dates is a target, of R/A/G words a
# rating, of short role titles or names repeated down the rows a lead, of short codes a ref;
# the longest imperative text is the action. Each field gets a score (the share of the
# column's non-empty cells that fit it); a column is read by its contents only when one field
# clearly wins. A known heading is re-read the same way when its cells plainly contradict it
# (recheck_known_columns).

CONTENT_FIELDS = ("ref", "target", "rag", "status", "lead", "action", "progress")
_NEVER_GUESSED = re.compile(r"\bpage\b|\bnotes?\b|\bpara(?:graph)?\b|\bsource\b|\bstart|\blaunch|\bcommenc|\bbegin")  # known to be something else
_SURE = 0.9  # at or above: said as a plain fact in the preview; below: "unsure"
_ENOUGH = 0.7  # below this a column's contents decide nothing
_PAST_RE = re.compile(
    r"\b(?:has|have|had)\s+been\b|\b(?:was|were|is\s+now|are\s+now)\b|\b(?:held|agreed|completed|delivered|launched|"
    r"appointed|published|presented|reviewed|received|approved)\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b",
    re.I,
)
# Truncated or abbreviated single-word headings: "Deadl", "Respons", "Progr", "Recomm".
_PREFIX_WORDS = {
    "deadline": "target", "responsible": "lead", "responsibility": "lead", "progress": "progress",
    "recommendation": "priority", "completion": "target", "officer": "lead", "timescale": "target",
    "commentary": "progress", "comments": "progress", "actions": "action", "outcome": "outcome_required",
    "status": "status", "owner": "lead", "manager": "lead", "target": "target",
}  # fmt: skip
_ABBREVIATIONS = {"mgr": "lead", "mgrs": "lead", "resp": "lead", "tgt": "target", "deadl": "target", "recs": "priority", "rec": "priority"}


def _rule_field(text: str) -> str | None:
    """classify() by the heading rules alone, without guessing at cut-off words."""
    bare = _PAREN_RE.sub(" ", norm_header(text)).strip()
    return next((name for name, rx in _RULES if rx.search(bare)), None)


def classify_truncated(text: str) -> str | None:
    """A heading cut off at its column's width or abbreviated: "Deadl" -> target, "Resp" ->
    lead, "Progr" -> progress. Only single words of four letters or more (or known
    abbreviations), so "No" and "Area" are not guessed at."""
    word = norm_header(text).strip("(). ")
    if word in _ABBREVIATIONS:
        return _ABBREVIATIONS[word]
    if " " in word or len(word) < 4 or not word.isalpha():
        return None
    hits = {name for full, name in _PREFIX_WORDS.items() if full.startswith(word)}
    return hits.pop() if len(hits) == 1 else None


@dataclass
class Guess:
    """A column read by its contents rather than by its heading."""

    index: int
    header: str  # as written ("" when the table has no header row)
    field: str
    confidence: float
    why: str

    @property
    def name(self) -> str:
        return f"'{self.header}'" if self.header else f"column {column_letter(self.index)}"

    def describe(self) -> str:
        sure = "sure" if self.confidence >= _SURE else "unsure"
        return f"{self.name} read as {FIELD_NAMES.get(self.field, self.field)} from its contents ({self.why}; {sure}, {round(self.confidence * 100)}%)"

    def to_json(self) -> dict[str, object]:
        return {"column": self.header or column_letter(self.index), "field": self.field,
                "confidence": round(self.confidence, 2), "why": self.why}  # fmt: skip


FIELD_NAMES = {
    "ref": "the ref", "target": "the target date", "rag": "the RAG rating", "status": "the status",
    "lead": "the lead officer", "action": "the action", "progress": "the progress update",
}  # fmt: skip


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _fits(value: str) -> set[str]:
    """The fields one cell's text could belong to."""
    from bot.domain.dates import read_target
    from bot.domain.model import Rag
    from bot.domain.vocabulary import cell_status, exact_status, is_ref
    from bot.importer.leads import is_person_or_role

    out: set[str] = set()
    n = len(value)
    if n <= 15 and is_ref(value) and not value.isalpha():
        out.add("ref")
    if n <= 15 and Rag.find(value) is not None:
        out.add("rag")
    if n <= 40 and (exact_status(value) or cell_status(value)):
        out.add("status")
    if n <= 45 and read_target(value).kind in ("date", "month", "quarter", "relative", "ongoing", "immediate"):
        out.add("target")
        out.discard("ref")  # "March 2026" and "30/09/2025" have the shape of a ref, but are dates
    if not out and n <= 90 and is_person_or_role(value):
        out.add("lead")
    if n >= 20 and not out - {"status"}:
        out.add("progress" if (cell_status(value) or _PAST_RE.search(value)) else "action")
    return out


@dataclass
class ColumnProfile:
    index: int
    filled: int
    scores: dict[str, float]
    distinct: float  # distinct values / filled
    mean_length: float
    sample: str

    def best(self) -> tuple[str | None, float]:
        if not self.scores:
            return None, 0.0
        field_, score = max(self.scores.items(), key=lambda kv: (kv[1], -CONTENT_FIELDS.index(kv[0])))
        return field_, score

    def describe(self) -> str:
        field_, score = self.best()
        what = {
            "ref": "short codes", "target": "dates", "rag": "RAG ratings", "status": "status words",
            "lead": "names or role titles", "action": "sentences", "progress": "progress notes",
        }.get(field_ or "", "text")  # fmt: skip
        if score < _ENOUGH:
            what = "mixed text"
        return f"{column_letter(self.index)} ({what}, e.g. '{self.sample[:40]}')"


def profile_columns(rows: list[list[str]], width: int) -> list[ColumnProfile]:
    """Score each column of these data rows for each field it could be."""
    profiles = []
    for index in range(width):
        values = [r[index] for r in rows if index < len(r) and r[index]]
        counts: dict[str, int] = {}
        for v in values:
            for f in _fits(v):
                counts[f] = counts.get(f, 0) + 1
        filled = len(values)
        scores = {f: c / filled for f, c in counts.items()} if filled else {}
        if "action" in scores or "progress" in scores:  # long text: action and progress share it
            text = scores.get("action", 0) + scores.get("progress", 0)
            if scores.get("progress", 0) >= 0.5 * text:
                scores["progress"] = text
                scores.pop("action", None)
            else:
                scores["action"] = text
                scores.pop("progress", None)
        profiles.append(ColumnProfile(
            index, filled, scores, len(set(values)) / filled if filled else 1.0,
            sum(map(len, values)) / filled if filled else 0.0, values[0] if values else "",
        ))  # fmt: skip
    return profiles


def _why(field_: str, profile: ColumnProfile) -> str:
    hits = round(profile.scores.get(field_, 0) * profile.filled)
    noun = {"ref": "short codes", "target": "dates", "rag": "RAG ratings", "status": "status words",
            "lead": "names or role titles", "action": "sentences", "progress": "progress notes"}[field_]  # fmt: skip
    return f"{hits} of {profile.filled} cells are {noun}"


def guess_unknown_columns(
    header: HeaderMap, rows: list[list[str]], overrides: dict[str, str]
) -> list[Guess]:
    """Map the header's unknown columns ("Deadl", "Milestone", "Officer in charge") by their
    contents, when one field clearly wins and no other column has it. Changes `header` in
    place and returns what it guessed. Headings the administrator mapped are left alone."""
    unknown = [c for c in header.columns if c.key.startswith("extra:") and norm_header(c.header) not in overrides
               and c.header not in header.duplicates and not _NEVER_GUESSED.search(norm_header(c.header))]  # fmt: skip
    if not unknown or not rows:
        return []
    taken = {c.key.split("@")[0] for c in header.columns if not c.key.startswith("extra:")}
    if any(k.startswith("progress@") for k in header.keys):
        taken.add("progress")
    profiles = {p.index: p for p in profile_columns(rows, header.width)}
    guesses: list[Guess] = []
    candidates = []
    for col in unknown:
        p = profiles.get(col.index)
        if p is None or p.filled < 2:
            continue
        field_, score = p.best()
        if field_ is None or score < _ENOUGH:
            continue
        if field_ == "lead" and p.distinct > 0.9 and p.filled >= 5:
            score *= 0.8  # a lead repeats down a plan; all-different short text is likelier notes
        candidates.append((score, col, field_, p))
    for score, col, field_, p in sorted(candidates, key=lambda t: -t[0]):
        if field_ in taken or score < _ENOUGH:
            continue
        taken.add(field_)
        col.key = field_
        why = _why(field_, p)
        guesses.append(Guess(col.index, col.header, field_, score, why))
    if guesses:
        header.refresh()
    return sorted(guesses, key=lambda g: g.index)


# A recognised heading whose column plainly holds something else: (the heading's field) -> the
# fields its contents may take over with. Left out on purpose: a target column of "Complete"
# (a target reading of its own), a status column of colours or of progress notes (the
# assembler reads those already), and the free-text columns (action, progress), which hold
# anything.
_CONTRADICTED_BY = {
    "target": ("rag", "lead", "action"),
    "lead": ("target", "rag", "action"),
    "rag": ("target", "lead", "action"),
    "status": ("action", "target", "lead"),
}  # fmt: skip
CHECKED_BY_CONTENTS = frozenset(_CONTRADICTED_BY)
_STRONG = 0.8  # the contents' field must fit this share of the column's cells…
_CONTRADICTED = 0.2  # …and the heading's field at most this share
_FIELD_PHRASES = {"target": "a target date", "lead": "a lead officer", "rag": "a RAG rating", "status": "a status"}


def recheck_known_columns(header: HeaderMap, rows: list[list[str]], overrides: dict[str, str]) -> list[Guess]:
    """Re-map a recognised heading whose column plainly holds something else ("Target" over
    R/A/G words, "Lead" over dates, "Status" over the actions' text, "Date" over role titles):
    the contents' field must fit at least 80% of three or more cells, the heading's own field at
    most 20%, and no column that does hold that field may have it already. Two headings swapped
    are both put right. Headings the administrator mapped are left alone. Changes `header` in
    place and returns what it re-mapped."""
    if not rows:
        return []
    checkable = [c for c in header.columns if c.key in _CONTRADICTED_BY and norm_header(c.header) not in overrides]
    if not checkable:
        return []
    profiles = {p.index: p for p in profile_columns(rows, header.width)}
    wrong: list[tuple[Column, str, float, ColumnProfile]] = []
    for col in checkable:
        p = profiles.get(col.index)
        if p is None or p.filled < 3 or p.scores.get(col.key, 0.0) > _CONTRADICTED:
            continue
        field_, score = p.best()
        if field_ in _CONTRADICTED_BY[col.key] and score >= _STRONG:
            wrong.append((col, field_, score, p))
    if not wrong:
        return []
    fixed = {c.key.split("@")[0] for c in header.columns if c.key in FIELDS and all(c is not w[0] for w in wrong)}
    while True:  # a column whose contents' field is held by a right column keeps its heading's field
        stay = [w for w in wrong if w[1] in fixed]
        if not stay:
            break
        for w in stay:
            wrong.remove(w)
            fixed.add(w[0].key)
    guesses: list[Guess] = []
    for col, field_, score, p in sorted(wrong, key=lambda t: -t[2]):
        was = col.key
        if field_ in fixed:  # another re-mapped column wants it more
            col.key = was if was not in fixed else f"extra:{col.header}"
            fixed.add(was)
            continue
        fixed.add(field_)
        col.key = field_
        guesses.append(Guess(col.index, col.header, field_, score, f"{_why(field_, p)}, not {_FIELD_PHRASES[was]} as its heading says"))
    if guesses:
        header.refresh()
    return sorted(guesses, key=lambda g: g.index)


def header_from_contents(rows: list[list[str]], where: str) -> tuple[HeaderMap | None, list[Guess], list[ColumnProfile]]:
    """A header for a table that has none, from its contents alone: it needs an action column
    (the longest imperative text) and at least one of lead, target, rating or status read with
    confidence; each other column is mapped only when its field clearly wins. None when the
    contents do not settle it (the profiles say what was seen)."""
    width = max((len(r) for r in rows), default=0)
    profiles = profile_columns(rows, width)
    chosen: dict[str, tuple[float, ColumnProfile]] = {}
    for p in profiles:
        if p.filled < max(2, len(rows) // 3):
            continue
        field_, score = p.best()
        if field_ is None or score < _ENOUGH:
            continue
        if field_ == "lead" and p.distinct > 0.9 and p.filled >= 5:
            score *= 0.8
        if field_ in ("action", "progress"):
            score *= min(1.0, p.mean_length / 30)
        if field_ not in chosen or score > chosen[field_][0]:
            chosen[field_] = (score, p)
    text_cols = sorted((p for p in profiles if p.scores.get("action") or p.scores.get("progress")), key=lambda p: p.index)
    if "action" not in chosen and text_cols:  # the first long-text column is the action, the next the progress
        first = text_cols[0]
        score = first.scores.get("action") or first.scores.get("progress") or 0.0
        if score >= _ENOUGH:
            chosen["action"] = (score * 0.9, first)
            if chosen.get("progress", (0, None))[1] is first:
                chosen.pop("progress")
    if "action" not in chosen or not ({"lead", "target", "rag", "status"} & set(chosen)):
        return None, [], profiles
    columns = []
    guesses = []
    for field_, (score, p) in sorted(chosen.items(), key=lambda kv: kv[1][1].index):
        columns.append(Column(p.index, f"Column {column_letter(p.index)}", field_))
        guesses.append(Guess(p.index, "", field_, score, _why(field_, p) if field_ in p.scores else "the first column of sentences"))
    used = {c.index for c in columns}
    for p in profiles:
        if p.index not in used and p.filled:
            columns.append(Column(p.index, f"Column {column_letter(p.index)}", f"extra:Column {column_letter(p.index)}"))
    columns.sort(key=lambda c: c.index)
    header = HeaderMap(columns, width, where, ("(no header row)", *(c.key for c in columns)))
    return header, guesses, profiles
