import json
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chart import render_digest_chart
from bot.domain.digest import build_digest
from bot.domain.model import (
    ActionSnapshot,
    Channel,
    PersonSnapshot,
    PlanSnapshot,
    Rag,
    RagScheme,
    Status,
    UpdateSnapshot,
)
from cards.digest import build_digest_view, render_text

LON = ZoneInfo("Europe/London")
AS_OF = date(2026, 3, 13)  # a Friday
CREATED = datetime(2026, 1, 1, 9, tzinfo=LON)
IMPORTED = datetime(2026, 1, 2, 9, tzinfo=LON)

PLAN = PlanSnapshot(id=1, title="ILACS action plan", rag_scheme=RagScheme.BRAG, owner_id=3)
PRIORITIES = [("1", "Front door"), ("2", "Identity and culture")]
PEOPLE = {
    1: PersonSnapshot(id=1, display_name="Alice Adams"),
    2: PersonSnapshot(id=2, display_name="Bob Brown"),
    3: PersonSnapshot(id=3, display_name="Olu Owner"),
}
ACTION_FIELDS = ("status", "rag", "revised_target")


def on(month, day, hour=10):
    return datetime(2026, month, day, hour, tzinfo=LON)


def build(id, ref, prio, owners, target, history, created=CREATED, lead_text=""):
    """An action and its updates; the action's current fields are what its history ends with."""
    current = {"status": Status.NOT_STARTED, "rag": None, "revised_target": None}
    updates = []
    for at, changes in history:
        updates.append(UpdateSnapshot(action_id=id, at=at, channel=Channel.SLACK, text="progress", **changes))
        current.update(changes)
    action = ActionSnapshot(
        id=id, plan_id=1, ref=ref, text=f"Action {ref}", priority_ref=prio, owner_ids=tuple(owners),
        original_target=target, created_at=created, lead_text=lead_text,
        last_update_at=max((u.at for u in updates), default=None), **current,
    )
    return action, updates


def fixture():
    ip = {"status": Status.IN_PROGRESS}
    rows = [
        # 1.1 Green -> Red on 10 March: newly red
        build(1, "1.1", "1", [1], date(2026, 6, 1),
              [(IMPORTED, {**ip, "rag": Rag.GREEN}), (on(3, 10), {"rag": Rag.RED})]),
        # 1.2 Amber -> Green on 11 March: improved; target in 18 days
        build(2, "1.2", "1", [1], date(2026, 3, 31),
              [(IMPORTED, {**ip, "rag": Rag.AMBER}), (on(3, 11), {"rag": Rag.GREEN})]),
        # 1.3 reported complete on 9 March, still Green: completed
        build(3, "1.3", "1", [1], date(2026, 4, 30),
              [(IMPORTED, {**ip, "rag": Rag.GREEN}), (on(3, 9), {"status": Status.COMPLETE})]),
        # 1.4 complete since February, signed off on 12 March (Green -> Blue): signed off only
        build(4, "1.4", "1", [2], date(2026, 2, 28),
              [(IMPORTED, {**ip, "rag": Rag.GREEN}), (on(2, 20), {"status": Status.COMPLETE}),
               (on(3, 12), {"status": Status.SIGNED_OFF, "rag": Rag.BLUE})]),
        # 2.1 re-baselined on 10 March from 31 Mar to 30 Jun and rated Amber: worsened and re-baselined
        build(5, "2.1", "2", [2], date(2026, 3, 31),
              [(IMPORTED, {**ip, "rag": Rag.GREEN}),
               (on(3, 10), {"rag": Rag.AMBER, "revised_target": date(2026, 6, 30)})]),
        # 2.2 target 1 March passed, still reported Green, no word since January: overdue, stale
        build(6, "2.2", "2", [2], date(2026, 3, 1), [(IMPORTED, {**ip, "rag": Rag.GREEN})]),
        # 2.3 not started, no owner, target 20 March, never updated: due soon, stale, unowned
        build(7, "2.3", "2", [], date(2026, 3, 20), [], lead_text="Head of Service"),
        # 2.4 cancelled in January
        build(8, "2.4", "2", [1], date(2026, 5, 1), [(IMPORTED, {"status": Status.CANCELLED})]),
        # 9.9 under no listed priority, added on 12 March
        build(9, "9.9", None, [1], None, [(on(3, 12), ip)], created=on(3, 12, 9)),
        # added after the digest's day: not counted at all
        build(10, "9.10", "1", [1], date(2026, 9, 1), [], created=on(3, 14, 9)),
    ]
    actions = [a for a, _ in rows]
    updates = [u for _, us in rows for u in us]
    return actions, updates


