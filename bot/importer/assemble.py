"""Step 4 of an import, shared by every format: blocks -> priorities, actions and warnings.

With the header rows found (find.py) and the columns mapped by meaning (columns.py), it walks the rows as a
person reading the plan would: repeated headers at page breaks are skipped, rows with an empty
ref continue the action above or add another action to the same recommendation, one-cell rows
are section titles ("Immediate", "SAFEGUARDING SERVICES"), recommendation headings, Ofsted
findings, expected outcomes or footnotes. Whatever it cannot place becomes a warning that says
where it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from bot.domain.country import DEFAULT_COUNTRY
from bot.domain.dates import TargetReading, read_target
from bot.domain.model import Rag, RagScheme, Status
from bot.domain.vocabulary import cell_status, is_ref, tidy_ref
from bot.importer.check import check_plan
from bot.importer.check import list_some as _list
from bot.importer.check import snippet as _snippet
from bot.importer.columns import (
    CHECKED_BY_CONTENTS,
    Guess,
    HeaderMap,
    build_header,
    column_letter,
    guess_unknown_columns,
    header_from_contents,
    join_split,
    norm_header,
    normalise_mapping,
    recheck_known_columns,
    split_columns,
)
from bot.importer.dateorder import decide_order
from bot.importer.find import (
    BRAG_WORD_RE,
    BULLET_RE,
    DATE_IN_TEXT_RE,
    FINDINGS_RE,
    LEADING_REF_RE,
    LEGEND_RE,
    NO_ACTIONS_RE,
    NO_HEADER_MESSAGE,
    NOTES_RE,
    ORG_RE,
    OUTCOME_RE,
    PLAN_WORD_RE,
    POSITION_LINE_RE,
    PRIORITY_HEAD_RE,
    TIMESCALE_LINE_RE,
    TIMESCALE_RE,
    is_structural,
    looks_like_header,
    unfold_forms,
)
from bot.importer.leads import lead_lines
from bot.importer.parsed import (
    ParsedAction,
    ParsedPlan,
    ParsedPriority,
    ParsedProgress,
    PlanFileError,
)
from bot.importer.read import BREAK, Block

_MAX_PRIORITY_TEXT = 5000
_HOLD_ROWS = 30  # data rows read before deciding what an unknown column holds
_KEY_FIELDS = ("target", "lead", "rag", "status", "achievement")


_RAG_CACHE: dict[str, Rag | None] = {}


def read_rag(text: str) -> Rag | None:
    """Rag.find, remembered: a RAG column holds the same few words thousands of times."""
    if not text:
        return None
    if text not in _RAG_CACHE:
        if len(_RAG_CACHE) >= 50_000:
            _RAG_CACHE.clear()
        _RAG_CACHE[text] = Rag.find(text)
    return _RAG_CACHE[text]


def _join(before: str, after: str) -> str:
    if not before:
        return after
    if not after or before.endswith(after):
        return before
    if before.endswith("-") and len(before) > 1 and before[-2].isalpha():  # "asylum-" + "seeking"
        return before + after
    return f"{before} {after}"


def _join_all(pieces: list[str]) -> str:
    """_join over many pieces in linear time (a cell spread over thousands of rows)."""
    if len(pieces) == 1:
        return pieces[0]
    out: list[str] = []
    prev = ""
    for piece in pieces:
        if not piece:
            continue
        if prev and not (prev.endswith("-") and len(prev) > 1 and prev[-2].isalpha()):
            out.append(" ")
        out.append(piece)
        prev = piece
    return "".join(out)


# --------------------------------------------------------------------------------------------


@dataclass
class _Draft:
    base_ref: str
    source_ref: str
    parts: dict[str, list[str]]  # field -> its text, one piece per row it was spread over
    extra: dict[str, list[str]]
    where: str
    section: str = ""
    timescale: str = ""
    group_priority: str | None = None  # the recommendation row it sits under (Recommendation column)
    heading_priority: str | None = None  # the recommendation heading above its table


@dataclass
class _Fragment:
    first: str
    last: str
    after: str
    columns: dict[int, list[str]] = field(default_factory=dict)
    rows: int = 0

    def add(self, cells: Iterable[tuple[int, str]], where: str) -> None:
        self.last = where
        self.rows += 1
        for index, text in cells:
            if text:
                self.columns.setdefault(index, []).append(text)


class Assembler:
    def __init__(self, *, source_name: str, grid: bool, plan_name: str | None, mapping: dict[str, str] | None,
                 country: str | None = None, country_from: str = "default"):
        self.source_name = source_name
        self.grid = grid  # spreadsheet/CSV: one-cell rows are the paragraphs, a table is a sheet
        self.plan_name = plan_name
        self.overrides = normalise_mapping(mapping)
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.preamble: list[str] = []
        self.header: HeaderMap | None = None
        self.any_header = False
        self.mapping: dict[str, str] = {}
        self.extra_columns: list[str] = []
        self._extra_warned: set[str] = set()
        self._unmapped_warned: set[int] = set()
        self.priorities: dict[str, ParsedPriority] = {}
        self.current_priority: ParsedPriority | None = None
        self.summary_priority: ParsedPriority | None = None
        self.drafts: list[_Draft] = []
        self._texts: dict[str, str] = {}  # see _one
        self.current: _Draft | None = None
        self.group_ref: str | None = None
        self.section = ""
        self.timescale = ""
        self.mode: str | None = None  # "findings", "outcome", "notes"
        self.fragment: _Fragment | None = None
        self.table_width: int | None = None
        self.table_rows = 0
        self.table_misaligned = False
        self.sheet_label = ""
        self.sheet_rows = 0
        self.sheet_header = False
        self.legend_blue = False
        self.brag_word = False
        self.history_labels: list[str] = []
        self.has_priority_column = False
        self.footnotes = 0
        self.odd_refs: list[str] = []
        self._capped: set[tuple[str, str]] = set()
        self._held_header: HeaderMap | None = None  # a header whose unknown columns wait for rows
        self._held: list[Block] = []
        self._pre: list[Block] | None = None  # blocks before any header row, held
        self._replaying = False
        self.header_from_contents = False
        self.guesses: list[Guess] = []
        self.seen_columns: list[str] = []
        self.month_first = False
        self.country = country or DEFAULT_COUNTRY  # decides the order of numeric dates when the file's own do not
        self.country_from = country_from if country else "default"
        self.refs_from_text = 0

    # ---------------------------------------------------------------- feeding blocks

    def feed(self, blocks: Iterable[Block]) -> None:
        for block in unfold_forms(blocks, self.overrides):
            if block.cells and BREAK in "\x00".join(block.cells):  # in-cell line breaks: kept for the lead only
                block.raw = block.cells
                block.cells = [c.replace(BREAK, " ") for c in block.cells]
            if self._held_header is not None:  # rows under a header with unknown columns: read them first
                self._held.append(block)
                if block.kind != "row" or len(self._held) >= _HOLD_ROWS:
                    self._settle_header()
            elif self._pre is not None:  # rows before any header: a header may come, or none
                if block.kind == "row" and self._header_like(block.cells):
                    self._replay_pre(headerless=False)
                    self._dispatch(block)
                else:
                    self._pre.append(block)
            else:
                self._dispatch(block)
        if self._held_header is not None:
            self._settle_header()
        if self._pre is not None:
            self._replay_pre(headerless=True)
        self._close_fragment()
        self._end_sheet()

    def _dispatch(self, block: Block) -> None:
        kind = block.kind
        if kind == "row":
            self._row(block.cells, block.where, block.raw)
        elif kind == "para":
            self._text(block.cells[0], block.where, from_row=False)
        else:
            self._table(block)

    def _header_like(self, cells: list[str]) -> bool:
        return sum(1 for c in cells if c) >= 2 and looks_like_header(cells, self.overrides, is_ref)

    def _replay_pre(self, *, headerless: bool) -> None:
        """Play back the blocks held before any header row: as they were (a header row came),
        or under a header read from the columns' contents (none came)."""
        held, self._pre = self._pre or [], None
        if headerless:
            rows = [b.cells for b in held if b.kind == "row" and sum(1 for c in b.cells if c) >= 2]
            header, guesses, profiles = header_from_contents(rows, held[0].where if held else "")
            if header is None:
                self.seen_columns = [p.describe() for p in profiles if p.filled]
            else:
                self.header_from_contents = True
                self.guesses.extend(guesses)
                self.warnings.append(
                    f"{self.source_name} has no header row; its columns were read from their contents: "
                    + "; ".join(g.describe() for g in guesses) + ". If that is wrong, add a header row (Ref, Action, Lead, Target…) and import again."
                )
                self._install_header(header, header.where)
                self.sheet_header = True
        self._replaying = True
        try:
            for block in held:
                self._dispatch(block)
        finally:
            self._replaying = False

    def _settle_header(self) -> None:
        header, self._held_header = self._held_header, None
        held, self._held = self._held, []
        assert header is not None
        rows = [b.cells for b in held if b.kind == "row" and sum(1 for c in b.cells if c) >= 2 and not self._header_like(b.cells)]
        rechecked = recheck_known_columns(header, rows, self.overrides)
        guesses = guess_unknown_columns(header, rows, self.overrides)
        for g in rechecked:
            self.guesses.append(g)
            self.warnings.append(f"{header.where}: column {g.describe()}. If that is wrong, use --map '{g.header}=FIELD'.")
        for g in guesses:
            self.guesses.append(g)
            self.warnings.append(f"{header.where}: column {g.describe()}. If that is wrong, use --map '{g.header}=FIELD' (or =extra).")
        self._install_header(header, header.where)
        for block in held:
            self._dispatch(block)

    def _table(self, block: Block) -> None:
        self._close_fragment()
        if self.grid:  # a new sheet: its own headers
            self._end_sheet()
            self.header = None
            self.current = None
            self.group_ref = None
            self.sheet_label = block.where
            self.sheet_rows = 0
            self.sheet_header = False
        self.table_width = block.width
        self.table_rows = 0
        self.table_misaligned = False

    def _end_sheet(self) -> None:
        if self.grid and self.sheet_label and self.sheet_rows and not self.sheet_header and self.any_header:
            self.warnings.append(f"{self.sheet_label} has no column headings (Ref, Action, Lead…); it was not imported.")

    # ---------------------------------------------------------------- rows

    def _row(self, cells: list[str], where: str, raw: list[str] | None = None) -> None:
        first_in_table = self.table_rows == 0
        self.table_rows += 1
        filled = [i for i, c in enumerate(cells) if c]
        if not filled:
            return
        self.sheet_rows += 1
        if len(filled) >= 2 and looks_like_header(cells, self.overrides, is_ref):
            self._header(cells, where)
            return
        if len(filled) > 1 and len(filled) <= 3:
            filled = [i for i in filled if any(ch.isalnum() for ch in cells[i])]  # "_" and "–" are not content
            if not filled:
                return
        header = self.header
        if header is None:
            if len(filled) == 1:
                self._text(cells[filled[0]], where, from_row=True)
            elif LEGEND_RE.match(" - ".join(cells[i] for i in filled)):
                self.legend_blue |= cells[filled[0]].lower().startswith("blue")
            elif not self.any_header and not self._replaying:
                self.table_rows -= 1  # counted again when it is played back
                self.sheet_rows -= 1
                self._pre = [Block("row", cells, where, raw=raw)]  # hold it: a header row may follow, or none at all
            else:
                self.warnings.append(
                    f"{where}: row before any column headings, not imported: "
                    f"'{_snippet(' | '.join(cells[i] for i in filled))}'."
                )
            return
        if first_in_table and self.table_width is not None and not self.grid:
            used = max(c.index for c in header.columns) + 1
            self.table_misaligned = self.table_width < used
        if self.table_misaligned:
            self._to_fragment(cells, where)
            return
        if len(filled) == 1 and filled[0] == 0 and self._is_text_line(cells[0], header):
            self._text(cells[0], where, from_row=True)
            return
        self._data(cells, where, header, raw)

    def _is_text_line(self, text: str, header: HeaderMap) -> bool:
        """Is a row with only its first cell filled a heading or paragraph (as a spreadsheet
        holds them) rather than data? Section titles and headings always are; otherwise it
        depends on what the first column holds."""
        if is_structural(text) or self._is_section(text):
            return True
        key = next((c.key for c in header.columns if c.index == 0), None)
        if key is None or key.startswith("extra:") or key == "ref":
            return not is_ref(text)
        if key == "priority":  # a numbered recommendation, or one running on (lower case)
            return not text[0].islower()
        return False

    def _header(self, cells: list[str], where: str) -> None:
        self._close_fragment()
        self.mode = None
        self.sheet_header = True
        self.table_misaligned = False
        sig = tuple(norm_header(c) for c in join_split(cells, split_columns(cells, self.overrides)) if c)
        if self.header is not None and self.header.signature == sig:
            return  # the same heading repeated at a page break
        header = build_header(cells, where, self.overrides)
        if not self._replaying and any(c.key.startswith("extra:") or c.key in CHECKED_BY_CONTENTS for c in header.columns):
            self.header = header  # rows are held until the columns' contents are read (unknown headings; headings they contradict)
            self._held_header = header
            return
        self._install_header(header, where)

    def _install_header(self, header: HeaderMap, where: str) -> None:
        self.header = header
        self.any_header = True
        self.has_priority_column |= header.has("priority")
        for col in header.columns:
            if col.header not in self.mapping:
                self.mapping[col.header] = "extra" if col.key.startswith("extra:") else col.key.split("@")[0]
            if col.key.startswith("extra:") and col.header not in self._extra_warned:
                self._extra_warned.add(col.header)
                self.extra_columns.append(col.header)
                what = "recommendation" if header.is_priority_table else "action"
                why = "repeats a field already mapped" if col.header in header.duplicates else "is not one we know"
                self.warnings.append(
                    f"{where}: column '{col.header}' {why}; its values are kept with each {what} as extra information."
                )
        for label in header.labels:
            if label not in self.history_labels:
                self.history_labels.append(label)

    def _data(self, cells: list[str], where: str, header: HeaderMap, raw: list[str] | None = None) -> None:
        if header.split_at:
            cells = join_split(cells, header.split_at)
            raw = None
        vals: dict[str, str] = {}
        extra: dict[str, str] = {}
        mapped = 0
        n = len(cells)
        for col in header.columns:
            if col.index < n:
                value = cells[col.index]
                mapped += 1
                if value and col.key != "ignore":
                    if col.key.startswith("extra:"):
                        extra[col.header] = value
                    else:
                        vals[col.key] = value
        if n > mapped:
            used = {c.index for c in header.columns}
            for i, value in enumerate(cells):
                if value and i not in used and any(ch.isalnum() for ch in value):
                    name = f"Column {column_letter(i)}"
                    extra[name] = value
                    if i not in self._unmapped_warned:
                        self._unmapped_warned.add(i)
                        self.extra_columns.append(name)
                        self.warnings.append(
                            f"{where}: there is text in a column with no heading ({name}); it is kept as extra information."
                        )
        if "action" in vals and not header.has("ref") and not header.has("priority_ref"):
            m = LEADING_REF_RE.match(vals["action"])  # "3.2 Publish the policy": the ref is written in the text
            if m:
                vals["ref"] = m["ref"]
                vals["action"] = m["rest"]
                self.refs_from_text += 1
        ref_raw = vals.get("ref", "")
        if ref_raw and not is_ref(ref_raw):
            if len(ref_raw) > 15 or len(ref_raw.split()) > 2:
                self._to_fragment(cells, where)
                return
            self.odd_refs.append(f"'{ref_raw}' ({where})")
        if header.is_priority_table:
            self._close_fragment()
            self._priority_row(vals, extra, where)
            return
        if raw is not None and "lead" in vals:  # the lead keeps its line breaks: they can separate two leads
            index = next(c.index for c in header.columns if c.key == "lead")
            vals["lead"] = raw[index]
        self._action_row(vals, extra, where, header)

    # ---------------------------------------------------------------- recommendations

    def _get_priority(self, ref: str, title: str, where: str) -> ParsedPriority:
        p = self.priorities.get(ref)
        if p is None:
            p = ParsedPriority(ref=ref, title=title, where=where, section=self.section, timescale=self.timescale)
            self.priorities[ref] = p
        elif title and not p.title:
            p.title = title
        return p

    def _priority_row(self, vals: dict[str, str], extra: dict[str, str], where: str) -> None:
        text = vals.get("priority", "")
        ref = tidy_ref(vals["ref"]) if vals.get("ref") else ""
        m = PRIORITY_HEAD_RE.match(text) if text else None
        if m:
            ref = ref or m["kref"] or m["nref"]
            text = (m["ktitle"] if m["kref"] else m["ntitle"]) or ""
        p = self.summary_priority
        if not ref:
            if p is not None and (not text or text[0].islower() or not p.title.endswith((".", "!", "?"))):
                self._grow(p, "title", text)  # the recommendation continues on the next row
                for key, field_name in (("timescale", "timescale"), ("lead", "accountable_text"), ("target", "target_raw")):
                    if vals.get(key):
                        self._grow(p, field_name, vals[key])
                return
            ref = f"R{len(self.priorities) + 1}"
            self.warnings.append(f"{where}: recommendation without a number; it was given the ref {ref}.")
        p = self._get_priority(ref, text, where)
        p.timescale = vals.get("timescale", "") or p.timescale
        p.accountable_text = vals.get("lead", "") or p.accountable_text
        p.target_raw = vals.get("target", "") or p.target_raw
        p.section = self.section or p.section
        p.extra.update(extra)
        self.summary_priority = p
        if len(p.timescale) > 30:
            self.warnings.append(
                f"{where}: recommendation {ref}'s timescale reads '{_snippet(p.timescale)}' — it looks damaged "
                "(text from other cells run together); check its timescale and accountable officers."
            )

    # ---------------------------------------------------------------- actions

    def _action_row(self, vals: dict[str, str], extra: dict[str, str], where: str, header: HeaderMap) -> None:
        rec = vals.pop("priority", "")
        ref_raw = vals.pop("ref", "")
        prio_ref = tidy_ref(vals.pop("priority_ref", ""))
        # Beside a recommendation column, a recommended timescale is the recommendation's own.
        prio_timescale = vals.pop("timescale", "") if (rec or prio_ref) and (header.has("priority") or header.has("priority_ref")) else ""
        has_action_data = bool(vals) or bool(extra)
        if prio_ref and (self.current_priority is None or self.current_priority.ref != prio_ref):
            self.current_priority = self._priority_for_row("", rec, where, explicit=prio_ref)
        if prio_timescale and self.current_priority is not None and not self.current_priority.timescale:
            self.current_priority.timescale = prio_timescale
        if ref_raw or (rec and not prio_ref and self._starts_new_priority(rec)):
            self._close_fragment()
            self.mode = None
            ref = tidy_ref(ref_raw) if ref_raw else ""
            if not prio_ref and (rec or header.has("priority")):
                self.current_priority = self._priority_for_row(ref, rec, where)
            self.group_ref = ref or (self.current_priority.ref if self.current_priority and header.has("priority") else None)
            if not has_action_data:
                self.current = None
                if not rec:
                    self.warnings.append(f"{where}: the ref '{ref_raw}' has nothing else in its row; skipped.")
                return
            self._new_action(self.group_ref or "", ref_raw, vals, extra, where)
            return
        if rec and self.current_priority is not None and header.has("priority"):
            p = self.current_priority
            head = PRIORITY_HEAD_RE.match(rec)
            restated = head is not None and tidy_ref(head["kref"] or head["nref"] or "") == p.ref  # its own heading again
            if not restated and rec != p.title and not p.title.endswith(rec):
                self._grow(p, "title", rec)  # a recommendation cell running on into the next row
        if not has_action_data:
            return
        if self.current is not None and self._continues(vals):
            self._append(self.current, vals, extra)
            return
        if self.fragment is not None:
            self._close_fragment()
        if self.current is None and self.group_ref is None and "action" not in vals:
            self._to_fragment_vals(vals, extra, where)
            return
        self._new_action(self.group_ref or "", "", vals, extra, where)

    def _grow(self, p: ParsedPriority, attr: str, text: str) -> None:
        """Add a running-on piece to a recommendation's text, up to a sane length (a damaged
        file must not make us copy megabytes per row)."""
        before = getattr(p, attr)
        if len(before) + len(text) > _MAX_PRIORITY_TEXT:
            if (p.ref, attr) not in self._capped:
                self._capped.add((p.ref, attr))
                self.warnings.append(f"recommendation {p.ref}: its {attr.replace('_', ' ')} runs on too long; cut at {_MAX_PRIORITY_TEXT} characters.")
            return
        setattr(p, attr, _join(before, text))

    def _starts_new_priority(self, rec: str) -> bool:
        p = self.current_priority
        m = PRIORITY_HEAD_RE.match(rec)
        if m:
            return p is None or (m["kref"] or m["nref"]) != p.ref
        return p is None

    def _priority_for_row(self, ref: str, rec: str, where: str, explicit: str = "") -> ParsedPriority:
        m = PRIORITY_HEAD_RE.match(rec) if rec else None
        if m:
            pref = explicit or m["kref"] or m["nref"]
            title = (m["ktitle"] if m["kref"] else m["ntitle"]) or ""
        elif explicit:
            pref, title = explicit, rec
        else:
            title = rec
            if ref:
                pref = ref.split(".")[0] if "." in ref else ref
            elif self.current_priority is not None and rec and rec == self.current_priority.title:
                return self.current_priority
            else:
                pref = f"R{len(self.priorities) + 1}"
        return self._get_priority(pref, title, where)

    def _continues(self, vals: dict[str, str]) -> bool:
        """Is a row with an empty ref the text of the action above spilling over (page break,
        wrapped cell), rather than another action? Another action fills a target, lead or
        rating the action above already has, or starts a new sentence after a finished one."""
        prev = self.current.parts  # type: ignore[union-attr]
        for key in vals:
            if (key in _KEY_FIELDS or key.startswith("rag@")) and key in prev:
                return False
        text = vals.get("action", "")
        before = prev["action"][-1] if "action" in prev else ""
        new_sentence = bool(text) and (text[0].isupper() or text[0].isdigit()) and before.endswith((".", "!", "?"))
        return not new_sentence

    @staticmethod
    def _append(draft: _Draft, vals: dict[str, str], extra: dict[str, str]) -> None:
        for target, values in ((draft.parts, vals), (draft.extra, extra)):
            for key, value in values.items():
                pieces = target.setdefault(key, [])
                if not pieces or pieces[-1] != value:  # a merged cell repeats its text on each row
                    pieces.append(value)

    def _new_action(self, base: str, source_ref: str, vals: dict[str, str], extra: dict[str, str], where: str) -> None:
        draft = _Draft(
            base_ref=base,
            source_ref=source_ref,
            parts={key: [value] for key, value in vals.items()},
            extra={key: [value] for key, value in extra.items()},
            where=where,
            section=self.section,
            timescale=self.timescale,
            group_priority=self.current_priority.ref
            if self.current_priority and self.header and (self.header.has("priority") or self.header.has("priority_ref"))
            else None,
            heading_priority=self.current_priority.ref if self.current_priority else None,
        )
        self.drafts.append(draft)
        self.current = draft
        self.mode = None

    # ---------------------------------------------------------------- text lines

    def _is_section(self, text: str) -> bool:
        if TIMESCALE_RE.match(text):
            return True
        return (
            self.any_header and len(text) <= 60 and text.isupper() and not text.endswith(".")
            and len(text.split()) <= 8 and sum(ch.isalpha() for ch in text) >= 4
        )

    def _text(self, text: str, where: str, *, from_row: bool) -> None:
        if "BRAG" in text and BRAG_WORD_RE.search(text):
            self.brag_word = True
        if len(text) <= 60 and LEGEND_RE.match(text):
            self.legend_blue |= text.lower().startswith("blue")
            return
        m = NOTES_RE.match(text)
        if m:
            self._close_fragment()
            self.mode = "notes"
            if m["rest"]:
                self.footnotes += 1
                self.notes.append(m["rest"])
            return
        head = PRIORITY_HEAD_RE.match(text)
        if self.mode == "notes" and (head is None or head["nref"]):
            self.footnotes += 1
            self.notes.append(BULLET_RE.sub("", text, count=1) if text.startswith(("-", "•")) else text)
            return
        if head is not None and not text.startswith(("-", "•")):
            self._close_fragment()
            ref = head["kref"] or head["nref"]
            title = (head["ktitle"] if head["kref"] else head["ntitle"]) or ""
            self.current_priority = self._get_priority(ref, title, where)
            self.current = None
            self.group_ref = None
            self.mode = None
            return
        m = TIMESCALE_LINE_RE.match(text)
        if m and self.current_priority is not None and self.current is None and not self.current_priority.timescale:
            self.current_priority.timescale = m["value"].strip()  # under its heading, as exports write it
            return
        if NO_ACTIONS_RE.match(text) and self.current_priority is not None and self.current is None:
            return  # an export's line under a recommendation with no actions yet
        if FINDINGS_RE.match(text):
            self._close_fragment()
            self.mode = "findings"
            return
        m = OUTCOME_RE.match(text)
        if m:
            self._close_fragment()
            self.mode = "outcome"
            if m["rest"] and self.current_priority is not None:
                self._grow(self.current_priority, "expected_outcome", m["rest"])
            return
        if self._is_section(text):
            self._close_fragment()
            self.mode = None
            if TIMESCALE_RE.match(text):
                self.timescale = text
            else:
                self.section = text
                self.timescale = ""
            self.current = None
            self.group_ref = None
            self.summary_priority = None
            return
        if self.mode in ("findings", "outcome") and self.current_priority is not None:
            p = self.current_priority
            if self.mode == "findings":
                p.findings.append(BULLET_RE.sub("", text, count=1))
            else:
                self._grow(p, "expected_outcome", text)
            return
        if self.fragment is not None and from_row:
            self.fragment.add([(0, text)], where)
            return
        self._close_fragment()
        if (not self.any_header or (self.header_from_contents and not self.drafts)) and not self.priorities:
            self.preamble.append(text)
            return
        self.notes.append(text)
        self.warnings.append(f"{where}: text not part of any action, kept as a note: '{_snippet(text)}'.")

    # ---------------------------------------------------------------- fragments

    def _to_fragment(self, cells: list[str], where: str) -> None:
        if self.fragment is None:
            after = (self.current.source_ref or self.current.base_ref) if self.current else ""
            self.fragment = _Fragment(first=where, last=where, after=after)
        self.fragment.add(enumerate(cells), where)
        self.current = None

    def _to_fragment_vals(self, vals: dict[str, str], extra: dict[str, str], where: str) -> None:
        if self.fragment is None:
            self.fragment = _Fragment(first=where, last=where, after="")
        self.fragment.add(enumerate([*vals.values(), *extra.values()]), where)

    def _close_fragment(self) -> None:
        frag = self.fragment
        if frag is None:
            return
        self.fragment = None
        pieces = [" ".join(frag.columns[i]) for i in sorted(frag.columns)]
        pieces = [p for p in pieces if p]
        if not pieces:
            return
        span = frag.first if frag.first == frag.last else f"{frag.first} to {frag.last}"
        after = f" after action {frag.after}" if frag.after else ""
        reads = " | ".join(f"'{_snippet(p, 160)}'" for p in pieces)
        self.notes.append(" | ".join(pieces))
        self.warnings.append(
            f"{span}{after}: {frag.rows} row(s) of text with no ref that do not line up with the columns "
            f"(an action split by a page break?) could not be placed; they read: {reads}. Add it by hand if it is an action."
        )

    # ---------------------------------------------------------------- the result

    def finish(self) -> ParsedPlan:
        if not self.any_header:
            seen = f" The columns seen: {'; '.join(self.seen_columns)}." if self.seen_columns else ""
            raise PlanFileError(
                f"{self.source_name}: {NO_HEADER_MESSAGE}; nor could the columns be told apart by their contents "
                f"(a column of sentences for the actions and one of names, dates or ratings).{seen} "
                "Add a header row, or name the columns with --map."
            )
        if not self.drafts:
            raise PlanFileError(
                f"{self.source_name}: column headings were found but no actions under them "
                f"(headings: {', '.join(self.mapping) or 'none'})."
            )
        title, organisation, plan_date = self._describe()
        plan = ParsedPlan(
            title=title,
            organisation=organisation,
            plan_date=plan_date,
            source_file=self.source_name,
            warnings=self.warnings,
            extra_columns=self.extra_columns,
            mapping=self.mapping,
            notes=self.notes,
            preamble=self.preamble,
            guesses=[g.to_json() for g in self.guesses],
        )
        refs = self._assign_refs()
        targets: dict[str, TargetReading] = {}
        bad_rag: dict[str, str] = {}
        order = decide_order([p for d in self.drafts for k in ("target", "revised_target") for p in d.parts.get(k, ())],
                             self.country, self.country_from)  # fmt: skip
        self.month_first = order.month_first_read
        said_at = len(self.warnings)
        # Each draft is let go once its action is made: the drafts and the actions of a big
        # file are not all held at once.
        drafts, self.drafts = self.drafts[::-1], []
        for ref in refs:
            plan.actions.append(self._action(drafts.pop(), ref, plan_date, targets, bad_rag))
        if order.settled_by == "conflict":
            either = set(order.either)
            order.check_refs = [a.ref for a in plan.actions if a.target_raw in either or a.revised_target_raw in either]
        plan.date_order = order
        said = order.message()
        if said:
            self.warnings.insert(said_at, said)
        plan.priorities = list(self.priorities.values())
        blue = any(a.rag is Rag.BLUE or any(h.rag is Rag.BLUE for h in a.history) for a in plan.actions)
        plan.rag_scheme = RagScheme.BRAG if (blue or self.legend_blue or self.brag_word) else RagScheme.RAG
        if plan.rag_scheme is RagScheme.BRAG:  # Green means "on track", not done, when Blue is done
            for action in plan.actions:
                if action.status is None and action.rag is Rag.GREEN:
                    action.status = Status.IN_PROGRESS
        if self.refs_from_text:
            self.warnings.append(f"{self.refs_from_text} action(s) had their ref written at the start of the action text; it was taken as the ref.")
        check_plan(plan, odd_refs=self.odd_refs, footnotes=self.footnotes, bad_rag=bad_rag)
        return plan

    def _assign_refs(self) -> list[str]:
        groups: dict[str, list[int]] = {}
        for i, d in enumerate(self.drafts):
            groups.setdefault(d.base_ref, []).append(i)
        shared = [base for base, members in groups.items() if base and len(members) > 1]
        suffix_all = bool(shared) and self.has_priority_column
        refs = [""] * len(self.drafts)
        for base, members in groups.items():
            if not base:
                continue
            if len(members) > 1 or suffix_all:
                for n, i in enumerate(members, start=1):
                    refs[i] = f"{base}.{n}"
            else:
                refs[members[0]] = base
        no_refs_written = bool(self.drafts) and not any(d.source_ref for d in self.drafts)
        if shared and no_refs_written:  # refs come from the recommendation each action sits under
            made = [r for r in refs if r]
            self.warnings.append(
                f"{len(made)} action(s) had no ref and were given one from the plan's structure "
                f"(recommendation 3's second action is 3.2; the same on every re-import of this layout): {_list(made)}."
            )
        elif shared:
            example = shared[0]
            n = len(groups[example])
            single = next((b for b, members in groups.items() if b and len(members) == 1), None)
            also = f" (single actions too, for one numbering: {single} -> {single}.1)" if suffix_all and single else ""
            self.warnings.append(
                f"several actions share one ref (e.g. {example} has {n} actions), so each was given its own: "
                f"{example}.1 … {example}.{n}{also}."
            )
            if not self.has_priority_column:
                for base in shared:
                    self.warnings.append(f"ref {base} is used by {len(groups[base])} actions; numbered {base}.1 … {base}.{len(groups[base])}.")
        unnumbered = groups.get("", [])
        if unnumbered:
            taken = set(refs)
            counter = 0
            structural: list[str] = []
            in_priority: dict[str, int] = {}
            for i in unnumbered:
                d = self.drafts[i]
                prio = d.group_priority or d.heading_priority
                if prio:  # recommendation 3's second action is 3.2: stable however the file is re-saved
                    n = in_priority.get(prio, 0) + 1
                    while f"{prio}.{n}" in taken:
                        n += 1
                    in_priority[prio] = n
                    refs[i] = f"{prio}.{n}"
                    structural.append(refs[i])
                else:
                    counter += 1
                    while str(counter) in taken:
                        counter += 1
                    refs[i] = str(counter)
                taken.add(refs[i])
            if structural:
                self.warnings.append(
                    f"{len(structural)} action(s) had no ref and were given one from the plan's structure "
                    f"(recommendation 3's second action is 3.2; the same on every re-import of this layout): {_list(structural)}."
                )
            plain = [refs[i] for i in unnumbered if refs[i] not in structural]
            if plain:
                self.warnings.append(f"{len(plain)} action(s) had no ref and were numbered in order ({_list(plain)}).")
        seen: set[str] = set()
        for i, ref in enumerate(refs):  # a generated ref could meet one written in the file
            while ref in seen:
                ref += "a"
            refs[i] = ref
            seen.add(ref)
        return refs

    def _one(self, text: str) -> str:
        """The first string equal to `text`: a lead, a progress phrase or a target month that
        thousands of rows repeat is then held once, not once per action."""
        return self._texts.setdefault(text, text)

    def _action(
        self, d: _Draft, ref: str, plan_date: date | None, targets: dict[str, TargetReading], bad_rag: dict[str, str]
    ) -> ParsedAction:
        c = {key: _join_all(pieces) for key, pieces in d.parts.items()}
        history: list[ParsedProgress] = []
        for label in self.history_labels:
            text = c.get(f"progress@{label}", "")
            rag_raw = c.get(f"rag@{label}", "")
            if text or rag_raw:
                rag_h = read_rag(rag_raw)
                if rag_raw and rag_h is None:
                    bad_rag.setdefault(rag_raw, ref)
                history.append(ParsedProgress(label, text, rag_h))
        progress = c.get("progress", "")
        rag_raw = c.get("rag", "")
        rag = read_rag(rag_raw)
        if rag_raw and rag is None:
            bad_rag.setdefault(rag_raw, ref)
        if history:
            latest = history[-1]
            progress = progress or latest.text
            rag = rag or next((h.rag for h in reversed(history) if h.rag), None)
            if not progress:
                progress = next((h.text for h in reversed(history) if h.text), "")
        achievement = c.get("achievement", "")
        if rag is None and achievement:
            rag = read_rag(achievement) if len(achievement) <= 20 else None
        target_raw = c.get("target", "")
        reading = targets.get(target_raw)
        if reading is None:
            reading = read_target(target_raw, plan_date=plan_date, month_first=self.month_first)
            targets[target_raw] = reading
        revised_raw = c.get("revised_target", "")
        revised = targets.get(revised_raw)
        if revised is None:
            revised = read_target(revised_raw, plan_date=plan_date, month_first=self.month_first)
            targets[revised_raw] = revised
        status_raw = c.get("status", "")
        status = cell_status(status_raw) or cell_status(progress) or cell_status(achievement)
        if status is None and status_raw:
            if rag is None and len(status_raw) <= 20 and read_rag(status_raw):
                rag = read_rag(status_raw)  # a "Status" column holding colours
            else:
                try:
                    status = Status.parse(status_raw)
                except ValueError:
                    if len(status_raw.split()) >= 3 and not progress:
                        progress = status_raw  # "Campaign live since May": a progress note in the status column
                    else:
                        self.warnings.append(f"{d.where}: status '{_snippet(status_raw, 40)}' not understood; left empty.")
        if status is None and reading.kind == "complete":
            status = Status.COMPLETE
        if rag is Rag.BLUE and (status is None or (status.is_open and not status_raw)):
            status = Status.COMPLETE  # Blue is "complete" whatever the progress text opens with
        elif status is None and rag in (Rag.RED, Rag.AMBER):
            status = Status.IN_PROGRESS  # rated as slipping: still open
        priority_ref = d.group_priority
        if priority_ref is None:
            prefix = ref.split(".")[0] if "." in ref else None
            if prefix and prefix in self.priorities:
                priority_ref = prefix
            else:
                priority_ref = d.heading_priority
        return ParsedAction(
            ref=ref,
            priority_ref=self._one(priority_ref) if priority_ref else priority_ref,
            text=c.get("action", ""),
            lead_text=self._one(lead_lines(c.get("lead", ""))),
            target_raw=self._one(target_raw),
            target_date=reading.date,
            target_kind=reading.kind,
            target_note=reading.note,
            revised_target_raw=revised_raw,
            revised_target_date=revised.date,
            revision_reason=c.get("revision_reason", ""),
            status=status,
            rag=rag,
            progress=self._one(progress),
            outputs=c.get("outputs", ""),
            outcome_required=c.get("outcome_required", ""),
            evidence_required=c.get("evidence_required", ""),
            links=c.get("links", ""),
            achievement=achievement,
            extra={key: _join_all(pieces) for key, pieces in d.extra.items()},
            history=history,
            section=d.section,
            timescale=d.timescale or c.get("timescale", ""),
            source_ref=d.source_ref,
            where=d.where,
        )

    def _describe(self) -> tuple[str, str, date | None]:
        lines = [line for line in self.preamble[:12] if not LEGEND_RE.match(line)]
        title = next((line for line in lines[:6] if PLAN_WORD_RE.search(line) and len(line) <= 150), "")
        if not title and lines:
            title = lines[0][:150]
        organisation = next(
            (line for line in lines[:6] if line != title and len(line) <= 90 and ORG_RE.search(line)
             and not DATE_IN_TEXT_RE.fullmatch(line)),
            "",
        )
        if self.plan_name:
            title = self.plan_name
        elif not title:
            title = self.source_name.rsplit(".", 1)[0]
            self.warnings.append(f"no title found at the top of the file; the plan is called '{title}'.")
        plan_date = None
        for line in lines:
            if POSITION_LINE_RE.match(line):
                continue  # a report's "Position as at 28 Nov 2026" dates the report, not the plan
            m = DATE_IN_TEXT_RE.search(line)
            if m:
                reading = read_target(m.group(0))
                if reading.date is not None:
                    plan_date = reading.date.replace(day=1) if reading.kind == "month" else reading.date
                    break
        return title, organisation, plan_date

