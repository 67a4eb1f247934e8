"""The plan importer: real sample plans in three formats, invented shapes, and bad uploads."""

from __future__ import annotations

import codecs
import json
import struct
import zipfile
from datetime import date
from pathlib import Path

import docx
import openpyxl
import pytest

from bot.domain.model import Rag, RagScheme, Status
from bot.importer import (
    ParsedPlan,
    PlanFileError,
    read_plan,
    read_plan_text,
    read_status,
    split_leads,
)
from tests.conftest import BASIC, PLANS
from tests.fixtures.basic import make_plans as basic

PLAN_000 = "000_97cc3b5def30fa90"  # Rotherham improvement panel, October 2012
PLAN_003 = "003_73da126e79edb2e7"  # Derby, after the May 2011 inspection
PLAN_004 = "004_dfa084bea56eeef1"  # Rotherham ILACS, 14 November 2022
FORMATS = ("txt", "docx", "xlsx")

_cache: dict[tuple[str, str], ParsedPlan] = {}


def sample(name: str, fmt: str) -> ParsedPlan:
    if (name, fmt) not in _cache:
        folder = BASIC if name == basic.STEM else PLANS
        _cache[(name, fmt)] = read_plan(folder / f"{name}.{fmt}")
    return _cache[(name, fmt)]


def by_ref(plan: ParsedPlan) -> dict:
    return {a.ref: a for a in plan.actions}


def register(plan: ParsedPlan) -> list[tuple]:
    """What must not depend on the file format."""
    return [
        (a.ref, a.priority_ref, a.text, a.lead_text, a.target_raw, a.target_date, a.status, a.rag, a.progress,
         a.outputs, a.outcome_required, a.section, a.timescale)
        for a in plan.actions
    ]  # fmt: skip


def priorities(plan: ParsedPlan) -> list[tuple]:
    return [(p.ref, p.title, p.timescale, p.accountable_text, p.expected_outcome, tuple(p.findings)) for p in plan.priorities]


# ============================================================================================
# the three sample plans, each from .txt, .docx and .xlsx


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.real_plans) for n in (PLAN_000, PLAN_003, PLAN_004)]
                         + [basic.STEM])
def test_the_three_formats_give_the_same_register(name: str) -> None:
    txt, word, excel = (sample(name, fmt) for fmt in FORMATS)
    assert register(txt) == register(word) == register(excel)
    assert priorities(txt) == priorities(word) == priorities(excel)
    for plan in (word, excel):
        assert (plan.title, plan.organisation, plan.rag_scheme, plan.plan_date) == (
            txt.title, txt.organisation, txt.rag_scheme, txt.plan_date
        )
        assert len(plan.warnings) == len(txt.warnings)


@pytest.mark.real_plans
@pytest.mark.parametrize("fmt", FORMATS)
def test_000_rotherham_panel_plan(fmt: str) -> None:
    plan = sample(PLAN_000, fmt)
    assert plan.title == "Improvement Panel - Action Delivery Plan – October 2012"
    assert plan.organisation == "ROTHERHAM METROPOLITAN BOROUGH COUNCIL - CHILDREN AND YOUNG PEOPLE'S SERVICES"
    assert plan.plan_date == date(2012, 10, 1)
    assert plan.rag_scheme is RagScheme.RAG
    assert [p.ref for p in plan.priorities] == [f"CP{i}" for i in range(1, 14)]
    per_priority = {p.ref: sum(a.priority_ref == p.ref for a in plan.actions) for p in plan.priorities}
    assert per_priority == {
        "CP1": 5, "CP2": 2, "CP3": 1, "CP4": 3, "CP5": 1, "CP6": 4, "CP7": 3, "CP8": 2, "CP9": 4,
        "CP10": 3, "CP11": 6, "CP12": 1, "CP13": 1,
    }  # fmt: skip
    assert len(plan.actions) == 36
    assert [a.ref for a in plan.actions[:7]] == ["CP1.1", "CP1.2", "CP1.3", "CP1.4", "CP1.5", "CP2.1", "CP2.2"]
    assert plan.actions[-1].ref == "CP13.1" and plan.actions[-1].source_ref == "CP 13"
    actions = by_ref(plan)
    assert len(actions) == 36  # every ref unique

    cp13 = actions["CP1.3"]
    assert (cp13.target_raw, cp13.target_date, cp13.lead_text) == ("Nov 12", date(2012, 11, 30), "LSCB P&QA Sub Group")
    assert cp13.progress.startswith("Briefing events have been held on 2nd & 9th October")
    assert actions["CP1.5"].target_date == date(2013, 3, 31)
    assert actions["CP7.2"].target_date == date(2012, 9, 30)  # "Sept 12"
    # "complete" written in the date column
    assert actions["CP1.1"].status is Status.COMPLETE and actions["CP1.1"].target_date is None
    assert sum(a.status is Status.COMPLETE for a in plan.actions) == 14
    assert actions["CP11.3"].status is Status.IN_PROGRESS  # "Currently in progress on target…"

    # continuation rows after page breaks: text joined, not new actions
    assert actions["CP2.1"].text == "ICS Form to be amended with awareness sessions delivered"
    assert actions["CP2.1"].target_raw == "Complete"
    assert actions["CP2.1"].progress.endswith("Ongoing compliance to be monitored as part of QA framework")
    assert actions["CP7.2"].text == "New supervision policy to be launched in September with Team Managers"
    assert actions["CP9.3"].text == "Develop better and more innovative ways of capturing and hearing the child's voice."
    # a recommendation cell continuing on the next page, even on a row that starts a new action
    prio = {p.ref: p for p in plan.priorities}
    assert prio["CP2"].title == (
        "Ensure all strategy discussions meet statutory requirements, are clearly and fully recorded and signed off by a manager."
    )
    assert prio["CP11"].title.endswith("use this feedback to inform service development.")
    assert prio["CP13"].title.endswith("assurance work undertaken by partner agencies are reported to RLSCB.")
    assert actions["CP11.3"].text == "Analysis of baseline including gap analysis"

    # section rows give the timescale
    assert [prio[r].timescale for r in ("CP1", "CP4", "CP11")] == ["Immediate", "Within 3 Months", "Within 6 Months"]
    assert actions["CP10.3"].timescale == "Within 3 Months"
    # inline HTML gone
    assert actions["CP5.1"].lead_text == "Howard Woolfenden / Jason Harwin Borough wide Service Manager"
    assert actions["CP9.1"].lead_text == "Linda Alcock with P&Q Team Lynne Grice Saddington"
    assert not any("<" in a.text + a.progress + a.lead_text for a in plan.actions)
    # the shared ref is explained once
    shared = [w for w in plan.warnings if "share one ref" in w]
    assert len(shared) == 1 and "CP1.1" in shared[0]


