"""Whole commands, timed from spawn to exit, each beside a process doing the same work with the
standard library (bench/floors.py):

- `actionbot --help` against `python bench/floors.py pass` (an interpreter starting and exiting);
- `actionbot parse "2.4 done" --json` against a process importing only the reader
  (`bot.domain.reading`) and printing the same JSON;
- `actionbot due --as-of … --json` on 20,000 actions against stdlib sqlite3 running the due
  scan's queries (the columns storage.snapshots reads) and json.dumps of the rows;
- `actionbot digest PLAN --as-of … --json` on a plan of 1,000 actions and 10,000 updates
  against the same kind of floor with the digest's queries.

    .venv/bin/python bench/bench_cli.py [--quick] [--repeat N]

SQLite only (the floors are stdlib sqlite3; --database-url is accepted and ignored). Prints
each command's median, its floor's, their ratio and peak RSS; then the start-up times of
`--help` and `parse` against the 0.3 s target. The last line is the worst ratio of `parse`,
`due` and `digest` (target 3; `--help`'s target is its start-up time).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from common import build_register, compare_processes, median, parser, run_process

BENCH = Path(__file__).resolve().parent
ACTIONBOT = str(Path(sys.executable).with_name("actionbot"))
PY = sys.executable
READER_ONLY = ("import json, sys; from datetime import date; from bot.domain.reading import read_reply; "
               "sys.stdout.write(json.dumps(read_reply(sys.argv[1], today=date(2026, 11, 22)).to_json(), indent=2, default=str))")


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = args.repeat or (5 if args.quick else 11)
    from storage.db import make_engine, upgrade

    env = os.environ | {"ACTIONBOT_ORG": "bench"}
    env.pop("DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="actionbot-bench-") as tmp:
        dbs = {}
        for name, size in (("due", dict(plans=4, actions_per_plan=5_000, people=1_000, updates=4_000)),
                           ("digest", dict(plans=1, actions_per_plan=1_000, people=200, updates=10_000))):
            dbs[name] = Path(tmp) / f"{name}.db"
            engine = make_engine(f"sqlite:///{dbs[name]}")
            upgrade(engine)
            info = build_register(engine, **size)
            engine.dispose()
            print(f"{name} database: {info['actions']:,} actions, {info['updates']:,} updates, {info['people']:,} people")

        def cmd(*argv: str) -> tuple[float, float]:
            return run_process([*argv], env=env)

        def db(name: str) -> str:
            return f"sqlite:///{dbs[name]}"

        rows = {
            "help": ("actionbot --help", lambda: cmd(ACTIONBOT, "--help"),
                     "python -c pass", lambda: cmd(PY, str(BENCH / "floors.py"), "pass")),
            "parse": ('actionbot parse "2.4 done" --today 2026-11-22 --json',
                      lambda: cmd(ACTIONBOT, "parse", "2.4 done", "--today", "2026-11-22", "--json"),
                      "python importing only bot.domain.reading, same JSON", lambda: cmd(PY, "-c", READER_ONLY, "2.4 done")),
            "due": ("actionbot due --as-of 2026-03-16T10:00 --json (20,000 actions)",
                    lambda: cmd(ACTIONBOT, "--db", db("due"), "due", "--as-of", "2026-03-16T10:00", "--json"),
                    "stdlib sqlite3, the due scan's queries + json.dumps", lambda: cmd(PY, str(BENCH / "floors.py"), "due", str(dbs["due"]), "bench")),
            "digest": ("actionbot digest plan-1 --as-of 2026-03-20 --json (1,000 actions)",
                       lambda: cmd(ACTIONBOT, "--db", db("digest"), "digest", "plan-1", "--as-of", "2026-03-20", "--json"),
                       "stdlib sqlite3, the digest's queries + json.dumps",
                       lambda: cmd(PY, str(BENCH / "floors.py"), "digest", str(dbs["digest"]), "bench", "plan-1", "2026-03-20")),
        }
        parts = {}
        for key, (_, subject, _, floor) in rows.items():
            parts[f"{key}:floor"], parts[f"{key}:subject"] = floor, subject
        secs, mem = compare_processes(parts, n)
        ratios = {}
        for key, (slabel, _, flabel, _) in rows.items():
            f, s = median(secs[f"{key}:floor"]), median(secs[f"{key}:subject"])
            fm, sm = median(mem[f"{key}:floor"]), median(mem[f"{key}:subject"])
            ratios[key] = s / f
            print(f"{key}:")
            print(f"  floor   {flabel:<62} median {f * 1000:8.1f} ms  peak RSS {fm:5.0f} MB")
            print(f"  command {slabel:<62} median {s * 1000:8.1f} ms  peak RSS {sm:5.0f} MB")
            print(f"  ratio {s / f:.2f} (memory {sm / fm:.2f})")
        for key in ("help", "parse"):
            s = median(secs[f"{key}:subject"])
            print(f"start-up, {key}: {s:.3f} s (target under 0.3 s){'' if s < 0.3 else '  OVER'}")
        # --help is held to its start-up time (under 0.3 s), not to a multiple of an interpreter
        # doing nothing: the last line is the worst of the commands with a ratio target (3).
        worst = max(("parse", "due", "digest"), key=ratios.__getitem__)
        print("ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
        print(f"ratio {ratios[worst]:.2f} (the worst of parse, due and digest: {worst})")


if __name__ == "__main__":
    main()
