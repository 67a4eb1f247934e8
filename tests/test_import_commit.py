"""Importing real plans into the register (all formats give the same register), re-importing,
dry runs, bad files leaving the database untouched, and export → import round trips."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main
from tests.conftest import BASIC, need_real_plans
from tests.conftest import PLANS as REAL
from tests.fixtures.basic import make_plans as basic

PLANS = {
    "000_97cc3b5def30fa90": {"actions": 36, "first": "CP1.1"},
    "003_73da126e79edb2e7": {"actions": 81, "first": "1.1"},
    "004_dfa084bea56eeef1": {"actions": 32, "first": "1.1"},
    basic.STEM: {"actions": basic.ACTIONS, "first": basic.FIRST_REF},  # invented, always present
}
INVENTED = BASIC / basic.STEM  # + .txt / .docx / .xlsx


def stems(*names: str) -> list:
    """Plan stems as test parameters: the real ones skip without ../shared/plans."""
    return [n if n == basic.STEM else pytest.param(n, marks=pytest.mark.real_plans) for n in names]


def folder(stem: str) -> Path:
    return BASIC if stem == basic.STEM else REAL


@pytest.fixture
def cli(db_url):
    runner = CliRunner()
    made: set[str] = set()

    def run(*args: str, org: str = "council", ok: bool = True, input: str | None = None):
        if org not in made:  # creating an organisation is explicit
            made.add(org)
            assert runner.invoke(main, ["--db", db_url, "org", "add", org]).exit_code == 0
        result = runner.invoke(main, ["--db", db_url, "--org", org, *args], catch_exceptions=False, input=input)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return run


def register(cli, org: str) -> list[dict]:
    plans = json.loads(cli("plan", "list", "--json", org=org).stdout)
    assert len(plans) == 1
    return json.loads(cli("action", "list", plans[0]["slug"], "--json", org=org).stdout)


def comparable(actions: list[dict]) -> list[tuple]:
    return [(a["ref"], a["priority_ref"], a["text"], a["lead"], a["original_target"], a["original_target_raw"], a["status"], a["rag"],
             tuple(a["owners"])) for a in actions]


@pytest.mark.parametrize("stem", stems(*sorted(PLANS)))
def test_each_plan_imports_to_the_same_register_from_txt_docx_and_xlsx(cli, stem):
    registers = {}
    for ext in ("txt", "docx", "xlsx"):
        cli("import", str(folder(stem) / f"{stem}.{ext}"), org=f"org-{ext}")
        registers[ext] = register(cli, f"org-{ext}")
    assert len(registers["txt"]) == PLANS[stem]["actions"]
    assert registers["txt"][0]["ref"] == PLANS[stem]["first"]
    assert comparable(registers["txt"]) == comparable(registers["docx"]) == comparable(registers["xlsx"])
    for a in registers["txt"]:
        assert a["ref"] and a["text"]
        assert a["lead"] or a["ref"] in ("8.4",), f"{a['ref']} has no lead"


def test_real_plan_details_survive_into_the_register(cli, plans_dir):
    cli("import", str(plans_dir / "003_73da126e79edb2e7.docx"), org="derby")
    derby = {a["ref"]: a for a in register(cli, "derby")}
    assert derby["1.1"]["rag"] == "B" and derby["1.1"]["original_target"] == "2011-12-31"
    assert derby["1.1"]["original_target_raw"] == "December 2011 and annually"
    assert derby["6.4"]["rag"] == "G"  # written "Gree" in the plan
    assert sorted(derby["1.2"]["owners"]) == ["Chris Newton", "Errol McLeary", "Nina Martin"]
    plan = json.loads(cli("plan", "list", "--json", org="derby").stdout)[0]
    assert plan["rag_scheme"] == "BRAG" and plan["by_rag"]["B"] > 40

    cli("import", str(plans_dir / "004_dfa084bea56eeef1.xlsx"), org="rotherham")
    roth = {a["ref"]: a for a in register(cli, "rotherham")}
    assert roth["1.1"]["status"] == "signed_off" and roth["1.4"]["status"] == "in_progress"
    assert roth["2.1"]["status"] == "complete" and roth["2.9"]["status"] == "not_started"
    assert roth["1.1"]["lead"] == "HoS First Response"
    people = {p["display_name"]: p for p in json.loads(cli("person", "list", "--json", org="rotherham").stdout)}
    assert people["HoS First Response"]["role_title"] == "HoS First Response"  # a role, to map to a person later

    cli("import", str(plans_dir / "000_97cc3b5def30fa90.txt"), org="rotherham-2012")
    cp = {a["ref"]: a for a in register(cli, "rotherham-2012")}
    assert cp["CP1.3"]["original_target"] == "2012-11-30" and cp["CP1.3"]["original_target_raw"] == "Nov 12"
    assert cp["CP1.1"]["status"] == "complete"  # "complete" written in the date column
    assert cp["CP1.4"]["status"] == "in_progress"  # no status stated, but progress reported ("Panel to be arranged")
    history = json.loads(cli("action", "show", "improvement-panel-action-delivery-plan-october-2012", "CP1.3", "--json",
                             org="rotherham-2012").stdout)["history"]
    assert history and history[-1]["channel"] == "import" and "Graded Care Profile" in history[-1]["text"]


def test_invented_plan_details_survive_into_the_register(cli):
    cli("import", f"{INVENTED}.docx", org="anytown")
    plan = {a["ref"]: a for a in register(cli, "anytown")}
    assert plan["1.1"]["rag"] == "B" and plan["1.1"]["status"] == "signed_off" and plan["1.1"]["original_target"] == "2026-07-31"
    assert (plan["1.3"]["original_target_raw"], plan["1.3"]["original_target"]) == ("Within 3 months", "2027-02-02")
    assert sorted(plan["1.3"]["owners"]) == ["Grace Lee", "Tom Okafor"]
    assert plan["1.3"]["status"] == "not_started" and plan["2.1"]["status"] == "in_progress"
    people = {p["display_name"]: p for p in json.loads(cli("person", "list", "--json", org="anytown").stdout)}
    assert people["HoS First Response"]["role_title"] == "HoS First Response"  # a role, to map to a person later
    assert people["Tom Okafor"]["role_title"] in (None, "")
    listed = json.loads(cli("plan", "list", "--json", org="anytown").stdout)[0]
    assert listed["rag_scheme"] == "BRAG"
    history = json.loads(cli("action", "show", listed["slug"], "1.2", "--json", org="anytown").stdout)["history"]
    assert history and history[-1]["channel"] == "import" and history[-1]["text"] == "In Progress – on track"


def test_import_json_has_the_documented_shape_with_and_without_dry_run(cli):
    path = f"{INVENTED}.docx"
    dry = json.loads(cli("import", path, "--dry-run", "--json").stdout)
    assert cli("plan", "list", "--json").stdout.strip() == "[]"  # nothing stored
    real = json.loads(cli("import", path, "--json").stdout)
    for data in (dry, real):
        assert set(data["plan"]) >= {"title", "organisation", "rag_scheme"}
        assert {"ref", "title", "timescale"} <= set(data["priorities"][0])
        assert {"ref", "priority_ref", "text", "lead", "target_raw", "target_date", "status", "rag", "progress", "history"} <= set(data["actions"][0])
        assert isinstance(data["warnings"], list)
    assert dry["actions"] == real["actions"] and dry["result"]["dry_run"] and not real["result"]["dry_run"]
    assert real["actions"][0]["target_date"] == "2026-07-31" and real["actions"][0]["status"] == "signed_off"


def test_reimport_updates_by_ref_and_reports_changes(cli, tmp_path):
    src = Path(f"{INVENTED}.xlsx")
    cli("import", str(src), "--plan-name", "ILACS")
    first = json.loads(cli("import", str(src), "--plan-name", "ILACS", "--json").stdout)["result"]
    assert first["added"] == [] and first["changed"] == {} and first["removed"] == [] and first["unchanged"] == basic.ACTIONS
    # A revised file: one action's text and target change, one progress changes, one row is gone.
    wb = load_workbook(src)
    ws = wb.active
    rows = {str(r[0].value).strip(): r for r in ws.iter_rows() if r[0].value}
    rows["2.4"][1].value = "Deliver identity training sessions to all Early Help teams."
    rows["2.2"][2].value = "April 2027"
    rows["1.2"][4].value = "Action Complete – awaiting Evidence Challenge Panel"
    ws.delete_rows(rows["2.3"][0].row)
    revised = tmp_path / "ilacs-revised.xlsx"
    wb.save(revised)
    res = json.loads(cli("import", str(revised), "--plan", "ilacs", "--json").stdout)["result"]
    assert res["changed"].keys() == {"1.2", "2.2", "2.4"} and res["removed"] == ["2.3"] and res["added"] == []
    a22 = json.loads(cli("action", "show", "ilacs", "2.2", "--json").stdout)
    assert a22["original_target"] == "2027-03-31" and a22["revised_target"] == "2027-04-30"  # original kept
    a12 = json.loads(cli("action", "show", "ilacs", "1.2", "--json").stdout)
    assert a12["status"] == "complete" and len(a12["history"]) == 2  # history kept and added to
    refs = [a["ref"] for a in json.loads(cli("action", "list", "ilacs", "--json").stdout)]
    assert "2.3" not in refs and len(refs) == basic.ACTIONS - 1
    # Putting the original back restores 2.3 with its history.
    back = json.loads(cli("import", str(src), "--plan", "ilacs", "--json").stdout)["result"]
    assert back["restored"] == ["2.3"]


def test_chat_update_newer_than_the_file_is_kept(cli):
    src = f"{INVENTED}.docx"
    cli("import", src, "--plan-name", "ILACS")
    cli("update", "ilacs", "2.4", "-m", "Session delivered 3 Nov", "--status", "complete")
    out = cli("import", src, "--plan", "ilacs").stdout
    assert "2.4: updated via cli" in out
    assert json.loads(cli("action", "show", "ilacs", "2.4", "--json").stdout)["status"] == "complete"


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "0" * (120 * 1024 * 1024))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.with_suffix(".xlsx").write_bytes(b"this is not a spreadsheet"), "xlsx"),
        (lambda p: p.with_suffix(".docx").write_bytes(b""), "empty"),
        (lambda p: p.with_suffix(".xlsm").write_bytes(b"PK\x03\x04"), "macro"),
        (lambda p: _zip_bomb(p.with_suffix(".xlsx")), "MB"),
        (lambda p: p.with_suffix(".txt").write_text("just a note\nwith no table at all\n"), "header"),
        (lambda p: p.with_suffix(".pdf").write_bytes(b"%PDF-1.4"), ".pdf"),
    ],
    ids=["corrupt", "empty", "macro", "zip-bomb", "no-header", "unknown-type"],
)
def test_bad_files_get_a_clear_message_and_leave_the_register_untouched(cli, tmp_path, make, message):
    cli("import", f"{INVENTED}.txt", "--plan-name", "ILACS")
    before = cli("action", "list", "ilacs", "--json").stdout, cli("audit", "--json").stdout
    stem = tmp_path / "upload"
    make(stem)
    path = next(tmp_path.glob("upload.*"))
    result = cli("import", str(path), "--plan", "ilacs", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and message.lower() in result.stderr.lower(), result.stderr
    assert (cli("action", "list", "ilacs", "--json").stdout, cli("audit", "--json").stdout) == before


def test_pasted_table_from_stdin(cli):
    pasted = "Ref\tAction\tLead Officer\tTarget End Date\tProgress\n1.1\tReview the audit tool\tNina Martin\tDecember 2026\tStarted\n"
    cli("import", "-", "--plan-name", "Pasted plan", input=pasted)
    [a] = json.loads(cli("action", "list", "pasted-plan", "--json").stdout)
    assert a["ref"] == "1.1" and a["original_target"] == "2026-12-31" and a["owners"] == ["Nina Martin"]


@pytest.mark.parametrize("ext", [".xlsx", ".docx", ".csv"])
@pytest.mark.parametrize(("stem", "ref", "revised"), [("003_73da126e79edb2e7", "6.4", "2012-03-31"), (basic.STEM, "2.2", "2027-05-31")])
def test_export_then_import_gives_the_same_register(cli, tmp_path, ext, stem, ref, revised):
    if stem != basic.STEM:
        need_real_plans()
    cli("import", str(folder(stem) / f"{stem}.docx"), "--plan-name", "CYP", org="a")
    cli("update", "cyp", ref, "-m", "=HYPERLINK(\"http://evil\") materials done", "--rag", "A", "--revised-target", revised,
        "--reason", "staffing", org="a")
    out = tmp_path / f"cyp{ext}"
    cli("export", "cyp", "--to", str(out), org="a")
    cli("import", str(out), "--plan-name", "CYP", org="b")
    a, b = register(cli, "a"), register(cli, "b")
    keys = ("ref", "priority_ref", "text", "lead", "original_target", "status", "rag", "revised_target")
    assert [tuple(x[k] for k in keys) for x in a] == [tuple(x[k] for k in keys) for x in b]
    shown = json.loads(cli("action", "show", "cyp", ref, "--json", org="b").stdout)
    assert shown["history"][-1]["text"].startswith("=HYPERLINK")  # the text survives, as text


def test_export_refuses_unknown_format(cli, tmp_path):
    cli("import", f"{INVENTED}.txt", "--plan-name", "ILACS")
    result = cli("export", "ilacs", "--to", str(tmp_path / "x.pdf"), ok=False)
    assert result.exit_code == 1 and ".xlsx" in result.stderr


def test_sample_plans_dir_is_readable(plans_dir):
    assert {p.suffix for p in plans_dir.iterdir()} >= {".txt", ".docx", ".xlsx"}
    shutil.disk_usage(plans_dir)


def test_a_long_plan_stored_in_chunks_keeps_each_actions_own_history_and_owner(cli, tmp_path, db_url):
    """New actions are stored a few hundred at a time (bot.services.imports._NEW_CHUNK): every
    action, across the chunks, gets its own progress entry and its own lead as owner."""
    from sqlalchemy import select

    from bot.services.imports import _NEW_CHUNK
    from storage.db import make_engine
    from storage.tables import Action, ActionPerson, Person, Update

    n = 2 * _NEW_CHUNK + 17
    lines = ["Ref,Action,Lead Officer,Target Date,Progress"]
    lines += [f"1.{i},Action number {i},Lead {i % 7},31/03/2027,Progress of 1.{i}" for i in range(1, n + 1)]
    path = tmp_path / "long plan.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli("import", str(path), "--plan-name", "Long")
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            actions = c.execute(select(Action.ref, Action.id).order_by(Action.position)).all()
            progress = dict(c.execute(select(Update.action_id, Update.text)).all())
            owners = dict(c.execute(select(ActionPerson.action_id, Person.display_name).join(Person, Person.id == ActionPerson.person_id)).all())
            counts = (c.execute(select(Update.id)).all(), c.execute(select(ActionPerson.action_id)).all())
    finally:
        engine.dispose()
    assert [ref for ref, _ in actions] == [f"1.{i}" for i in range(1, n + 1)]
    assert [len(rows) for rows in counts] == [n, n]
    for ref, action_id in actions:
        assert progress[action_id] == f"Progress of {ref}"
        assert owners[action_id] == f"Lead {int(ref.split('.')[1]) % 7}"
