"""The engine's use cases: who is due, planning nudges and digests as jobs, running a job into
the outbox, and delivering the outbox through the chat ports.

One transaction per step: planning inserts idempotent job rows; running a job writes its
messages to the outbox and marks the job done together, so a process killed half-way leaves
either nothing or everything of that job; delivery claims messages with a lease.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.domain.digest import Digest
from bot.domain.due import NudgeState, is_nudge_time, next_nudge_time, zone
from bot.domain.model import ActionSnapshot, PersonSnapshot
from bot.domain.rag import Rating, action_rating
from bot.ports import ChatPort
from bot.services.delivery import Deliverer as Deliverer  # delivery lives there; re-exported for the callers
from bot.services.delivery import deliver as deliver
from bot.services.reports import (
    ChaseWaiting as ChaseWaiting,  # the read-only reports live there; re-exported for the callers
)
from bot.services.reports import EngineConfig as EngineConfig
from bot.services.reports import RegisterView as RegisterView
from bot.services.reports import digest as digest
from bot.services.reports import due as due
from bot.services.reports import waiting_to_chase as waiting_to_chase
from cards.digest import build_digest_view, digest_card
from cards.nudge import escalation_card, nudge_card
from cards.view import Card
from storage import repo, schedule
from storage.db import session_scope
from storage.tables import Job, NudgeStateRow, Organisation, Person, Plan

log = logging.getLogger("actionbot.engine")

STALE_DIGEST = timedelta(days=1)


assert EngineConfig().lease == schedule.LEASE


def address_for(person: Person | PersonSnapshot) -> tuple[str, str]:
    """Where a person's direct messages go: Slack if mapped, else Teams, else the console."""
    if person.slack_user_id:
        return "slack", person.slack_user_id
    if person.teams_user_id:
        return "teams", person.teams_user_id
    return "console", str(person.id)


# --- digests --------------------------------------------------------------------------------
def digest_for(session: Session, plan: Plan, *, as_of: date, cfg: EngineConfig = EngineConfig()) -> Digest:
    """The digest of `plan` (see bot.services.reports.digest)."""
    return digest(session, plan.id or 0, as_of=as_of, cfg=cfg)


def next_digest_time(plan: Plan, *, now: datetime, cfg: EngineConfig) -> datetime:
    """The next weekly digest moment at or after `now`: the configured weekday and time in the
    plan's timezone (so 09:00 stays 09:00 across clock changes), in UTC."""
    tz = zone(plan.timezone)
    local = now.astimezone(tz)
    day = local.date() + timedelta(days=(cfg.digest_weekday - local.weekday()) % 7)
    at = datetime.combine(day, cfg.digest_time, tzinfo=tz)
    if at.astimezone(UTC) < now:
        at = datetime.combine(day + timedelta(days=7), cfg.digest_time, tzinfo=tz)
    return at.astimezone(UTC)


# --- planning -------------------------------------------------------------------------------
def jobs_wanted(session: Session, *, now: datetime, cfg: EngineConfig = EngineConfig()) -> list[dict[str, Any]]:
    """The job rows for nudges and digests due now or later (what `plan_jobs` inserts): only
    reads, so it can run in a transaction that takes no write lock."""
    wanted: list[dict[str, Any]] = []
    for org in session.exec(select(Organisation)):
        assert org.id is not None
        nudges, reg = due(session, org.id, now=now, cfg=cfg)
        for n in nudges:
            if n.person_id is None or n.send_at is None or not (n.actions or n.unassigned):
                continue
            tz = zone(reg.people[n.person_id].timezone)
            key = f"nudge:{n.person_id}:{n.send_at.astimezone(tz).date().isoformat()}"
            wanted.append(dict(org_id=org.id, key=key, kind="nudge", due_at=n.send_at, payload={"person_id": n.person_id}))
        for plan in repo.list_plans(session, org.id):
            if not plan.digest_channels and plan.owner_id is None:
                continue
            at = next_digest_time(plan, now=now, cfg=cfg)
            key = f"digest:{plan.id}:{at.astimezone(zone(plan.timezone)).date().isoformat()}"
            wanted.append(dict(org_id=org.id, key=key, kind="digest", due_at=at, payload={"plan_id": plan.id}))
    return wanted


