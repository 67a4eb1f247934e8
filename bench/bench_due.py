"""The due scan: `bot.services.engine.due(session, org_id, now=...)` over a whole organisation
(20 plans, 100,000 actions, 2,000 people, owners mapped), against the floor of reading the same
rows (plans, priorities, actions, owners, people, nudge state) with bare SQL into tuples.

    .venv/bin/python bench/bench_due.py [--database-url postgresql://postgres@127.0.0.1:5432/test] [--quick]

Also prints the two halves of the subject (loading the register; the domain rules) so the
ratio can be read: the last line is the ratio subject/floor (target: under 3).
"""

from __future__ import annotations

from datetime import UTC, datetime

from common import build_register, compare, describe, parser, repeats, report, scratch_database, timed
from sqlalchemy import text
from sqlmodel import Session

FLOOR_SQL = [
    "SELECT id, slug, title, rag_scheme, cadence, timezone, due_soon_days, owner_id, signoff_stages, digest_channels "
    "FROM plan WHERE org_id = :org AND archived = false",
    "SELECT pr.id, pr.ref FROM priority pr JOIN plan p ON p.id = pr.plan_id WHERE p.org_id = :org AND p.archived = false",
    "SELECT a.id, a.plan_id, a.priority_id, a.ref, a.text, a.status, a.rag, a.lead_text, a.original_target, "
    "a.original_target_raw, a.revised_target, a.last_update_at, a.returned_at, a.created_at, a.version "
    "FROM action a JOIN plan p ON p.id = a.plan_id WHERE p.org_id = :org AND p.archived = false AND a.removed = false",
    "SELECT ap.action_id, ap.person_id, ap.kind FROM action_person ap JOIN action a ON a.id = ap.action_id "
    "JOIN plan p ON p.id = a.plan_id WHERE p.org_id = :org AND p.archived = false AND a.removed = false",
    "SELECT id, display_name, timezone, away_until, manager_id, slack_user_id, teams_user_id FROM person WHERE org_id = :org",
    "SELECT n.person_id, n.last_nudged_at, n.snoozed_until, n.unanswered_count, n.escalated_at "
    "FROM nudge_state n JOIN person pe ON pe.id = n.person_id WHERE pe.org_id = :org",
]


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = repeats(args)
    size = dict(plans=20, actions_per_plan=500 if args.quick else 5_000, people=200 if args.quick else 2_000,
                updates=2_000 if args.quick else 20_000)
    now = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)  # a Monday in working hours

    from bot.domain.due import plan_nudges
    from bot.services.engine import EngineConfig, due
    from storage import snapshots
    from storage.snapshots import load_register

    cfg = EngineConfig()
    with scratch_database(args.database_url) as engine:
        took, info = timed(lambda: build_register(engine, **size))
        print(f"database: {describe(engine)}; built {info['actions']:,} actions, {info['links']:,} owner/delegate links, "
              f"{info['people']:,} people, {info['updates']:,} updates in {took:.1f}s")
        org = info["org_id"]

        def floor() -> int:
            with engine.connect() as c:
                return sum(len(c.execute(text(q), {"org": org}).all()) for q in FLOOR_SQL)

        def subject() -> tuple:
            with Session(engine) as s:
                return due(s, org, now=now, cfg=cfg)

        def load_only() -> object:
            with Session(engine) as s:
                return load_register(s, org)

        with Session(engine) as s:
            reg = load_register(s, org)

        def rules_only() -> object:
            return plan_nudges(reg.actions, reg.people, reg.plans, now=now, nudge_state=reg.state,
                               escalate_after=cfg.escalate_after, working_hours=cfg.working_hours,
                               holiday_country=cfg.holiday_country, holiday_subdiv=cfg.holiday_subdiv)

        paused_gc = getattr(snapshots, "paused_gc", None)

        def suggested() -> object:
            """due() with the rules run with the cyclic GC paused (a suggestion for engine.due)."""
            with Session(engine) as s:
                r = load_register(s, org)
            with paused_gc():
                return plan_nudges(r.actions, r.people, r.plans, now=now, nudge_state=r.state,
                                   escalate_after=cfg.escalate_after, working_hours=cfg.working_hours,
                                   holiday_country=cfg.holiday_country, holiday_subdiv=cfg.holiday_subdiv)

        nudges, _ = subject()
        print(f"register: {len(reg.actions):,} actions in {len(reg.plans)} plans, {len(reg.people):,} people; "
              f"{len(nudges):,} nudges, {sum(len(x.actions) + len(x.unassigned) for x in nudges):,} due actions")
        extra = {"load": load_only, "rules": rules_only}
        labels = {"floor": "floor: bare SQL, the same rows as tuples", "subject": "due(session, org_id, now=...)",
                  "load": "  of which storage.snapshots.load_register",
                  "rules": "  of which bot.domain.due.plan_nudges (no database)"}
        if paused_gc is not None:
            assert suggested() == nudges
            extra["suggested"] = suggested
            labels["suggested"] = "(suggested) due() with plan_nudges under paused_gc()"
        samples = compare(floor, subject, n, extra=extra)
        report(samples, labels)


if __name__ == "__main__":
    main()
