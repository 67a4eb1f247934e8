"""Exports of a plan's register: structure of the written files, formula safety, round trip."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn

from bot.domain.model import Rag, RagScheme, Status
from storage.exporters import ActionReport, PlanReport, PriorityReport, export_plan
from storage.exporters.layout import RAG_FILL, RAG_FONT, STATUS_TEXT, neutralise, unneutralise

HEADERS = ["Ref", "Action", "Lead Officer", "Original Target", "Revised Target", "Status", "RAG",
           "Latest Progress", "Last Updated"]
FORMULA = '=HYPERLINK("http://example.invalid/x","Click for evidence")'


def action(ref: str, **kw) -> ActionReport:
    values = dict(
        ref=ref, text=f"Action {ref}: review the pre-screening activity.", lead="HoS First Response",
        original_target=date(2022, 7, 31), original_target_raw="July 2022", revised_target=None,
        revised_reason="", status=Status.IN_PROGRESS, rag=Rag.GREEN, suggested_rag=None,
        latest_progress=f"Progress on {ref}.", last_update=date(2022, 11, 1),
    )
    values.update(kw)
    return ActionReport(**values)


def sample_report(scheme: RagScheme = RagScheme.BRAG) -> PlanReport:
    return PlanReport(
        title="Ofsted ILACS Inspection Action Plan",
        organisation="Rotherham Children and Young People's Services",
        rag_scheme=scheme,
        as_of=date(2022, 11, 14),
        priorities=[
            PriorityReport("1", "Consideration of previous history – ‘front door’ contacts", "Immediate", [
                action("1.1", status=Status.SIGNED_OFF, rag=Rag.BLUE if scheme == RagScheme.BRAG else Rag.GREEN,
                       latest_progress="Sign off approved at the Evidence Challenge Panel on 14 November 2022."),
                action("1.2", original_target=None, original_target_raw="Ongoing",
                       revised_target=date(2023, 3, 31), revised_reason="Vacancies in the MASH team",
                       rag=Rag.AMBER, latest_progress=FORMULA, lead="Zoë Ó Briain"),
                action("1.3", status=Status.NOT_STARTED, rag=None, suggested_rag=Rag.RED,
                       latest_progress="-10 days behind the milestone", last_update=None,
                       original_target=date(2012, 11, 30), original_target_raw="Nov 12"),
            ]),
            PriorityReport("2", "Assessment of the identity needs of children", "Within 3 months", [
                action("2.1", status=Status.COMPLETE, rag=Rag.RED, lead="+44 Head of Service",
                       latest_progress="Line one\nLine two"),
                action("2.2", status=Status.ON_HOLD, rag=None,
                       text="@SUM(A1:A9) and more", latest_progress=""),
                action("2.3", status=Status.CANCELLED, rag=None, original_target=None, original_target_raw="",
                       latest_progress="Withdrawn: replaced by 2.1."),
            ]),
        ],
    )


@pytest.fixture
def report() -> PlanReport:
    return sample_report()


# --- choosing the format -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plan.pdf", "plan", "plan.xls", "plan.doc", "plan.xlsx.bak"])
def test_unknown_suffix_is_refused_naming_the_accepted_ones(tmp_path: Path, report: PlanReport, name: str):
    with pytest.raises(ValueError) as err:
        export_plan(report, tmp_path / name)
    message = str(err.value)
    assert name in message
    for suffix in (".xlsx", ".docx", ".csv"):
        assert suffix in message
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["PLAN.XLSX", "Plan.Docx", "plan.CSV"])
def test_suffix_is_case_insensitive_and_path_is_returned(tmp_path: Path, report: PlanReport, name: str):
    out = export_plan(report, tmp_path / name)
    assert out == tmp_path / name
    assert out.stat().st_size > 0


# --- neutralising formulas ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+44 1234", "-10 days", "@SUM(A1)", "\tx", "\rx", "  =1+1"])
def test_neutralise_prefixes_a_quote_and_unneutralise_undoes_it(text: str):
    safe = neutralise(text)
    assert safe == "'" + text.replace("\r\n", "\n")
    assert unneutralise(safe) == text


@pytest.mark.parametrize("text", ["Plain text", "1.1", "'quoted by the author", "a=b", "e-mail sent"])
def test_ordinary_text_is_left_alone(text: str):
    assert neutralise(text) == text
    assert unneutralise(text) == text


def test_xlsx_never_holds_a_formula(tmp_path: Path, report: PlanReport):
    path = export_plan(report, tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    ws = wb["Action Plan"]
    values = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for text in (FORMULA, "-10 days behind the milestone", "+44 Head of Service", "@SUM(A1:A9) and more"):
        assert text not in values
        cell = values["'" + text]
        assert cell.data_type == "s"


def test_csv_cells_are_neutralised(tmp_path: Path, report: PlanReport):
    rows = _csv_rows(export_plan(report, tmp_path / "plan.csv"))
    cells = {v for row in rows for v in row.values()}
    for text in (FORMULA, "-10 days behind the milestone", "+44 Head of Service", "@SUM(A1:A9) and more"):
        assert "'" + text in cells
        assert text not in cells


def test_docx_keeps_text_as_written(tmp_path: Path, report: PlanReport):
    doc = docx.Document(str(export_plan(report, tmp_path / "plan.docx")))
    texts = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert FORMULA in texts and "-10 days behind the milestone" in texts


def test_control_characters_from_word_do_not_break_the_files(tmp_path: Path):
    messy = PlanReport("Plan\x07", "Council", RagScheme.RAG, date(2024, 1, 5), [
        PriorityReport("1", "Title\x0bsecond line", "", [action("1.1", latest_progress="a\x0bb\x01c")]),
    ])
    wb = openpyxl.load_workbook(export_plan(messy, tmp_path / "m.xlsx"))
    progress = [c.value for row in wb.active.iter_rows() for c in row if c.value and str(c.value).startswith("a")]
    assert progress == ["a\nbc"]
    doc = docx.Document(str(export_plan(messy, tmp_path / "m.docx")))
    assert doc.paragraphs[0].text == "Plan"
    assert export_plan(messy, tmp_path / "m.csv").read_text(encoding="utf-8-sig").count("\x01") == 0


# --- xlsx structure ----------------------------------------------------------------------------


def _header_row(ws) -> int:
    for row in ws.iter_rows():
        if [c.value for c in row[:2]] == ["Ref", "Action"]:
            return row[0].row
    raise AssertionError("no header row")


def _rows_by_ref(ws, header_row: int) -> dict[str, tuple]:
    return {row[0].value: row for row in ws.iter_rows(min_row=header_row + 1) if row[1].value}


def test_xlsx_title_block_header_and_sheet_settings(tmp_path: Path, report: PlanReport):
    wb = openpyxl.load_workbook(export_plan(report, tmp_path / "plan.xlsx"))
    assert wb.sheetnames == ["Action Plan", "Summary"]
    ws = wb["Action Plan"]
    assert ws["A1"].value == report.title
    assert ws["A2"].value == report.organisation
    assert ws["A3"].value == "Position as at 14 Nov 2022"
    assert any(str(c.value).startswith("Suggested: a rating the bot proposes") for c in ws["A"])
    hr = _header_row(ws)
    header_cells = list(ws[hr])
    # the reason column appears because one action was re-baselined with a reason
    assert [c.value for c in header_cells] == HEADERS[:5] + ["Reason for Revision"] + HEADERS[5:]
    assert all(c.font.b for c in header_cells)
    assert ws.freeze_panes == f"A{hr + 1}"
    assert ws.auto_filter.ref == f"A{hr}:{header_cells[-1].column_letter}{ws.max_row}"
    assert ws.print_title_rows == f"${hr}:${hr}"
    widths = {c.column_letter: ws.column_dimensions[c.column_letter].width for c in header_cells}
    assert widths["B"] > widths["A"] and all(w >= 8 for w in widths.values())
    assert ws.page_setup.orientation == "landscape"


def test_xlsx_groups_actions_under_priority_heading_rows(tmp_path: Path, report: PlanReport):
    ws = openpyxl.load_workbook(export_plan(report, tmp_path / "plan.xlsx"))["Action Plan"]
    hr = _header_row(ws)
    col_a = [ws.cell(r, 1).value for r in range(hr + 1, ws.max_row + 1)]
    assert col_a == [
        "Recommendation 1 – Consideration of previous history – ‘front door’ contacts",
        "Timescale: Immediate", "1.1", "1.2", "1.3",
        "Recommendation 2 – Assessment of the identity needs of children",
        "Timescale: Within 3 months", "2.1", "2.2", "2.3",
    ]
    merged = {str(m) for m in ws.merged_cells.ranges}
    last = ws.cell(hr, ws.max_column).column_letter
    assert f"A{hr + 1}:{last}{hr + 1}" in merged
    assert ws.cell(hr + 1, 1).font.b


def test_xlsx_cells_dates_and_rag_colours(tmp_path: Path, report: PlanReport):
    ws = openpyxl.load_workbook(export_plan(report, tmp_path / "plan.xlsx"))["Action Plan"]
    hr = _header_row(ws)
    col = {c.value: c.column - 1 for c in ws[hr]}
    rows = _rows_by_ref(ws, hr)
    expected = {a.ref: a for p in report.priorities for a in p.actions}
    assert set(rows) == set(expected)
    for ref, a in expected.items():
        row = rows[ref]
        rag_cell = row[col["RAG"]]
        shown = a.rag or a.suggested_rag  # the rating given, else the suggestion: coloured either way
        if shown is not None:
            assert rag_cell.value == (a.rag.label if a.rag else f"Suggested: {shown.label}")
            assert rag_cell.fill.fgColor.rgb[-6:] == RAG_FILL[shown]
            assert rag_cell.font.color.rgb[-6:] == RAG_FONT[shown]
            assert bool(rag_cell.font.italic) is (a.rag is None)
        else:
            assert rag_cell.fill.fill_type is None
        assert row[col["Status"]].value == STATUS_TEXT[a.status]
        assert row[col["Action"]].alignment.wrap_text
    assert rows["1.3"][col["RAG"]].value == "Suggested: Red"
    assert rows["2.2"][col["RAG"]].value is None
    # real date cells in UK format; raw text where the plan had no date
    target = rows["1.1"][col["Original Target"]]
    assert target.is_date and target.value == datetime(2022, 7, 31) and target.number_format == "dd/mm/yyyy"  # noqa: DTZ001 - xlsx cells are naive
    assert rows["1.2"][col["Original Target"]].value == "Ongoing"
    revised = rows["1.2"][col["Revised Target"]]
    assert revised.is_date and revised.value == datetime(2023, 3, 31) and revised.number_format == "dd/mm/yyyy"  # noqa: DTZ001 - xlsx cells are naive
    assert rows["1.2"][col["Reason for Revision"]].value == "Vacancies in the MASH team"
    assert rows["1.2"][col["Lead Officer"]].value == "Zoë Ó Briain"
    assert rows["1.1"][col["Last Updated"]].value == datetime(2022, 11, 1)  # noqa: DTZ001 - xlsx cells are naive
    assert rows["1.3"][col["Last Updated"]].value is None


def test_xlsx_legend_brag_and_rag(tmp_path: Path):
    def legend(scheme: RagScheme) -> list[tuple[str, str, str]]:
        ws = openpyxl.load_workbook(export_plan(sample_report(scheme), tmp_path / f"{scheme}.xlsx"))["Action Plan"]
        rows = list(ws.iter_rows(max_row=_header_row(ws) - 1))
        return [(r[0].value, r[1].value, r[0].fill.fgColor.rgb[-6:]) for r in rows if r[0].fill.fill_type]

    assert legend(RagScheme.BRAG) == [
        ("Blue", "Completed / signed off", "0070C0"), ("Green", "On track", "00B050"),
        ("Amber", "Slippage", "FFC000"), ("Red", "Major slippage", "C00000"),
    ]
    assert legend(RagScheme.RAG) == [
        ("Green", "On track", "00B050"), ("Amber", "Slippage", "FFC000"), ("Red", "Major slippage", "C00000"),
    ]


def test_xlsx_summary_counts_by_rag_and_status_per_priority(tmp_path: Path, report: PlanReport):
    ws = openpyxl.load_workbook(export_plan(report, tmp_path / "plan.xlsx"))["Summary"]
    header_row = next(r for r in ws.iter_rows() if r[0].value == "Recommendation")
    names = [c.value for c in header_row]
    assert ws.freeze_panes == f"A{header_row[0].row + 1}"
    table = {
        row[0].value: dict(zip(names, (c.value for c in row), strict=True))
        for row in ws.iter_rows(min_row=header_row[0].row + 1)
    }
    assert table["1"]["Title"] == report.priorities[0].title
    # counted by the rating the table shows: 1.3 has no rating given, and the suggested Red counts as Red
    assert (table["1"]["Actions"], table["1"]["Blue"], table["1"]["Amber"], table["1"]["Red"], table["1"]["Not rated"],
            table["1"]["Of which suggested"]) == (3, 1, 1, 1, 0, 1)
    assert (table["1"]["Signed off"], table["1"]["In progress"], table["1"]["Not started"]) == (1, 1, 1)
    assert (table["2"]["Actions"], table["2"]["Red"], table["2"]["Not rated"]) == (3, 1, 2)
    assert (table["2"]["Complete (awaiting sign-off)"], table["2"]["On hold"], table["2"]["Cancelled"]) == (1, 1, 1)
    assert table["Total"]["Actions"] == 6 and table["Total"]["Not rated"] == 2 and table["Total"]["Red"] == 2
    assert header_row[names.index("Red")].fill.fgColor.rgb[-6:] == RAG_FILL[Rag.RED]


def test_optional_columns_appear_only_when_used(tmp_path: Path):
    plain = PlanReport("P", "C", RagScheme.RAG, date(2024, 1, 5), [PriorityReport("1", "T", "", [action("1.1")])])
    ws = openpyxl.load_workbook(export_plan(plain, tmp_path / "p.xlsx"))["Action Plan"]
    assert [c.value for c in ws[_header_row(ws)]] == HEADERS
    assert not any(str(c.value).startswith("Suggested") for c in ws["A"])  # no suggestion, no note
    derby = PlanReport("P", "C", RagScheme.BRAG, date(2024, 1, 5), [PriorityReport("1", "T", "", [
        action("1.1", outputs="Revised audit tool", outcome_required="Case records reflect the child"),
    ])])
    ws = openpyxl.load_workbook(export_plan(derby, tmp_path / "d.xlsx"))["Action Plan"]
    header = [c.value for c in ws[_header_row(ws)]]
    assert header[:4] == ["Ref", "Action", "Outputs", "Outcome Required"]
    doc = docx.Document(str(export_plan(derby, tmp_path / "d.docx")))
    assert [c.text for c in doc.tables[0].rows[0].cells][:4] == ["Ref", "Action", "Outputs", "Outcome Required"]


def test_empty_plan_exports_in_every_format(tmp_path: Path):
    empty = PlanReport("", "", RagScheme.BRAG, date(2024, 1, 5), [])
    for suffix in (".xlsx", ".docx", ".csv"):
        assert export_plan(empty, tmp_path / f"e{suffix}").stat().st_size > 0
    assert "No recommendations" in "\n".join(p.text for p in docx.Document(str(tmp_path / "e.docx")).paragraphs)


# --- docx structure ----------------------------------------------------------------------------


def test_docx_page_title_block_and_legend(tmp_path: Path, report: PlanReport):
    doc = docx.Document(str(export_plan(report, tmp_path / "plan.docx")))
    section = doc.sections[0]
    assert section.page_width > section.page_height
    assert round(section.page_width.mm) == 297 and round(section.page_height.mm) == 210
    texts = [p.text for p in doc.paragraphs]
    assert texts[:3] == [report.title, report.organisation, "Position as at 14 Nov 2022"]
    for line in ("Blue – Completed / signed off", "Green – On track", "Amber – Slippage", "Red – Major slippage"):
        assert line in texts
    assert any(t.startswith("Suggested: a rating the bot proposes") for t in texts)
    blue = next(p for p in doc.paragraphs if p.text.startswith("Blue –"))
    assert blue.runs[0]._r.rPr.find(qn("w:shd")).get(qn("w:fill")) == RAG_FILL[Rag.BLUE]

    rag_doc = docx.Document(str(export_plan(sample_report(RagScheme.RAG), tmp_path / "rag.docx")))
    rag_texts = [p.text for p in rag_doc.paragraphs]
    assert "Green – On track" in rag_texts
    assert not any(t.startswith("Blue") for t in rag_texts)


def test_docx_one_table_per_priority_with_repeating_header(tmp_path: Path, report: PlanReport):
    doc = docx.Document(str(export_plan(report, tmp_path / "plan.docx")))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert headings == [
        "Recommendation 1 – Consideration of previous history – ‘front door’ contacts",
        "Recommendation 2 – Assessment of the identity needs of children",
    ]
    assert "Timescale: Within 3 months" in [p.text for p in doc.paragraphs]
    assert len(doc.tables) == 2
    for table, priority in zip(doc.tables, report.priorities, strict=True):
        header = table.rows[0]
        assert [c.text for c in header.cells] == HEADERS
        assert header._tr.trPr.find(qn("w:tblHeader")) is not None
        assert [r.cells[0].text for r in table.rows[1:]] == [a.ref for a in priority.actions]
    # the heading comes right before its table in the body
    body = list(doc.element.body.iterchildren())
    first_table = body.index(doc.tables[0]._tbl)
    heading_2 = next(i for i, el in enumerate(body) if el.tag == qn("w:p") and "Recommendation 2" in "".join(el.itertext()))
    assert first_table < heading_2 < body.index(doc.tables[1]._tbl)


def _cell_fill(cell) -> str | None:
    shd = cell._tc.tcPr.find(qn("w:shd")) if cell._tc.tcPr is not None else None
    return shd.get(qn("w:fill")) if shd is not None else None


def test_docx_cells_dates_and_rag_shading(tmp_path: Path, report: PlanReport):
    doc = docx.Document(str(export_plan(report, tmp_path / "plan.docx")))
    rows = {r.cells[0].text: r.cells for t in doc.tables for r in t.rows[1:]}
    col = {h: i for i, h in enumerate(HEADERS)}
    for a in (a for p in report.priorities for a in p.actions):
        rag = rows[a.ref][col["RAG"]]
        shown = a.rag or a.suggested_rag  # the rating given, else the suggestion: shaded either way
        if shown is not None:
            assert rag.text == (a.rag.label if a.rag else f"Suggested: {shown.label}")
            assert _cell_fill(rag) == RAG_FILL[shown]
            assert str(rag.paragraphs[0].runs[0].font.color.rgb) == RAG_FONT[shown]
        else:
            assert _cell_fill(rag) is None
        assert rows[a.ref][col["Status"]].text == STATUS_TEXT[a.status]
        assert rows[a.ref][col["Lead Officer"]].text == a.lead
    assert rows["1.1"][col["Original Target"]].text == "31 Jul 2022"
    assert rows["1.3"][col["Original Target"]].text == "30 Nov 2012"
    assert rows["1.2"][col["Original Target"]].text == "Ongoing"
    revised = rows["1.2"][col["Revised Target"]]
    assert [p.text for p in revised.paragraphs] == ["31 Mar 2023", "Vacancies in the MASH team"]
    assert revised.paragraphs[1].runs[0].italic
    assert rows["1.1"][col["Last Updated"]].text == "1 Nov 2022"
    assert rows["1.3"][col["RAG"]].text == "Suggested: Red"
    assert [p.text for p in rows["2.1"][col["Latest Progress"]].paragraphs] == ["Line one", "Line two"]
    assert _cell_fill(doc.tables[0].rows[0].cells[0]) == "D9D9D9"


# --- csv ---------------------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_is_one_flat_table_with_bom(tmp_path: Path, report: PlanReport):
    path = export_plan(report, tmp_path / "plan.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    with open(path, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f))
    assert header[:3] == ["Priority Ref", "Recommendation", "Recommended Timescale"]
    assert header[3:] == HEADERS[:5] + ["Reason for Revision"] + HEADERS[5:]
    rows = _csv_rows(path)
    assert [r["Ref"] for r in rows] == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3"]
    assert [r["Priority Ref"] for r in rows] == ["1", "1", "1", "2", "2", "2"]
    assert rows[3]["Recommendation"] == "Recommendation 2 – Assessment of the identity needs of children"
    assert rows[3]["Recommended Timescale"] == "Within 3 months"
    assert rows[0]["Original Target"] == "2022-07-31"
    assert rows[1]["Original Target"] == "Ongoing"
    assert rows[1]["Revised Target"] == "2023-03-31"
    assert rows[1]["Lead Officer"] == "Zoë Ó Briain"
    assert rows[0]["RAG"] == "Blue" and rows[2]["RAG"] == "Suggested: Red" and rows[4]["RAG"] == ""
    assert rows[5]["Original Target"] == "" and rows[5]["Status"] == "Cancelled"
    assert rows[3]["Latest Progress"] == "Line one\nLine two"
    assert rows[3]["Status"] == "Complete (awaiting sign-off)"


# --- round trip through the importer ------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".docx", ".csv"])
def test_round_trip_through_the_importer(tmp_path: Path, report: PlanReport, suffix: str):
    from bot.importer import read_plan

    parsed = read_plan(export_plan(report, tmp_path / f"plan{suffix}"))
    assert [(p.ref, p.title) for p in parsed.priorities] == [(p.ref, p.title) for p in report.priorities]
    got = {a.ref: a for a in parsed.actions}
    expected = {a.ref: (p, a) for p in report.priorities for a in p.actions}
    assert list(got) == list(expected)
    for ref, (priority, a) in expected.items():
        g = got[ref]
        assert g.priority_ref == priority.ref, ref
        assert g.text == a.text, ref
        assert g.lead_text == a.lead, ref
        assert g.target_date == a.original_target, ref
        if a.original_target is None:
            assert g.target_raw == a.original_target_raw, ref
        assert g.status == a.status, ref
        assert g.rag == a.rag, ref  # a suggestion is not a rating and must not come back as one
        # the importer joins a cell's lines into one (plans extracted from PDF wrap mid-sentence)
        assert g.progress == " ".join(a.latest_progress.split()), ref