def plan_jobs(session: Session, *, now: datetime, cfg: EngineConfig = EngineConfig(), wanted: list[dict[str, Any]] | None = None) -> int:
    """Insert the job rows for nudges and digests that are due now or later (`wanted`, if
    already read). Idempotent: the keys name the person and local day, or the plan and digest
    day."""
    if wanted is None:
        wanted = jobs_wanted(session, now=now, cfg=cfg)
    return sum(schedule.enqueue_job(session, now=now, **w) for w in wanted)


# --- running jobs ---------------------------------------------------------------------------
def run_job(session: Session, job: Job, *, now: datetime, cfg: EngineConfig = EngineConfig()) -> str:
    """Turn one claimed job into outbox messages (same transaction). Returns what happened."""
    if job.kind == "nudge":
        outcome = _run_nudge(session, job, now=now, cfg=cfg)
    elif job.kind == "digest":
        outcome = _run_digest(session, job, now=now, cfg=cfg)
    else:
        outcome = f"unknown job kind {job.kind!r}"
    if job.status == "running":
        schedule.finish_job(session, job, now=now)
    return outcome


def _rating(a: ActionSnapshot, reg: RegisterView, today: date) -> Rating:
    plan = reg.plans[a.plan_id]
    return action_rating(a, today=today, scheme=plan.rag_scheme, due_soon_days=plan.due_soon_days)


def _run_nudge(session: Session, job: Job, *, now: datetime, cfg: EngineConfig) -> str:
    pid = int(job.payload["person_id"])
    nudges, reg = due(session, job.org_id, now=now, cfg=cfg, person_id=pid)
    mine = next((n for n in nudges if n.person_id == pid), None)
    if mine is None or not (mine.actions or mine.unassigned):
        return "nothing due any more"
    person = reg.people[pid]
    st = reg.state.get(pid, NudgeState())
    kw = dict(last_nudged_at=st.last_nudged_at, snoozed_until=st.snoozed_until, working_hours=cfg.working_hours,
              holiday_country=cfg.holiday_country, holiday_subdiv=cfg.holiday_subdiv)
    if not is_nudge_time(person, now=now, **kw):  # type: ignore[arg-type]
        later = next_nudge_time(person, now=now, **kw)  # type: ignore[arg-type]
        schedule.reschedule_job(session, job, due_at=later, note="not a nudge time when claimed")
        return f"moved to {later.isoformat()}"
    by_id = {a.id: a for a in reg.actions}
    today = now.astimezone(zone(person.timezone)).date()
    ratings = {d.action_id: _rating(by_id[d.action_id], reg, today) for d in (*mine.actions, *mine.unassigned)}
    card = nudge_card(person.display_name, mine.actions, by_id, unassigned=mine.unassigned, ratings=ratings)
    platform, target = address_for(reg.people[pid])
    # The message key is the person and the local day it is sent: when two workers run two of
    # a person's jobs at once, neither sees the other's nudge yet, and the key keeps it to one.
    key = f"nudge:{pid}:{now.astimezone(zone(person.timezone)).date().isoformat()}"
    if not schedule.enqueue_message(session, org_id=job.org_id, key=key, platform=platform, target=target, person_id=pid,
                                    screen="nudge", view=card.to_dict(), now=now):
        return f"{person.display_name} already has a nudge today"
    row = session.get(NudgeStateRow, pid) or NudgeStateRow(person_id=pid)
    row.last_nudged_at, row.unanswered_count = now, row.unanswered_count + 1
    for e in mine.escalations:
        to = reg.people[e.to_id]
        platform, target = address_for(to)
        schedule.enqueue_message(session, org_id=job.org_id, key=f"escalation:{pid}:{e.to_id}:{key}", platform=platform, target=target,
                                 person_id=e.to_id, screen="escalation", view=escalation_card(e, by_id).to_dict(), now=now)
        row.escalated_at = now
    session.add(row)
    return f"nudged {person.display_name} about {len(mine.actions) + len(mine.unassigned)} action(s)"