@pytest.mark.real_plans
@pytest.mark.parametrize("fmt", FORMATS)
def test_003_derby_plan(fmt: str) -> None:
    plan = sample(PLAN_003, fmt)
    assert plan.title == "CHILDREN AND YOUNG PEOPLE IMPROVEMENT PLAN"
    assert plan.plan_date == date(2011, 5, 1)  # "carried out in May 2011"
    assert plan.rag_scheme is RagScheme.BRAG  # legend "Blue – Completed" and Blue cells
    assert plan.organisation == "" and any("organisation" in w for w in plan.warnings)

    # the summary table gives the 24 recommendations, not actions
    assert [p.ref for p in plan.priorities] == [str(i) for i in range(1, 25)]
    prio = {p.ref: p for p in plan.priorities}
    assert prio["7"].title.startswith("Audit children's cases where there is involvement of adult mental health")
    assert (prio["7"].timescale, prio["7"].accountable_text) == ("Three months", "Stephen Edgeley/ Gary Stokes/Nina Martin")
    assert prio["1"].section == "SAFEGUARDING SERVICES" and prio["13"].section == "LOOKED AFTER CHILDREN SERVICES"
    assert prio["9"].accountable_text == "Ruth Sargeant – East Midlands Specialist Commissioning Group"
    assert prio["3"].extra == {"Page reference for action plan": "Page 9"}
    assert any("recommendation 20's timescale" in w and "damaged" in w for w in plan.warnings)

    assert len(plan.actions) == 81
    refs = [a.ref for a in plan.actions]
    assert refs[:4] == ["1.1", "1.2", "1.3", "1.4"] and refs[-1] == "24.5" and "6.4" in refs
    assert {a.priority_ref for a in plan.actions} == {
        "1", "2", "3", "5", "6", "7", "8", "9", "10", "11", "12", "15", "17", "18", "19", "20", "22", "23", "24",
    }  # fmt: skip
    rags = [a.rag for a in plan.actions]
    assert (rags.count(Rag.BLUE), rags.count(Rag.GREEN), rags.count(Rag.AMBER), rags.count(Rag.RED)) == (67, 13, 1, 0)
    actions = by_ref(plan)
    assert actions["1.5"].rag is Rag.BLUE  # "Blue Blue"
    assert actions["19.1"].rag is Rag.AMBER and actions["19.1"].status is Status.IN_PROGRESS
    assert actions["7.3"].status is Status.IN_PROGRESS  # Green, "Work ongoing"
    assert actions["7.1"].status is Status.COMPLETE  # Blue, "Complete"
    assert actions["1.1"].target_date == date(2011, 12, 31) and actions["1.1"].target_raw == "December 2011 and annually"
    assert actions["5.1"].target_date == date(2011, 5, 21)  # "20 days" from the plan date
    assert actions["9.1"].lead_text == "Tina Smith - East Midlands Strategic Commissioning Group"
    assert actions["1.1"].outputs == "Suggested improvements to framework."
    # continuation rows: a lone outcome word and a lone progress sentence
    assert actions["6.3"].outcome_required.endswith("for discussion of issues and consistent practice.")
    assert actions["24.4"].progress.endswith("Care experience will develop skills in this area of work.")
    # footnotes are kept as notes, not actions
    assert any(n.startswith("1. Actions 1.3 and 11.4") for n in plan.notes)
    assert any("footnote" in w for w in plan.warnings)
    assert not any(a.text.startswith("Actions 1.3") for a in plan.actions)