def digest(**kw):
    actions, updates = fixture()
    random.Random(7).shuffle(updates)  # order of arrival must not matter
    kw.setdefault("people", PEOPLE)
    kw.setdefault("awaiting_signoff", [(3, "Evidence Challenge Panel"), (999, "DLT")])
    kw.setdefault("as_of", AS_OF)
    return build_digest(PLAN, PRIORITIES, actions, updates, **kw)


def refs(items):
    return [i.ref for i in items]


def test_movement_since_last_week():
    d = digest()
    assert d.since == date(2026, 3, 6)
    m = d.moved
    assert refs(m.newly_red) == ["1.1"]
    assert (m.newly_red[0].before, m.newly_red[0].after) == (Rag.GREEN, Rag.RED)
    assert refs(m.improved) == ["1.2"]
    assert refs(m.completed) == ["1.3"]
    assert refs(m.signed_off) == ["1.4"]  # Green -> Blue is not also listed as improved
    assert refs(m.worsened) == ["2.1"]
    assert refs(m.rebaselined) == ["2.1"]
    assert m.rebaselined[0].detail == "target 31 Mar 2026 → 30 Jun 2026"
    assert m.count == 5  # distinct actions: 2.1 is listed twice


def test_movement_over_a_longer_window():
    d = digest(since=date(2026, 2, 10))
    # 1.4 went in progress -> complete -> signed off within the window: listed once, as signed off
    assert refs(d.moved.signed_off) == ["1.4"] and "1.4" not in refs(d.moved.completed)
    # 2.2's target passed in the window but its reported rating stayed Green: no movement;
    # the disagreement list is where that shows
    assert "2.2" not in refs(d.moved.newly_red)


def test_nothing_moves_in_a_quiet_week():
    actions, updates = fixture()
    quiet = build_digest(PLAN, PRIORITIES, actions, updates, as_of=date(2026, 2, 13))
    assert quiet.moved.count == 0


def test_overdue_days_and_lead():
    d = digest()
    assert [(o.ref, o.days_overdue, o.target, o.lead) for o in d.overdue] == [
        ("2.2", 12, date(2026, 3, 1), "Bob Brown")
    ]
    # 1.4's target passed too, but it is signed off
    later = digest(as_of=date(2026, 4, 2))
    assert [(o.ref, o.days_overdue) for o in later.overdue] == [("2.2", 32), ("2.3", 13), ("1.2", 2)]
    assert later.overdue[1].lead == "Head of Service"  # no known owner: the register's lead text


def test_due_soon_next_four_weeks():
    d = digest()
    assert [(s.ref, s.days_left) for s in d.due_soon] == [("2.3", 7), ("1.2", 18)]


def test_missing_updates_counts_for_the_channel_names_for_the_owner():
    d = digest()
    mu = d.missing_updates
    assert (mu.weeks, mu.actions, mu.people, mu.unowned) == (4, 2, 1, 1)
    assert [(s.name, s.refs) for s in d.missing_updates_named] == [("Bob Brown", ("2.2",)), ("No known owner", ("2.3",))]
    public = json.dumps(d.to_json())
    assert "missing_updates_named" not in public
    private = d.to_json(private=True)
    assert private["missing_updates_named"][0] == {"person_id": 2, "name": "Bob Brown", "refs": ["2.2"]}
    # a week later with a one-week window: everything open not updated since 13 March
    later = digest(as_of=date(2026, 3, 20), stale_weeks=1)
    assert (later.missing_updates.actions, later.missing_updates.people, later.missing_updates.unowned) == (6, 2, 1)
    assert next((s.name, s.refs) for s in later.missing_updates_named) == ("Alice Adams", ("1.1", "1.2", "9.9"))


def test_awaiting_signoff_ignores_unknown_actions():
    d = digest()
    assert [(a.ref, a.stage, a.lead) for a in d.awaiting_signoff] == [("1.3", "Evidence Challenge Panel", "Alice Adams")]


def test_totals_reported_suggested_and_by_status():
    t = digest().totals
    assert t.actions == 9
    assert t.by_rag == {"B": 1, "G": 3, "A": 1, "R": 1, "none": 3}
    assert t.by_rag_suggested == {"B": 1, "G": 2, "A": 2, "R": 2, "none": 2}
    assert t.by_rating == {"B": 1, "G": 3, "A": 2, "R": 1, "none": 2}
    assert t.by_status == {"not_started": 1, "in_progress": 5, "complete": 1, "signed_off": 1,
                           "on_hold": 0, "cancelled": 1}


