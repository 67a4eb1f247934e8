"""Importing an improvement plan from the file an administrator already has.

    plan = read_plan(Path("action plan.docx"))          # .xlsx .docx .csv .txt .md
    plan = read_plan_text(pasted, source="pasted")      # text pasted into chat
    plan.to_json()                                       # what `actionbot import --json` prints

Two steps: sources.py turns any format into a neutral stream of blocks (paragraphs and table
rows in document order); layout.py, shared by all formats, finds the header rows, maps the
columns by meaning and builds priorities, actions and warnings. Nothing is written to the
database here. A file that cannot be imported at all raises PlanFileError with a message for
the administrator; no partial result is returned.
"""

from __future__ import annotations

from pathlib import Path

from storage.importers.layout import Assembler, read_status
from storage.importers.leads import split_leads
from storage.importers.parsed import (
    ParsedAction,
    ParsedPlan,
    ParsedPriority,
    ParsedProgress,
    PlanFileError,
)
from storage.importers.sources import (
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
    "ParsedAction",
    "ParsedPlan",
    "ParsedPriority",
    "ParsedProgress",
    "PlanFileError",
    "read_plan",
    "read_plan_text",
    "read_status",
    "split_leads",
]


def read_plan(path: Path, *, plan_name: str | None = None, mapping: dict[str, str] | None = None) -> ParsedPlan:
    """Read an uploaded plan file into a ParsedPlan (priorities, actions, warnings).

    `plan_name` replaces the title found in the file; `mapping` maps column headings as written
    in the file to fields ("Officer in charge" -> "lead"; fields: ref, priority, action, lead,
    target, progress, rag, status, outputs, outcome_required, evidence_required, links,
    achievement, timescale, or "extra" / "ignore"). Raises PlanFileError for a file that
    cannot be imported."""
    path = Path(path)
    ext, head = check_file(path)
    assembler = Assembler(source_name=path.name, grid=ext in SPREADSHEET_EXTS | CSV_EXTS, plan_name=plan_name, mapping=mapping)
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
    text: str, *, source: str = "pasted", plan_name: str | None = None, mapping: dict[str, str] | None = None
) -> ParsedPlan:
    """Read a plan pasted as text: tab-separated rows (copied from Excel or Word) or a Markdown
    pipe table, with any title lines above it."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise PlanFileError(f"the pasted text is over {MAX_FILE_BYTES // 1024 // 1024} MB; upload the file instead.")
    if not text.strip():
        raise PlanFileError("nothing was pasted: the text is empty.")
    assembler = Assembler(source_name=source, grid=False, plan_name=plan_name, mapping=mapping)
    assembler.feed(read_text_blocks(text))
    return assembler.finish()
