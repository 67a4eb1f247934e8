"""Nudges through Slack's rate limits: N people (1,000; 200 with --quick), each with an overdue
action and a Slack id; their nudge jobs are run into the outbox first (timed and printed: that
is the engine's work, not Slack's), then one `actionbot worker` process (its clock set to a
Tuesday 10:00) delivers the outbox through the Slack port to the fake Web API, which refuses
(429 with Retry-After) more than one message a second per channel or more than W a second in
the workspace (W = 20; the port's pacing is set to the same limits, as in production).

Run three times on copies of one prepared database (--runs K: K times each, medians printed):
undisturbed, and with the worker killed (SIGKILL) half-way through and a new one started at
once, its clock going on from where the first one's was (ACTIONBOT_LEASE_SECONDS=5, so the
dead worker's claims are taken over after 5 s); and "from the jobs": the whole morning, the
worker starting with the 1,000 nudge jobs planned but not run, so it runs them and delivers
their messages as they come (what a lead officer waits for at nine o'clock).

    .venv/bin/python bench/bench_slack_nudges.py [--quick] [--people N] [--workspace-rate W] [--runs K] [--batch 50]

The theoretical minimum is N / W seconds (each nudge goes to its own DM, so the workspace cap
binds). Prints, per run: elapsed from starting the worker process to the last nudge, 429s received,
duplicates (a person nudged more than once) and losses (a person never nudged, or an outbox row
not sent). The last line is the undisturbed runs' median elapsed over the minimum (target: under 1.15).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from common import ROOT, parser

sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text

from tests.fakes.slack_api import TOKEN, FakeSlack

ACTIONBOT = str(Path(sys.executable).with_name("actionbot"))
START = "2026-12-01T10:00:00+00:00"  # a Tuesday, in working hours in London


def plan_file(path: Path, n: int) -> None:
    rows = [f"| {i // 50 + 1}.{i % 50 + 1} | Action number {i} for the benchmark | 31/10/2026 | Lead {i:05d} | |" for i in range(n)]
    path.write_text("# Benchmark plan\n\n| Ref | Action | Target End Date | Lead Officer | Progress |\n|---|---|---|---|---|\n"
                    + "\n".join(rows) + "\n", encoding="utf-8")


def prepare(folder: Path, n: int, env: dict[str, str]) -> tuple[Path, list[str]]:
    db = folder / "prepared.db"
    md = folder / "plan.md"
    plan_file(md, n)
    subprocess.run([ACTIONBOT, "--db", f"sqlite:///{db}", "import", str(md), "--plan-name", "Bench"], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    eng = create_engine(f"sqlite:///{db}")
    with eng.begin() as c:
        c.execute(text("UPDATE person SET slack_user_id = 'U' || printf('%06d', id)"))
        users = [r[0] for r in c.execute(text("SELECT slack_user_id FROM person ORDER BY id"))]
    eng.dispose()
    return db, users


def run_jobs(db: Path, folder: Path, *, planned: Path | None = None) -> float:
    """Plan and run every nudge job into the outbox (what the worker's rounds do before they
    deliver), in this process; returns the seconds it took. With `planned`, a copy of the
    database with the jobs planned but not yet run is kept there first."""
    from bot.services import engine as eng
    from storage.db import make_engine, session_scope

    now = datetime.fromisoformat(START)
    cfg = eng.EngineConfig(chart_dir=folder / "charts", holiday_country=None, holiday_subdiv=None)
    e = make_engine(f"sqlite:///{db}")
    t = time.perf_counter()
    with session_scope(e) as s:
        eng.plan_jobs(s, now=now, cfg=cfg)
    if planned is not None:
        took = time.perf_counter() - t
        e.dispose()
        shutil.copy(db, planned)
        e = make_engine(f"sqlite:///{db}")
        t = time.perf_counter() - took
    while eng.run_due_jobs(e, now=now, worker="prepare", cfg=cfg, limit=200):
        pass
    took = time.perf_counter() - t
    e.dispose()
    return took


def outbox_counts(db: Path) -> Counter[str]:
    eng = create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        out = Counter(dict(c.execute(text("SELECT status, count(*) FROM outbox WHERE screen = 'nudge' GROUP BY status")).all()))
    eng.dispose()
    return out


async def one_run(db: Path, users: list[str], *, rate: float, kill: bool, folder: Path, env: dict[str, str], batch: int) -> dict[str, float]:
    fake = FakeSlack(per_channel_rate=1.0, workspace_rate=rate)
    for u in users:
        fake.add_user(u)
    api = await fake.start()
    wenv = env | {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "bench", "SLACK_API_URL": api, "SLACK_CHANNEL_RATE": "1",
                  "SLACK_WORKSPACE_RATE": str(rate), "ACTIONBOT_LEASE_SECONDS": "5", "ACTIONBOT_HOLIDAYS": "none",
                  "ACTIONBOT_CHART_DIR": str(folder / "charts"), "ACTIONBOT_TEAMS": "false",
                  "ACTIONBOT_DELIVER_BATCH": str(batch)}

    def start() -> subprocess.Popen[bytes]:
        # The worker's clock starts at START when the run begins and runs on in real time; a
        # restarted worker's clock continues from there (a real clock does not go back).
        at = (datetime.fromisoformat(START) + timedelta(seconds=time.monotonic() - began)).isoformat()
        log = (folder / "worker.log").open("ab")
        return subprocess.Popen([ACTIONBOT, "--db", f"sqlite:///{db}", "worker", "--start", at, "--interval", "0.05"],
                                stdout=log, stderr=log, env=wenv)

    def nudged() -> Counter[str]:
        return Counter(ch for ch, msgs in fake.messages.items() for m in msgs
                       if (m.get("metadata") or {}).get("event_payload", {}).get("key", "").startswith("nudge:"))

    n = len(users)
    began = time.monotonic()
    proc = start()
    killed_at = None
    deadline = began + max(120.0, 4 * n / rate)
    try:
        while time.monotonic() < deadline:
            got = nudged()
            if kill and killed_at is None and len(got) >= n // 2:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                killed_at = time.monotonic() - began
                proc = start()
            if len(got) >= n:
                break
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - began
        await asyncio.sleep(2.0)  # anything sent twice would arrive now
    finally:
        proc.terminate()
        proc.wait(10)
        await fake.stop()
    got = nudged()
    status = outbox_counts(db)
    return {
        "elapsed": elapsed, "killed_at": killed_at or 0.0, "rejected_429": fake.rejected_429,
        "duplicates": sum(c - 1 for c in got.values() if c > 1), "lost": n - len(got),
        "unsent_rows": sum(v for k, v in status.items() if k != "sent"),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--people", type=int, default=None, help="people to nudge (default 1,000; 200 with --quick)")
    p.add_argument("--workspace-rate", type=float, default=20.0, help="the fake workspace's cap, messages a second (default 20)")
    p.add_argument("--runs", type=int, default=1, help="repeat both runs this many times and print the medians (default 1)")
    p.add_argument("--batch", type=int, default=50, help="ACTIONBOT_DELIVER_BATCH for the worker (default 50, as in production)")
    args = p.parse_args()
    n = args.people or (200 if args.quick else 1_000)
    env = os.environ | {"LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="actionbot-bench-") as tmp:
        folder = Path(tmp)
        prepared, users = prepare(folder, n, env)
        planned = folder / "planned.db"
        jobs_took = run_jobs(prepared, folder, planned=planned)
        queued = outbox_counts(prepared)
        print(f"prepared: {n:,} people with an overdue action; their nudge jobs run into the outbox in {jobs_took:.1f} s "
              f"({dict(queued)}); the worker below delivers them")
        minimum = n / args.workspace_rate
        ratios: dict[str, list[float]] = {"undisturbed": [], "killed half-way": [], "from the jobs": []}
        for i in range(args.runs):
            for label, kill in (("undisturbed", False), ("killed half-way", True), ("from the jobs", False)):
                db = folder / f"{label.split()[0]}.db"
                shutil.copy(planned if label == "from the jobs" else prepared, db)
                r = asyncio.run(one_run(db, users, rate=args.workspace_rate, kill=kill, folder=folder, env=env, batch=args.batch))
                ratios[label].append(r["elapsed"] / minimum)
                extra = f", killed at {r['killed_at']:.1f} s and restarted" if kill else ""
                print(f"run {i + 1}: {label:<16} {n:,} nudges at 1/s per channel, {args.workspace_rate:g}/s workspace: "
                      f"elapsed {r['elapsed']:.1f} s (minimum {minimum:.1f} s, ratio {r['elapsed'] / minimum:.3f}){extra}; "
                      f"429s {r['rejected_429']}, duplicates {r['duplicates']}, lost {r['lost']}, outbox rows not sent {r['unsent_rows']}",
                      flush=True)
        for label, xs in ratios.items():
            print(f"median ratio {label}: {statistics.median(xs):.3f} (runs: {', '.join(f'{x:.3f}' for x in xs)})")
        print(f"ratio {statistics.median(ratios['undisturbed']):.3f}")

if __name__ == "__main__":
    main()
