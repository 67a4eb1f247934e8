"""Real `actionbot worker` processes on one database: each nudge is sent exactly once by two
workers running at once, and a worker killed mid-run loses nothing (its leases run out and a
new worker finishes the work). SQLite by default, PostgreSQL when configured.

The workers write console messages as JSON lines to their --console-out file: the union of
those files is what people received.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from bot.services import engine as eng
from storage import schedule
from storage.db import make_engine, normalise_url
from tests.test_engine import Reg

ACTIONBOT = Path(sys.executable).with_name("actionbot")
ORG = "procs"
PEOPLE = 60
T = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 10:00 in London


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def build(db_url: str, n: int = PEOPLE) -> dict[str, str]:
    """n people, each owning two due actions; returns person id → name."""
    e = make_engine(db_url)
    with Session(e, expire_on_commit=False) as s:
        r = Reg(s, org=ORG)
        p = r.plan("Corporate improvement plan", slug="corp")
        people = {}
        for i in range(n):
            person = r.person(f"Person {i:03d}")
            r.action(p, f"{i}.1", owner=person)
            r.action(p, f"{i}.2", owner=person)
            people[str(person.id)] = person.display_name
        r.commit()
    e.dispose()
    return people


def start_worker(db_url: str, out: Path, now: datetime, cwd: Path, *, once: bool = True) -> subprocess.Popen:
    args = [str(ACTIONBOT), "--db", db_url, "--org", ORG, "worker", "--now", _iso(now), "--console-out", str(out)]
    args += ["--once"] if once else ["--interval", "0.05"]
    log = (cwd / f"{out.stem}.log").open("ab")
    return subprocess.Popen(args, cwd=cwd, stdout=log, stderr=log, env={**os.environ, "ACTIONBOT_CHART_DIR": str(cwd / "charts")})


def finish(proc: subprocess.Popen, timeout: float = 60) -> None:
    assert proc.wait(timeout=timeout) == 0, f"worker exited with {proc.returncode}"


def received(*files: Path) -> Counter[str]:
    """How many nudges each person (console target = person id) got, over all files."""
    got: Counter[str] = Counter()
    for f in files:
        if not f.exists():
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            msg = json.loads(line)
            if msg["card"]["screen"] == "nudge":
                got[msg["target"]] += 1
    return got


class Tables:
    """Counts of the day's nudge jobs (not the next day's, planned once a person is nudged) and
    of nudge messages, read without taking any lock (autocommit, no BEGIN IMMEDIATE)."""

    def __init__(self, db_url: str) -> None:
        self.engine = create_engine(normalise_url(db_url), isolation_level="AUTOCOMMIT")

    def counts(self) -> tuple[Counter[str], Counter[str]]:
        today = {"today": f"nudge:%:{T.date().isoformat()}"}
        with self.engine.connect() as c:
            jobs = Counter(dict(c.execute(text("SELECT status, count(*) FROM job WHERE key LIKE :today GROUP BY status"), today).all()))
            out = Counter(dict(c.execute(text("SELECT status, count(*) FROM outbox WHERE screen = 'nudge' GROUP BY status")).all()))
        return jobs, out

    def close(self) -> None:
        self.engine.dispose()


def wait_for(tables: Tables, proc: subprocess.Popen, ready, what: str, deadline: float = 25) -> tuple[Counter[str], Counter[str]]:  # type: ignore[no-untyped-def]
    """Poll the tables until `ready(jobs, outbox)`; fail if the worker ends first."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        jobs, out = tables.counts()
        if ready(jobs, out):
            return jobs, out
        if proc.poll() is not None:
            raise AssertionError(f"the worker finished before {what} (jobs {dict(jobs)}, outbox {dict(out)})")
        time.sleep(0.002)
    raise AssertionError(f"timed out waiting for {what}")


def run_until_idle(db_url: str, out: Path, now: datetime, cwd: Path, rounds: int = 5) -> int:
    """Run one-round workers until every nudge job is done and every nudge sent."""
    tables = Tables(db_url)
    try:
        for n in range(1, rounds + 1):
            finish(start_worker(db_url, out, now, cwd))
            jobs, msgs = tables.counts()
            if set(jobs) <= {"done"} and set(msgs) <= {"sent"}:
                return n
    finally:
        tables.close()
    raise AssertionError(f"work left after {rounds} rounds: jobs {dict(jobs)}, outbox {dict(msgs)}")


