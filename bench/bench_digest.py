"""The weekly digest in-process: `bot.services.engine.digest_for(session, plan, as_of=...)` on
one plan of 10,000, 100,000 and 200,000 actions (two updates per action, a person per 50
actions), against a fair floor: the bare driver running the queries the digest needs, reading
the same columns the product reads (the updates without their progress text and label, which
the digest never shows), sorted as it sorts, with stored moments and dates turned into aware
datetimes and dates as the product must, and freed before the call returns, as the product frees
everything it read.

Two digests of each plan are timed:
- the first: no digest of the plan has reported a week yet, so all eight weeks of its trend
  are rebuilt from the history (as of 20 Mar 2026, four weeks after the last update);
- the weekly one: last week's digest kept its trend (digest_week, as the digest job keeps
  it), so only the new week is worked out (as of 20 Feb 2026, inside the weeks the updates
  span: about 4% of the actions changed that week). Its floor also reads the kept weeks.

    .venv/bin/python bench/bench_digest.py [--database-url postgresql://postgres@127.0.0.1:5432/test] [--quick] [--sizes 10000]

Each size gets its own database. Prints, per size, the floor, the digest and its parts (the
register, the updates, the sign-off list, build_digest on loaded snapshots) with their ratios.
The last line is the worst time ratio of the weekly digest over the sizes (target: 2); the
first digest's ratios are printed above it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common import (
    add_empty_org,
    build_register,
    compare,
    describe,
    fair_read,
    median,
    parser,
    print_fixed,
    repeats,
    scratch_database,
    sizes,
    timed,
)

AS_OF = date(2026, 3, 20)
WEEKLY_AS_OF = date(2026, 2, 20)

# (sql, kinds): what digest_for reads (storage.snapshots.load_for_digest, the priorities, the
# actions awaiting sign-off; the plan row is the caller's); see common.fair_read.
FLOOR = [
    ("SELECT id, org_id, slug, title, rag_scheme, cadence, timezone, due_soon_days, owner_id, signoff_stages, digest_channels, "
     "plan_date, source_file, organisation_name, period, archived, chase_from, country, created_at FROM plan WHERE id = :plan",
     "-----------d----d-t"),
    ("SELECT id, display_name, timezone, away_until, manager_id, slack_user_id, teams_user_id "
     "FROM person WHERE org_id = :org ORDER BY display_name", "---d---"),
    ("SELECT id, plan_id, ref, title, timescale, expected_outcome, findings, accountable_text, accountable_id, position "
     "FROM priority WHERE plan_id = :plan ORDER BY position", "-" * 10),
    ("SELECT ap.action_id, ap.person_id, ap.kind FROM action_person ap JOIN action a ON a.id = ap.action_id "
     "WHERE a.plan_id = :plan AND a.removed = false", "---"),
    ("SELECT a.id, a.plan_id, a.ref, a.text, a.status, a.rag, pr.ref, a.lead_text, a.original_target, a.original_target_raw, "
     "a.revised_target, a.last_update_at, a.returned_at, a.created_at, a.version FROM action a "
     "LEFT JOIN priority pr ON pr.id = a.priority_id AND pr.plan_id = a.plan_id "
     "WHERE a.plan_id = :plan AND a.removed = false ORDER BY a.position, a.id", "----ee--d-dttt-"),
    # the updates as load_for_digest reads them, each action's in time order (ties by id): the
    # channel only compared with "import" (each action's last answer), not made an enum member
    ("SELECT u.action_id, u.at, u.channel, u.status, u.rag, u.revised_target "
     "FROM action_update u JOIN action a ON a.id = u.action_id WHERE a.plan_id = :plan AND a.removed = false "
     "ORDER BY u.action_id, u.at, u.id", "-t-eed"),
    ("SELECT id, signoff_stage FROM action WHERE plan_id = :plan AND status = 'complete' AND removed = false "
     "ORDER BY position, id", "--"),
    # the trend's weeks earlier digests reported (none before the plan's first digest)
    ("SELECT week_ending, blue, green, amber, red, unrated FROM digest_week "
     "WHERE plan_id = :plan AND week_ending >= :first AND week_ending <= :last", "d-----"),
]


def floor_params(engine: Any, plan: int, org: int, as_of: date) -> dict[str, Any]:
    """The floor's parameters for a digest as of `as_of`: the span of its trend's earlier weeks
    as the product asks for it (dates as the driver takes them, as storage.snapshots passes them)."""
    first, last = as_of - timedelta(weeks=7), as_of - timedelta(days=1)
    if describe(engine) == "sqlite":
        return {"plan": plan, "org": org, "first": first.isoformat(), "last": last.isoformat()}
    return {"plan": plan, "org": org, "first": first, "last": last}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", help="comma-separated action counts (default 10000,100000,200000; 10000 with --quick)")
    args = p.parse_args()
    n = repeats(args)
    from sqlmodel import Session

    from bot.domain.digest import build_digest
    from bot.services.engine import EngineConfig, digest_for
    from bot.services.signoff import awaiting
    from storage import repo, snapshots
    from storage.tables import Plan

    cfg = EngineConfig()
    worst = first_worst = 0.0

    def floor_of(engine: Any, plan_id: int, org: int, as_of: date) -> Callable[[], object]:
        """The floor of the digest of `plan_id` as of `as_of`."""
        return lambda: fair_read(engine, FLOOR, floor_params(engine, plan_id, org, as_of), keep=False)

    def digest_of(engine: Any, plan_id: int, as_of: date) -> Callable[[], object]:
        """digest_for on the plan as of `as_of`, in a session of its own."""
        def run() -> object:
            with Session(engine) as s:
                plan = s.get(Plan, plan_id)
                assert plan is not None
                return digest_for(s, plan, as_of=as_of, cfg=cfg)
        return run

    wanted = sizes(args)
    for size in wanted:
        with scratch_database(args.database_url) as engine:
            took, info = timed(lambda: build_register(
                engine, plans=1, actions_per_plan=size, people=max(size // 50, 100), updates=size * 2))  # noqa: B023
            plan_id, org = info["plan_ids"][0], info["org_id"]
            print(f"== one plan of {info['actions']:,} actions, {info['updates']:,} updates, {info['people']:,} people "
                  f"({describe(engine)}; built in {took:.0f}s)")

            floor, subject = floor_of(engine, plan_id, org, AS_OF), digest_of(engine, plan_id, AS_OF)

            def load() -> object:
                # as digest_for runs it: the collector paused from the read on, what was read
                # freed before the collector is back
                with Session(engine) as s, snapshots.paused_gc():
                    p = s.get(Plan, plan_id)  # noqa: B023
                    assert p is not None
                    got = snapshots.load_for_digest(s, p.id, p.org_id)
                    read = len(got[0])
                    del got
                    return read

            def load_awaiting() -> object:
                with Session(engine) as s:
                    p = s.get(Plan, plan_id)  # noqa: B023
                    assert p is not None
                    return awaiting(s, p)

            with Session(engine) as s:
                plan = s.get(Plan, plan_id)
                assert plan is not None
                acts, ups, people = snapshots.load_for_digest(s, plan.id, plan.org_id)  # ups: each action's changes
                prios = [(q.ref, q.title) for q in repo.priorities(s, plan_id)]
                waiting = awaiting(s, plan)
                plan_snap = repo.plan_snapshot(plan)

            def rules() -> object:
                with snapshots.paused_gc():
                    return build_digest(plan_snap, prios, acts, ups, as_of=AS_OF,  # noqa: B023
                                        stale_weeks=cfg.stale_weeks, people=people, awaiting_signoff=waiting)  # noqa: B023

            d = subject()
            print(f"   digest: {d.totals.actions:,} actions, {sum(map(len, ups.values())):,} updates read, {d.moved.count} moved, "
                  f"{len(d.overdue):,} overdue, {len(waiting):,} awaiting sign-off")
            samples = compare(floor, subject, n, extra={"load": load, "awaiting": load_awaiting, "rules": rules})
            labels = {"floor": "floor: bare driver, the same columns, types converted",
                      "subject": "digest_for(session, plan, as_of=...)",
                      "load": "  of which snapshots.load_for_digest",
                      "awaiting": "  of which signoff.awaiting", "rules": "  of which bot.domain.digest.build_digest"}
            f = median(samples["floor"])
            for key, xs in samples.items():
                print(f"   {labels[key]:<58} median {median(xs) * 1000:9.1f} ms  x{median(xs) / f:5.2f}")
            if size == min(wanted):
                empty_org, empty_plan = add_empty_org(engine, info)

                print_fixed(compare(floor_of(engine, empty_plan, empty_org, AS_OF), digest_of(engine, empty_plan, AS_OF), n), {k: median(samples[k]) for k in ("floor", "subject")},
                            "digest_for")
            ratio = median(samples["subject"]) / f
            print(f"   ratio at {info['actions']:,}, the first digest: {ratio:.2f}")
            first_worst = max(first_worst, ratio)

            # The weekly digest: last week's digest kept its trend, as the digest job keeps it.
            with Session(engine) as s:
                plan = s.get(Plan, plan_id)
                assert plan is not None
                last_week = digest_for(s, plan, as_of=WEEKLY_AS_OF - timedelta(days=7), cfg=cfg)
                repo.record_digest_weeks(s, plan_id, [(t.week_ending, t.counts) for t in last_week.trend],
                                         now=datetime(2026, 2, 16, 9, tzinfo=UTC))
                s.commit()

            floor_weekly, weekly = floor_of(engine, plan_id, org, WEEKLY_AS_OF), digest_of(engine, plan_id, WEEKLY_AS_OF)
            d = weekly()
            with Session(engine) as s:  # the kept weeks are what rebuilding them gives: the same digest
                plan = s.get(Plan, plan_id)
                assert plan is not None
                acts_w, ups_w, people_w = snapshots.load_for_digest(s, plan_id, plan.org_id)
                rebuilt = build_digest(repo.plan_snapshot(plan), prios, acts_w, ups_w, as_of=WEEKLY_AS_OF, stale_weeks=cfg.stale_weeks,
                                       people=people_w, awaiting_signoff=awaiting(s, plan))
                assert rebuilt == d, "the weekly digest differs from the one rebuilt from the history"
                del acts_w, ups_w, rebuilt
            print(f"   the weekly digest as of {WEEKLY_AS_OF:%d %b %Y} (last week's kept its trend): {d.moved.count} moved, "
                  f"{len(d.overdue):,} overdue")
            ws = compare(floor_weekly, weekly, n)
            fw, sw = median(ws["floor"]), median(ws["subject"])
            print(f"   {'floor: the same reads, the kept weeks too':<58} median {fw * 1000:9.1f} ms  x 1.00")
            print(f"   {'digest_for(session, plan, as_of=...)':<58} median {sw * 1000:9.1f} ms  x{sw / fw:5.2f}")
            print(f"   ratio at {info['actions']:,}, the weekly digest: {sw / fw:.2f}")
            worst = max(worst, sw / fw)
    print(f"   the first digest of a plan: worst ratio {first_worst:.2f}")
    print(f"ratio {worst:.2f} (the weekly digest, the worst over {', '.join(f'{s:,}' for s in wanted)} actions)")


if __name__ == "__main__":
    main()
