"""One rating, one date, one plan (issue 11): every output tells the same story.

An invented plan with no RAG column, two actions years overdue and one far ahead, goes
through the command line as a new user would use it."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner

from bot.cli import main
from storage.exporters.layout import RAG_FILL

PLAN_MD = """# Testshire Council – Improvement Plan

## 1. Front door

| Ref | Action | Target End Date | Lead Officer | Progress |
|---|---|---|---|---|
| 1.1 | Dip sample contacts | March 2020 | Priya Shah | In progress |
| 1.2 | Share practice standards | December 2099 | Priya Shah | |
| 1.3 | Screen repeat contacts | June 2021 | Tom Okafor | |
"""
SLUG = "testshire"


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def run(*args: str, ok: bool = True, input: str | None = None):
        result = runner.invoke(main, ["--db", db_url, *args], input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return run


@pytest.fixture
def plan(cli) -> str:
    cli("import", "-", "--plan-name", "Testshire", input=PLAN_MD)
    return SLUG


def _json(result) -> object:
    return json.loads(result.stdout)


# --- one rating ---------------------------------------------------------------------------------


def test_a_plan_without_ratings_shows_the_suggested_rating_everywhere(cli, plan, tmp_path: Path):
    digest = _json(cli("digest", plan, "--json"))
    assert digest["totals"]["by_rating"]["R"] == 2 and digest["totals"]["by_rating_suggested"]["R"] == 2
    text = cli("digest", plan).stdout
    assert "Red: 2 (2 suggested)" in text

    # the list's filter and its JSON use the same rating as the digest
    reds = _json(cli("action", "list", plan, "--rag", "R", "--json"))
    assert sorted(r["ref"] for r in reds) == ["1.1", "1.3"]
    assert all(r["rating"] == "R" and r["rating_suggested"] and r["rag"] is None for r in reds)
    listing = cli("action", "list", plan).stdout
    assert "R*" in listing and "suggested" in listing

    shown = cli("action", "show", plan, "1.3").stdout
    assert "RAG: Red (suggested by the rules" in shown
    assert _json(cli("action", "show", plan, "1.3", "--json"))["rating"] == "R"
    assert _json(cli("plan", "show", plan, "--json"))["by_rating"]["R"] == 2

    # the export colours the suggested rating, says it is suggested, and counts it
    xlsx = tmp_path / "p.xlsx"
    cli("export", plan, "--to", str(xlsx))
    wb = openpyxl.load_workbook(xlsx)
    cells = [c for row in wb["Action Plan"].iter_rows() for c in row if c.value == "Suggested: Red"]
    assert len(cells) == 2 and all(c.fill.fgColor.rgb[-6:] == RAG_FILL[_red()] for c in cells)
    summary = wb["Summary"]
    header = next(r for r in summary.iter_rows() if r[0].value == "Recommendation")
    names = [c.value for c in header]
    total = next(r for r in summary.iter_rows() if r[0].value == "Total")
    counts = dict(zip(names, (c.value for c in total), strict=True))
    assert counts["Red"] == 2 and counts["Not rated"] == 0 and counts["Of which suggested"] == 3

    word = tmp_path / "p.docx"
    cli("export", plan, "--to", str(word))
    texts = [c.text for t in docx.Document(str(word)).tables for r in t.rows for c in r.cells]
    assert texts.count("Suggested: Red") == 2


def test_a_reported_rating_wins_over_the_suggestion(cli, plan):
    cli("update", plan, "1.3", "--rag", "A", "-m", "started late")
    row = next(r for r in _json(cli("action", "list", plan, "--json")) if r["ref"] == "1.3")
    assert (row["rating"], row["rating_suggested"]) == ("A", False)
    assert [r["ref"] for r in _json(cli("action", "list", plan, "--rag", "A", "--json"))] == ["1.3"]
    assert "RAG: Amber (reported)" in cli("action", "show", plan, "1.3").stdout
    assert _json(cli("digest", plan, "--json"))["totals"]["by_rating"]["A"] == 1


def _red():
    from bot.domain.model import Rag

    return Rag.RED


# --- one date -----------------------------------------------------------------------------------


def test_todays_digest_includes_a_change_made_today(cli, plan):
    cli("update", plan, "1.1", "--status", "complete", "-m", "all contacts sampled")
    digest = _json(cli("digest", plan, "--json"))
    assert [m["ref"] for m in digest["moved"]["completed"]] == ["1.1"]
    assert "No rating or status changed" not in cli("digest", plan).stdout


def test_a_digest_before_the_plan_was_loaded_says_so(cli, plan):
    out = cli("digest", plan, "--as-of", "2020-01-01").stdout
    assert "did not hold Testshire on 1 Jan 2020" in out
    assert "Actions: 0" not in out
    data = _json(cli("digest", plan, "--as-of", "2020-01-01", "--json"))
    assert data["plan_held"] is False and data["trend"] == []


# --- chasing after an import ----------------------------------------------------------------------


def test_an_import_is_not_the_lead_officers_answer(cli, plan):
    chase_from = _json(cli("plan", "show", plan, "--json"))["chase_from"]
    assert chase_from is not None  # by default the next working day after the import
    right_after = cli("due").stdout
    assert f"{plan} is not chased before" in right_after and "2 of its actions will be asked about then" in right_after
    assert _json(cli("due", "--json"))["not_chased_yet"][0]["due_then"] == 2

    # on the chase day every overdue action is asked at once, though the import brought progress for 1.1
    data = _json(cli("due", "--as-of", f"{chase_from}T10:00", "--json"))
    asked = {a["ref"]: a["reason"] for n in data["nudges"] for a in n["actions"] + n["unassigned"]}
    assert asked == {"1.1": "overdue", "1.3": "overdue"}
    assert all(n["send_now"] for n in data["nudges"])

    # an answer in the register (not a file) stops the chasing for that action
    cli("update", plan, "1.1", "-m", "sampling weekly now", "--revised-target", "31/12/2099", "--reason", "re-planned")
    data = _json(cli("due", "--as-of", f"{chase_from}T10:00", "--json"))
    assert {a["ref"] for n in data["nudges"] for a in n["actions"] + n["unassigned"]} == {"1.3"}


def test_the_chase_start_can_be_moved(cli, plan):
    cli("plan", "set", plan, "--chase-from", "start")
    assert _json(cli("plan", "show", plan, "--json"))["chase_from"] is None
    assert _json(cli("due", "--json"))["not_chased_yet"] == []
    cli("plan", "set", plan, "--chase-from", "2099-01-04")
    assert _json(cli("due", "--as-of", "2098-12-30T10:00", "--json"))["nudges"] == []
    assert _json(cli("due", "--as-of", "2099-01-05T10:00", "--json"))["actions"] == 3  # 1.2's cadence is due by then too
    bad = cli("plan", "set", plan, "--chase-from", "soon", ok=False)
    assert bad.exit_code == 1 and "chase-from date 'soon' is not a date" in bad.stderr


def test_due_rules_count_answers_not_imports_and_wait_for_the_chase_start():
    from datetime import UTC, date, datetime

    from bot.domain.due import needs_update
    from bot.domain.model import ActionSnapshot, PlanSnapshot, Status

    imported = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    action = ActionSnapshot(1, 1, "2.4", "Deliver sessions", Status.IN_PROGRESS, original_target=date(2022, 11, 30),
                            last_update_at=imported, last_answer_at=None, created_at=imported)
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    plan = PlanSnapshot(1, "ILACS", chase_from=date(2026, 11, 30))
    assert needs_update(action, plan=plan, now=monday).code == "overdue"
    assert needs_update(action, plan=PlanSnapshot(1, "ILACS", chase_from=date(2026, 12, 1)), now=monday) is None
    answered = ActionSnapshot(1, 1, "2.4", "Deliver sessions", Status.IN_PROGRESS, original_target=date(2022, 11, 30),
                              last_update_at=imported, created_at=imported)  # left out: an answer at last_update_at
    assert needs_update(answered, plan=plan, now=monday) is None


# --- one plan -------------------------------------------------------------------------------------

PLAN_CSV = """Ref,Action,Target End Date,Lead Officer,Progress
1.1,Dip sample contacts,March 2020,Priya Shah,In progress
1.2,Share practice standards,December 2099,Priya Shah,
1.3,Screen repeat contacts,June 2021,Tom Okafor,
"""


def _plans(cli) -> list[str]:
    return [p["slug"] for p in _json(cli("plan", "list", "--json"))]


def test_the_same_plan_in_another_format_updates_it(cli, plan, tmp_path: Path):
    sheet = tmp_path / "register export.csv"
    sheet.write_text(PLAN_CSV.replace("In progress", "In progress – sampling weekly"), encoding="utf-8")
    out = cli("import", str(sheet)).stdout
    assert f"into plan {plan}:" in out and "recognised as plan testshire" in out
    assert _plans(cli) == [plan]
    assert _json(cli("action", "show", plan, "1.1", "--json"))["history"][-1]["text"] == "In progress – sampling weekly"


def test_a_file_that_could_be_several_plans_is_refused_naming_them(cli, plan, tmp_path: Path):
    cli("import", "-", "--plan-name", "Testshire copy", input=PLAN_MD)  # a new name: a separate plan, as asked
    assert _plans(cli) == [plan, "testshire-copy"]
    before = cli("audit", "--json", "--limit", "500").stdout
    sheet = tmp_path / "register.csv"
    sheet.write_text(PLAN_CSV, encoding="utf-8")
    refused = cli("import", str(sheet), ok=False)
    assert refused.exit_code == 1
    assert "looks like plan testshire" in refused.stderr and "testshire-copy" in refused.stderr and "--plan" in refused.stderr
    assert _plans(cli) == [plan, "testshire-copy"] and cli("audit", "--json", "--limit", "500").stdout == before
    cli("import", str(sheet), "--plan", "testshire-copy")
    assert _plans(cli) == [plan, "testshire-copy"]


def test_another_plan_with_the_same_refs_is_not_taken_for_this_one(cli, plan, tmp_path: Path):
    other = tmp_path / "send.csv"
    other.write_text("Ref,Action,Target End Date,Lead Officer\n1.1,Publish the local offer,March 2027,Ann Lee\n"
                     "1.2,Train SENCOs,April 2027,Ann Lee\n1.3,Review EHCP timeliness,May 2027,Bo Chan\n", encoding="utf-8")
    cli("import", str(other))
    assert len(_plans(cli)) == 2


# --- export, import: nothing lost, nothing changed ----------------------------------------------------

ROUND_TRIP_MD = """# Testshire Council – Improvement Plan

