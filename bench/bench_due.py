"""The due scan in-process: `bot.services.engine.due(session, org_id, now=...)` over a whole
organisation (20 plans; 10,000, 100,000 and 200,000 actions; a person per 50 actions, owners
mapped), against a fair floor: the bare driver running the queries the scan needs (the same
columns storage.snapshots reads, sorted as it sorts) with stored moments and dates turned into
aware datetimes and dates, as the product must.

    .venv/bin/python bench/bench_due.py [--database-url postgresql://postgres@127.0.0.1:5432/test] [--quick] [--sizes 10000,100000]

Each size gets its own database. Prints, per size, the floor, the scan and its parts (the
load, the rules on loaded snapshots) with their ratios; at 100,000 actions (or the largest
size under it) the peak RSS of a fresh process running the scan once against one running the
floor once. The last line is the worst time ratio over the sizes (target: 2; memory: 1.5).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

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
    run_process,
    scratch_database,
    sizes,
    timed,
)

NOW = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)  # a Monday in working hours

# (sql, kinds): what storage.snapshots.load_register reads for the scan; see common.fair_read.
FLOOR = [
    ("SELECT id, org_id, slug, title, rag_scheme, cadence, timezone, due_soon_days, owner_id, signoff_stages, digest_channels, "
     "plan_date, source_file, organisation_name, period, archived, chase_from, country, created_at FROM plan "
     "WHERE org_id = :org AND archived = false ORDER BY id", "-----------d----d-t"),
    ("SELECT id, org_id, display_name, role_title, email, slack_user_id, teams_user_id, timezone, away_until, manager_id, created_at "
     "FROM person WHERE org_id = :org ORDER BY display_name", "--------d-t"),
    ("SELECT ap.action_id, ap.person_id, ap.kind FROM action_person ap JOIN action a ON a.id = ap.action_id "
     "WHERE a.plan_id IN (SELECT id FROM plan WHERE org_id = :org AND archived = false) AND a.removed = false", "---"),
    ("SELECT a.id, a.plan_id, a.ref, a.text, a.status, a.rag, pr.ref, a.lead_text, a.original_target, a.original_target_raw, "
     "a.revised_target, a.last_update_at, a.returned_at, a.created_at, a.version, "
     "(SELECT max(u.at) FROM action_update u WHERE u.action_id = a.id AND u.channel != 'import') FROM action a "
     "LEFT JOIN priority pr ON pr.id = a.priority_id AND pr.plan_id = a.plan_id "
     "WHERE a.plan_id IN (SELECT id FROM plan WHERE org_id = :org AND archived = false) AND a.removed = false "
     "ORDER BY a.plan_id, a.position, a.id", "----ee--d-dttt-t"),
    ("SELECT n.person_id, n.last_nudged_at, n.snoozed_until, n.unanswered_count, n.escalated_at "
     "FROM nudge_state n JOIN person pe ON pe.id = n.person_id WHERE pe.org_id = :org", "-tt-t"),
]


def size_of(actions: int) -> dict[str, int]:
    return dict(plans=20, actions_per_plan=actions // 20, people=max(actions // 50, 100), updates=actions // 5)


def child(mode: str, url: str) -> None:
    """One scan (or one floor read) in this fresh process; bench_due measures its peak RSS."""
    from sqlmodel import Session

    from bot.services.engine import EngineConfig, due
    from storage.db import make_engine

    engine = make_engine(url)
    if mode == "floor":
        fair_read(engine, FLOOR, {"org": 1})
    else:
        with Session(engine) as s:
            due(s, 1, now=NOW, cfg=EngineConfig())


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", help="comma-separated action counts (default 10000,100000,200000; 10000 with --quick)")
    p.add_argument("--child", nargs=2, help=__import__("argparse").SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    n = repeats(args)
    from sqlmodel import Session

    from bot.domain.due import plan_nudges
    from bot.services.engine import EngineConfig, due
    from storage.snapshots import load_register

    cfg = EngineConfig()
    worst = 0.0
    wanted = sizes(args)
    memory_at = max((s for s in wanted if s <= 100_000), default=min(wanted))
    for size in wanted:
        with scratch_database(args.database_url) as engine:
            took, info = timed(lambda: build_register(engine, **size_of(size)))  # noqa: B023
            org = info["org_id"]
            print(f"== {info['actions']:,} actions, {info['people']:,} people, {info['links']:,} owner links "
                  f"({describe(engine)}; built in {took:.0f}s)")

            def floor() -> object:
                return fair_read(engine, FLOOR, {"org": org})  # noqa: B023

            def subject() -> tuple:
                with Session(engine) as s:
                    return due(s, org, now=NOW, cfg=cfg)  # noqa: B023

            def load_only() -> object:
                with Session(engine) as s:
                    return load_register(s, org)  # noqa: B023

            with Session(engine) as s:
                reg = load_register(s, org)

            def rules_only() -> object:
                return plan_nudges(reg.actions, reg.people, reg.plans, now=NOW, nudge_state=reg.state,  # noqa: B023
                                   escalate_after=cfg.escalate_after, working_hours=cfg.working_hours,
                                   holiday_country=cfg.holiday_country, holiday_subdiv=cfg.holiday_subdiv)

            nudges, _ = subject()
            print(f"   {len(reg.actions):,} live actions; {len(nudges):,} nudges, "
                  f"{sum(len(x.actions) + len(x.unassigned) for x in nudges):,} due actions")
            samples = compare(floor, subject, n, extra={"load": load_only, "rules": rules_only})
            f = median(samples["floor"])
            labels = {"floor": "floor: bare driver, the same columns, types converted", "subject": "due(session, org_id, now=...)",
                      "load": "  of which storage.snapshots.load_register", "rules": "  of which bot.domain.due.plan_nudges"}
            for key, xs in samples.items():
                print(f"   {labels[key]:<58} median {median(xs) * 1000:9.1f} ms  x{median(xs) / f:5.2f}")
            if size == min(wanted):
                empty, _ = add_empty_org(engine, info)

                def floor_empty() -> object:
                    return fair_read(engine, FLOOR, {"org": empty})  # noqa: B023

                def subject_empty() -> tuple:
                    with Session(engine) as s:
                        return due(s, empty, now=NOW, cfg=cfg)  # noqa: B023

                print_fixed(compare(floor_empty, subject_empty, n), {k: median(samples[k]) for k in ("floor", "subject")}, "due")
            ratio = median(samples["subject"]) / f
            print(f"   ratio at {info['actions']:,}: {ratio:.2f}")
            worst = max(worst, ratio)
            if size == memory_at:
                url = engine.url.render_as_string(hide_password=False)
                me = [sys.executable, str(Path(__file__).resolve()), "--child"]
                fm = median([run_process([*me, "floor", url])[1] for _ in range(3)])
                sm = median([run_process([*me, "subject", url])[1] for _ in range(3)])
                print(f"   peak RSS of one run in a fresh process: floor {fm:.0f} MB, due {sm:.0f} MB: memory ratio {sm / fm:.2f}")
    print(f"ratio {worst:.2f} (the worst over {', '.join(f'{s:,}' for s in wanted)} actions)")


if __name__ == "__main__":
    main()
