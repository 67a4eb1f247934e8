"""The engine's read-only reports: who is due for a nudge (the due scan) and a plan's digest.

They read through storage.snapshots, so they run on a SQLModel session (inside its
transaction: what the engine's jobs and the conversation do) or on a bare driver connection
(storage.rawdb), and import no SQLAlchemy themselves: a one-shot `actionbot due` or
`actionbot digest` answers without loading the database stack (bench/README.md). The engine
(bot.services.engine) re-exports them with the jobs that act on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.domain.digest import TREND_WEEKS, Digest, build_digest
from bot.domain.due import NudgePlan, needs_update, plan_nudges, zone
from storage.rawdb import Db, as_db
from storage.snapshots import (
    RegisterView,
    Source,
    awaiting_signoff,
    load_for_digest,
    load_register,
    paused_gc,
    plan_rows,
    plan_snapshot,
    plan_stages,
    priorities,
    reported_weeks,
)


@dataclass(frozen=True)
class EngineConfig:
    working_hours: tuple[time, time] = (time(9), time(17))
    holiday_country: str | None = "GB"
    holiday_subdiv: str | None = "ENG"
    escalate_after: int = 2
    digest_weekday: int = 0  # Monday
    digest_time: time = time(9)
    stale_weeks: int = 4
    chart_dir: Path = field(default_factory=lambda: Path("charts"))
    # how long a claimed job or message is a worker's before another may take it (storage.schedule.LEASE)
    lease: timedelta = timedelta(minutes=2)
    deliver_batch: int = 50  # outbox messages one round claims at most (sent concurrently across targets, each port pacing itself)


def due(
    source: Source, org_id: int, *, now: datetime, cfg: EngineConfig = EngineConfig(), person_id: int | None = None
) -> tuple[list[NudgePlan], RegisterView]:
    """Who would be nudged at `now`, for which actions, and why (with `person_id`: only what
    concerns that person's own nudge, read without loading the whole register)."""
    reg = load_register(source, org_id, person_id=person_id)
    with paused_gc():  # many small acyclic objects: the cyclic collector's passes only cost time here
        nudges = plan_nudges(
            reg.actions, reg.people, reg.plans, now=now, nudge_state=reg.state, escalate_after=cfg.escalate_after,
            working_hours=cfg.working_hours, holiday_country=cfg.holiday_country, holiday_subdiv=cfg.holiday_subdiv,
        )
    return nudges, reg


@dataclass(frozen=True)
class ChaseWaiting:
    """A plan whose lead officers are not chased yet (`Plan.chase_from` is ahead)."""

    slug: str
    title: str
    chase_from: date
    due_then: int  # how many of its actions will need an update on that morning

    def to_json(self) -> dict:
        return {"plan": self.slug, "title": self.title, "chase_from": self.chase_from.isoformat(), "due_then": self.due_then}


def waiting_to_chase(reg: RegisterView, *, now: datetime, cfg: EngineConfig = EngineConfig()) -> list[ChaseWaiting]:
    """The plans in `reg` not chased yet at `now`, with how many actions will be asked about
    on their first chasing morning."""
    out = []
    for pid, plan in reg.plans.items():
        tz = zone(plan.timezone)
        if plan.chase_from is None or plan.chase_from <= now.astimezone(tz).date():
            continue
        morning = datetime.combine(plan.chase_from, cfg.working_hours[0], tzinfo=tz).astimezone(UTC)
        due_then = sum(1 for a in reg.actions if a.plan_id == pid and needs_update(a, plan=plan, now=morning) is not None)
        out.append(ChaseWaiting(reg.slugs[pid], plan.title, plan.chase_from, due_then))
    return out


def digest(source: Source, plan_id: int, *, as_of: date, cfg: EngineConfig = EngineConfig()) -> Digest:
    """The digest of plan `plan_id` to the end of `as_of`. A KeyError when there is no such
    plan or it is archived (not in the live register: no digest)."""
    db = as_db(source)  # once: each read below would otherwise ask the session for its connection again
    rows = plan_rows(db, plan_id=plan_id, live=False)
    if not rows or rows[0][11]:
        raise KeyError(plan_id)
    row = rows[0]
    # Many small acyclic objects, as in due(): the collector stays paused from the read to the
    # digest. Paused only around each, it came back on with every snapshot just read still in
    # its youngest generation, and the reads between (priorities, sign-offs) set off passes
    # over all of them: a quarter of a second at 100k actions. It comes back on after _digest
    # has returned, its snapshots already freed: with them still alive, its first pass went
    # over all of them (7 ms at 10k actions).
    with paused_gc():
        return _digest(db, row, as_of=as_of, cfg=cfg)


def _digest(db: Db, row: tuple, *, as_of: date, cfg: EngineConfig) -> Digest:
    plan_id = row[0]
    actions, trails, people = load_for_digest(db, plan_id, row[12])  # each action's changes: no update text
    waiting = awaiting_signoff(db, plan_id, plan_stages(db, row))
    # the trend's earlier weeks as the plan's digests reported them (only those no digest
    # reported are rebuilt from the history)
    reported = reported_weeks(db, plan_id, as_of - timedelta(weeks=TREND_WEEKS - 1), as_of - timedelta(days=1))
    return build_digest(plan_snapshot(db, row), priorities(db, plan_id), actions, trails, as_of=as_of,
                        stale_weeks=cfg.stale_weeks, people=people, awaiting_signoff=waiting, reported_weeks=reported)
