"""The digest as first written (one _History per action, every cutoff's state and rating
worked out in full): the reference tests/test_digest_fast_path.py holds bot.domain.digest to.
Not used by the product."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

from bot.domain.digest import (
    DUE_SOON_DAYS,
    AwaitingSignoff,
    Digest,
    Disagreement,
    DueSoonAction,
    MissingUpdates,
    Moved,
    MovedAction,
    OverdueAction,
    PriorityTotals,
    StaleOwner,
    Totals,
    TrendPoint,
)
from bot.domain.due import zone
from bot.domain.model import ActionSnapshot, PersonSnapshot, PlanSnapshot, Rag, RagScheme, Status, UpdateSnapshot
from bot.domain.rag import RAG_KEYS, Rating, disagreement, fmt_date, rating_of, rule_rag, shown_rating

_OPEN = (Status.NOT_STARTED, Status.IN_PROGRESS)
_EMPTY: Mapping[Any, Any] = {}
_AT = attrgetter("at")
_TICK = timedelta(microseconds=1)
_STATUS_KEYS = tuple(s.value for s in Status)


def _zero_rag() -> dict[str, int]:
    return {k: 0 for k in RAG_KEYS}


def _zero_status() -> dict[str, int]:
    return dict.fromkeys(_STATUS_KEYS, 0)


# --------------------------------------------------------------------------- history


class _State(NamedTuple):
    status: Status
    rag: Rag | None
    revised_target: date | None
    last_update_at: datetime | None


class _History:
    """One action's fields over time, from its updates sorted by time."""

    __slots__ = ("_seen", "action", "rag_t", "rag_v", "status_t", "status_v", "target_t", "target_v", "times")

    def __init__(self, action: ActionSnapshot, updates: list[UpdateSnapshot]):
        updates.sort(key=_AT)
        self.action = action
        self._seen: dict[tuple[int, bool], _State] = {}
        self.times = [u.at for u in updates]
        self.status_t, self.status_v = [], []
        self.rag_t, self.rag_v = [], []
        self.target_t, self.target_v = [], []
        for u in updates:
            if u.status is not None:
                self.status_t.append(u.at)
                self.status_v.append(u.status)
            if u.rag is not None:
                self.rag_t.append(u.at)
                self.rag_v.append(u.rag)
            if u.revised_target is not None:
                self.target_t.append(u.at)
                self.target_v.append(u.revised_target)

    def state_at(self, cutoff: datetime) -> _State | None:
        """The action as it stood just before `cutoff`; None when it did not exist yet."""
        a = self.action
        if a.created_at is not None and a.created_at >= cutoff:
            return None
        return self._state(cutoff)

    def state_as_created(self) -> _State:
        """The action as it was made: with whatever its import or creation wrote at that moment."""
        assert self.action.created_at is not None
        return self._state(self.action.created_at + _TICK)

    def _state(self, cutoff: datetime) -> _State:
        # The state changes only where an update falls or at last_update_at: cutoffs between
        # the same two of those share it (most of the digest's cutoffs, for most actions).
        a = self.action
        i = bisect_left(self.times, cutoff)
        key = (i, a.last_update_at is not None and a.last_update_at < cutoff)
        got = self._seen.get(key)
        if got is None:
            got = self._seen[key] = self._make_state(cutoff, i)
        return got

    def _make_state(self, cutoff: datetime, i: int) -> _State:
        a = self.action
        last = self.times[i - 1] if i else None
        if a.last_update_at is not None and a.last_update_at < cutoff and (last is None or a.last_update_at > last):
            last = a.last_update_at
        return _State(
            _value_at(self.status_t, self.status_v, cutoff, a.status, Status.NOT_STARTED),
            _value_at(self.rag_t, self.rag_v, cutoff, a.rag, None),
            _value_at(self.target_t, self.target_v, cutoff, a.revised_target, None),
            last,
        )


def _value_at(times: list[datetime], values: list[Any], cutoff: datetime, current: Any, initial: Any) -> Any:
    i = bisect_left(times, cutoff)
    if i == len(times):
        return current  # nothing changed it after the cutoff
    return values[i - 1] if i else initial


# --------------------------------------------------------------------------- building


def _ref_key(ref: str | None) -> tuple[bool, str]:
    return (ref is None, ref or "")