def _run_digest(session: Session, job: Job, *, now: datetime, cfg: EngineConfig) -> str:
    plan = session.get(Plan, int(job.payload["plan_id"]))
    if plan is None or plan.archived:
        return "plan gone"
    if now - job.due_at > STALE_DIGEST:
        return "skipped: more than a day late (the next weekly digest covers the period)"
    # The digest covers whole days: the week to the end of yesterday, so an update made later
    # on digest day falls in next week's digest rather than in neither.
    as_of = now.astimezone(zone(plan.timezone)).date() - timedelta(days=1)
    d = digest_for(session, plan, as_of=as_of, cfg=cfg)
    chart = digest_chart(d, cfg.chart_dir / f"digest-{plan.slug}-{as_of.isoformat()}.png")
    post_digest(session, plan, digest_card(build_digest_view(d, chart_path=chart)), key=job.key, now=now)
    # its trend as reported: next week's digest shows these weeks as they were shown today
    # (every day of it has ended: as_of is yesterday) and rebuilds only the week since
    repo.record_digest_weeks(session, plan.id or 0, [(p.week_ending, p.counts) for p in d.trend], now=now)
    if plan.owner_id is not None and (owner := session.get(Person, plan.owner_id)) is not None:
        private = digest_card(build_digest_view(d, private=True, chart_path=chart))
        platform, target = address_for(owner)
        schedule.enqueue_message(session, org_id=job.org_id, key=f"{job.key}:owner", platform=platform, target=target,
                                 person_id=owner.id, screen="digest", view=private.to_dict(), now=now)
    return f"digest of {plan.slug} to {len(plan.digest_channels)} channel(s)"


def post_digest(session: Session, plan: Plan, card: Card, *, key: str, now: datetime) -> int:
    """Queue a digest card to each of the plan's digest channels (in the caller's transaction);
    `key` makes it idempotent per channel. Returns how many channels it was queued for."""
    for ch in plan.digest_channels:
        platform, _, target = ch.partition(":")
        schedule.enqueue_message(session, org_id=plan.org_id, key=f"{key}:{ch}", platform=platform, target=target,
                                 screen="digest", view=card.to_dict(), now=now)
    return len(plan.digest_channels)


def digest_chart(d: Digest, path: Path) -> Path | None:
    from bot.chart import render_digest_chart

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return render_digest_chart(d, path)
    except OSError as e:  # a chart is a nicety: the digest goes without it
        log.warning("could not write digest chart %s: %s", path, e)
        return None


# --- the loop's steps -----------------------------------------------------------------------
def run_due_jobs(engine: Engine, *, now: datetime, worker: str, cfg: EngineConfig = EngineConfig(), limit: int = 50) -> list[str]:
    """Claim due jobs and run each in its own transaction."""
    with session_scope(engine) as s:
        ids = [j.id for j in schedule.claim_jobs(s, worker=worker, now=now, limit=limit, lease=cfg.lease)]
    results = []
    for jid in ids:
        try:
            with session_scope(engine) as s:
                job = s.get(Job, jid)
                assert job is not None
                results.append(run_job(s, job, now=now, cfg=cfg))
        except Exception as e:
            log.exception("job %s failed", jid)
            with session_scope(engine) as s:
                job = s.get(Job, jid)
                if job is not None:
                    schedule.fail_job(s, job, now=now, error=f"{type(e).__name__}: {e}")
            results.append(f"failed: {e}")
    return results


UNDELIVERABLE = "undeliverable"


def report_undeliverable(session: Session, msg: schedule.Outbox, *, now: datetime) -> None:
    """Tell the plan owner(s) that a message could not be delivered and will not be retried
    (the person left, the channel was archived, the bot is not in it). A report that itself
    fails is not reported again."""
    from sqlmodel import col

    from cards.nudge import notice_card
    from storage.tables import Action, ActionPerson

    if msg.screen == UNDELIVERABLE:
        return
    plan_ids: set[int] = set()
    if msg.key.startswith("digest:"):
        plan_ids.add(int(msg.key.split(":")[1]))
    if msg.person_id is not None:
        q = (select(Action.plan_id).join(ActionPerson, col(ActionPerson.action_id) == col(Action.id))
             .where(ActionPerson.person_id == msg.person_id, col(Action.removed).is_(False)).distinct())
        plan_ids |= set(session.exec(q))
    owners: dict[int, Person] = {}
    for pid in sorted(plan_ids):
        plan = session.get(Plan, pid)
        if plan is not None and plan.owner_id is not None and plan.owner_id != msg.person_id:
            owner = session.get(Person, plan.owner_id)
            if owner is not None:
                owners[owner.id or 0] = owner
    about = session.get(Person, msg.person_id) if msg.person_id is not None else None
    who = about.display_name if about is not None else f"{msg.platform} {msg.target}"
    text = (f"A {msg.screen} for {who} could not be delivered on {msg.platform} and will not be retried: "
            f"{msg.last_error or 'refused'}. Check that they are still in the workspace (or that the bot is in the channel), "
            "then map them again or set the plan's channel.")
    for owner in owners.values():
        platform, target = address_for(owner)
        schedule.enqueue_message(session, org_id=msg.org_id, key=f"{UNDELIVERABLE}:{msg.id}:{owner.id}", platform=platform, target=target,
                                 person_id=owner.id, screen=UNDELIVERABLE, view=notice_card(text, title="Not delivered").to_dict(), now=now)