@pytest.mark.real_plans
@pytest.mark.parametrize("fmt", FORMATS)
def test_004_rotherham_ilacs_plan(fmt: str) -> None:
    plan = sample(PLAN_004, fmt)
    assert plan.title == "Action Plan Ofsted ILACS Inspection Action Plan"
    assert plan.organisation == "Rotherham Children and Young People's Services"
    assert plan.plan_date == date(2022, 11, 14)
    assert plan.rag_scheme is RagScheme.BRAG  # "Progress BRAG"
    expected = [f"1.{i}" for i in range(1, 5)] + [f"2.{i}" for i in range(1, 14)]
    expected += [f"3.{i}" for i in range(1, 10)] + [f"4.{i}" for i in range(1, 7)]
    assert [a.ref for a in plan.actions] == expected
    assert [a.priority_ref for a in plan.actions] == [r.split(".")[0] for r in expected]

    statuses = {a.ref: a.status for a in plan.actions}
    assert [statuses[r] for r in ("1.1", "1.2", "1.3", "2.2", "2.3")] == [Status.SIGNED_OFF] * 5
    assert statuses["2.1"] is Status.COMPLETE  # complete, more time asked for assurance
    assert statuses["1.4"] is Status.IN_PROGRESS and statuses["4.6"] is Status.IN_PROGRESS
    assert [r for r, s in statuses.items() if s is Status.NOT_STARTED] == [
        "2.9", "2.10", "2.11", "2.12", "2.13", "3.6", "3.7", "3.9",
    ]  # fmt: skip
    assert sum(s is Status.IN_PROGRESS for s in statuses.values()) == 18

    actions = by_ref(plan)
    assert actions["2.13"].text == (
        "Benchmark our practice specifically in relation to unaccompanied asylum-seeking children (UASC) against "
        "outstanding authorities that have particular strengths in equality and diversity around young people to "
        "inform Rotherham's practice and assessment planning for their future."
    )
    assert (actions["4.1"].target_raw, actions["4.1"].target_date) == ("LLG to be established by October 2022", date(2022, 10, 31))
    assert actions["1.1"].lead_text == "HoS First Response"
    assert actions["1.1"].progress.endswith("DLT 15th November 2022.")

    assert [p.ref for p in plan.priorities] == ["1", "2", "3", "4"]
    assert [len(p.findings) for p in plan.priorities] == [2, 2, 1, 1]
    first = plan.priorities[0]
    assert first.title.startswith("Consideration of previous history and current circumstances")
    assert first.findings[0].startswith("During the initial screening for non-urgent situations")
    assert first.expected_outcome.startswith("The deep dive audit demonstrates")
    assert plan.priorities[2].findings[0].startswith("Care leavers have pathway plans")  # "•" bullet stripped

    # the garbled text after 1.4 (an action that lost its ref at a page break) is reported, not dropped
    [fragment] = [w for w in plan.warnings if "Undertake case files audits" in w]
    assert "after action 1.4" in fragment and "9 row(s)" in fragment
    assert "Head of Safeguarding & Quality Assurance" in fragment
    assert {"txt": "line 45", "docx": "table 2, row 1", "xlsx": "row 22"}[fmt] in fragment
    assert len(plan.warnings) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_invented_anytown_plan(fmt: str) -> None:
    """The invented plan in tests/fixtures/basic: the same shapes as the real 004 (priorities as
    paragraphs with findings and an expected outcome, role leads, BRAG, status phrases), plus a
    header row repeated at a page break, a continuation row and relative and two-month targets."""
    plan = sample(basic.STEM, fmt)
    assert (plan.title, plan.organisation) == ("Ofsted ILACS Inspection Action Plan", "Anytown Council Children's Services")
    assert plan.plan_date == date(2026, 11, 2) and plan.rag_scheme is RagScheme.BRAG
    assert [a.ref for a in plan.actions] == basic.REFS and plan.warnings == []
    assert [a.priority_ref for a in plan.actions] == [r.split(".")[0] for r in basic.REFS]
    actions = by_ref(plan)
    assert [actions[r].status for r in ("1.1", "1.2", "1.3", "2.1")] == [
        Status.SIGNED_OFF, Status.IN_PROGRESS, Status.NOT_STARTED, Status.IN_PROGRESS]
    assert [actions[r].rag for r in ("1.1", "1.2", "1.3", "2.1", "2.5")] == [Rag.BLUE, Rag.GREEN, None, Rag.AMBER, Rag.RED]
    targets = {r: (a.target_raw, a.target_date) for r, a in actions.items()}
    assert targets["1.3"] == ("Within 3 months", date(2027, 2, 2))  # counts from the plan's date
    assert targets["2.1"] == ("Nov 26", date(2026, 11, 30))
    assert targets["2.3"] == ("September/ October 2026", date(2026, 10, 31))  # the later month
    assert targets["2.4"] == ("30/11/2026", date(2026, 11, 30))
    assert split_leads(actions["1.3"].lead_text) == ["Tom Okafor", "Grace Lee"]
    assert actions["2.4"].lead_text == "HoS First Response"
    assert actions["2.5"].text == ("Quarterly audit of care plans for identity and culture and report the findings to the "
                                   "Directorate Leadership Team.")  # the continuation row joined
    first = plan.priorities[0]
    assert [p.ref for p in plan.priorities] == ["1", "2"]
    assert first.title == "Consideration of history when responding to front door contacts"
    assert first.findings[0].startswith("Staff at the front door do not always consider")
    assert first.expected_outcome.startswith("Audits show that the front door")


def test_json_shape_on_the_invented_plan() -> None:
    data = json.loads(json.dumps(sample(basic.STEM, "docx").to_json()))
    assert set(data) >= {"plan", "priorities", "actions", "warnings"}
    assert set(data["plan"]) >= {"title", "organisation", "rag_scheme"} and data["plan"]["rag_scheme"] == "BRAG"
    assert set(data["priorities"][0]) >= {"ref", "title", "timescale"}
    first = data["actions"][0]
    assert set(first) >= {
        "ref", "priority_ref", "text", "lead", "target_raw", "target_date", "status", "rag", "progress", "history",
    }  # fmt: skip
    assert (first["ref"], first["priority_ref"], first["target_date"], first["status"], first["rag"]) == (
        "1.1", "1", "2026-07-31", "signed_off", "B",
    )  # fmt: skip


@pytest.mark.real_plans
def test_json_shape_is_what_the_cli_prints() -> None:
    data = json.loads(json.dumps(sample(PLAN_004, "docx").to_json()))
    assert set(data) >= {"plan", "priorities", "actions", "warnings"}
    assert set(data["plan"]) >= {"title", "organisation", "rag_scheme"}
    assert data["plan"]["rag_scheme"] == "BRAG"
    assert set(data["priorities"][0]) >= {"ref", "title", "timescale"}
    first = data["actions"][0]
    assert set(first) >= {
        "ref", "priority_ref", "text", "lead", "target_raw", "target_date", "status", "rag", "progress", "history",
    }  # fmt: skip
    assert (first["ref"], first["priority_ref"], first["target_date"], first["status"], first["rag"]) == (
        "1.1", "1", "2022-07-31", "signed_off", None,
    )  # fmt: skip
    derby = sample(PLAN_003, "xlsx").to_json()["actions"][0]
    assert (derby["rag"], derby["status"], derby["target_date"]) == ("B", "complete", "2011-12-31")
    cp = sample(PLAN_000, "txt").to_json()["actions"]
    assert [a["target_date"] for a in cp[:3]] == [None, None, "2012-11-30"]


# ============================================================================================
# fixtures of other shapes, built here