def build_digest(
    plan: PlanSnapshot,
    priorities: Sequence[tuple[str, str]],
    actions: Sequence[ActionSnapshot],
    updates: Sequence[UpdateSnapshot],
    *,
    as_of: date,
    since: date | None = None,
    stale_weeks: int = 4,
    people: Mapping[int, PersonSnapshot] = _EMPTY,
    awaiting_signoff: Sequence[tuple[int, str]] = (),
    history_weeks: int = 8,
) -> Digest:
    """The digest of `plan` at the end of `as_of` (plan timezone), with movement since the end
    of `since` (default: a week earlier). `priorities` are (ref, title) pairs in plan order;
    actions whose priority_ref is not among them are totalled under "Other actions"."""
    if since is None:
        since = as_of - timedelta(days=7)
    if since > as_of:
        raise ValueError(f"the digest's start ({since}) is after its end ({as_of})")
    if history_weeks < 1 or stale_weeks < 1:
        raise ValueError("history_weeks and stale_weeks must be at least 1")
    tz = zone(plan.timezone)

    def end_of(day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)

    trend_days = [as_of - timedelta(days=7 * k) for k in range(history_weeks - 1, -1, -1)]
    cutoffs = {d: end_of(d) for d in {*trend_days, since, as_of}}
    # The plan entered the register when it was created or, for snapshots made without that
    # moment, when its first action was.
    births = [a.created_at for a in actions if a.created_at is not None]
    if plan.created_at is not None:
        births.append(plan.created_at)
    born = min(births) if births else None
    plan_held = born is None or born < cutoffs[as_of]
    held_since = born.astimezone(tz).date() if born is not None else None
    if born is not None:
        trend_days = [d for d in trend_days if born < cutoffs[d]]
    stale_edge = end_of(as_of - timedelta(days=7 * stale_weeks))
    due_soon_until = as_of + timedelta(days=DUE_SOON_DAYS)

    grouped: dict[int, list[UpdateSnapshot]] = {a.id: [] for a in actions}
    for u in updates:
        bucket = grouped.get(u.action_id)
        if bucket is not None:
            bucket.append(u)

    prio_titles = {ref: title for ref, title in priorities}
    counters = _Counters()
    prio_counters: dict[str | None, _Counters] = {ref: _Counters() for ref, _ in priorities}
    trend = {d: _zero_rag() for d in trend_days}
    moved: dict[str, list[MovedAction]] = {k: [] for k in Moved.KINDS}
    overdue: list[OverdueAction] = []
    due_soon: list[DueSoonAction] = []
    disagreements: list[Disagreement] = []
    stale_by_owner: dict[int | None, list[str]] = {}
    stale_count = 0
    by_id: dict[int, ActionSnapshot] = {}

    scheme, near = plan.rag_scheme, plan.due_soon_days
    for action in actions:
        by_id[action.id] = action
        history = _History(action, grouped[action.id])
        states = {d: history.state_at(c) for d, c in cutoffs.items()}
        for d in trend_days:
            s = states[d]
            if s is not None:
                trend[d][_rating(action, s, d, scheme, near).key] += 1
        now = states[as_of]
        if now is None:
            continue
        suggestion = rule_rag(now.status, now.rag, action.original_target, now.revised_target,
                              today=as_of, scheme=scheme, due_soon_days=near)
        shown = shown_rating(now.rag, suggestion)
        rating = shown.rag
        counters.add(now, suggestion.rag, shown)
        key = action.priority_ref if action.priority_ref in prio_titles else None
        group = prio_counters.get(key)
        if group is None:
            group = prio_counters[key] = _Counters()
        group.add(now, suggestion.rag, shown)
        if now.rag is not None and suggestion.rag is not None and disagreement(now.rag, suggestion.rag):
            disagreements.append(Disagreement(action.id, action.ref, action.text, now.rag, suggestion.rag,
                                              suggestion.reasons))

        lead = _lead(action, people)
        target = now.revised_target or action.original_target
        if now.status in _OPEN and target is not None:
            if target < as_of:
                overdue.append(OverdueAction(action.id, action.ref, action.text, lead, target,
                                             (as_of - target).days, rating, shown.suggested))
            elif target <= due_soon_until:
                due_soon.append(DueSoonAction(action.id, action.ref, action.text, lead, target,
                                              (target - as_of).days))
        if now.status in _OPEN:
            last = now.last_update_at or action.created_at
            if last is None or last < stale_edge:
                stale_count += 1
                owners: list[int | None] = [pid for pid in dict.fromkeys(action.owner_ids) if pid in people] or [None]
                for pid in owners:
                    stale_by_owner.setdefault(pid, []).append(action.ref)

        before, before_day = states[since], since
        if before is None and action.created_at is not None:
            # Made during the period (imported, added): it moved from how it was made.
            before, before_day = history.state_as_created(), action.created_at.astimezone(tz).date()
        if before is not None:
            _movement(action, lead, before, now, _rating(action, before, before_day, scheme, near).rag, rating, moved)

    overdue.sort(key=lambda o: (-o.days_overdue, o.target))
    due_soon.sort(key=lambda d: (d.target,))
    named = tuple(
        StaleOwner(pid, people[pid].display_name if pid is not None else "No known owner", tuple(refs))
        for pid, refs in sorted(stale_by_owner.items(),
                                key=lambda kv: (kv[0] is None, people[kv[0]].display_name.lower() if kv[0] is not None else ""))
    )
    by_priority = tuple(
        PriorityTotals(ref, prio_titles.get(ref, "Other actions") if ref is not None else "Other actions", c.totals())
        for ref, c in prio_counters.items()
        if ref is not None or c.actions
    )
    waiting = tuple(
        AwaitingSignoff(aid, by_id[aid].ref, by_id[aid].text, _lead(by_id[aid], people), stage)
        for aid, stage in awaiting_signoff
        if aid in by_id
    )
    return Digest(
        plan_id=plan.id,
        plan_title=plan.title,
        scheme=scheme,
        as_of=as_of,
        since=since,
        totals=counters.totals(),
        by_priority=by_priority,
        moved=Moved(**{k: tuple(v) for k, v in moved.items()}),
        overdue=tuple(overdue),
        due_soon=tuple(due_soon),
        missing_updates=MissingUpdates(stale_weeks, stale_count, sum(1 for k in stale_by_owner if k is not None),
                                       len(stale_by_owner.get(None, ()))),
        missing_updates_named=named,
        awaiting_signoff=waiting,
        disagreements=tuple(disagreements),
        trend=tuple(TrendPoint(d, trend[d]) for d in trend_days),
        plan_held=plan_held,
        held_since=held_since,
    )


