"""Whole-process floors: the least a process can do to give the same answer as an `actionbot`
command, with the standard library (sqlite3, json) and, for the import, openpyxl. Run by
bench_cli.py and bench_import.py as separate processes, timed from exec to exit like the
command they stand beside.

    python bench/floors.py import DB.sqlite FILE.xlsx        # read every cell, insert the same rows in one transaction
    python bench/floors.py due DB.sqlite ORG                 # the due scan's queries, rows to JSON
    python bench/floors.py digest DB.sqlite ORG PLAN AS_OF   # the digest's queries, rows to JSON
    python bench/floors.py pass                              # nothing: `python -c pass` through this file

Nothing here imports the project: a floor must not pay the costs it is the measure of.
"""

from __future__ import annotations

import sys

# What every read command asks first, as the command does on its bare connection
# (storage.rawdb.open_for_reading, bot.cli.Ctx.reading): the schema's revision, the organisation.
START_SQL = [
    "SELECT version_num FROM alembic_version",
    "SELECT id FROM organisation WHERE slug = :org_slug",
]

# The columns and joins of storage.snapshots (what `due` and `digest` read), as bare SQL.
DUE_SQL = [
    "SELECT id, slug, title, rag_scheme, cadence, timezone, due_soon_days, owner_id, signoff_stages, digest_channels "
    "FROM plan WHERE org_id = :org AND archived = 0 ORDER BY id",
    "SELECT id, display_name, role_title, email, slack_user_id, teams_user_id, timezone, away_until, manager_id "
    "FROM person WHERE org_id = :org",
    "SELECT ap.action_id, ap.person_id, ap.kind FROM action_person ap JOIN action a ON a.id = ap.action_id "
    "JOIN plan p ON p.id = a.plan_id WHERE p.org_id = :org AND p.archived = 0 AND a.removed = 0",
    "SELECT a.id, a.plan_id, a.ref, a.text, a.status, a.rag, pr.ref, a.lead_text, a.original_target, "
    "a.original_target_raw, a.revised_target, a.last_update_at, a.returned_at, a.created_at, a.version, "
    # each action's last answer: its latest update that is not an import
    "(SELECT max(u.at) FROM action_update u WHERE u.action_id = a.id AND u.channel <> 'import') "
    "FROM action a JOIN plan p ON p.id = a.plan_id LEFT JOIN priority pr ON pr.id = a.priority_id AND pr.plan_id = a.plan_id "
    "WHERE p.org_id = :org AND p.archived = 0 AND a.removed = 0 ORDER BY a.plan_id, a.position, a.id",
    "SELECT n.person_id, n.last_nudged_at, n.snoozed_until, n.unanswered_count, n.escalated_at "
    "FROM nudge_state n JOIN person pe ON pe.id = n.person_id WHERE pe.org_id = :org",
]

DIGEST_SQL = [
    "SELECT id, timezone FROM plan WHERE org_id = :org AND slug = :plan_slug",  # the plan the command names
    "SELECT id, org_id, slug, title, rag_scheme, cadence, timezone, due_soon_days, owner_id, signoff_stages, "
    "digest_channels FROM plan WHERE id = :plan",
    "SELECT id, display_name, role_title, email, slack_user_id, teams_user_id, timezone, away_until, manager_id "
    "FROM person WHERE org_id = (SELECT org_id FROM plan WHERE id = :plan)",
    "SELECT ref, title FROM priority WHERE plan_id = :plan ORDER BY position",
    "SELECT ap.action_id, ap.person_id, ap.kind FROM action_person ap JOIN action a ON a.id = ap.action_id "
    "WHERE a.plan_id = :plan AND a.removed = 0",
    "SELECT a.id, a.plan_id, a.ref, a.text, a.status, a.rag, pr.ref, a.lead_text, a.original_target, "
    "a.original_target_raw, a.revised_target, a.last_update_at, a.returned_at, a.created_at, a.version "
    "FROM action a LEFT JOIN priority pr ON pr.id = a.priority_id AND pr.plan_id = a.plan_id "
    "WHERE a.plan_id = :plan AND a.removed = 0 ORDER BY a.position, a.id",
    # what the digest reads of the history: when each status, rating and target changed (no text)
    "SELECT u.action_id, u.at, u.channel, u.status, u.rag, u.revised_target "
    "FROM action_update u JOIN action a ON a.id = u.action_id WHERE a.plan_id = :plan AND a.removed = 0 "
    "ORDER BY u.action_id, u.at, u.id",
    "SELECT id, signoff_stage FROM action WHERE plan_id = :plan AND removed = 0 AND status = 'complete' ORDER BY position, id",
    # the trend's weeks earlier digests reported, for the seven weeks before the digest's day
    "SELECT week_ending, blue, green, amber, red, unrated FROM digest_week "
    "WHERE plan_id = :plan AND week_ending >= date(:as_of, '-49 days') AND week_ending <= date(:as_of, '-1 day')",
]


def rows_to_json(db: str, queries: list[str], params: dict) -> None:
    """The queries' rows as JSON; the organisation's and the plan's ids looked up first by
    their slugs (`org_slug`, `plan_slug`), as the command looks them up."""
    import json
    import sqlite3

    con = sqlite3.connect(db)
    out = [con.execute(q, params).fetchall() for q in START_SQL]
    params["org"] = out[-1][0][0]
    if "plan_slug" in params:
        out.append(found := con.execute(queries[0], params).fetchall())
        params["plan"], queries = found[0][0], queries[1:]
    out += [con.execute(q, params).fetchall() for q in queries]
    con.close()
    sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False))


