"""Importing a big spreadsheet, the whole command: `actionbot import FILE.xlsx` storing a
generated 10,000-row register (Ref, Action, Lead Officer, Target Date, Progress, RAG, with
section rows) in a fresh SQLite database, timed from spawn to exit, against the floor of a
process that reads the same file with openpyxl (read_only=True, data_only=True) and inserts
the same rows with stdlib sqlite3 in one transaction (bench/floors.py import).

    .venv/bin/python bench/bench_import.py [--quick] [--rows N] [--profile]

Both start from a copy of the same migrated, empty database file. Also prints each side's
peak RSS (medians) and their ratio. --database-url is accepted and ignored (the floor is
stdlib sqlite3). The last line is the time ratio command/floor (target: 3; memory: 2).
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from common import compare_processes, median, parser, repeats, report, run_process

from storage.db import make_engine, upgrade

SECTIONS = [
    "Consideration of previous history and current circumstances when responding to contacts",
    "Management oversight and supervision of frontline practice",
    "Quality and timeliness of assessments and plans for children in need",
    "Sufficiency of placements for children in care and care leavers",
    "Workforce stability, caseloads and training",
]
VERBS = ["Undertake", "Review", "Implement", "Develop", "Audit", "Embed", "Launch", "Refresh", "Agree", "Monitor"]
THINGS = ["weekly dip sampling of NFA contacts", "the MASH practice standards", "a revised supervision policy",
          "case file audits of child protection plans", "the permanence tracker", "the sufficiency strategy",
          "training for team managers on chronologies", "the quality assurance framework", "the caseload dashboard"]
PROGRESS = ["In progress – on track", "Action awaiting start", "Action Complete Sign off approved at the Evidence "
            "Challenge Panel on 12 March", "Delayed: recruitment to the post is under way; revised date agreed",
            "Complete – evidence submitted to the panel", "On hold pending the restructure"]
RAGS = ["Red", "Amber", "Green", "Blue", "R", "A", "G", ""]
LEADS = ["HoS First Response", "Head of Safeguarding & Quality Assurance", "Service Manager, Children in Care",
         "Assistant Director – Children's Social Care", "Principal Social Worker"]


def make_plan(path: Path, rows: int, seed: int = 3) -> int:
    """Write an .xlsx register of `rows` action rows; returns the number of sheet rows."""
    import openpyxl

    rnd = random.Random(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Action plan")
    ws.append(["Bench Borough Council Children's Services"])
    ws.append(["Ofsted ILACS Inspection Action Plan"])
    ws.append(["14 November 2025"])
    ws.append([])
    ws.append(["Ref", "Action", "Lead Officer", "Target Date", "Progress", "RAG"])
    written, per_section = 5, max(rows // 40, 1)
    start = datetime(2025, 12, 1)  # noqa: DTZ001 - spreadsheet cells hold naive dates
    for i in range(rows):
        k, j = divmod(i, per_section)
        if j == 0:
            ws.append([f"{k + 1}. {SECTIONS[k % len(SECTIONS)]}"])
            written += 1
        target: object = start + timedelta(days=rnd.randint(0, 500))
        if rnd.random() < 0.3:
            target = target.strftime("%B %Y")  # type: ignore[union-attr]
        ws.append([f"{k + 1}.{j + 1}", f"{rnd.choice(VERBS)} {rnd.choice(THINGS)} and report findings to the "
                   f"Leadership Learning Group ({i})", rnd.choice(LEADS), target, rnd.choice(PROGRESS), rnd.choice(RAGS)])
        written += 1
    wb.save(path)
    return written


BENCH = Path(__file__).resolve().parent
ACTIONBOT = Path(sys.executable).with_name("actionbot")


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="action rows (default 10,000; 1,000 with --quick)")
    p.add_argument("--profile", action="store_true", help="also print the top of a cProfile of one whole import, in-process")
    args = p.parse_args()
    rows = args.rows or (1_000 if args.quick else 10_000)

    with tempfile.TemporaryDirectory(prefix="actionbot-bench-") as tmp:
        path = Path(tmp) / "big plan.xlsx"
        sheet_rows = make_plan(path, rows)
        template = Path(tmp) / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        run_db = Path(tmp) / "run.db"
        env = os.environ | {"ACTIONBOT_ORG": "default"}
        env.pop("DATABASE_URL", None)

        def fresh() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{run_db}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(template, run_db)

        def subject() -> tuple[float, float]:
            fresh()
            return run_process([str(ACTIONBOT), "--db", f"sqlite:///{run_db}", "import", str(path), "--plan-name", "Bench"], env=env)

        def floor() -> tuple[float, float]:
            fresh()
            return run_process([sys.executable, str(BENCH / "floors.py"), "import", str(run_db), str(path)], env=env)

        def stored() -> tuple[int, int]:
            with sqlite3.connect(run_db) as c:
                return c.execute("SELECT COUNT(*) FROM action").fetchone()[0], c.execute("SELECT COUNT(*) FROM action_update").fetchone()[0]

        subject()
        got = stored()
        floor()
        want = stored()
        print(f"file: {sheet_rows:,} sheet rows ({rows:,} actions), {path.stat().st_size / 2**20:.2f} MB; the command stored "
              f"{got[0]:,} actions and {got[1]:,} updates, the floor {want[0]:,} and {want[1]:,}")
        if got[0] < rows * 0.99 or want[0] != got[0]:
            print(f"WARNING: the command and the floor stored different numbers of actions ({got[0]:,}, {want[0]:,})")
        if args.profile:
            profile(path, run_db, fresh)
        secs, mem = compare_processes({"floor": floor, "subject": subject}, repeats(args))
        mf, ms = median(mem["floor"]), median(mem["subject"])
        print(f"peak RSS, floor {mf:.0f} MB, command {ms:.0f} MB: memory ratio {ms / mf:.2f}")
        report(secs, {"floor": "floor: python + openpyxl read + sqlite3 inserts, one transaction",
                      "subject": "actionbot import FILE.xlsx (whole process)"})


def profile(path: Path, db: Path, fresh: Callable[[], None]) -> None:
    """The import in this process under cProfile (what a whole run spends, less start-up)."""
    import cProfile
    import pstats

    from click.testing import CliRunner

    from bot.cli import main as cli

    fresh()
    prof = cProfile.Profile()
    result = prof.runcall(CliRunner().invoke, cli, ["--db", f"sqlite:///{db}", "import", str(path), "--plan-name", "Bench"])
    assert result.exit_code == 0, result.output
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    pstats.Stats(prof).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
