"""Plans in layouts the importer was not built around: columns read by heading and contents
together, plans with no header row, and what the preview says when it guessed."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.model import Rag
from bot.importer import PlanFileError, read_plan_text

HEADERLESS = """Northmoor Borough Council
Children's Services Improvement Plan, June 2025

1.1\tRefresh the threshold document and publish it to partners\tHead of Early Help\t30/09/2025\tGreen
1.2\tAudit 20 front door contacts each month\tService Manager MASH\t31/10/2025\tAmber
2.1\tRecruit four permanent social workers to the assessment team\tHR Business Partner\t31/12/2025\tRed
2.2\tIntroduce a practice week for managers\tPrincipal Social Worker\tMarch 2026\tGreen
"""


def test_a_plan_with_no_header_row_is_read_by_its_contents() -> None:
    plan = read_plan_text(HEADERLESS)
    assert [(a.ref, a.lead_text, a.target_date, a.rag) for a in plan.actions] == [
        ("1.1", "Head of Early Help", date(2025, 9, 30), Rag.GREEN),
        ("1.2", "Service Manager MASH", date(2025, 10, 31), Rag.AMBER),
        ("2.1", "HR Business Partner", date(2025, 12, 31), Rag.RED),
        ("2.2", "Principal Social Worker", date(2026, 3, 31), Rag.GREEN),
    ]  # fmt: skip
    assert plan.actions[3].text == "Introduce a practice week for managers"
    assert plan.title == "Children's Services Improvement Plan, June 2025"
    assert plan.organisation == "Northmoor Borough Council"
    said = next(w for w in plan.warnings if "no header row" in w)
    assert "column D read as the target date" in said and "column C read as the lead officer" in said
    assert {g["column"]: g["field"] for g in plan.guesses} == {"A": "ref", "B": "action", "C": "lead", "D": "target", "E": "rag"}


def test_a_table_it_cannot_read_is_refused_naming_the_columns_it_saw() -> None:
    text = "Minutes\nItem one\twas discussed at length\nItem two\tagreed\n"
    with pytest.raises(PlanFileError, match="no header row found") as info:
        read_plan_text(text)
    assert "The columns seen: A (" in str(info.value) and "B (" in str(info.value)


CUT_OFF = """Westford City Council action plan
Ref\tWhat we will do\tResp. Mgr\tDeadl\tMilestone\tOfficer in charge of it\tCol7
1\tRefresh the threshold document\tHead of Early Help\t30/09/2025\tDraft to board in July\tAnn Lee\tG
2\tAudit contacts each month\tService Manager MASH\t31/10/2025\tFirst audit in August\tBob Roy\tA
3\tRecruit social workers\tHR Business Partner\tMarch 2026\tAdverts out in May\tAnn Lee\tR
"""


def test_cut_off_and_unknown_headings_are_read_by_heading_and_contents() -> None:
    plan = read_plan_text(CUT_OFF)
    assert plan.mapping["Resp. Mgr"] == "lead" and plan.mapping["Deadl"] == "target"
    assert plan.mapping["Col7"] == "rag"  # a column of R/A/G letters is the rating, whatever it is called
    assert plan.mapping["Milestone"] == "extra"  # sentences, but the action column is taken: kept aside
    assert [(a.target_date, a.rag) for a in plan.actions] == [
        (date(2025, 9, 30), Rag.GREEN), (date(2025, 10, 31), Rag.AMBER), (date(2026, 3, 31), Rag.RED),
    ]  # fmt: skip
    guessed = [w for w in plan.warnings if "from its contents" in w]
    assert len(guessed) == 1 and "'Col7' read as the RAG rating" in guessed[0] and "%" in guessed[0]
    assert plan.guesses == [{"column": "Col7", "field": "rag", "confidence": 1.0, "why": "3 of 3 cells are RAG ratings"}]


def test_map_overrides_what_the_contents_suggest() -> None:
    plan = read_plan_text(CUT_OFF, mapping={"Col7": "extra"})
    assert all(a.rag is None for a in plan.actions) and plan.guesses == []
    assert plan.actions[0].extra["Col7"] == "G"


def test_numeric_date_order_is_decided_once_per_file() -> None:
    head = "Ref\tAction\tLead\tTarget\n"
    month_first = read_plan_text(head + "1\tAudit files\tAnn Lee\t7/25/2025\n2\tTrain staff\tAnn Lee\t3/4/2026\n")
    assert [a.target_date for a in month_first.actions] == [date(2025, 7, 25), date(2026, 3, 4)]
    assert any("numeric dates were read month-first: the file's own dates settle it (e.g. 7/25/2025)" in w for w in month_first.warnings)
    day_first = read_plan_text(head + "1\tAudit files\tAnn Lee\t25/7/2025\n2\tTrain staff\tAnn Lee\t3/4/2026\n")
    assert [a.target_date for a in day_first.actions] == [date(2025, 7, 25), date(2026, 4, 3)]  # UK order when nothing says otherwise
    mixed = read_plan_text(head + "1\tAudit files\tAnn Lee\t25/7/2025\n2\tTrain staff\tAnn Lee\t7/26/2025\n")
    assert mixed.actions[0].target_date == date(2025, 7, 25) and mixed.actions[1].target_date is None
    assert any("contradict each other" in w and "7/26/2025 (written the other way) kept as written" in w for w in mixed.warnings)  # said, not silently guessed


def test_a_start_date_is_not_the_target_and_recurring_or_tbc_targets_have_no_date() -> None:
    text = ("Ref\tAction\tLead\tStart date\tTarget\n"
            "1\tAudit files\tAnn Lee\tJanuary 2025\tAnnually\n"
            "2\tTrain staff\tAnn Lee\tMarch 2025\tTBC\n"
            "3\tPublish the offer\tAnn Lee\tApril 2025\tJune 2025\n")  # fmt: skip
    plan = read_plan_text(text)
    assert plan.mapping["Start date"] == "extra"
    assert [(a.target_kind, a.target_date) for a in plan.actions] == [("ongoing", None), ("empty", None), ("month", date(2025, 6, 30))]
    assert plan.actions[0].extra == {"Start date": "January 2025"}


def test_several_roles_in_one_lead_cell() -> None:
    from bot.importer import split_leads

    assert split_leads("Education Safeguarding Lead and Partnership Business Manager") == [
        "Education Safeguarding Lead", "Partnership Business Manager"]  # fmt: skip
    assert split_leads("Director of Children's Services and Head of Early Help") == [
        "Director of Children's Services", "Head of Early Help"]  # fmt: skip
    assert split_leads("Detective Inspector / Head of Service MASH") == ["Detective Inspector", "Head of Service MASH"]
    # one role whose name has "and" in it stays whole
    assert split_leads("Head of Safeguarding & Quality Assurance") == ["Head of Safeguarding & Quality Assurance"]
    assert split_leads("HoS Commissioning and Transformation Projects") == ["HoS Commissioning and Transformation Projects"]


@pytest.mark.parametrize(
    ("cell", "leads"),
    [
        # a job title, a comma, then its field of work: one lead
        ("Assistant Director, Children's Services", ["Assistant Director, Children's Services"]),
        ("Team Manager, Duty and Assessment", ["Team Manager, Duty and Assessment"]),
        ("Service Manager, Children in Care", ["Service Manager, Children in Care"]),
        # a field of two capitalised words reads like a name, but names a field of work
        ("Principal Social Worker, Practice Development", ["Principal Social Worker, Practice Development"]),
        ("Head of Service, Early Help", ["Head of Service, Early Help"]),
        # a title of one word
        ("Director, Learning and Skills", ["Director, Learning and Skills"]),
        ("Director, Children's Services", ["Director, Children's Services"]),
        # a comma before another title, a name, a body or an initialism: two leads
        ("Director of Children's Services, Head of Early Help", ["Director of Children's Services", "Head of Early Help"]),
        ("Head of Service, Assistant Director", ["Head of Service", "Assistant Director"]),
        ("Head of Service, Early Help Partnership", ["Head of Service", "Early Help Partnership"]),
        ("Head of Service, DCS", ["Head of Service", "DCS"]),
        ("Nick O'Reilly, Jacqui Jensen", ["Nick O'Reilly", "Jacqui Jensen"]),
        ("Principal Social Worker, Nina Martin", ["Principal Social Worker", "Nina Martin"]),
        ("Director, Nina Martin", ["Director", "Nina Martin"]),
    ],
)
def test_a_title_keeps_its_field_after_a_comma(cell: str, leads: list[str]) -> None:
    from bot.importer import split_leads

    assert split_leads(cell) == leads


@pytest.mark.parametrize(
    ("cell", "leads"),
    [
        ("Head of Service\nService Manager, Safeguarding", ["Head of Service", "Service Manager, Safeguarding"]),
        ("Ailsa Barr\nPhil Bradley\nNick O'Reilly", ["Ailsa Barr", "Phil Bradley", "Nick O'Reilly"]),
        ("DCS\nAD Early Help", ["DCS", "AD Early Help"]),
        ("Head of Children's\nservices (interim)", ["Head of Children's services (interim)"]),  # wrapped: lower case
        ("Head of Early Help and\nPrevention", ["Head of Early Help and Prevention"]),  # a line ending in "and"
        ("Assistant Director,\nchildren's social care", ["Assistant Director, children's social care"]),  # ending in ","
        ("Director of Children's\nServices", ["Director of Children's Services"]),  # one word is the title's end
        ("Head of Service\nMASH", ["Head of Service MASH"]),
        ("Head of Service Service Manager, Safeguarding", ["Head of Service Service Manager, Safeguarding"]),  # no break: no guess
    ],
)
def test_leads_on_separate_lines_of_one_cell(cell: str, leads: list[str]) -> None:
    from bot.importer import split_leads

    assert split_leads(cell) == leads
    assert split_leads(cell.replace("\n", "\u2028")) == leads  # the importer's marker reads the same


def test_a_line_break_is_a_space_in_every_field_but_the_lead(tmp_path) -> None:
    """Word cells with a second paragraph or a <w:br/>, and an Excel cell with Alt+Enter: the
    lead keeps the break, the action, progress and target read it as a space, and a body
    paragraph with a line break is one paragraph as before."""
    import docx
    import openpyxl

    from bot.importer import read_plan

    rows = [["Ref", "Action", "Lead", "Target", "Progress"],
            ["1.1", "Audit thirty case files\neach quarter", "Head of Service\nPrincipal Social Worker", "31 March\n2026", "Started in\nJanuary"]]  # fmt: skip
    document = docx.Document()
    title = document.add_paragraph("Northmoor Borough Council")
    title.add_run().add_break()
    title.add_run("Improvement Plan, June 2025")
    table = document.add_table(rows=2, cols=5)
    for c, value in enumerate(rows[0]):
        table.cell(0, c).text = value
    for c, value in enumerate(rows[1]):
        cell = table.cell(1, c)
        first, *more = value.split("\n")
        cell.text = first
        for line in more:  # separate paragraphs in the cell, not <w:br/>
            cell.add_paragraph(line)
    document.save(tmp_path / "plan.docx")
    wb = openpyxl.Workbook()
    wb.active.append(["Northmoor Borough Council Improvement Plan, June 2025"])
    for row in rows:
        wb.active.append(row)
    wb.save(tmp_path / "plan.xlsx")
    for name in ("plan.docx", "plan.xlsx"):
        plan = read_plan(tmp_path / name)
        (a,) = plan.actions
        assert (a.text, a.progress, a.target_date) == ("Audit thirty case files each quarter", "Started in January", date(2026, 3, 31)), name
        assert a.lead_text == "Head of Service\nPrincipal Social Worker", name
        assert plan.to_json()["actions"][0]["leads"] == ["Head of Service", "Principal Social Worker"]
    assert read_plan(tmp_path / "plan.docx").preamble == ["Northmoor Borough Council Improvement Plan, June 2025"]


def test_structural_refs_are_stable_when_an_action_is_added_elsewhere() -> None:
    def plan(extra_in_first: bool) -> dict[str, str]:
        rows = ["Action\tLead\tTarget", "Recommendation 1: Improve plans",
                "Audit plans\tAnn Lee\tMay 2025", "Train managers\tBob Roy\tJune 2025"]  # fmt: skip
        if extra_in_first:
            rows.append("Refresh the template\tAnn Lee\tJuly 2025")
        rows += ["Recommendation 2: Improve supervision", "Set a supervision standard\tCat Dunn\tMay 2025",
                 "Audit supervision records\tCat Dunn\tAugust 2025"]  # fmt: skip
        return {a.text: a.ref for a in read_plan_text("\n".join(rows) + "\n").actions}

    before, after = plan(False), plan(True)
    assert before == {"Audit plans": "1.1", "Train managers": "1.2", "Set a supervision standard": "2.1", "Audit supervision records": "2.2"}
    assert after == before | {"Refresh the template": "1.3"}  # nothing else renumbered


RAG_UNDER_TARGET = """Northmoor Borough Council
Improvement Plan, June 2025