class _Counters:
    __slots__ = ("actions", "rag", "rating", "rating_suggested", "status", "suggested")

    def __init__(self) -> None:
        self.actions = 0
        self.rag, self.suggested, self.rating, self.rating_suggested = _zero_rag(), _zero_rag(), _zero_rag(), _zero_rag()
        self.status = _zero_status()

    def add(self, state: _State, suggested: Rag | None, rating: Rating) -> None:
        # Rag and Status are str enums: a member finds its plain-string key
        self.actions += 1
        self.rag[state.rag or "none"] += 1
        self.suggested[suggested or "none"] += 1
        self.rating[rating.key] += 1
        if rating.suggested:
            self.rating_suggested[rating.key] += 1
        self.status[state.status] += 1

    def totals(self) -> Totals:
        return Totals(self.actions, self.rag, self.suggested, self.rating, self.status, self.rating_suggested)


def _rating(action: ActionSnapshot, state: _State, day: date, scheme: RagScheme, near: int) -> Rating:
    return rating_of(state.status, state.rag, action.original_target, state.revised_target,
                     today=day, scheme=scheme, due_soon_days=near)


def _lead(action: ActionSnapshot, people: Mapping[int, PersonSnapshot]) -> str:
    names = [people[pid].display_name for pid in action.owner_ids if pid in people]
    return ", ".join(names) if names else action.lead_text


def _label(rag: Rag | None) -> str:
    return rag.label if rag is not None else "no rating"


def _movement(action: ActionSnapshot, lead: str, before: _State, after: _State,
              was: Rag | None, now: Rag | None, out: dict[str, list[MovedAction]]) -> None:
    def add(kind: str, detail: str) -> None:
        out[kind].append(MovedAction(action.id, action.ref, action.text, lead, was, now, detail))

    finished = False
    if after.status is Status.SIGNED_OFF and before.status is not Status.SIGNED_OFF:
        add("signed_off", f"{before.status.label} → {after.status.label}")
        finished = True
    elif after.status is Status.COMPLETE and before.status not in (Status.COMPLETE, Status.SIGNED_OFF):
        add("completed", f"{before.status.label} → {after.status.label}")
        finished = True
    if was is not None and now is not None and was != now:
        change = f"{was.label} → {now.label}"
        if now is Rag.RED:
            add("newly_red", change)
        elif now.severity > was.severity:
            add("worsened", change)
        elif not finished:
            add("improved", change)
    elif now is Rag.RED and was is None:
        add("newly_red", f"{_label(was)} → Red")
    old_target = before.revised_target or action.original_target
    new_target = after.revised_target or action.original_target
    if after.revised_target is not None and new_target != old_target:
        old = fmt_date(old_target) if old_target else "no date"
        add("rebaselined", f"target {old} → {fmt_date(new_target)}")