def take_console_messages(engine: Engine, person_id: int, *, now: datetime, limit: int = 20) -> list[Card]:
    """Console messages waiting for a person (nudges, escalations, digests), marked delivered:
    the console platform delivers by showing them in `actionbot chat`."""
    with session_scope(engine) as s:
        msgs = schedule.claim_messages(s, worker="console-chat", now=now, platforms=("console",), person_id=person_id, limit=limit)
        cards = [Card.from_dict(m.view) for m in msgs]
        for m in msgs:
            schedule.mark_sent(s, m, now=now)
    return cards


# what makes each platform's port exist (bot/wiring.py), for the warning below
_PLATFORM_SETUP = {
    "slack": "set SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN",
    "teams": "set ACTIONBOT_TEAMS=true (and MicrosoftAppId/MicrosoftAppPassword for a real tenant)",
}


def unsendable(engine: Engine, ports: Mapping[str, ChatPort]) -> dict[str, int]:
    """Messages waiting in the outbox for a platform this process has no port for, by platform."""
    with session_scope(engine) as s:
        return schedule.waiting_by_platform(s, except_platforms=tuple(ports))


def unsendable_warning(counts: Mapping[str, int]) -> str | None:
    """One line for `serve` and `worker` to print when messages wait for a platform that is not set up."""
    if not counts:
        return None
    parts = "; ".join(f"{n} for {p} ({_PLATFORM_SETUP.get(p, 'configure it')})" for p, n in sorted(counts.items()))
    return (f"{sum(counts.values())} outbox message(s) wait for a platform that is not configured here: {parts}. "
            "They stay pending until it is.")


PLAN_EVERY = 60.0  # seconds: a long-running worker reads the whole register to plan jobs at most this often


def plan_and_run(engine: Engine, *, now: datetime, worker: str, cfg: EngineConfig = EngineConfig(), plan: bool = True) -> tuple[int, list[str]]:
    """Plan jobs (unless `plan` is False) and run the due ones; blocking, call it in a thread.
    The register is read without the write lock; only the inserts take it, briefly, so
    deliveries recording what they sent never wait for a round's reading."""
    planned = 0
    if plan:
        with session_scope(engine, read_only=True) as r:
            wanted = jobs_wanted(r, now=now, cfg=cfg)
        with session_scope(engine) as s:
            planned = plan_jobs(s, now=now, cfg=cfg, wanted=wanted)
    return planned, run_due_jobs(engine, now=now, worker=worker, cfg=cfg)


async def tick(engine: Engine, ports: Mapping[str, ChatPort], *, now: datetime, worker: str, cfg: EngineConfig = EngineConfig()) -> dict[str, int]:
    """One round: plan jobs, run the due ones, deliver the outbox (one pass; a long-running
    process uses a `Deliverer` beside `plan_and_run` instead)."""
    import asyncio

    # Messages already queued go out while this round's jobs run (database work in a thread, off
    # the event loop); what the jobs queued goes out after them, in the same round.
    (planned, ran), sent = await asyncio.gather(asyncio.to_thread(plan_and_run, engine, now=now, worker=worker, cfg=cfg),
                                                deliver(engine, ports, now=now, worker=worker, lease=cfg.lease, limit=cfg.deliver_batch))
    if ran:
        sent += await deliver(engine, ports, now=now, worker=worker, lease=cfg.lease, limit=cfg.deliver_batch)
    return {"planned": planned, "ran": len(ran), "sent": sent}

