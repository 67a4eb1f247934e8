"""The register as a Word committee report: landscape A4, a table per priority whose header row
repeats on every page, RAG cells shaded and worded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell

from bot.domain.model import Rag

from .layout import (
    RAG_FILL,
    RAG_FONT,
    RAG_MEANING,
    STATUS_TEXT,
    SUGGESTED_NOTE,
    Column,
    any_suggestion_shown,
    clean,
    columns,
    legend_rags,
    position_line,
    priority_heading,
    rag_text,
    timescale_line,
    uk_date,
)
from .report import ActionReport, PlanReport, PriorityReport

_MARGIN = Mm(12.7)
_HEADER_SHADE = "D9D9D9"


def write_docx(report: PlanReport, path: Path) -> Path:
    doc = Document()
    _page_setup(doc, report)
    _title_block(doc, report)
    cols = columns(report, reason_column=False)
    for priority in report.priorities:
        _priority_section(doc, cols, priority)
    if not report.priorities:
        doc.add_paragraph("No recommendations or actions are recorded in this plan yet.")
    doc.save(str(path))
    return path


def _page_setup(doc: DocumentObject, report: PlanReport) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, _MARGIN)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)
    normal.paragraph_format.space_after = Pt(2)
    footer = section.footer.paragraphs[0]
    footer.text = f"{clean(report.title)} – {position_line(report)} – page "
    _add_field(footer.add_run(), "PAGE")
    for run in footer.runs:
        run.font.size = Pt(8)


def _title_block(doc: DocumentObject, report: PlanReport) -> None:
    doc.add_paragraph(style="Title").add_run(clean(report.title)).font.size = Pt(20)
    if report.organisation.strip():
        doc.add_paragraph(clean(report.organisation), style="Subtitle")
    doc.add_paragraph().add_run(position_line(report)).bold = True
    doc.add_paragraph().add_run("RAG rating key").bold = True
    for rag in legend_rags(report):
        p = doc.add_paragraph()
        _shade_run(p.add_run(rag.label), rag)
        p.add_run(" – " + RAG_MEANING[rag])
    if any_suggestion_shown(report):
        doc.add_paragraph().add_run(SUGGESTED_NOTE).italic = True


def _priority_section(doc: DocumentObject, cols: list[Column], priority: PriorityReport) -> None:
    doc.add_paragraph(clean(priority_heading(priority)), style="Heading 2")
    if timescale_line(priority):
        p = doc.add_paragraph()
        p.add_run(clean(timescale_line(priority))).italic = True
        p.paragraph_format.keep_with_next = True
    if not priority.actions:
        doc.add_paragraph("No actions recorded.")
        return
    table = doc.add_table(rows=1, cols=len(cols))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _header_row(table, cols)
    for action in priority.actions:
        cells = table.add_row().cells
        for cell, col in zip(cells, cols, strict=True):
            _fill_cell(cell, action, col.key)
    _set_widths(doc, table, cols)
    doc.add_paragraph()


def _header_row(table: Table, cols: list[Column]) -> None:
    row = table.rows[0]
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(_el("w:tblHeader"))  # repeat this row at the top of each page
    for cell, col in zip(row.cells, cols, strict=True):
        _set_text(cell, col.header, bold=True)
        _shade_cell(cell, _HEADER_SHADE)


def _fill_cell(cell: _Cell, action: ActionReport, key: str) -> None:
    match key:
        case "original_target":
            _set_text(cell, _date_text(action.original_target) or clean(action.original_target_raw))
        case "revised_target":
            _set_text(cell, _date_text(action.revised_target))
            if action.revised_reason.strip():
                reason = cell.add_paragraph().add_run(clean(action.revised_reason))
                reason.italic = True
                reason.font.size = Pt(8)
        case "last_update":
            _set_text(cell, _date_text(action.last_update))
        case "status":
            _set_text(cell, STATUS_TEXT[action.status])
        case "rag":
            shown = action.rating
            if shown.rag is not None:
                _set_text(cell, rag_text(action), bold=not shown.suggested, italic=shown.suggested, color=RAG_FONT[shown.rag])
                _shade_cell(cell, RAG_FILL[shown.rag])
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        case _:
            _set_text(cell, clean(getattr(action, key)))


def _date_text(d: date | None) -> str:
    return uk_date(d) if d else ""


def _set_text(cell: _Cell, text: str, *, bold: bool = False, italic: bool = False, color: str = "") -> None:
    """One run of 9 pt text; line breaks in the text become paragraphs of the cell."""
    lines = text.split("\n") if text else [""]
    para = cell.paragraphs[0]
    for i, line in enumerate(lines):
        if i:
            para = cell.add_paragraph()
        run = para.add_run(line)
        run.font.size = Pt(9)
        run.bold = bold or None
        run.italic = italic or None
        if color:
            run.font.color.rgb = RGBColor.from_string(color)


def _set_widths(doc: DocumentObject, table: Table, cols: list[Column]) -> None:
    section = doc.sections[0]
    usable = int(section.page_width or 0) - int(section.left_margin or 0) - int(section.right_margin or 0)
    total = sum(c.weight for c in cols)
    widths = [int(usable * c.weight / total) for c in cols]
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    grid = table._tbl.tblGrid
    for grid_col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        grid_col.set(qn("w:w"), str(int(width / 635)))  # EMU to twentieths of a point


def _shade_cell(cell: _Cell, fill: str) -> None:
    cell._tc.get_or_add_tcPr().append(_el("w:shd", {"w:val": "clear", "w:color": "auto", "w:fill": fill}))


def _shade_run(run, rag: Rag) -> None:
    run.bold = True
    run.font.color.rgb = RGBColor.from_string(RAG_FONT[rag])
    run._r.get_or_add_rPr().append(_el("w:shd", {"w:val": "clear", "w:color": "auto", "w:fill": RAG_FILL[rag]}))


def _add_field(run, instruction: str) -> None:
    for tag, attrs in (("w:fldChar", {"w:fldCharType": "begin"}), ("w:instrText", {}),
                       ("w:fldChar", {"w:fldCharType": "end"})):
        el = _el(tag, attrs)
        if tag == "w:instrText":
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instruction} "
        run._r.append(el)


def _el(tag: str, attrs: dict[str, str] | None = None):
    el = OxmlElement(tag)
    for name, value in (attrs or {}).items():
        el.set(qn(name), value)
    return el
