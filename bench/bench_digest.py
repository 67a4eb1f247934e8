"""The weekly digest of one big plan: `bot.services.engine.digest_for(session, plan, as_of=...)`
on a plan of 10,000 actions with 100,000 updates, against the floor of reading the same rows
(the plan, its priorities, actions, owners, people and the actions' updates) with bare SQL.

    .venv/bin/python bench/bench_digest.py [--database-url postgresql://postgres@127.0.0.1:5432/test] [--quick]

Also prints the parts of the subject (loading the register, the updates, the sign-off list,
and the domain's build_digest on loaded snapshots). The last line is the ratio subject/floor
(target: under 3).
"""

from __future__ import annotations

from datetime import date

from common import build_register, compare, describe, parser, repeats, report, scratch_database, timed
from sqlalchemy import text
from sqlmodel import Session, col, select

FLOOR_SQL = [
    "SELECT id, org_id, slug, title, rag_scheme, cadence, timezone, due_soon_days, owner_id, signoff_stages, "
    "digest_channels FROM plan WHERE id = :plan",
    "SELECT id, ref, title FROM priority WHERE plan_id = :plan",
    "SELECT id, priority_id, ref, text, status, rag, lead_text, original_target, original_target_raw, revised_target, "
    "last_update_at, returned_at, created_at, version, signoff_stage FROM action WHERE plan_id = :plan AND removed = false",
    "SELECT ap.action_id, ap.person_id, ap.kind FROM action_person ap JOIN action a ON a.id = ap.action_id "
    "WHERE a.plan_id = :plan AND a.removed = false",
    "SELECT id, display_name, timezone, away_until, manager_id, slack_user_id, teams_user_id FROM person WHERE org_id = :org",
    "SELECT u.action_id, u.at, u.channel, u.status, u.rag, u.text, u.revised_target, u.author_id, u.period_label "
    "FROM action_update u JOIN action a ON a.id = u.action_id WHERE a.plan_id = :plan AND a.removed = false",
]


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = repeats(args)
    size = dict(plans=1, actions_per_plan=1_000 if args.quick else 10_000, people=100 if args.quick else 500,
                updates=10_000 if args.quick else 100_000)
    as_of = date(2026, 3, 20)

    from bot.domain.digest import build_digest
    from bot.services.engine import EngineConfig, digest_for
    from bot.services.signoff import awaiting
    from storage import repo, snapshots
    from storage.tables import Action, Plan

    cfg = EngineConfig()
    with scratch_database(args.database_url) as engine:
        took, info = timed(lambda: build_register(engine, **size))
        print(f"database: {describe(engine)}; built {info['actions']:,} actions, {info['updates']:,} updates, "
              f"{info['people']:,} people in {took:.1f}s")
        plan_id, org = info["plan_ids"][0], info["org_id"]

        def floor() -> int:
            with engine.connect() as c:
                return sum(len(c.execute(text(q), {"plan": plan_id, "org": org}).all()) for q in FLOOR_SQL)

        def subject() -> object:
            with Session(engine) as s:
                plan = s.get(Plan, plan_id)
                assert plan is not None
                return digest_for(s, plan, as_of=as_of, cfg=cfg)

        def load_register() -> object:
            with Session(engine) as s:
                return snapshots.load_register(s, org, plan_id=plan_id)

        with Session(engine) as s:
            plan = s.get(Plan, plan_id)
            assert plan is not None
            reg = snapshots.load_register(s, org, plan_id=plan_id)
            ids = [a.id for a in reg.actions]
            prios = [(q.ref, q.title) for q in repo.priorities(s, plan_id)]
            ups = snapshots.load_updates(s, ids)
            waiting = awaiting(s, plan)

        def load_updates() -> object:
            with Session(engine) as s:
                return snapshots.load_updates(s, ids)

        def load_awaiting() -> object:
            with Session(engine) as s:
                p = s.get(Plan, plan_id)
                assert p is not None
                return awaiting(s, p)

        def rules() -> object:
            return build_digest(reg.plans[plan_id], prios, reg.actions, ups, as_of=as_of, stale_weeks=cfg.stale_weeks,
                                people=reg.people, awaiting_signoff=waiting)

        extra = {"register": load_register, "updates": load_updates}
        labels = {"floor": "floor: bare SQL, the same rows as tuples", "subject": "digest_for(session, plan, as_of=...)",
                  "register": "  of which snapshots.load_register(plan_id=...)",
                  "updates": "  of which snapshots.load_updates(action ids)"}
        for_plan = getattr(snapshots, "load_updates_for_plan", None)
        if for_plan is not None:
            with Session(engine) as s:
                assert sorted(map(repr, for_plan(s, plan_id))) == sorted(map(repr, ups)), "load_updates_for_plan differs"

            def load_plan_updates() -> object:
                with Session(engine) as s:
                    return for_plan(s, plan_id)

            extra["plan_updates"] = load_plan_updates
            labels["plan_updates"] = "  (alternative) snapshots.load_updates_for_plan(plan_id)"
        extra |= {"awaiting": load_awaiting, "rules": rules}
        labels |= {"awaiting": "  of which signoff.awaiting (ORM list of the actions)",
                   "rules": "  of which bot.domain.digest.build_digest (no database)"}

        def lean_awaiting(s: Session, p: Plan) -> list[tuple[int, str]]:
            """signoff.awaiting reading two columns of the complete actions only (a suggestion)."""
            stages = p.signoff_stages
            rows = s.execute(select(Action.id, Action.signoff_stage).where(
                Action.plan_id == p.id, col(Action.removed).is_(False), Action.status == "complete"
            ).order_by(col(Action.position), col(Action.id))).all()
            return [(i, stages[k]) for i, k in rows if k < len(stages)]

        def suggested() -> object:
            """digest_for with load_updates_for_plan and a lean awaiting (a suggestion for engine.py)."""
            with Session(engine) as s:
                p = s.get(Plan, plan_id)
                assert p is not None
                r = snapshots.load_register(s, p.org_id, plan_id=plan_id)
                return build_digest(r.plans[plan_id], [(q.ref, q.title) for q in repo.priorities(s, plan_id)], r.actions,
                                    for_plan(s, plan_id), as_of=as_of, stale_weeks=cfg.stale_weeks, people=r.people,
                                    awaiting_signoff=lean_awaiting(s, p))

        d = subject()
        if for_plan is not None:
            assert suggested() == d
            extra["suggested"] = suggested
            labels["suggested"] = "(suggested) digest_for with load_updates_for_plan, lean awaiting"
        print(f"digest: {d.totals.actions:,} actions, {len(ups):,} updates read, {d.moved.count} moved, "
              f"{len(d.overdue):,} overdue, {len(waiting):,} awaiting sign-off")
        samples = compare(floor, subject, n, extra=extra)
        report(samples, labels)


if __name__ == "__main__":
    main()
