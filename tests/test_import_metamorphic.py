"""Metamorphic tests of the importer: the same plan written differently gives the same register.

Hypothesis draws a plan (recommendations, each with actions: text, lead, target, status,
rating) and a way of writing it; the register read from the rewritten plan must equal the one
read from the plain table. What is varied is what councils vary: the column order, the words
of the headings, recommendations as rows of the table or as paragraphs between tables, no ref
column at all (then the refs come from the structure: recommendation 2's third action is 2.3,
which is how the plain plan numbers them too), an action's text run on into a second row, and
several leads written one per line of the cell ("<br>" in a text copy) rather than with "/"."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.importer import ParsedPlan, read_plan_text, split_leads

VERBS = ["Review", "Publish", "Audit", "Introduce", "Recruit", "Train", "Refresh", "Commission", "Agree", "Deliver"]
OBJECTS = [
    "the threshold document with partners", "thirty case files each quarter", "a new supervision policy",
    "two permanent team managers", "front door staff on consent", "the local offer website",
    "an independent review of placements", "the joint commissioning framework", "termly reports to the board",
    "the missing from care protocol",
]  # fmt: skip
LEADS = ["Head of Early Help", "Principal Social Worker", "Service Manager MASH", "Director of Children's Services",
         "HR Business Partner", "Quality Assurance Manager", "Head of SEND"]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
STATUS_WORDS = {"not_started": "Not started", "in_progress": "In progress", "complete": "Complete"}
RAG_WORDS = {"R": "Red", "A": "Amber", "G": "Green"}

SYNONYMS = {
    "ref": ["Ref", "Ref No", "Reference", "No."],
    "action": ["Action", "Actions - what we will do", "Key actions", "Action required"],
    "lead": ["Lead", "Lead Officer", "Resp. Mgr", "Owner(s)", "Officer(s)", "Responsible officer"],
    "target": ["Target", "Target date", "By When?", "Deadline", "Completion date", "Timescale"],
    "status": ["Status", "Progress", "Current position", "Status update (Q2)"],
    "rag": ["RAG", "RAG rating", "Rating", "RAG status"],
}


@st.composite
def plans(draw):
    n_recs = draw(st.integers(1, 3))
    recs = []
    for r in range(1, n_recs + 1):
        n_actions = draw(st.integers(1, 4))
        actions = []
        for a in range(1, n_actions + 1):
            month = draw(st.integers(1, 12))
            year = draw(st.sampled_from([2025, 2026]))
            actions.append({
                "ref": f"{r}.{a}",
                "text": f"{draw(st.sampled_from(VERBS))} {draw(st.sampled_from(OBJECTS))}",
                "lead": draw(st.sampled_from(LEADS)),
                "target": draw(st.sampled_from([f"{MONTHS[month - 1]} {year}", f"28/{month:02d}/{year}"])),
                "status": draw(st.sampled_from(sorted(STATUS_WORDS))),
                "rag": draw(st.sampled_from(sorted(RAG_WORDS))),
            })  # fmt: skip
        recs.append({"ref": str(r), "title": f"Improve {draw(st.sampled_from(OBJECTS))}", "actions": actions})
    return recs


FIELDS = ("ref", "action", "lead", "target", "status", "rag")


def cell(a: dict, f: str) -> str:
    return {"ref": a["ref"], "action": a["text"], "lead": a["lead"], "target": a["target"],
            "status": STATUS_WORDS[a["status"]], "rag": RAG_WORDS[a["rag"]]}[f]  # fmt: skip


def write(recs, *, order=FIELDS, names=None, recs_as_paragraphs=False, split_text=False, lead_sep=" / ") -> str:
    names = names or {f: SYNONYMS[f][0] for f in FIELDS}
    header = "\t".join(names[f] for f in order)
    lines = ["Northmoor Borough Council", "Improvement Plan, 1 June 2025", ""]
    if not recs_as_paragraphs:
        lines.append(header)
    for rec in recs:
        if recs_as_paragraphs:
            lines += [f"Recommendation {rec['ref']}: {rec['title']}", "", header]
        else:
            lines.append(f"Recommendation {rec['ref']}: {rec['title']}")
        for a in rec["actions"]:
            a = {**a, "lead": lead_sep.join(a["leads"])} if "leads" in a else a
            if split_text:  # the text runs on into the next row, as at a page break
                first, rest = a["text"].split(" ", 1)
                row = {**a, "text": first}
                lines.append("\t".join(cell(row, f) for f in order))
                lines.append("\t".join(rest if f == "action" else "" for f in order))
            else:
                lines.append("\t".join(cell(a, f) for f in order))
        if recs_as_paragraphs:
            lines.append("")
    return "\n".join(lines) + "\n"


def register(plan: ParsedPlan, *, refs: bool = True) -> list[tuple]:
    return [((a.ref, a.priority_ref) if refs else (), a.text, a.lead_text, a.target_date, a.register_status, a.rag) for a in plan.actions]


def plain(recs) -> list[tuple]:
    reg = register(read_plan_text(write(recs)))
    assert len(reg) == sum(len(r["actions"]) for r in recs)
    return reg


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(plans(), st.permutations(FIELDS))
def test_column_order_does_not_matter(recs, order):
    assert register(read_plan_text(write(recs, order=tuple(order)))) == plain(recs)


@SETTINGS
@given(plans(), st.fixed_dictionaries({f: st.sampled_from(SYNONYMS[f]) for f in FIELDS}))
def test_heading_synonyms_do_not_matter(recs, names):
    assert register(read_plan_text(write(recs, names=names))) == plain(recs)


@SETTINGS
@given(plans())
def test_recommendations_as_paragraphs_between_tables(recs):
    assert register(read_plan_text(write(recs, recs_as_paragraphs=True))) == plain(recs)


@SETTINGS
@given(plans(), st.permutations(FIELDS[1:]))
def test_no_ref_column_gives_refs_from_the_structure(recs, order):
    got = read_plan_text(write(recs, order=tuple(order)))
    assert register(got) == plain(recs)  # recommendation 2's third action is 2.3 either way
    assert any("from the plan's structure" in w for w in got.warnings)


@SETTINGS
@given(plans())
def test_action_text_split_over_two_rows(recs):
    assert register(read_plan_text(write(recs, split_text=True))) == plain(recs)


@SETTINGS
@given(plans(), st.data())
def test_leads_on_separate_lines_of_a_cell_split_as_with_slashes(recs, data):
    for rec in recs:
        for a in rec["actions"]:
            a["leads"] = data.draw(st.lists(st.sampled_from(LEADS), min_size=1, max_size=3, unique=True))
    by_lines = read_plan_text(write(recs, lead_sep=data.draw(st.sampled_from(["<br>", "<br/>", "<br />", "</p><p>"]))))
    by_slashes = read_plan_text(write(recs))
    assert [split_leads(a.lead_text) for a in by_lines.actions] == [split_leads(a.lead_text) for a in by_slashes.actions] == [
        a["leads"] for rec in recs for a in rec["actions"]]  # fmt: skip
    assert [r[:2] + r[3:] for r in register(by_lines)] == [r[:2] + r[3:] for r in register(by_slashes)]


def test_the_plain_plan_reads_as_written():
    recs = [{"ref": "1", "title": "Improve supervision", "actions": [
        {"ref": "1.1", "text": "Audit thirty case files each quarter", "lead": "Head of SEND", "target": "28/03/2026",
         "status": "in_progress", "rag": "A"}]}]  # fmt: skip
    (a,) = read_plan_text(write(recs)).actions
    assert (a.ref, a.priority_ref, a.target_date, a.register_status.value, a.rag.value) == ("1.1", "1", date(2026, 3, 28), "in_progress", "A")