## 1. Front door

| Ref | Action | Target End Date | Lead Officer | Progress | RAG |
|---|---|---|---|---|---|
| 1.1. | Dip sample contacts | March 2020 and annually | Priya Shah | In progress | Amber |
| 1.2 | Share practice standards | December 2099 | Priya Shah | | |

## 2. Workforce: recruit and keep social workers

## 3. Care leavers

| Ref | Action | Target End Date | Lead Officer | Progress | RAG |
|---|---|---|---|---|---|
| 3.1 | Pathway plans reviewed | June 2021 | Tom Okafor | | |
"""


def _register(cli, plan: str) -> tuple:
    """Everything the register holds about a plan's content (not the name of the file last read)."""
    shown = _json(cli("plan", "show", plan, "--json"))
    actions = _json(cli("action", "list", plan, "--json"))
    histories = {a["ref"]: _json(cli("action", "show", plan, a["ref"], "--json"))["history"] for a in actions}
    return shown["priorities"], shown["plan_date"], actions, histories


@pytest.mark.parametrize("suffix", [".xlsx", ".docx", ".csv"])
def test_reimporting_a_plans_own_export_changes_nothing_and_says_so(cli, tmp_path: Path, suffix: str):
    cli("import", "-", "--plan-name", "Round trip", input=ROUND_TRIP_MD)
    cli("update", "round-trip", "3.1", "--revised-target", "30/06/2027", "--reason", "staffing", "-m", "re-planned")
    before = _register(cli, "round-trip")
    assert [p["ref"] for p in before[0]] == ["1", "2", "3"]  # 2 has no actions yet
    out = tmp_path / f"position{suffix}"
    assert "3 priorities" in cli("export", "round-trip", "--to", str(out)).stdout
    result = cli("import", str(out), "--plan", "round-trip")
    assert "0 added, 0 changed, 0 removed, 3 unchanged" in result.stdout
    assert _register(cli, "round-trip") == before