def test_totals_per_priority():
    d = digest()
    got = {p.ref: (p.title, p.totals.actions, p.totals.by_rating) for p in d.by_priority}
    assert got["1"] == ("Front door", 4, {"B": 1, "G": 2, "A": 0, "R": 1, "none": 0})
    assert got["2"] == ("Identity and culture", 4, {"B": 0, "G": 1, "A": 2, "R": 0, "none": 1})
    assert got[None] == ("Other actions", 1, {"B": 0, "G": 0, "A": 0, "R": 0, "none": 1})
    assert [p.ref for p in d.by_priority] == ["1", "2", None]


def test_disagreements():
    d = digest()
    assert [(x.ref, x.reported, x.suggested) for x in d.disagreements] == [("2.2", Rag.GREEN, Rag.RED)]
    assert d.disagreements[0].reasons == ("12 days past its target date of 1 Mar 2026",)


def test_trend_rebuilt_from_history():
    d = digest()
    assert [t.week_ending for t in d.trend] == [AS_OF - timedelta(days=7 * k) for k in range(7, -1, -1)]
    assert d.trend[-1].counts == d.totals.by_rating
    week = {t.week_ending: t.counts for t in d.trend}
    assert week[date(2026, 3, 6)] == {"B": 0, "G": 5, "A": 2, "R": 0, "none": 1}
    assert week[date(2026, 2, 27)] == {"B": 0, "G": 6, "A": 1, "R": 0, "none": 1}
    # 2 January: only the import had happened; 1.x and 2.x as imported, 2.3 not started
    assert sum(week[date(2026, 1, 23)].values()) == 8
    assert len(digest(history_weeks=3).trend) == 3


def test_updates_missing_before_a_later_change_start_from_defaults():
    a = ActionSnapshot(id=1, plan_id=1, ref="1", text="x", status=Status.COMPLETE, rag=Rag.GREEN,
                       original_target=date(2026, 12, 1), created_at=CREATED)
    u = [UpdateSnapshot(action_id=1, at=on(3, 10), channel=Channel.CLI, status=Status.COMPLETE)]
    d = build_digest(PLAN, [], [a], u, as_of=AS_OF)
    # before 10 March no status was recorded: not started; the rating was never changed: Green
    assert refs(d.moved.completed) == ["1"]
    assert d.moved.completed[0].detail == "Not started → Complete (awaiting sign-off)"
    assert d.trend[0].counts["G"] == 1


def test_digest_day_is_the_plans_local_day():
    # an update at 23:30 BST on 6 April is 22:30 UTC: it belongs to 6 April in London
    a = ActionSnapshot(id=1, plan_id=1, ref="1", text="x", status=Status.IN_PROGRESS, rag=Rag.RED,
                       original_target=date(2026, 12, 1), created_at=CREATED)
    u = [UpdateSnapshot(action_id=1, at=IMPORTED, channel=Channel.IMPORT, status=Status.IN_PROGRESS, rag=Rag.GREEN),
         UpdateSnapshot(action_id=1, at=datetime(2026, 4, 6, 22, 30, tzinfo=UTC), channel=Channel.SLACK, rag=Rag.RED)]
    assert refs(build_digest(PLAN, [], [a], u, as_of=date(2026, 4, 6)).moved.newly_red) == ["1"]
    assert refs(build_digest(PLAN, [], [a], u, as_of=date(2026, 4, 5)).moved.newly_red) == []


def test_json_shape():
    out = json.loads(json.dumps(digest().to_json()))
    for key in ("totals", "moved", "overdue", "missing_updates", "awaiting_signoff", "due_soon", "trend", "disagreements"):
        assert key in out
    assert out["totals"]["by_rag"]["R"] == 1 and out["totals"]["by_status"]["complete"] == 1
    assert out["overdue"][0]["ref"] == "2.2" and out["overdue"][0]["days_overdue"] == 12
    assert out["overdue"][0]["target"] == "2026-03-01"
    assert out["moved"]["newly_red"][0]["after"] == "R"
    assert out["missing_updates"] == {"weeks": 4, "actions": 2, "people": 1, "unowned": 1}
    assert out["totals"]["by_priority"][0]["ref"] == "1"


def test_bad_window_is_refused():
    with pytest.raises(ValueError, match="after its end"):
        digest(since=date(2026, 3, 20))


