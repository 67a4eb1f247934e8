"""A command loads what it uses: `actionbot --help` and `actionbot parse` start without the
database stack (SQLAlchemy, SQLModel, Alembic), the settings loader or the services, which
cost about a second to import. (How fast they start is measured in bench/bench_cli.py.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["sqlalchemy", "sqlmodel", "alembic", "pydantic_settings", "bot.services.engine", "storage.repo", "aiohttp"]

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


def run(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(HEAVY), *args], capture_output=True, text=True, check=True)
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
