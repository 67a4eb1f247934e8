"""Importing a big spreadsheet: `bot.importer.read_plan(path)` on a generated 10,000-row
.xlsx register (Ref, Action, Lead Officer, Target Date, Progress, RAG, with section rows),
against the floor of opening the same file with openpyxl (read_only=True, data_only=True) and
reading every cell value. Also measures the import's peak memory in a fresh process.

    .venv/bin/python bench/bench_import.py [--quick] [--rows N] [--profile]

No database is involved (--database-url is accepted and ignored, so bench/run can pass it to
every script). The last line is the ratio import/floor (target: under 3; memory target: a peak
under 300 MB).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from common import compare, parser, repeats, report

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
    start = datetime(2025, 12, 1)
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


def floor_read(path: Path) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                if v is not None:
                    n += 1
    wb.close()
    return n


def child(mode: str, path: Path) -> None:
    """Run once in this fresh process and print memory figures as JSON."""
    import resource
    import tracemalloc

    from bot.importer import read_plan

    import openpyxl  # noqa: F401 - imported before the baseline so it is not counted

    fn = (lambda: read_plan(path)) if mode.startswith("import") else (lambda: floor_read(path))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if mode.endswith("traced"):
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        print(json.dumps({"tracemalloc_peak_mb": peak / 2**20}))
        return
    fn()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"maxrss_mb": rss / 1024, "baseline_mb": base_rss / 1024}))


def memory(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="action rows (default 10,000; 1,000 with --quick)")
    p.add_argument("--profile", action="store_true", help="also print the top of a cProfile of one import")
    p.add_argument("--child", nargs=2, help=argparse_hidden())
    args = p.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    rows = args.rows or (1_000 if args.quick else 10_000)
    from bot.importer import read_plan

    with tempfile.TemporaryDirectory(prefix="actionbot-bench-") as tmp:
        path = Path(tmp) / "big plan.xlsx"
        sheet_rows = make_plan(path, rows)
        plan = read_plan(path)
        print(f"file: {sheet_rows:,} sheet rows ({rows:,} actions), {path.stat().st_size / 2**20:.2f} MB; "
              f"imported {len(plan.actions):,} actions, {len(plan.priorities):,} priorities, {len(plan.warnings):,} warnings")
        if len(plan.actions) < rows * 0.99:
            print(f"WARNING: only {len(plan.actions):,} of {rows:,} actions were read")
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.runcall(read_plan, path)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
            pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        mem_import, mem_floor = memory("import", path), memory("floor", path)
        traced = memory("import-traced", path)
        print(f"memory, import: peak RSS {mem_import['maxrss_mb']:.0f} MB (process after imports "
              f"{mem_import['baseline_mb']:.0f} MB, so +{mem_import['maxrss_mb'] - mem_import['baseline_mb']:.0f} MB); "
              f"tracemalloc peak {traced['tracemalloc_peak_mb']:.0f} MB")
        print(f"memory, floor:  peak RSS {mem_floor['maxrss_mb']:.0f} MB (+{mem_floor['maxrss_mb'] - mem_floor['baseline_mb']:.0f} MB)")
        samples = compare(lambda: floor_read(path), lambda: read_plan(path), repeats(args))
        report(samples, {"floor": "floor: openpyxl read-only, every cell value", "subject": "bot.importer.read_plan(path)"})


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
