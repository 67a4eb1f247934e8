"""Reading a big plan file without storing it: `bot.importer.read_plan(path)` on the generated
10,000-action .xlsx of bench_import.py, in process, against openpyxl's read-only pass over every
cell of the same file (the least any .xlsx reader does). Floor and subject alternate; the last
line is the ratio (target: under 3).

    .venv/bin/python bench/bench_import_read.py [--quick] [--rows N] [--repeat N]

bench_import.py times the whole `actionbot import` command, storage included; this one isolates
the importer (read -> find -> columns -> assemble -> check), which layout inference must not slow.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench_import import make_plan
from common import compare, parser, repeats, report


def openpyxl_pass(path: Path) -> int:
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


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="action rows (default 10,000; 1,000 with --quick)")
    args = p.parse_args()
    rows = args.rows or (1_000 if args.quick else 10_000)
    from bot.importer import read_plan

    with tempfile.TemporaryDirectory(prefix="actionbot-bench-") as tmp:
        path = Path(tmp) / "big plan.xlsx"
        make_plan(path, rows)
        plan = read_plan(path)
        print(f"read {len(plan.actions):,} actions, {len(plan.priorities):,} priorities, {len(plan.warnings):,} warnings")
        if len(plan.actions) < rows:
            print(f"WARNING: only {len(plan.actions):,} of {rows:,} actions were read")
        samples = compare(lambda: openpyxl_pass(path), lambda: read_plan(path), repeats(args))
        report(samples, {"floor": "floor: openpyxl read-only, every cell value", "subject": "bot.importer.read_plan(path)"})


if __name__ == "__main__":
    main()