def make_xlsx(path: Path, rows: list[list], *, merges: tuple[str, ...] = (), title: str = "Plan", more: dict | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    for rng in merges:
        ws.merge_cells(rng)
    for name, (sheet_rows, state) in (more or {}).items():
        extra = wb.create_sheet(name)
        for row in sheet_rows:
            extra.append(row)
        extra.sheet_state = state
    wb.save(path)
    return path


def make_docx(path: Path, items: list) -> Path:
    """Paragraphs (str) and tables (list of rows) in order."""
    document = docx.Document()
    for item in items:
        if isinstance(item, str):
            document.add_paragraph(item)
        else:
            table = document.add_table(rows=len(item), cols=len(item[0]))
            for r, row in enumerate(item):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
    document.save(path)
    return path


def test_two_progress_columns_each_with_a_rag_become_history(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "two.xlsx", [
        ["Westshire County Council"],
        ["Improvement Plan 2024 – Children's Services"],
        ["Ref", "Action", "Lead Officer", "Target Date", "Progress (End of September)", "RAG (End of September)",
         "Progress (End of November)", "RAG (End of November)", "Budget"],
        ["1.1", "Recruit two senior social workers", "Ann Lee", "31/01/2025", "Adverts out", "Amber", "Both posts filled", "Gree", "£40k"],
        ["1.2", "Refresh the audit tool", "Bob Roy", "Q1 2025", "Draft written", "Green", None, None, None],
        ["1.3", "Launch the new front door", "Cat Dunn", "March 2025", None, None, "Launched early", "Blue", None],
    ])  # fmt: skip
    plan = read_plan(path)
    assert plan.organisation == "Westshire County Council"
    assert plan.title == "Improvement Plan 2024 – Children's Services"
    a, b, c = plan.actions
    assert [(h.label, h.text, h.rag) for h in a.history] == [
        ("End of September", "Adverts out", Rag.AMBER),
        ("End of November", "Both posts filled", Rag.GREEN),  # "Gree" cut off
    ]
    assert (a.progress, a.rag) == ("Both posts filled", Rag.GREEN)  # the latest is the current one
    assert (b.progress, b.rag) == ("Draft written", Rag.GREEN)  # nothing new in November
    assert [h.label for h in b.history] == ["End of September"]
    assert (c.rag, c.status) == (Rag.BLUE, Status.COMPLETE)
    assert plan.rag_scheme is RagScheme.BRAG
    assert a.target_date == date(2025, 1, 31) and b.target_date == date(2025, 3, 31)
    # the unknown column is kept, reported once, never dropped
    assert a.extra == {"Budget": "£40k"} and plan.extra_columns == ["Budget"]
    assert sum("'Budget'" in w for w in plan.warnings) == 1
    assert plan.mapping["Progress (End of November)"] == "progress"
    assert plan.to_json()["actions"][0]["history"][1] == {"label": "End of November", "text": "Both posts filled", "rag": "G"}


def test_level_of_achievement_and_links_in_a_word_plan(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "achieve.docx", [
        "Northvale Borough Council",
        "Ofsted Improvement Action Plan – 3 March 2024",
        "Area for improvement 1 – Quality of supervision",
        [["Ref No", "Key actions", "Resp. Officer", "By When", "Evidence", "Level of achievement", "Link to other plans"],
         ["A1", "Monthly supervision audit", "Jo Bell & Sam Hart", "June 2024", "Audit report May", "Achieved", "Workforce plan W3"],
         ["A2", "Supervision training for managers", "Jo Bell", "Within 3 months", "Dates set", "Partially achieved", ""],
         ["A3", "Peer review of supervision", "Sam Hart", "", "", "Not achieved", "QA framework"]],
    ])  # fmt: skip
    plan = read_plan(path)
    assert plan.plan_date == date(2024, 3, 3)
    assert [p.ref for p in plan.priorities] == ["1"] and plan.priorities[0].title == "Quality of supervision"
    a1, a2, a3 = plan.actions
    assert (a1.priority_ref, a1.links, a1.achievement, a1.status) == ("1", "Workforce plan W3", "Achieved", Status.COMPLETE)
    assert a1.progress == "Audit report May"  # "Evidence" is the progress column
    assert split_leads(a1.lead_text) == ["Jo Bell", "Sam Hart"]
    assert a2.status is Status.IN_PROGRESS and a2.target_date == date(2024, 6, 3)  # 3 months from the plan date
    assert a3.status is Status.NOT_STARTED and a3.links == "QA framework"
    assert any("no target date" in w and "A3" in w for w in plan.warnings)
    assert plan.mapping == {
        "Ref No": "ref", "Key actions": "action", "Resp. Officer": "lead", "By When": "target", "Evidence": "progress",
        "Level of achievement": "achievement", "Link to other plans": "links",
    }  # fmt: skip


def test_merged_lead_and_recommendation_cells_in_excel(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "merged.xlsx", [
        ["Eastford City Council action plan"],
        ["Ref", "Recommendation", "Action", "Lead Officer", "Target"],
        ["R1", "Improve the timeliness of assessments", "Weekly performance clinic", "Dee Moss", "Jan 2025"],
        [None, None, "Extra agency capacity", None, "Feb 2025"],
        [None, None, "Review the assessment template", None, "Mar 2025"],
        ["R2", "Strengthen management oversight", "Case direction template", "Eli Park", "Apr 2025"],
    ], merges=("A3:A5", "B3:B5", "D3:D5"))  # fmt: skip
    plan = read_plan(path)
    assert [(a.ref, a.lead_text, a.priority_ref) for a in plan.actions] == [
        ("R1.1", "Dee Moss", "R1"), ("R1.2", "Dee Moss", "R1"), ("R1.3", "Dee Moss", "R1"), ("R2.1", "Eli Park", "R2"),
    ]  # fmt: skip
    assert [p.title for p in plan.priorities] == ["Improve the timeliness of assessments", "Strengthen management oversight"]
    assert plan.actions[2].target_date == date(2025, 3, 31)


def test_merged_cells_in_word_tables(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Southby Council improvement plan")
    table = document.add_table(rows=5, cols=4)
    rows = [["Ref", "Action", "Lead", "Target"], ["Immediate", "", "", ""], ["1", "First action", "Ann Lee", "May 2025"],
            ["2", "Second action", "", "June 2025"], ["3", "Third action", "Bob Roy", "July 2025"]]  # fmt: skip
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value:
                table.cell(r, c).text = value
    table.cell(1, 0).merge(table.cell(1, 3))  # a section title across the table
    table.cell(2, 2).merge(table.cell(3, 2))  # one lead for two actions
    path = tmp_path / "merged.docx"
    document.save(path)
    plan = read_plan(path)
    assert [(a.ref, a.lead_text, a.timescale) for a in plan.actions] == [
        ("1", "Ann Lee", "Immediate"), ("2", "Ann Lee", "Immediate"), ("3", "Bob Roy", "Immediate"),
    ]  # fmt: skip


def test_word_automatic_numbering_and_tracked_insertions(tmp_path: Path) -> None:
    """Numbers and bullets Word draws itself are read like typed ones; text added with track
    changes on is read, deleted text is not."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.add_paragraph("Eastvale Council Improvement Plan")
    document.add_paragraph("Improve the quality of plans", style="List Number")
    document.add_paragraph("From the report Ofsted told us:")
    document.add_paragraph("Plans lack detail about risk", style="List Bullet")
    table = document.add_table(rows=3, cols=4)
    for c, value in enumerate(["Ref", "Action", "Lead", "Target"]):
        table.cell(0, c).text = value
    for r, (action, lead) in enumerate([("Rewrite the plan template", "Ann Lee"), ("Audit ten plans", "Bob Roy")], start=1):
        table.cell(r, 0).paragraphs[0].style = document.styles["List Number 2"]  # the ref is a Word list number
        table.cell(r, 1).text = action
        table.cell(r, 2).text = lead
        table.cell(r, 3).text = "May 2025"
    cell_p = table.cell(2, 1).paragraphs[0]._p
    cell_p.append(parse_xml(f'<w:ins {nsdecls("w")} w:id="1" w:author="A"><w:r><w:t xml:space="preserve"> each quarter</w:t></w:r></w:ins>'))
    cell_p.append(parse_xml(f'<w:del {nsdecls("w")} w:id="2" w:author="A"><w:r><w:delText> monthly</w:delText></w:r></w:del>'))
    path = tmp_path / "numbered.docx"
    document.save(path)

    plan = read_plan(path)
    assert [(p.ref, p.title, p.findings) for p in plan.priorities] == [
        ("1", "Improve the quality of plans", ["Plans lack detail about risk"]),
    ]  # fmt: skip
    assert [(a.ref, a.text, a.priority_ref) for a in plan.actions] == [
        ("1", "Rewrite the plan template", "1"), ("2", "Audit ten plans each quarter", "1"),
    ]  # fmt: skip
    assert [a.source_ref for a in plan.actions] == ["1.", "2."]  # read from the list numbers, not made up


MARKDOWN = """# Kirkby Council – SEND improvement plan

Plan agreed 12 February 2025.

| Ref | Actions | Lead Officers | Timescale | Progress | RAG |
|-----|---------|---------------|-----------|----------|-----|
| 1.1 | Publish the **local offer** | Fay Green / Gus Hill | April 2025 | In progress – on track | Green |
| 1.2 | Train SENCOs | Gus Hill | Ongoing | Not yet started | Amber |
"""


def test_markdown_table_from_a_file_and_pasted(tmp_path: Path) -> None:
    path = tmp_path / "send.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    for plan in (read_plan(path), read_plan_text(MARKDOWN)):
        assert plan.title == "Kirkby Council – SEND improvement plan"
        assert plan.plan_date == date(2025, 2, 12)
        a, b = plan.actions
        assert (a.ref, a.text, a.lead_text, a.status, a.rag) == (
            "1.1", "Publish the local offer", "Fay Green / Gus Hill", Status.IN_PROGRESS, Rag.GREEN,
        )  # fmt: skip
        assert (b.target_kind, b.target_date, b.status) == ("ongoing", None, Status.NOT_STARTED)
    assert read_plan_text(MARKDOWN).source_file == "pasted"


def test_pasted_tab_separated_rows_with_a_title() -> None:
    text = "Team plan\nRef\tAction\tLead\tTarget\n1\tFix the rota\tAnn Lee\t14/03/2025\n2\tNew rota live\tAnn Lee\tcomplete\n"
    plan = read_plan_text(text, source="slack paste", plan_name="Rota plan")
    assert plan.title == "Rota plan" and plan.source_file == "slack paste"
    assert [(a.ref, a.target_date, a.status) for a in plan.actions] == [
        ("1", date(2025, 3, 14), None), ("2", None, Status.COMPLETE),
    ]  # fmt: skip


def test_csv_in_windows_1252(tmp_path: Path) -> None:
    text = (
        "Ref;Action required;Responsible Officer;Target End Date;Progress made;RAG rating\r\n"
        "1;Agree the £20,000 budget – with finance;Hal Ives;June 2025;Complete – signed by s151;Blue\r\n"
        "2;Café-style drop-in sessions;Ivy Jones;July 2025;Underway;Amber\r\n"
    )
    path = tmp_path / "plan.csv"
    path.write_bytes(text.encode("cp1252"))
    plan = read_plan(path)
    assert plan.encoding == "cp1252"
    assert any("Windows-1252" in w for w in plan.warnings)
    a, b = plan.actions
    assert a.text == "Agree the £20,000 budget – with finance" and b.text == "Café-style drop-in sessions"
    assert (a.status, a.rag, b.status, b.rag) == (Status.COMPLETE, Rag.BLUE, Status.IN_PROGRESS, Rag.AMBER)


def test_csv_in_utf8_with_bom_and_commas(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_bytes(codecs.BOM_UTF8 + b'Ref,Action,Lead,Target\n1,"Audit, then report",Kim Long,Dec 2025\n')
    plan = read_plan(path)
    assert plan.encoding == "utf-8-sig"
    assert plan.actions[0].text == "Audit, then report" and plan.actions[0].target_date == date(2025, 12, 31)


def test_short_headings_id_owner_due(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "short.xlsx", [["ID", "Action", "Owner", "Due", "Status"], ["A1", "Do it", "Ann Lee", "2025-06-30", "Red"]])
    [action] = read_plan(path).actions
    assert (action.ref, action.lead_text, action.target_date, action.rag, action.status) == (
        "A1", "Ann Lee", date(2025, 6, 30), Rag.RED, Status.IN_PROGRESS,
    )  # fmt: skip


def test_formula_guard_apostrophes_are_removed(tmp_path: Path) -> None:
    """Exports (ours too) put ' before text starting with = + - @ so it cannot run as a formula."""
    path = tmp_path / "guarded.csv"
    path.write_text("Ref,Action,Lead,Progress\n1,'=HYPERLINK(\"x\"),Ann Lee,'-5% on last year\n2,'Tis the season,Bob Roy,\n")
    a, b = read_plan(path).actions
    assert (a.text, a.progress, b.text) == ('=HYPERLINK("x")', "-5% on last year", "'Tis the season")


def test_original_and_revised_targets_and_a_priority_ref_column(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "rebaselined.xlsx", [
        ["Priority Ref", "Recommendation", "Ref", "Action", "Lead Officer", "Original Target", "Revised Target",
         "Reason for Revision", "Status", "RAG", "Latest Progress", "Last Updated"],
        ["2", "Recommendation 2 – Assessment of identity needs", "2.1", "Revise the form", "Ann Lee", "2022-09-30",
         "2023-03-31", "staffing", "In progress", "Amber", "Draft out", "2022-11-01"],
        ["2", "Recommendation 2 – Assessment of identity needs", "2.2", "Train staff", "Bob Roy", "Ongoing", None, None,
         "Not started", None, None, None],
    ])  # fmt: skip
    plan = read_plan(path)
    assert [(p.ref, p.title) for p in plan.priorities] == [("2", "Assessment of identity needs")]
    a, b = plan.actions
    assert (a.ref, a.priority_ref, a.target_date, a.revised_target_date, a.revision_reason) == (
        "2.1", "2", date(2022, 9, 30), date(2023, 3, 31), "staffing",
    )  # fmt: skip
    assert (b.ref, b.priority_ref, b.target_kind, b.revised_target_date, b.status) == ("2.2", "2", "ongoing", None, Status.NOT_STARTED)
    assert a.extra == {}  # "Last Updated" is the register's own (an export writes it): read and left out
    assert plan.to_json()["actions"][0]["revised_target_date"] == "2023-03-31"


def test_a_mapping_names_columns_we_do_not_know(tmp_path: Path) -> None:
    rows = [["No.", "Task", "Champion", "Deadline"], ["1", "Do the thing", "Lou Moss", "Jan 2026"]]
    path = make_xlsx(tmp_path / "m.xlsx", rows)
    plain = read_plan(path)
    assert plain.actions[0].lead_text == "" and plain.actions[0].extra == {"Champion": "Lou Moss"}
    mapped = read_plan(path, mapping={"champion": "lead"})
    assert mapped.actions[0].lead_text == "Lou Moss" and mapped.mapping["Champion"] == "lead"
    with pytest.raises(PlanFileError, match="'boss' is not a field we know"):
        read_plan(path, mapping={"Champion": "boss"})


def test_rows_without_a_place_are_warned_about_with_where_they_were(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "odd.docx", [
        "Kenton Council plan",
        [["Ref", "Action", "Lead", "Target"], ["1", "First", "Ann Lee", "May 2025"]],
        "Please send updates to the improvement team by the 5th.",
        [["odd", "table"]],
    ])  # fmt: skip
    plan = read_plan(path)
    assert len(plan.actions) == 1
    assert any(w.startswith("paragraph 2: text not part of any action") for w in plan.warnings)
    assert any(w.startswith("table 2, row 1") and "'odd'" in w for w in plan.warnings)


def test_hidden_and_headerless_sheets(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "sheets.xlsx",
        [["Ref", "Action", "Lead", "Target"], ["1", "Do it", "Ann Lee", "May 2025"]],
        more={"Old": ([["Ref", "Action"], ["9", "old"]], "hidden"), "Notes": ([["just some notes"], ["more"]], "visible")},
    )
    plan = read_plan(path)
    assert [a.ref for a in plan.actions] == ["1"]
    assert any("sheet 'Old' is hidden" in w for w in plan.warnings)
    assert any("sheet 'Notes' has no column headings" in w for w in plan.warnings)


# ============================================================================================
# splitting leads and reading statuses


@pytest.mark.parametrize(
    ("text", "people"),
    [
        ("Nina Martin / Jacqui Jensen", ["Nina Martin", "Jacqui Jensen"]),
        ("HoS First Response", ["HoS First Response"]),
        ("LSCB P&QA Sub Group", ["LSCB P&QA Sub Group"]),
        ("Tina Smith - East Midlands Strategic Commissioning Group", ["Tina Smith - East Midlands Strategic Commissioning Group"]),
        ("Phil Bradley & Ailsa Barr", ["Phil Bradley", "Ailsa Barr"]),
        ("Stephen Edgeley/ Gary Stokes/Nina Martin", ["Stephen Edgeley", "Gary Stokes", "Nina Martin"]),
        ("Head of Safeguarding & Quality Assurance", ["Head of Safeguarding & Quality Assurance"]),
        ("Head of Locality Social Work and Disability Service", ["Head of Locality Social Work and Disability Service"]),
        ("Nick O'Reilly, Jacqui Jensen, Perveez Sadiq", ["Nick O'Reilly", "Jacqui Jensen", "Perveez Sadiq"]),
        ("Joyce Thacker Alan Hazell Linda Alcock", ["Joyce Thacker", "Alan Hazell", "Linda Alcock"]),
        ("Kevin Stevens With Senior Management Team", ["Kevin Stevens", "Senior Management Team"]),
        ("IRO/VSH", ["IRO", "VSH"]),
        ("", []),
    ],
)
def test_split_leads(text: str, people: list[str]) -> None:
    assert split_leads(text) == people


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Action Complete Sign off approved at the Evidence Challenge Panel on the 14 November 2022", Status.SIGNED_OFF),
        ("Reviewed at the Evidence Challenge Panel on the 14 November 2022 who agreed that the action was complete "
         "but requested further time for assurance", Status.COMPLETE),
        ("In Progress – on track", Status.IN_PROGRESS),
        ("Action awaiting start", Status.NOT_STARTED),
        ("Completed - Worker in post", Status.COMPLETE),
        ("Complete", Status.COMPLETE),
        ("On hold pending restructure", Status.ON_HOLD),
        ("Withdrawn by the board", Status.CANCELLED),
        ("Panel to be arranged", None),
        ("Analysis completed July 2011", None),
        ("", None),
    ],
)
def test_read_status(text: str, status: Status | None) -> None:
    assert read_status(text) is status


