"""A command loads what it uses: `actionbot --help` and `actionbot parse` start without the
database stack (SQLAlchemy, SQLModel and its pydantic, Alembic) or the services, which cost
about a second to import; `due` and `digest` read the register without pydantic, Alembic,
the chart's matplotlib, the importer's openpyxl, the free-text reader or the HTTP stack, and the
digest without the bank-holiday calendars. (How fast they start is measured in
bench/bench_cli.py.)"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

HEAVY = ["sqlalchemy", "sqlmodel", "alembic", "pydantic", "pydantic_settings", "bot.services.engine", "storage.repo", "aiohttp", "asyncio",
         "holidays", "matplotlib", "openpyxl"]
# What a read of the register has no use for (SQLAlchemy itself imports asyncio).
NOT_FOR_READS = ["alembic", "matplotlib", "openpyxl", "dateparser", "bot.domain.reading", "aiohttp", "handlers.slack", "handlers.teams"]
BASIC = Path(__file__).resolve().parent / "fixtures" / "basic"

PROBE = """
import contextlib, io, json, sys
HEAVY = sys.argv.pop(1).split(",")
from bot.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:], prog_name="actionbot")
    except SystemExit as e:
        code = e.code
print(json.dumps({"code": code, "out": out.getvalue(), "loaded": sorted(m for m in HEAVY if m in sys.modules)}))
"""


def run(*args: str, heavy: list[str] = HEAVY) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(heavy), *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["parse", "2.4 done, evidence sent", "--today", "2026-11-22", "--json"], ["due", "--help"]])
def test_help_and_parse_load_no_database_stack(args):
    got = run(*args)
    assert got["code"] == 0
    assert got["loaded"] == []


def test_parse_still_reads_the_reply():
    got = run("parse", "2.4 done", "--today", "2026-11-22", "--json")
    reading = json.loads(got["out"])
    assert (reading["refs"], reading["status"]) == (["2.4"], "complete")


def test_help_still_lists_every_command():
    out = run("--help")["out"]
    for command in ("import", "export", "due", "digest", "parse", "serve", "worker", "plan", "action", "person", "db", "org"):
        assert f"  {command} " in out or f"  {command}\n" in out


@pytest.fixture
def register(tmp_path: Path) -> str:
    """A migrated SQLite register holding the basic sample plan (made in this process, so the
    probes below start from a database that needs no migration)."""
    url = f"sqlite:///{tmp_path / 'reads.db'}"
    got = CliRunner().invoke(main, ["--db", url, "import", str(BASIC / "anytown_ilacs.xlsx"), "--plan-name", "Anytown"])
    assert got.exit_code == 0, got.output
    return url


DATABASE_STACK = ["sqlalchemy", "sqlmodel", "storage.tables", "storage.repo", "storage.db", "bot.services.engine"]


def test_due_and_digest_read_without_migrations_charts_or_the_reader(register):
    due = run("--db", register, "due", "--as-of", "2027-03-16T10:00", "--json", heavy=[*NOT_FOR_READS, *DATABASE_STACK, "pydantic"])
    assert due["code"] == 0
    assert json.loads(due["out"])["actions"] > 0  # it did read the register (chased from the working day after the import)
    assert due["loaded"] == []  # on a database at the newest schema: the bare driver (storage.rawdb), no SQLAlchemy; settings without pydantic
    digest = run("--db", register, "digest", "anytown", "--as-of", "2026-03-20", "--json", heavy=[*NOT_FOR_READS, "holidays", *DATABASE_STACK, "pydantic"])
    assert digest["code"] == 0
    assert json.loads(digest["out"])["plan"]
    assert digest["loaded"] == []


def test_what_the_bare_driver_cannot_settle_goes_the_whole_way(register, tmp_path):
    """A plan named by a piece of its title, an unknown plan or organisation, a database still
    to be made: the command loads the database stack and answers as it always did."""
    by_title = run("--db", register, "digest", "Anytown", "--as-of", "2026-03-20", "--json", heavy=DATABASE_STACK)
    by_slug = run("--db", register, "digest", "anytown", "--as-of", "2026-03-20", "--json", heavy=DATABASE_STACK)
    assert by_title["code"] == 0 and "sqlalchemy" in by_title["loaded"]
    assert by_slug["out"] == by_title["out"] and by_slug["loaded"] == []
    unknown = run("--db", register, "digest", "nothing-like-it", heavy=DATABASE_STACK)
    assert unknown["code"] != 0 and "sqlalchemy" in unknown["loaded"]
    no_org = run("--db", register, "--org", "elsewhere", "due", "--json", heavy=DATABASE_STACK)
    assert no_org["code"] != 0 and "sqlalchemy" in no_org["loaded"]
    fresh = run("--db", f"sqlite:///{tmp_path / 'new.db'}", "due", "--json", heavy=DATABASE_STACK)
    assert fresh["code"] == 0 and json.loads(fresh["out"])["nudges"] == [] and "sqlalchemy" in fresh["loaded"]
    assert (tmp_path / "new.db").exists()  # made and migrated, as before


def test_a_one_shot_command_runs_without_the_cyclic_collector_and_turns_it_back_on(register):
    from bot.cli import engine as cli_engine

    seen = []
    real = cli_engine.emit_json
    cli_engine.emit_json = lambda data: (seen.append(gc.isenabled()), real(data))  # type: ignore[assignment]
    try:
        got = CliRunner().invoke(main, ["--db", register, "due", "--as-of", "2026-03-16T10:00", "--json"])
    finally:
        cli_engine.emit_json = real  # type: ignore[assignment]
    assert got.exit_code == 0, got.output
    assert seen == [False]
    assert gc.isenabled()
    got = CliRunner().invoke(main, ["--db", register, "digest", "no-such-plan"])
    assert got.exit_code != 0
    assert gc.isenabled()


def test_every_command_is_found_in_the_module_named_for_it():
    import importlib

    from bot.cli import COMMAND_MODULES

    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"bot.cli.{module}")
    assert sorted(main.commands) == sorted(COMMAND_MODULES)
    for name, command in main.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"bot.cli.{COMMAND_MODULES[name]}", name


def test_a_command_loads_only_its_own_module():
    got = run("digest", "--help", heavy=[f"bot.cli.{m}" for m in ("db", "engine", "imports", "org", "register", "serve", "teams")])
    assert got["code"] == 0
    assert got["loaded"] == ["bot.cli.engine"]


def test_an_archived_plan_has_no_digest_and_says_so(register):
    import sqlite3

    conn = sqlite3.connect(register.removeprefix("sqlite:///"))
    with conn:
        conn.execute("UPDATE plan SET archived = 1")
    conn.close()
    for ident in ("anytown", "Anytown"):  # on the bare driver, and the whole way (a piece of its title)
        got = CliRunner().invoke(main, ["--db", register, "digest", ident, "--json"])
        assert got.exit_code == 1 and "is archived: an archived plan has no digest" in got.output, got.output


def test_import_loads_one_countrys_calendar_and_not_the_engine(tmp_path):
    """`actionbot import` asks the bank-holiday calendar for the day the new plan is chased
    from: the holidays package's one module for England is loaded, not its 250 countries' (9 MB)."""
    url = f"sqlite:///{tmp_path / 'import.db'}"
    got = run("--db", url, "import", str(BASIC / "anytown_ilacs.xlsx"), "--plan-name", "Anytown",
              heavy=["bot.services.engine", "cards", "holidays.countries.united_kingdom", "holidays.countries.france", "holidays.countries.united_states"])
    assert got["code"] == 0, got["out"]
    assert "lead officers are chased from" in got["out"]
    assert got["loaded"] == ["holidays.countries.united_kingdom"]


def test_import_still_refuses_a_wrong_engine_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTIONBOT_DIGEST_DAY", "someday")
    got = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path / 'wrong.db'}", "import", str(BASIC / "anytown_ilacs.xlsx")])
    assert got.exit_code != 0
    assert "ACTIONBOT_DIGEST_DAY 'someday' is not a weekday" in got.output
