"""Step 2 of an import: what each row and paragraph is.

A header row names the columns ("Ref | Action | Lead | Target"); a numbered paragraph or a row
with one cell is a recommendation heading ("Recommendation 4", "AFI 2", "3. Improve…"), a
section ("Immediate", "SAFEGUARDING SERVICES"), Ofsted findings, expected outcomes, a RAG legend
or footnotes. assemble.py walks the blocks and asks these questions of each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bot.importer.columns import cell_field, classify_truncated
from bot.importer.read import Block

NO_HEADER_MESSAGE = (
    "no header row found: expected columns such as Ref, Action, Lead, Target, Progress, RAG "
    "(a row naming at least two of them, one being the action or the recommendation)"
)

PRIORITY_HEAD_RE = re.compile(
    r"^(?:(?:recommendation|priority|area for (?:improvement|development)|improvement area|theme|objective|afi|afd|rec\.?)s?"
    r"\s*(?:no\.?\s*)?(?P<kref>(?:[a-z]{1,4}\s?)?\d{1,3}[a-z]?)(?![.\d])\s*[.):\-–—]?\s*(?P<ktitle>.*)"
    r"|(?P<nref>\d{1,3}[a-z]?)(?:\.(?!\d)|\))\s+(?P<ntitle>\S.{3,}))$",
    re.I,
)
NOTES_RE = re.compile(r"^(?:foot)?notes?\s*(?:[:\-–—]\s*(?P<rest>.*))?$", re.I)
FINDINGS_RE = re.compile(
    r"^(?:from the (?:report|inspection),?\s*)?(?:ofsted|inspectors?|the inspection|the report)\s+"
    r"(?:told us|found|said|reported|identified)|^(?:key |inspection )?findings?\s*:?$",
    re.I,
)
OUTCOME_RE = re.compile(r"^(?:expected|intended|desired) outcomes?\s*[:\-–]?\s*(?P<rest>.*)$", re.I)
# "Timescale: Immediate" under a recommendation's heading, as exports write it.
TIMESCALE_LINE_RE = re.compile(r"^(?:recommended\s+)?timescale\s*:\s*(?P<value>\S.{0,300})$", re.I)
# "No actions recorded." under a recommendation that has none yet (exports write it).
NO_ACTIONS_RE = re.compile(r"^no actions (?:are )?(?:recorded|yet)\.?$", re.I)
# "Position as at 28 Nov 2026" (an export's title block): the report's date, not the plan's.
POSITION_LINE_RE = re.compile(r"^(?:summary\s*[–—-]\s*)?(?:position|progress|update)\s+(?:as\s+)?(?:at|of)\b", re.I)
LEGEND_RE = re.compile(r"^(?:blue|green|amber|red)\s*[-–—:=]\s*\w[\w\s/,'-]{0,40}$", re.I)
BRAG_WORD_RE = re.compile(r"\bBRAG\b")
TIMESCALE_RE = re.compile(
    r"^(?:immediate(?:ly)?|urgent|within\s+(?:\d+|one|two|three|four|six|nine|twelve)\s+(?:days?|weeks?|months?|years?)"
    r"|(?:short|medium|long)[\s-]term|\d+\s*(?:-|–|to)\s*\d+\s*months?|\d+\s*months?\+?)(?:\s+actions?)?\s*:?$",
    re.I,
)
BULLET_RE = re.compile(r"^(?:[-•·*▪●◦o]|\d+[.)])\s+")
DATE_IN_TEXT_RE = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|"
    r"aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\s+\d{4}\b|\b\d{1,2}/\d{1,2}/\d{4}\b",
    re.I,
)
ORG_RE = re.compile(r"\b(?:council|borough|county|city|district|authority|services|trust|partnership|nhs)\b", re.I)
PLAN_WORD_RE = re.compile(r"\bplan\b", re.I)


# First words of headings we know: a cheap filter so data rows rarely reach the full check.
HEAD_WORDS = frozenset(
    """ref reference no number id # action actions key rec recommendation recommendations area
    areas lead leads lead/ responsible resp accountable owner owners officer officers agency by
    who target planned date dates deadline completion timescale timescales timeframe when due
    progress update updates commentary comments evidence current position rag brag rating
    traffic status complete completed outputs output deliverables outcome outcomes outcome(s)
    expected success measure measures impact link links linked related level achievement
    proposed recommended page task tasks activity activities steps what finding findings
    objective objectives improvement priority delivery item revised reason reasons original latest new
    amended""".split()
)

# A ref written at the start of an action's text: "3.2 Publish…", "P1.F2.A1: Run…", "CP4. Agree…"
# (a dotted number or letters with a number; never a bare "2 social workers").
LEADING_REF_RE = re.compile(
    r"^(?P<ref>(?:[A-Z]{1,4})?\d{1,3}[a-z]?(?:\.(?:[A-Z]{1,4})?\d{1,3}[a-z]?)+|[A-Z]{1,4}\d{1,3}[a-z]?)[.):]?\s+(?P<rest>[A-Z\"'‘“(].*)$",
    re.S,
)
_SENTENCE_BREAK_RE = re.compile(r"[.!?;]\s+[A-Z]|\d{4}")


def looks_like_header(cells: list[str], overrides: dict[str, str], is_ref) -> bool:
    """Cheap test first (two cells starting with a heading word, none a paragraph), then the
    full one: at least two cells we know, one of them the action or recommendation (or a ref
    with a lead / target / progress), and most non-empty cells known -- or, in a wide export,
    at least three different fields known and the rest short labels rather than data (no
    refs, no dates).

    A heading may run past 80 characters ("Actions required to address the recommendation,
    including…"), but not past 200, and it is one phrase: a cell with a sentence break or a
    year in it is data."""
    filled = [c for c in cells if c]
    if len(filled) < 2:
        return False
    for c in filled:
        if len(c) > 80 and (len(c) > 200 or _SENTENCE_BREAK_RE.search(c)):
            return False
    hits = 0
    for c in filled:
        first = c.split(None, 1)[0].lower().strip(".:*")
        if first in HEAD_WORDS or (len(c) <= 14 and " " not in c and classify_truncated(c)):  # "Respons", "Deadl"
            hits += 1
    if hits < 2 and not overrides:
        return False
    ref_like = sum(1 for c in filled if is_ref(c) and cell_field(c, overrides) is None)
    if ref_like and hits < 4 and not (ref_like >= 5 and ref_like * 2 >= len(filled)):
        return False  # "1.2" or "CP3": a data row ("Field 1" … "Field 196", or "Col7" among four headings, are labels)
    known: list[str] = []
    unknown: list[str] = []
    for c in filled:
        name = cell_field(c, overrides)
        if name and name != "ignore":
            known.append(name)
        elif name is None:
            unknown.append(c)
    kinds = set(known)
    if len(known) < 2 or not (kinds & {"action", "priority"} or ("ref" in kinds and kinds & {"lead", "target", "progress"})):
        return False
    if len(known) * 5 >= len(filled) * 3:
        return True
    return len(filled) >= 10 and len(kinds) >= 3 and bool(kinds & {"ref", "lead", "target"}) and all(len(c) <= 40 and not _SENTENCE_BREAK_RE.search(c) for c in unknown)


def is_structural(text: str) -> bool:
    """A heading, a notes/findings/outcome marker, a timescale or a RAG legend line."""
    return bool(
        PRIORITY_HEAD_RE.match(text) or NOTES_RE.match(text) or FINDINGS_RE.match(text)
        or OUTCOME_RE.match(text) or TIMESCALE_RE.match(text) or LEGEND_RE.match(text)
    )


def unfold_forms(blocks: Iterable[Block], overrides: dict[str, str]) -> Iterator[Block]:
    """One small table per action, as a form ("Ref | 1.1", "Action | …", "Lead | …", "Status |
    …" down the page) becomes a header row and a data row, so it is read like any table. A
    form is three or more rows of a known label and its value, one of them the action; the
    next form starts where a label comes round again."""
    run: list[tuple[Block, str]] = []

    def flush() -> Iterator[Block]:
        fields = {f for _, f in run}
        if len(run) >= 3 and fields & {"action", "priority"}:
            first = run[0][0]
            yield Block("row", [b.cells[0] for b, _ in run], first.where)
            yield Block("row", [b.cells[1] for b, _ in run], first.where)
        else:
            for b, _ in run:
                yield b
        run.clear()

    for block in blocks:
        field_ = None
        if block.kind == "row":
            cells = block.cells
            if len(cells) >= 2 and cells[0] and cells[1] and len(cells[0]) <= 40 and not any(cells[2:]):
                field_ = cell_field(cells[0], overrides)
                if field_ == "ignore":
                    field_ = None
        if field_ is None:
            if run:
                yield from flush()
            yield block
            continue
        if any(f == field_ for _, f in run):
            yield from flush()
        run.append((block, field_))
    if run:
        yield from flush()