# ============================================================================================
# bad uploads: a clear message, never a partial result


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "plan.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(PlanFileError, match=r"\.pdf cannot be imported; upload \.xlsx, \.docx"):
        read_plan(path)


@pytest.mark.parametrize("name", ["plan.xlsm", "plan.docm"])
def test_macro_files_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 anything")
    with pytest.raises(PlanFileError, match=r"macro-enabled.*Macros can run code"):
        read_plan(path)


def test_a_macro_workbook_renamed_to_xlsx_is_refused(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "plan.xlsx", [["Ref", "Action", "Lead"], ["1", "x", "y"]])
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("xl/vbaProject.bin", b"\x00" * 100)
    with pytest.raises(PlanFileError, match="contains macros"):
        read_plan(path)


@pytest.mark.parametrize("name", ["plan.xlsx", "plan.docx", "plan.csv", "plan.txt"])
def test_empty_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(PlanFileError, match=r"is empty \(0 bytes\)"):
        read_plan(path)


def test_blank_text_and_blank_paste(tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    path.write_text("\n   \n")
    with pytest.raises(PlanFileError, match="no text"):
        read_plan(path)
    with pytest.raises(PlanFileError, match="nothing was pasted"):
        read_plan_text("  \n")


def test_files_over_10_mb_are_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    with pytest.raises(PlanFileError, match=r"11.0 MB; the limit is 10 MB"):
        read_plan(path)


@pytest.mark.parametrize("fmt", ["xlsx", "docx"])
def test_corrupt_office_files(tmp_path: Path, fmt: str) -> None:
    data = (BASIC / f"{basic.STEM}.{fmt}").read_bytes()
    path = tmp_path / f"broken.{fmt}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PlanFileError, match="damaged"):
        read_plan(path)


def test_a_damaged_part_inside_a_valid_zip(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(BASIC / f"{basic.STEM}.docx") as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[:200] if item.filename == "word/document.xml" else data)
    with pytest.raises(PlanFileError, match="damaged"):
        read_plan(path)


def test_another_kind_of_file_renamed(tmp_path: Path) -> None:
    path = tmp_path / "plan.docx"
    path.write_bytes((BASIC / f"{basic.STEM}.xlsx").read_bytes())
    with pytest.raises(PlanFileError, match=r"no word/document.xml inside"):
        read_plan(path)
    text = tmp_path / "plan.txt"
    text.write_bytes((BASIC / f"{basic.STEM}.xlsx").read_bytes())
    with pytest.raises(PlanFileError, match="really a Word or Excel file"):
        read_plan(text)


def _ole_file(stream_names: list[str]) -> bytes:
    """A minimal OLE2 compound file (the container Office uses for encrypted and 97-2003
    files): header, one FAT sector, one directory sector with the named empty streams."""
    free, end, fat_sect, nostream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
    header += struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, b"\x00" * 6, 0, 1, 1, 0, 4096, end, 0, end, 0)
    header += struct.pack("<109I", 0, *([free] * 108))
    fat = struct.pack("<128I", fat_sect, end, *([free] * 126))

    def entry(name: str, kind: int, child: int = nostream, right: int = nostream) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        return (raw.ljust(64, b"\x00") + struct.pack("<HBBIII", len(raw), kind, 1, nostream, right, child)
                + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16 + struct.pack("<IQ", end, 0))  # fmt: skip

    entries = [entry("Root Entry", 5, child=1)]
    for i, name in enumerate(stream_names, start=1):
        entries.append(entry(name, 2, right=i + 1 if i < len(stream_names) else nostream))
    directory = b"".join(entries).ljust(512, b"\x00")
    assert len(header) == 512
    return header + fat + directory