@pytest.mark.parametrize("suffix", [".xlsx", ".docx", ".csv"])
def test_an_export_imported_as_a_new_plan_loses_nothing(cli, tmp_path: Path, suffix: str):
    cli("import", "-", "--plan-name", "Round trip", input=ROUND_TRIP_MD)
    out = tmp_path / f"position{suffix}"
    cli("export", "round-trip", "--to", str(out))
    cli("import", str(out), "--plan-name", "Copy")
    original, copy = _json(cli("plan", "show", "round-trip", "--json")), _json(cli("plan", "show", "copy", "--json"))
    assert copy["priorities"] == original["priorities"]
    keep = ("ref", "priority_ref", "text", "lead", "original_target", "revised_target", "status", "rag", "rating")
    rows = [[{k: a[k] for k in keep} for a in _json(cli("action", "list", p, "--json"))] for p in ("round-trip", "copy")]
    assert rows[0] == rows[1]


@pytest.mark.real_plans
@pytest.mark.parametrize("suffix", [".xlsx", ".docx", ".csv"])
def test_derby_exports_every_recommendation_and_reads_back_unchanged(cli, plans_dir: Path, tmp_path: Path, suffix: str):
    cli("import", str(plans_dir / "003_73da126e79edb2e7.docx"), "--plan-name", "Derby")
    before = _register(cli, "derby")
    assert len(before[0]) == 24
    out = tmp_path / f"derby{suffix}"
    assert "81 actions, 24 priorities" in cli("export", "derby", "--to", str(out)).stdout
    assert "0 added, 0 changed, 0 removed, 81 unchanged" in cli("import", str(out), "--plan", "derby").stdout
    assert _register(cli, "derby") == before