Ref\tAction\tLead\tTarget\tProgress
1.1\tRefresh the threshold document and publish it to partners\tHead of Early Help\tGreen\tDraft agreed
1.2\tAudit 20 front door contacts each month\tService Manager MASH\tAmber\tTwo audits done
1.3\tRecruit four permanent social workers\tHR Business Partner\tRed\tAdvert out
"""


def test_a_heading_its_column_contradicts_is_read_by_the_contents() -> None:
    """"Target" over R/A/G words is the rating: said in the preview with how sure, and --map
    puts it back."""
    plan = read_plan_text(RAG_UNDER_TARGET)
    assert [(a.rag, a.target_kind) for a in plan.actions] == [(Rag.GREEN, "empty"), (Rag.AMBER, "empty"), (Rag.RED, "empty")]
    assert plan.mapping["Target"] == "rag"
    assert plan.guesses == [{"column": "Target", "field": "rag", "confidence": 1.0,
                             "why": "3 of 3 cells are RAG ratings, not a target date as its heading says"}]  # fmt: skip
    said = next(w for w in plan.warnings if "'Target' read as the RAG rating" in w)
    assert "sure, 100%" in said and "--map 'Target=FIELD'" in said
    kept = read_plan_text(RAG_UNDER_TARGET, mapping={"Target": "target"})
    assert kept.mapping["Target"] == "target" and kept.guesses == []
    assert all(a.rag is None and a.target_kind == "unknown" for a in kept.actions)


def test_two_headings_swapped_are_both_put_right() -> None:
    """"Lead" over dates and "Date" over role titles (the headings typed over the wrong columns)."""
    text = ("Ref\tAction\tLead\tDate\tRAG\n"
            "A1\tPublish the sufficiency strategy\t31/10/2025\tHead of Commissioning\tGreen\n"
            "A2\tReview every placement over two years\t30/11/2025\tService Manager, Children in Care\tAmber\n"
            "A3\tRecommission advocacy\tMarch 2026\tCommissioning Manager\tGreen\n")  # fmt: skip
    plan = read_plan_text(text)
    assert [(a.lead_text, a.target_date) for a in plan.actions] == [
        ("Head of Commissioning", date(2025, 10, 31)), ("Service Manager, Children in Care", date(2025, 11, 30)),
        ("Commissioning Manager", date(2026, 3, 31))]  # fmt: skip
    assert {g["column"]: g["field"] for g in plan.guesses} == {"Lead": "target", "Date": "lead"}


def test_a_status_heading_over_the_actions_text_is_the_action() -> None:
    text = ("Ref\tStatus\tLead\tTarget\n"
            "1\tIntroduce a practice week for every team manager\tPrincipal Social Worker\tMay 2026\n"
            "2\tPublish the neglect strategy with partners\tHead of Safeguarding\tJune 2026\n"
            "3\tTrain front door staff on consent and thresholds\tService Manager MASH\tJuly 2026\n")  # fmt: skip
    plan = read_plan_text(text)
    assert plan.actions[0].text == "Introduce a practice week for every team manager"
    assert all(a.status is None for a in plan.actions) and plan.mapping["Status"] == "action"
    assert not any("not understood" in w for w in plan.warnings)


@pytest.mark.parametrize(
    "targets",
    [
        ["Green", "Amber", "30/09/2025", "31/10/2025", "March 2026"],  # mostly dates: the heading stands
        ["Complete", "Complete", "Complete", "Complete", "31/10/2025"],  # done targets are still targets
    ],
)
def test_a_heading_is_kept_when_its_contents_do_not_plainly_contradict_it(targets: list[str]) -> None:
    rows = [f"{i}\tDo thing number {i} across the service\tHead of Service\t{t}\tGreen" for i, t in enumerate(targets, start=1)]
    plan = read_plan_text("\n".join(["Ref\tAction\tLead\tTarget\tRAG", *rows]) + "\n")
    assert plan.mapping["Target"] == "target" and plan.guesses == []