@pytest.mark.parametrize("name", ["plan.xlsx", "plan.docx"])
def test_password_protected_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(_ole_file(["EncryptionInfo", "EncryptedPackage"]))
    with pytest.raises(PlanFileError, match="password-protected"):
        read_plan(path)


def test_old_office_formats(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(_ole_file(["Workbook"]))  # an .xls with a new name
    with pytest.raises(PlanFileError, match="old Office 97-2003 format"):
        read_plan(path)
    old = tmp_path / "plan.xls"
    old.write_bytes(_ole_file(["Workbook"]))
    with pytest.raises(PlanFileError, match=r"Save As to save it as \.xlsx"):
        read_plan(old)


def _zip_as_xlsx(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", b"<workbook/>")
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_bombs_are_refused_before_openpyxl_opens_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args, **kwargs):
        raise AssertionError("openpyxl must not open this file")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    ratio = _zip_as_xlsx(tmp_path / "ratio.xlsx", {"xl/worksheets/sheet1.xml": b"\x00" * (20 * 1024 * 1024)})
    with pytest.raises(PlanFileError, match=r"zip bomb.*more than 100 times"):
        read_plan(ratio)
    # many members of exactly 1 MB each: no single ratio is checked, the total is
    total = _zip_as_xlsx(tmp_path / "total.xlsx", {f"xl/media/{i}.bin": b"\x00" * (1024 * 1024) for i in range(101)})
    with pytest.raises(PlanFileError, match="would unpack to 101 MB, over the 100 MB limit"):
        read_plan(total)


def test_wrong_encodings(tmp_path: Path) -> None:
    bad = tmp_path / "plan.csv"
    bad.write_bytes(b"Ref,Action\n1,caf\x81\x8d\n")  # bytes that are neither UTF-8 nor Windows-1252
    with pytest.raises(PlanFileError, match="neither UTF-8 nor Windows-1252"):
        read_plan(bad)
    utf16 = tmp_path / "plan.txt"
    utf16.write_bytes("Ref\tAction\n1\tx\n".encode("utf-16-le"))  # no BOM: NUL bytes everywhere
    with pytest.raises(PlanFileError, match="not a text file"):
        read_plan(utf16)
    with_bom = tmp_path / "bom.txt"
    with_bom.write_bytes("Ref\tAction\tLead\n1\tDo it\tAnn Lee\n".encode("utf-16"))
    assert read_plan(with_bom).encoding == "utf-16"


def test_garbled_utf8_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    path.write_text("Ref\tAction\tLead\n1\tAgree budget – now\tAnn Lee\n".encode().decode("cp1252"), encoding="utf-8")
    plan = read_plan(path)
    assert plan.actions[0].text == "Agree budget – now"
    assert any("garbled characters" in w for w in plan.warnings)


@pytest.mark.parametrize("fmt", ["xlsx", "docx", "txt", "csv"])
def test_no_header_row(tmp_path: Path, fmt: str) -> None:
    rows = [["Minutes of the meeting"], ["Item one", "was discussed"], ["Item two", "agreed"]]
    path = tmp_path / f"minutes.{fmt}"
    if fmt == "xlsx":
        make_xlsx(path, rows)
    elif fmt == "docx":
        make_docx(path, [rows[0][0], rows[1:]])
    else:
        sep = "," if fmt == "csv" else "\t"
        path.write_text("\n".join(sep.join(r) for r in rows))
    with pytest.raises(PlanFileError, match="no header row found: expected columns such as Ref, Action, Lead, Target"):
        read_plan(path)


def test_headers_but_no_actions(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "empty.xlsx", [["Ref", "Action", "Lead Officer", "Target Date"]])
    with pytest.raises(PlanFileError, match="no actions under them"):
        read_plan(path)


# ============================================================================================
# speed: streaming rows, no regex storms


def test_a_large_workbook_imports_every_row(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Big council plan"])
    ws.append(["Ref", "Recommendation", "Action", "Lead Officer", "Target Date", "Progress", "RAG", "Notes"])
    leads = ["Nina Martin", "Head of Safeguarding & Quality Assurance", "Phil Bradley & Ailsa Barr"]
    for i in range(4000):
        ws.append([
            f"{i // 10 + 1}.{i % 10 + 1}", f"Recommendation {i // 10 + 1} text" if i % 10 == 0 else None,
            f"Action number {i} to review and improve the audit of practice.", leads[i % 3],
            ["Nov 12", "March 2025", "31/01/2026", "Q2 2025"][i % 4],
            ["In Progress – on track", "Action awaiting start", f"Meeting held on {i % 28 + 1} May"][i % 3],
            ["Red", "Amber", "Green", "Blue"][i % 4], f"note {i}",
        ])  # fmt: skip
    wb.save(path)

    # how fast, against openpyxl reading the same file, is bench/bench_import.py's business
    plan = read_plan(path)
    assert len(plan.actions) == 4000 and plan.actions[-1].ref == "400.10"


def test_a_cell_spread_over_thousands_of_rows_is_joined_in_linear_time() -> None:
    rows = ["Ref\tAction\tLead\tTarget", "1\tStart of a long action\tAnn Lee\tMay 2025"]
    rows += [f"\tand the text goes on, part {i}\t\t" for i in range(20000)]
    plan = read_plan_text("\n".join(rows))
    [action] = plan.actions
    assert action.text.startswith("Start of a long action and the text goes on, part 0 and")
    assert action.text.endswith("part 19999")


def test_csv_with_title_lines_above_the_table(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("Hillside Council improvement plan\nPlan date 1 April 2025\nRef;Action;Lead;Target\n1;Do it;Ann Lee;May 2025\n")
    plan = read_plan(path)
    assert plan.title == "Hillside Council improvement plan" and plan.plan_date == date(2025, 4, 1)
    assert [(a.ref, a.lead_text) for a in plan.actions] == [("1", "Ann Lee")]


def test_blocks_are_streamed_not_buffered(tmp_path: Path) -> None:
    """The spreadsheet reader hands rows on one by one (a generator), so a big sheet is never
    held twice in memory."""
    from bot.importer.read import check_file, read_xlsx

    path = make_xlsx(tmp_path / "s.xlsx", [["Ref", "Action"], ["1", "x"]])
    _, head = check_file(path)
    source = read_xlsx(path, head)
    assert iter(source.blocks) is source.blocks
    assert [b.kind for b in source.blocks] == ["table", "row", "row"]


# ============================================================================================
# issue 12: tracked moves, headings among many unknown ones, long headings


def test_tracked_move_reads_the_moved_words_once(tmp_path: Path) -> None:
    """A sentence moved with track changes on is in the file twice (w:moveFrom where it was,
    w:moveTo where it went); a reader sees it once, where it went."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.add_paragraph("Eastvale Council Improvement Plan")
    table = document.add_table(rows=2, cols=4)
    for c, value in enumerate(["Ref", "Action", "Lead", "Target"]):
        table.cell(0, c).text = value
    table.cell(1, 0).text = "1.1"
    table.cell(1, 2).text = "Ann Lee"
    table.cell(1, 3).text = "May 2025"
    p = table.cell(1, 1).paragraphs[0]._p
    w = nsdecls("w")
    p.append(parse_xml(f'<w:moveFrom {w} w:id="1" w:author="A"><w:r><w:t xml:space="preserve">Audit ten plans. </w:t></w:r></w:moveFrom>'))
    p.append(parse_xml(f'<w:r {w}><w:t xml:space="preserve">Rewrite the template.</w:t></w:r>'))
    p.append(parse_xml(f'<w:moveTo {w} w:id="2" w:author="A"><w:r><w:t xml:space="preserve"> Audit ten plans.</w:t></w:r></w:moveTo>'))
    path = tmp_path / "moved.docx"
    document.save(path)
    assert [a.text for a in read_plan(path).actions] == ["Rewrite the template. Audit ten plans."]


def test_csv_headings_among_many_unknown_ones(tmp_path: Path) -> None:
    """An export from a case-management system: 4 headings we know among 196 we do not."""
    unknown = [f"Field {n}" for n in range(196)]
    header = ["Ref", *unknown[:100], "Action", "Lead officer", *unknown[100:], "Target date"]
    row = ["1.1", *["x"] * 100, "Publish the audit", "Ann Lee", *["y"] * 96, "31/03/2026"]
    path = tmp_path / "export.csv"
    path.write_text(",".join(header) + "\n" + ",".join(row) + "\n")
    plan = read_plan(path)
    (a,) = plan.actions
    assert (a.ref, a.text, a.lead_text, a.target_date) == ("1.1", "Publish the audit", "Ann Lee", date(2026, 3, 31))
    assert len(a.extra) == 196


def test_a_heading_over_80_characters(tmp_path: Path) -> None:
    long_heading = "Actions required to address the recommendation, including the improvements Ofsted identified"
    assert len(long_heading) > 80
    path = tmp_path / "long.csv"
    path.write_text(f'Ref,"{long_heading}",Lead officer,Target date\n1,Publish the audit,Ann Lee,March 2026\n')
    (a,) = read_plan(path).actions
    assert (a.ref, a.text, a.lead_text) == ("1", "Publish the audit", "Ann Lee")