# ----------------------------------------------------------------- the view and the chart


def test_text_view_for_the_channel_names_nobody_for_missing_updates():
    view = build_digest_view(digest())
    text = render_text(view)
    assert text.startswith("ILACS action plan — weekly digest\n")
    assert "Newly Red: 1.1 Action 1.1 (Green → Red)" in text
    assert "Signed off: 1.4 Action 1.4" in text
    assert "2.2 Action 2.2: 12 days late (target 1 Mar 2026), lead Bob Brown" in text
    assert "1.3 Action 1.3: with Evidence Challenge Panel" in text
    assert "2.3 Action 2.3: 20 Mar 2026 (in 7 days), lead Head of Service" in text
    assert "2 open actions (1 person, 1 with no owner)" in text
    assert "reported Green, rules say Red" in text
    assert "1 Front door: 4 actions, 1 Blue, 2 Green, 1 Red" in text
    assert "Red: 0 → 0 → 0 → 0 → 0 → 0 → 0 → 1" in text
    missing = next(s for s in view.sections if s.key == "missing_updates")
    assert "Bob" not in " ".join(line.plain for line in missing.lines)


def test_private_view_names_people_missing_updates():
    view = build_digest_view(digest(), private=True)
    missing = next(s for s in view.sections if s.key == "missing_updates")
    assert [line.plain for line in missing.lines] == ["Bob Brown: 2.2", "No known owner: 2.3"]
    assert view.private and "private copy" in view.subtitle


def test_view_keeps_user_text_apart_and_lines_short():
    actions, updates = fixture()
    long = ActionSnapshot(id=50, plan_id=1, ref="<!channel>", text="x" * 500, status=Status.IN_PROGRESS,
                          original_target=date(2026, 1, 5), created_at=CREATED)
    d = build_digest(PLAN, PRIORITIES, [*actions, long], updates, as_of=AS_OF, people=PEOPLE)
    view = build_digest_view(d, max_lines=1)
    overdue = next(s for s in view.sections if s.key == "overdue")
    assert len(overdue.lines) == 1 and overdue.more == 1
    parts = overdue.lines[0].parts
    assert parts[0].text == "<!channel>" and parts[0].user
    assert parts[2].user and len(parts[2].text) <= 90 and parts[2].text.endswith("…")
    assert not any(p.user for p in parts if "days late" in p.text)
    assert "… and 1 more" in render_text(view)
    assert view.title.parts[0].user and not view.title.parts[1].user


def test_chart_png(tmp_path):
    d = digest()
    out = render_digest_chart(d, tmp_path / "charts" / "digest.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    view = build_digest_view(d, chart_path=out)
    assert render_text(view).rstrip().endswith(f"Chart: {out}")


def test_chart_with_no_actions(tmp_path):
    empty = build_digest(PLAN, [], [], [], as_of=AS_OF)
    assert empty.totals.actions == 0 and empty.moved.count == 0
    assert render_digest_chart(empty, tmp_path / "empty.png").stat().st_size > 0
    assert "No rating or status changed." in render_text(build_digest_view(empty))


# ----------------------------------------------------------------- scale


def test_digest_of_ten_thousand_actions_and_a_hundred_thousand_updates_counts_them_all():
    # how fast, against reading the same rows, is bench/bench_digest.py's business
    rnd = random.Random(1)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    statuses, rags = list(Status), [None, *Rag]
    actions = [
        ActionSnapshot(id=i, plan_id=1, ref=f"{i % 8 + 1}.{i}", text=f"Action {i}", status=rnd.choice(statuses),
                       rag=rnd.choice(rags), priority_ref=str(i % 8 + 1), owner_ids=(rnd.randint(1, 3),),
                       original_target=date(2025, 9, 1) + timedelta(days=rnd.randint(0, 400)), created_at=start)
        for i in range(10_000)
    ]
    updates = [
        UpdateSnapshot(action_id=rnd.randrange(10_000), at=start + timedelta(minutes=rnd.randint(0, 60 * 24 * 300)),
                       channel=Channel.SLACK, status=rnd.choice([None, *statuses]), rag=rnd.choice(rags))
        for _ in range(100_000)
    ]
    prios = [(str(i), f"Priority {i}") for i in range(1, 9)]
    d = build_digest(PLAN, prios, actions, updates, as_of=date(2026, 3, 20), people=PEOPLE)
    assert d.totals.actions == 10_000 and sum(d.trend[-1].counts.values()) == 10_000
