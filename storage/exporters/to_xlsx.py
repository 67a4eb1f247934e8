"""The register as an Excel workbook: the committee layout on "Action Plan", counts on "Summary".

Every user-provided string goes through `neutralise`, so no cell is ever a formula.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.domain.model import Rag, Status

from .layout import (
    RAG_FILL,
    RAG_FONT,
    RAG_MEANING,
    STATUS_TEXT,
    SUGGESTED_NOTE,
    Column,
    all_actions,
    any_suggestion_shown,
    columns,
    legend_rags,
    neutralise,
    position_line,
    priority_heading,
    rag_text,
    timescale_line,
)
from .report import ActionReport, PlanReport, PriorityReport

MAIN_SHEET = "Action Plan"
SUMMARY_SHEET = "Summary"
DATE_FORMAT = "dd/mm/yyyy"

_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
_PRIORITY_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_CHARS_PER_WEIGHT = 1.6  # column width (characters) per unit of layout weight


def write_xlsx(report: PlanReport, path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = MAIN_SHEET
    _write_plan_sheet(ws, report)
    _write_summary_sheet(wb.create_sheet(SUMMARY_SHEET), report)
    wb.save(path)
    return path


def _write_plan_sheet(ws: Worksheet, report: PlanReport) -> None:
    cols = columns(report)
    ws.append([neutralise(report.title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([neutralise(report.organisation)])
    ws.append([position_line(report)])
    ws["A3"].font = _BOLD
    _write_legend_rows(ws, report)
    if any_suggestion_shown(report):
        ws.append([SUGGESTED_NOTE])
        ws.cell(ws.max_row, 1).font = Font(italic=True)

    header_row = ws.max_row + 2  # one blank row under the title block
    for i, col in enumerate(cols, start=1):
        cell = ws.cell(header_row, i, col.header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = _WRAP_TOP

    for priority in report.priorities:
        _write_priority_rows(ws, cols, priority)

    last_col = get_column_letter(len(cols))
    for i, col in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(i)].width = round(col.weight * _CHARS_PER_WEIGHT, 1)
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.auto_filter.ref = f"A{header_row}:{last_col}{max(ws.max_row, header_row)}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _write_legend_rows(ws: Worksheet, report: PlanReport) -> None:
    """One row per colour, the coloured word then its meaning, as Derby's plan sets out its
    "Traffic Light Status" (and as the importer recognises a legend)."""
    for rag in legend_rags(report):
        row = ws.max_row + 1
        _paint_rag(ws.cell(row, 1, rag.label), rag)
        ws.cell(row, 2, RAG_MEANING[rag])


def _write_priority_rows(ws: Worksheet, cols: list[Column], priority: PriorityReport) -> None:
    for text, font in ((priority_heading(priority), _BOLD), (timescale_line(priority), Font(italic=True))):
        if not text:
            continue
        row = ws.max_row + 1
        cell = ws.cell(row, 1, neutralise(text))
        cell.font = font
        cell.fill = _PRIORITY_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(cols))
        ws.row_dimensions[row].height = _heading_height(text, sum(c.weight for c in cols))
    for action in priority.actions:
        row = ws.max_row + 1
        for i, col in enumerate(cols, start=1):
            cell = ws.cell(row, i, _value(action, col.key))
            cell.border = _BORDER
            cell.alignment = _WRAP_TOP
            if isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
        shown = action.rating
        if shown.rag is not None:
            _paint_rag(ws.cell(row, _index(cols, "rag")), shown.rag, suggested=shown.suggested)


def _heading_height(text: str, total_weight: float) -> float:
    chars_per_line = max(total_weight * _CHARS_PER_WEIGHT, 40)
    lines = 1 + int(len(text) / chars_per_line)
    return 15.0 * lines


def _value(action: ActionReport, key: str) -> str | date | None:
    match key:
        case "original_target":
            return action.original_target or neutralise(action.original_target_raw) or None
        case "revised_target":
            return action.revised_target
        case "last_update":
            return action.last_update
        case "status":
            return STATUS_TEXT[action.status]
        case "rag":
            return rag_text(action) or None
        case _:
            return neutralise(getattr(action, key)) or None


def _index(cols: list[Column], key: str) -> int:
    return next(i for i, c in enumerate(cols, start=1) if c.key == key)


def _paint_rag(cell, rag: Rag, *, suggested: bool = False) -> None:
    """The rating's colour; a suggested rating in italics (its text says "Suggested: …")."""
    cell.fill = PatternFill("solid", fgColor=RAG_FILL[rag])
    cell.font = Font(bold=not suggested, italic=suggested, color=RAG_FONT[rag])
    cell.alignment = Alignment(horizontal="center", vertical="top", wrap_text=True)


def _write_summary_sheet(ws: Worksheet, report: PlanReport) -> None:
    """Per priority: how many actions, by RAG and by status. Plain numbers (not formulas), so
    any reader sees the counts without recalculating."""
    rags = legend_rags(report)
    statuses = list(Status)
    ws.append([neutralise(report.title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Summary – {position_line(report)}"])
    header = ["Recommendation", "Title", "Actions", *[r.label for r in rags], "Not rated",
              "Of which suggested", *[STATUS_TEXT[s] for s in statuses]]
    header_row = ws.max_row + 2
    for i, text in enumerate(header, start=1):
        ws.cell(header_row, i, text)
    for cell in ws[header_row]:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = _WRAP_TOP
    for i, rag in enumerate(rags, start=4):
        _paint_rag(ws.cell(header_row, i), rag)

    def counts(actions: list[ActionReport]) -> list[int]:
        # by the rating shown in the table: the one given, else the suggestion
        shown = [a.rating for a in actions]
        by_rag = Counter(r.rag for r in shown)
        by_status = Counter(a.status for a in actions)
        return [len(actions), *[by_rag[r] for r in rags], by_rag[None], sum(r.suggested for r in shown),
                *[by_status[s] for s in statuses]]

    for p in report.priorities:
        ws.append([neutralise(p.ref), neutralise(p.title), *counts(p.actions)])
    ws.append(["Total", None, *counts(all_actions(report))])
    for cell in ws[ws.max_row]:
        cell.font = _BOLD
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            cell.border = _BORDER
            cell.alignment = _WRAP_TOP
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 60
    for i in range(3, len(header) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 11
    ws.freeze_panes = ws.cell(header_row + 1, 1)