def test_two_workers_at_once_send_each_nudge_exactly_once(db_url, tmp_path):
    people = build(db_url)
    outs = [tmp_path / "worker1.jsonl", tmp_path / "worker2.jsonl"]
    procs = [start_worker(db_url, out, T, tmp_path) for out in outs]
    for p in procs:
        finish(p)
    per_worker = [sum(received(out).values()) for out in outs]
    sweep = tmp_path / "sweep.jsonl"
    tables = Tables(db_url)
    jobs, msgs = tables.counts()
    tables.close()
    if not (set(jobs) <= {"done"} and set(msgs) <= {"sent"}):  # one round claims at most 50 jobs each
        run_until_idle(db_url, sweep, T, tmp_path)
    got = received(*outs, sweep)
    print(f"nudges sent by worker 1: {per_worker[0]}, worker 2: {per_worker[1]}, sweep: {sum(received(sweep).values())}")
    assert set(got) == set(people), f"missing: {sorted(set(people) - set(got))}"
    assert set(got.values()) == {1}, f"sent more than once: {[k for k, v in got.items() if v > 1]}"
    # Each nudge listed both of the person's actions.
    # (either worker may deliver what the other queued: a worker that sent nothing wrote no file)
    for line in "".join(o.read_text() for o in outs if o.exists()).splitlines():
        card = json.loads(line)["card"]
        refs = sorted(ln["parts"][0]["text"] for s in card["sections"] if s["key"] == "due" for ln in s["lines"])
        assert len(refs) == 2 and refs[0].split(".")[0] == refs[1].split(".")[0]
    jobs, msgs = Tables(db_url).counts()
    assert jobs == Counter(done=PEOPLE) and msgs == Counter(sent=PEOPLE)


@pytest.mark.parametrize("phase", ["running-jobs", "delivering"])
def test_a_worker_killed_mid_run_loses_nothing(db_url, tmp_path, phase):
    people = build(db_url)
    if phase == "delivering":  # the jobs already ran: the worker only delivers (and is killed doing it)
        e = make_engine(db_url)
        from storage.db import session_scope

        with session_scope(e) as s:
            eng.plan_jobs(s, now=T)
        while eng.run_due_jobs(e, now=T, worker="earlier", cfg=eng.EngineConfig(chart_dir=tmp_path / "charts")):
            pass
        e.dispose()
    first = tmp_path / "killed.jsonl"
    tables = Tables(db_url)
    proc = start_worker(db_url, first, T, tmp_path, once=False)
    try:
        if phase == "running-jobs":
            jobs, msgs = wait_for(tables, proc, lambda j, o: j["done"] >= 5 and j["running"] > 0, "some jobs were done")
        else:
            jobs, msgs = wait_for(tables, proc, lambda j, o: o["sent"] >= 1 and o["sending"] > 0, "some messages were sent")
        os.kill(proc.pid, signal.SIGKILL)  # kill it where it stands
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    # Look only once it is dead: a commit it sent just before may still land on the server
    # (several sends are in flight at once), so read until two looks agree.
    jobs, msgs = tables.counts()
    while (again := tables.counts()) != (jobs, msgs):
        jobs, msgs = again
        time.sleep(0.2)
    written = sum(received(first).values())
    in_flight = msgs["sending"]  # claimed by the dead worker, not marked sent
    print(f"{phase}: at the kill jobs {dict(jobs)}, outbox {dict(msgs)}, lines written {written}")
    assert jobs["running"] + msgs["sending"] > 0, "nothing was in the dead worker's hands"

    # A new worker before the lease runs out leaves the dead worker's rows alone...
    early = tmp_path / "early.jsonl"
    finish(start_worker(db_url, early, T + schedule.LEASE - timedelta(seconds=30), tmp_path))
    j2, m2 = tables.counts()
    assert j2["running"] == jobs["running"] and m2["sending"] == msgs["sending"]
    # ...and after it, finishes everything.
    later = tmp_path / "restarted.jsonl"
    rounds = run_until_idle(db_url, later, T + schedule.LEASE + timedelta(minutes=1), tmp_path)
    got = received(first, early, later)
    dups = {k: v for k, v in got.items() if v > 1}
    print(f"{phase}: restarted worker needed {rounds} round(s); duplicates {len(dups)} (in flight at the kill: {in_flight})")
    assert set(got) == set(people), f"lost: {sorted(set(people) - set(got))}"
    assert max(got.values()) <= 2 and len(dups) <= in_flight
    assert len(dups) <= written - msgs["sent"]  # only a message written but not yet marked can go twice
    jobs, msgs = tables.counts()
    tables.close()
    assert jobs == Counter(done=PEOPLE) and msgs == Counter(sent=PEOPLE)
