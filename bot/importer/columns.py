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
    ("priority_ref", re.compile(r"^(?:priority|recommendation|rec|area|objective) (?:ref|reference|no|number|id)(?: no)?$")),
    ("ref", re.compile(r"^(?:action |item |task )?(?:ref|reference|no|number|id|#)(?: no| number| id)?$")),
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
        return None
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

    def __post_init__(self) -> None:
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


def build_header(cells: list[str], where: str, overrides: dict[str, str]) -> HeaderMap:
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
        if name == "ignore":
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
    return HeaderMap(columns, len(cells), where, signature, labels, duplicates)
