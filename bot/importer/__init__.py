"""Importing an improvement plan from the file an administrator already has: bytes in, a
parsed plan out, nothing written to any database (bot/services/imports.py commits it).

    plan = read_plan(Path("action plan.docx"))          # .xlsx .docx .csv .txt .md
    plan = read_plan_text(pasted, source="pasted")      # text pasted into chat
    plan.to_json()                                       # what `actionbot import --json` prints

The pipeline, one module per stage:

    read.py      the file -> a stream of blocks: paragraphs and table rows in document order
    find.py      which rows are headers, which lines are recommendation headings, sections, notes
    columns.py   what each column means, from its heading and its contents, with a score
    assemble.py  walk the blocks: priorities and actions, refs (generated from the structure
                 when the plan has none)
    check.py     warnings for the preview: gaps, guesses, what was kept aside
    dateorder.py day- or month-first numeric dates, once per file (its dates, else the country)

Status words, refs and dates are read by the shared domain code (bot/domain/vocabulary.py,
bot/domain/dates.py), as chat replies are. A file that cannot be imported at all raises
PlanFileError with a message for the administrator; no partial result is returned.
"""

from __future__ import annotations

from pathlib import Path

from bot.domain.vocabulary import cell_status as read_status
from bot.importer.assemble import Assembler
from bot.importer.dateorder import DateOrder, apply_country
from bot.importer.leads import split_leads
from bot.importer.parsed import (
    ParsedAction,
    ParsedPlan,
    ParsedPriority,
    ParsedProgress,
    PlanFileError,
)
from bot.importer.read import (
    CSV_EXTS,
    MAX_FILE_BYTES,
    SPREADSHEET_EXTS,
    TEXT_EXTS,
    WORD_EXTS,
    check_file,
    decode_text,
    read_csv_text,
    read_docx,
    read_text_blocks,
    read_xlsx,
)

__all__ = [
    "DateOrder",
    "ParsedAction",
    "ParsedPlan",
    "ParsedPriority",
    "ParsedProgress",
    "PlanFileError",
    "apply_country",
    "read_plan",
    "read_plan_text",
    "read_status",
    "split_leads",
]


def read_plan(
    path: Path, *, plan_name: str | None = None, mapping: dict[str, str] | None = None, country: str | None = None,
    country_from: str = "--country",
) -> ParsedPlan:
    """Read an uploaded plan file into a ParsedPlan (priorities, actions, warnings).

    `plan_name` replaces the title found in the file; `mapping` maps column headings as written
    in the file to fields ("Officer in charge" -> "lead"; fields: ref, priority, action, lead,
    target, progress, rag, status, outputs, outcome_required, evidence_required, links,
    achievement, timescale, or "extra" / "ignore"). `country` (ISO code, default GB) decides
    whether numeric dates are day- or month-first when the file's own dates do not
    (bot/importer/dateorder.py); `country_from` says where it came from, for the preview.
    Raises PlanFileError for a file that cannot be imported."""
    path = Path(path)
    ext, head = check_file(path)
    assembler = Assembler(source_name=path.name, grid=ext in SPREADSHEET_EXTS | CSV_EXTS, plan_name=plan_name, mapping=mapping,
                          country=country, country_from=country_from)
    encoding = ""
    if ext in SPREADSHEET_EXTS:
        source = read_xlsx(path, head)
        assembler.feed(source.blocks)
        pre_warnings = source.warnings or []
    elif ext in WORD_EXTS:
        source = read_docx(path, head)
        assembler.feed(source.blocks)
        pre_warnings = source.warnings or []
    else:
        text, encoding, pre_warnings = decode_text(path.read_bytes(), path.name)
        if not text.strip():
            raise PlanFileError(f"{path.name} has no text in it.")
        if ext in CSV_EXTS:
            assembler.feed(read_csv_text(text, path.name))
        else:
            assert ext in TEXT_EXTS
            assembler.feed(read_text_blocks(text))
    plan = assembler.finish()
    plan.warnings[:0] = pre_warnings
    plan.encoding = encoding
    return plan


def read_plan_text(
    text: str, *, source: str = "pasted", plan_name: str | None = None, mapping: dict[str, str] | None = None,
    country: str | None = None, country_from: str = "--country",
) -> ParsedPlan:
    """Read a plan pasted as text: tab-separated rows (copied from Excel or Word) or a Markdown
    pipe table, with any title lines above it."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise PlanFileError(f"the pasted text is over {MAX_FILE_BYTES // 1024 // 1024} MB; upload the file instead.")
    if not text.strip():
        raise PlanFileError("nothing was pasted: the text is empty.")
    assembler = Assembler(source_name=source, grid=False, plan_name=plan_name, mapping=mapping, country=country, country_from=country_from)
    assembler.feed(read_text_blocks(text))
    return assembler.finish()
