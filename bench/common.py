"""Shared pieces of the benchmarks: arguments, a scratch database, bulk inserts, timing.

Every benchmark times the code under test against a FLOOR measured in the same run on the
same data (the bare reads the code cannot avoid), alternating the two, and prints medians and
their ratio. The last line printed is `ratio X.XX`. Absolute times mean little on a small,
noisy machine; the ratio is what we compare.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python bench/x.py` from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, Table, create_engine, insert, text  # noqa: E402

from storage.db import make_engine, normalise_url, upgrade  # noqa: E402


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--database-url", default="",
                   help="a PostgreSQL server URL (e.g. postgresql://postgres@127.0.0.1:5432/test): a scratch "
                        "database is created in it and dropped afterwards. Default: a temporary SQLite file.")
    p.add_argument("--quick", action="store_true", help="a tenth of the size and 3 repeats: a smoke run")
    p.add_argument("--repeat", type=int, default=None, help="timed repeats of each side (default 5; 3 with --quick)")
    return p


def repeats(args: argparse.Namespace) -> int:
    return args.repeat or (3 if args.quick else 5)


# --------------------------------------------------------------------------- databases


@contextmanager
def scratch_database(url: str) -> Iterator[Engine]:
    """A migrated, empty database for one benchmark run, removed afterwards."""
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="actionbot-bench-"))
        engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"actionbot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = normalise_url(url).rpartition("/")
    engine = make_engine(f"{base}/{name}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def describe(engine: Engine) -> str:
    return "postgresql" if engine.dialect.name == "postgresql" else "sqlite"


def bulk_insert(engine: Engine, table: Table, rows: Sequence[dict[str, Any]], chunk: int = 20_000) -> None:
    """Core executemany in chunks: one statement per chunk, no ORM objects."""
    with engine.begin() as c:
        for i in range(0, len(rows), chunk):
            c.execute(insert(table), list(rows[i : i + chunk]))


def finish_load(engine: Engine, tables: Sequence[Table]) -> None:
    """After inserting explicit ids: move PostgreSQL's sequences past them, refresh planner
    statistics (both databases), so the timed queries run as they would on a live register."""
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            for t in tables:
                if "id" in t.c and t.c.id.primary_key:
                    c.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                                   f"COALESCE((SELECT MAX(id) FROM \"{t.name}\"), 1))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as c:
            c.exec_driver_sql("ANALYZE")


# --------------------------------------------------------------------------- timing


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def compare(floor: Callable[[], Any], subject: Callable[[], Any], n: int,
            extra: dict[str, Callable[[], Any]] | None = None) -> dict[str, list[float]]:
    """Run floor, subject (and any extra parts) alternately `n` times, after one warm-up each."""
    parts = {"floor": floor, "subject": subject, **(extra or {})}
    for fn in parts.values():
        fn()
    samples: dict[str, list[float]] = {k: [] for k in parts}
    for _ in range(n):
        for k, fn in parts.items():
            samples[k].append(timed(fn)[0])
    return samples


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def report(samples: dict[str, list[float]], labels: dict[str, str]) -> float:
    """Print each part's median (and the spread), then the ratio subject/floor last."""
    floor = median(samples["floor"])
    for key, xs in samples.items():
        m = median(xs)
        print(f"{labels.get(key, key):<64} median {m * 1000:9.1f} ms  (min {min(xs) * 1000:.1f}, max {max(xs) * 1000:.1f})"
              f"  x{m / floor:5.2f} of floor")
    ratio = median(samples["subject"]) / floor
    print(f"ratio {ratio:.2f}")
    return ratio


# --------------------------------------------------------------------------- a register