def import_floor(db: str, path: str) -> None:
    """openpyxl reads every row; the same rows the import stores (plan, a priority per section
    row, a person per lead officer named, actions, an "As imported" update per action with
    progress, an owner link per action, one audit row) go in with executemany, one transaction."""
    import json
    import sqlite3
    from datetime import UTC, datetime

    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [r for ws in wb.worksheets for r in ws.iter_rows(values_only=True)]
    wb.close()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("BEGIN IMMEDIATE")
    org = con.execute("SELECT id FROM organisation WHERE slug = 'default'").fetchone()
    org_id = org[0] if org else con.execute(
        "INSERT INTO organisation (slug, name, created_at) VALUES ('default', 'default', ?)", (now,)).lastrowid
    plan_id = con.execute(
        "INSERT INTO plan (org_id, slug, title, organisation_name, period, plan_date, source_file, rag_scheme, cadence, timezone, "
        "due_soon_days, digest_channels, signoff_stages, archived, created_at) "
        "VALUES (?, 'floor', 'Floor', '', '', NULL, ?, 'BRAG', 'monthly:last', 'Europe/London', 14, '[]', '[]', 0, ?)",
        (org_id, path.rsplit("/", 1)[-1], now)).lastrowid
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Ref")
    sections, actions, leads = [], [], {}
    for r in rows[head + 1:]:
        if not r or r[0] is None:
            continue
        if len(r) < 2 or r[1] is None:  # a section row: "3. Management oversight …"
            sections.append(str(r[0]))
            continue
        actions.append((len(sections), r))
        leads.setdefault(str(r[2]), None)
    con.executemany("INSERT INTO priority (plan_id, ref, title, timescale, expected_outcome, findings, accountable_text, position) "
                    "VALUES (?, ?, ?, '', '', '', '', ?)",
                    [(plan_id, str(i + 1), s, i) for i, s in enumerate(sections)])
    prio = dict(con.execute("SELECT position + 1, id FROM priority WHERE plan_id = ?", (plan_id,)).fetchall())
    con.executemany("INSERT INTO person (org_id, display_name, role_title, timezone, created_at) VALUES (?, ?, ?, 'Europe/London', ?)",
                    [(org_id, name, name, now) for name in leads])
    people = dict(con.execute("SELECT display_name, id FROM person WHERE org_id = ?", (org_id,)).fetchall())
    first = (con.execute("SELECT COALESCE(MAX(id), 0) FROM action").fetchone()[0]) + 1
    con.executemany(
        "INSERT INTO action (id, plan_id, priority_id, ref, text, outputs, outcome_required, evidence_required, links, lead_text, "
        "original_target, original_target_raw, revised_target, revised_reason, status, rag, extra, position, removed, version, "
        "signoff_stage, last_update_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, '', '', '', '', ?, ?, ?, NULL, '', 'in_progress', ?, '{}', ?, 0, 1, 0, ?, ?, ?)",
        [(first + i, plan_id, prio.get(k), str(r[0]), str(r[1]), str(r[2]),
          r[3].date().isoformat() if isinstance(r[3], datetime) else None, str(r[3]), (str(r[5])[:1] or None) if r[5] else None,
          i, now, now, now) for i, (k, r) in enumerate(actions)])
    con.executemany(
        "INSERT INTO action_update (action_id, at, author_text, channel, text, status, rag, revised_reason, evidence, period_label) "
        "VALUES (?, ?, 'import: floor', 'import', ?, 'in_progress', ?, '', '[]', 'As imported')",
        [(first + i, now, str(r[4]), (str(r[5])[:1] or None) if r[5] else None) for i, (_, r) in enumerate(actions) if r[4]])
    con.executemany("INSERT INTO action_person (action_id, person_id, kind) VALUES (?, ?, 'owner')",
                    [(first + i, people[str(r[2])]) for i, (_, r) in enumerate(actions)])
    con.execute("INSERT INTO audit_log (org_id, at, actor_text, channel, entity, entity_id, op, after) "
                "VALUES (?, ?, 'operator', 'cli', 'import', ?, 'import', ?)", (org_id, now, plan_id, json.dumps({"added": len(actions)})))
    con.execute("COMMIT")
    con.close()
    print(f"stored {len(actions)} actions in {len(sections)} priorities")


def main() -> None:
    what, *args = sys.argv[1:]
    if what != "pass":
        # A one-shot `actionbot` command turns the cyclic collector off (bot.cli: its objects
        # have no cycles, and the passes only cost time); the floor does not pay for them either.
        import gc

        gc.disable()
    if what == "import":
        import_floor(args[0], args[1])
    elif what == "due":
        rows_to_json(args[0], DUE_SQL, {"org_slug": args[1]})
    elif what == "digest":
        rows_to_json(args[0], DIGEST_SQL, {"org_slug": args[1], "plan_slug": args[2], "as_of": args[3]})
    elif what != "pass":
        raise SystemExit(f"unknown floor {what!r}")


if __name__ == "__main__":
    main()