def build_register(engine: Engine, *, plans: int, actions_per_plan: int, people: int, updates: int,
                   seed: int = 7) -> dict[str, Any]:
    """An organisation with `plans` plans of `actions_per_plan` actions, `people` people (most
    with a manager), owners mapped (10% of actions have none, 20% two, 5% a delegate), and
    `updates` updates spread over the actions, inserted in bulk. Returns ids and counts."""
    import random
    from datetime import UTC, date, datetime, timedelta

    from storage.tables import Action, ActionPerson, NudgeStateRow, Organisation, Person, Plan, Priority, Update

    rnd = random.Random(seed)
    start = datetime(2025, 4, 1, 9, tzinfo=UTC)
    org_id = 1
    bulk_insert(engine, Organisation.__table__, [dict(id=org_id, slug="bench", name="Bench Borough Council",
                                                      slack_team_id=None, teams_tenant_id=None, created_at=start)])
    firsts = ["Amy", "Ben", "Chloe", "Dev", "Ella", "Farid", "Grace", "Hamza", "Isla", "Jack", "Kiran", "Lucy"]
    lasts = ["Patel", "Smith", "Jones", "Khan", "Brown", "Taylor", "Wilson", "Evans", "Hughes", "Ali", "Moore"]
    person_rows = []
    for i in range(1, people + 1):
        person_rows.append(dict(
            id=i, org_id=org_id, display_name=f"{rnd.choice(firsts)} {rnd.choice(lasts)} {i}",
            role_title=rnd.choice(["Head of Service", "Team Manager", "Service Manager", "Director"]),
            email=f"officer{i}@bench.gov.uk", slack_user_id=f"U{i:08d}" if rnd.random() < 0.6 else None,
            teams_user_id=f"29:{i}" if rnd.random() < 0.3 else None,
            timezone="Europe/London" if rnd.random() < 0.97 else "America/New_York",
            away_until=date(2026, 3, rnd.randint(1, 28)) if rnd.random() < 0.03 else None,
            manager_id=rnd.randint(1, i - 1) if i > 1 and rnd.random() < 0.7 else None, created_at=start))
    bulk_insert(engine, Person.__table__, person_rows)

    cadences = ["monthly:last", "monthly:15", "weekly:mon", "fortnightly:thu"]
    plan_rows, prio_rows, action_rows, link_rows = [], [], [], []
    action_id = prio_id = 0
    for p in range(1, plans + 1):
        plan_rows.append(dict(
            id=p, org_id=org_id, slug=f"plan-{p}", title=f"Improvement plan {p}", organisation_name="Bench Borough Council",
            period="2025-26", plan_date=date(2025, 3, 1), source_file=f"plan-{p}.xlsx", rag_scheme=rnd.choice(["BRAG", "RAG"]),
            cadence=cadences[p % len(cadences)], timezone="Europe/London", due_soon_days=14,
            digest_channels=[f"slack:C{p:06d}"], signoff_stages=["Evidence Challenge Panel", "Directorate Leadership Team"],
            owner_id=rnd.randint(1, people), archived=False, created_at=start))
        first_prio = prio_id + 1
        for k in range(1, 9):
            prio_id += 1
            prio_rows.append(dict(id=prio_id, plan_id=p, ref=str(k), title=f"Priority {k}: improve practice area {k}",
                                  timescale="Six months", expected_outcome="Outcome", findings="Findings",
                                  accountable_text="Director", accountable_id=None, position=k))
        for j in range(actions_per_plan):
            action_id += 1
            k = j % 8
            status = rnd.choices(["not_started", "in_progress", "complete", "signed_off", "on_hold", "cancelled"],
                                 [20, 50, 10, 10, 5, 5])[0]
            target = date(2025, 6, 1) + timedelta(days=rnd.randint(0, 540))
            revised = target + timedelta(days=rnd.randint(14, 120)) if rnd.random() < 0.15 else None
            last = start + timedelta(minutes=rnd.randint(0, 60 * 24 * 330)) if rnd.random() < 0.7 else None
            action_rows.append(dict(
                id=action_id, plan_id=p, priority_id=first_prio + k, ref=f"{k + 1}.{j // 8 + 1}",
                text=f"Undertake a review of practice area {j} and report findings to the Leadership Learning Group",
                outputs="Audit report", outcome_required="Improved practice", evidence_required="Audit findings",
                links="", lead_text=f"Head of Service {j % 40}", original_target=target,
                original_target_raw=target.strftime("%B %Y"), revised_target=revised,
                revised_reason="Capacity" if revised else "", status=status,
                rag=rnd.choice([None, "R", "A", "G", "B"]), extra={}, position=j, removed=rnd.random() < 0.02,
                version=rnd.randint(1, 5), signoff_stage=rnd.choice([0, 0, 1]) if status == "complete" else 0,
                returned_at=start + timedelta(days=rnd.randint(100, 300)) if rnd.random() < 0.01 else None,
                last_update_at=last, created_at=start, updated_at=last or start))
            r = rnd.random()
            if r >= 0.10:
                owners = rnd.sample(range(1, people + 1), 2 if r > 0.8 else 1)
                link_rows += [dict(action_id=action_id, person_id=o, kind="owner") for o in owners]
                if rnd.random() < 0.05:
                    d = rnd.randint(1, people)
                    if d not in owners:
                        link_rows.append(dict(action_id=action_id, person_id=d, kind="delegate"))
    bulk_insert(engine, Plan.__table__, plan_rows)
    bulk_insert(engine, Priority.__table__, prio_rows)
    bulk_insert(engine, Action.__table__, action_rows)
    bulk_insert(engine, ActionPerson.__table__, link_rows)

    update_rows = []
    for u in range(1, updates + 1):
        update_rows.append(dict(
            id=u, action_id=rnd.randint(1, action_id), at=start + timedelta(minutes=rnd.randint(0, 60 * 24 * 330)),
            author_id=rnd.randint(1, people), author_text="", channel=rnd.choice(["slack", "teams", "cli", "import"]),
            text="Audit completed; findings shared with team managers.",
            status=rnd.choice([None, None, "in_progress", "complete", "not_started"]), rag=rnd.choice([None, "R", "A", "G"]),
            revised_target=date(2026, 1, 1) + timedelta(days=rnd.randint(0, 300)) if rnd.random() < 0.05 else None,
            revised_reason="", evidence=[], period_label=rnd.choice(["", "March 2026"]), supersedes_id=None))
    bulk_insert(engine, Update.__table__, update_rows)
    states = [dict(person_id=i, last_nudged_at=start + timedelta(days=rnd.randint(0, 330)),
                   snoozed_until=start + timedelta(days=340) if rnd.random() < 0.1 else None,
                   unanswered_count=rnd.randint(0, 4), escalated_at=None, last_answered_at=None)
              for i in rnd.sample(range(1, people + 1), people // 4)]
    bulk_insert(engine, NudgeStateRow.__table__, states)
    finish_load(engine, [Organisation.__table__, Person.__table__, Plan.__table__, Priority.__table__,
                         Action.__table__, Update.__table__])
    return dict(org_id=org_id, plan_ids=list(range(1, plans + 1)), actions=action_id, links=len(link_rows),
                updates=updates, people=people)


# --------------------------------------------------------------------------- whole processes


def run_process(argv: Sequence[str], *, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command to its end: (wall seconds from spawn to exit, its peak RSS in MB). Fails
    loudly if the command fails; its output is discarded.

    Spawned and measured by a small launcher (bench/measure.py): Linux starts a child's peak
    RSS at its parent's RSS when it forks, so a child of this big process would report at
    least this process's size."""
    import json
    import subprocess

    out = subprocess.run([sys.executable, "-S", str(Path(__file__).with_name("measure.py")), *argv],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {out.stderr.strip()[-2000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return got["seconds"], got["maxrss_kb"] / 1024


def compare_processes(parts: dict[str, Callable[[], tuple[float, float]]], n: int
                      ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Like compare(), for callables that run a process and return (seconds, peak MB): the
    time samples and the memory samples of each part."""
    for fn in parts.values():
        fn()
    secs: dict[str, list[float]] = {k: [] for k in parts}
    mem: dict[str, list[float]] = {k: [] for k in parts}
    for _ in range(n):
        for k, fn in parts.items():
            s, m = fn()
            secs[k].append(s)
            mem[k].append(m)
    return secs, mem


# --------------------------------------------------------------------------- fair floors in-process


def sizes(args: Any, default: str = "10000,100000,200000", quick: str = "10000") -> list[int]:
    return [int(x) for x in (getattr(args, "sizes", None) or (quick if args.quick else default)).split(",")]


def driver_sql(engine: Engine, sql: str) -> str:
    """`:name` parameters in the driver's own style (psycopg wants %(name)s)."""
    import re

    return re.sub(r":(\w+)", r"%(\1)s", sql) if engine.dialect.name == "postgresql" else sql


def fair_read(engine: Engine, queries: Sequence[tuple[str, str]], params: dict[str, Any], *,
              keep: bool = True) -> list[list[tuple]]:
    """The floor of a read: each query run on the bare driver (no SQLAlchemy), its rows fetched
    in one go, and every stored moment and date turned into the Python type the product hands
    on (aware UTC datetime, date, the status, RAG or channel enum member), as the product must.
    `queries` are (sql, kinds): one letter per column, "t" a timestamp, "d" a date, "e" a stored
    enum value (None and "" stay None), "-" anything else. Where the driver already gives a
    column's type (psycopg's timestamptz in a UTC session: an aware datetime in UTC; its date: a
    date), nothing is done to it, as the product does nothing (storage.snapshots._utc_of and
    _day_of): only what is left to make is made. The cyclic garbage collector is paused while
    the rows are made, as the product pauses it around its reads (storage.snapshots.paused_gc):
    left on, its passes over every row already made cost the floor 15% at 10,000 actions and
    45% at 100,000, work the product does not do. Turned back on, it makes the one pass over
    the young rows that the product's first allocation after its pause sets off.

    `keep`: whether the product keeps what it read once it has returned (the due scan returns
    its snapshots). Without it (the digest returns only the digest: every row it read is freed
    before it returns, and before it turns the collector back on), the floor frees its rows
    too, within its time and before the collector is back, and returns no rows: freeing them
    is work the product does, and a pass over rows it no longer holds is work it does not."""
    from datetime import UTC, date, datetime

    from bot.domain.model import Channel, Rag, Status

    fromiso, dfromiso = datetime.fromisoformat, date.fromisoformat
    members: dict[Any, Any] = {None: None, "": None, **{m.value: m for e in (Status, Rag, Channel) for m in e}}
    member = members.__getitem__

    def ts(v: Any) -> Any:
        if v is None or isinstance(v, datetime):
            return v
        return fromiso(v).replace(tzinfo=UTC)

    def d(v: Any) -> Any:
        return v if v is None or isinstance(v, date) else dfromiso(v)

    out = []
    collecting = gc.isenabled()
    gc.disable()
    raw = engine.raw_connection()
    try:
        # psycopg makes dates, and moments as aware datetimes in the session's zone: UTC here
        typed = engine.dialect.name == "postgresql" and raw.driver_connection.info.timezone is UTC
        made = "e" if typed else "tde"
        cur = raw.cursor()
        for sql, kinds in queries:
            cur.execute(driver_sql(engine, sql), params)
            rows = cur.fetchall()
            conv = [(i, ts if k == "t" else d if k == "d" else member) for i, k in enumerate(kinds) if k in made]
            if conv:
                fixed = []
                for r in rows:
                    r = list(r)
                    for i, f in conv:
                        r[i] = f(r[i])
                    fixed.append(tuple(r))
                rows = fixed
            out.append(rows)
        raw.rollback()
    finally:
        raw.close()
        if not keep:
            out = []
        if collecting:
            gc.enable()
            gc.collect(0)
    return out



def add_empty_org(engine: Engine, info: dict[str, Any]) -> tuple[int, int]:
    """A second organisation beside the built one, with one plan, one person and no actions:
    timing the same call on it shows the call's fixed cost (session, statements, a few rows),
    which does not grow with the register. Returns (org id, plan id)."""
    from datetime import UTC, datetime

    from storage.tables import Organisation, Person, Plan

    at = datetime(2025, 4, 1, 9, tzinfo=UTC)
    org, person, plan = info["org_id"] + 1000, info["people"] + 1000, max(info["plan_ids"]) + 1000
    bulk_insert(engine, Organisation.__table__, [dict(id=org, slug="empty", name="Empty Council", created_at=at)])
    bulk_insert(engine, Person.__table__, [dict(id=person, org_id=org, display_name="Only Person", role_title="", timezone="Europe/London",
                                                created_at=at)])
    bulk_insert(engine, Plan.__table__, [dict(id=plan, org_id=org, slug="empty", title="Empty plan", organisation_name="", period="",
                                              source_file="", rag_scheme="BRAG", cadence="monthly:last", timezone="Europe/London",
                                              due_soon_days=14, digest_channels=[], signoff_stages=["Panel"], owner_id=person,
                                              archived=False, created_at=at)])
    return org, plan


def print_fixed(samples: dict[str, list[float]], at_size: dict[str, float], subject: str) -> None:
    """The fixed cost (the same call on an organisation with no actions) beside the times at the smallest size."""
    f, s = median(samples["floor"]), median(samples["subject"])
    print(f"   fixed cost (the same call, no actions): floor {f * 1000:.1f} ms ({f / at_size['floor']:.0%} of its time at this size), "
          f"{subject} {s * 1000:.1f} ms ({s / at_size['subject']:.0%} of its time at this size)")
