"""The weekly digest of one plan: what moved, what is late, what is waiting, and the totals.

Everything is computed from the actions as they are now plus their update history, for any
`as_of` date. The state of an action at the end of a past day (in the plan's timezone) is
rebuilt field by field (status, reported RAG, revised target): the value set by the latest
update before that moment; the action's current value when no later update changed it; and
the field's starting value (not started, no RAG, no revised target) when updates after that
moment set it but none before did. Actions created after a day did not exist on it.

Three ratings appear:
- reported (`by_rag`): what the lead officer said;
- suggested (`by_rag_suggested`): what the rules in bot.domain.rag say;
- rating (`by_rating`): what a person sees (bot.domain.rag.Rating): the reported one, or the
  suggested one when nothing was reported (`by_rating_suggested` counts those). The headline
  counts, the movement lists, the trend and the chart use this one, so a plan without a RAG
  column still shows movement.

The trend shows a week an earlier digest already reported as it was reported then
(`reported_weeks`: the digest job keeps each point it sends), and rebuilds from the history
only the weeks no digest reported, and `as_of` itself. So the weekly digest rebuilds one week,
and the trend keeps what leadership was shown even after the register changes (an action
removed, a rating corrected).

Movement is measured from the end of `since`, or for an action created later (imported or
added during the period) from its state as created. A digest as of a day before the plan
entered the register says so (`plan_held` False) rather than counting zeros; trend weeks before
then are left out.

Names: `missing_updates` is counts only, for the channel; `missing_updates_named` is for the
plan owner's private copy (`to_json(private=True)`). Nobody is named in a channel for missing
an update. Overdue and due-soon lines show the lead officer, as the register itself does.

Cost: one pass to group updates by action in time order (none when given grouped), then for
each action that changed in the window it rebuilds (from the earliest of `since` and the trend
days it rebuilds) a binary search per change (where it falls among the digest's dates) and a
state per run of dates it splits them into; linear in actions plus updates. The reasons for a disagreement are worded once for all actions alike (status,
reported rating, targets). The lines listed (overdue, disagreements, ...) are named tuples: a
digest of a big plan makes thousands, and a frozen dataclass costs three times as much to make.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter, itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple

from bot.domain.due import zone
from bot.domain.model import ActionSnapshot, PersonSnapshot, PlanSnapshot, Rag, RagScheme, Status, UpdateSnapshot
from bot.domain.rag import RAG_KEYS, disagreement, fmt_date, rag_key, rule_rag, shown_rag, suggested_rag

DUE_SOON_DAYS = 28  # "due soon" in the digest: targets in the next four weeks
TREND_WEEKS = 8  # the trend: the week-ending days of the last eight weeks, as_of the last
_OPEN = (Status.NOT_STARTED, Status.IN_PROGRESS)
_EMPTY: Mapping[Any, Any] = MappingProxyType({})
_AT = itemgetter(0)
_TICK = timedelta(microseconds=1)
_ID = attrgetter("id")
_TARGET = itemgetter(4)  # OverdueAction.target, DueSoonAction.target (checked below)


# --------------------------------------------------------------------------- result types


def _zero_rag() -> dict[str, int]:
    return {k: 0 for k in RAG_KEYS}


_STATUS_KEYS = tuple(s.value for s in Status)


def _zero_status() -> dict[str, int]:
    return dict.fromkeys(_STATUS_KEYS, 0)


@dataclass(frozen=True)
class Totals:
    actions: int
    by_rag: dict[str, int]  # reported; keys "B", "G", "A", "R", "none"
    by_rag_suggested: dict[str, int]  # by the rules
    by_rating: dict[str, int]  # what a person sees: reported, else suggested
    by_status: dict[str, int]  # keys Status values
    by_rating_suggested: dict[str, int]  # of by_rating, the ratings that are the rules' suggestion

    def to_json(self) -> dict[str, Any]:
        return {"actions": self.actions, "by_rag": dict(self.by_rag), "by_rag_suggested": dict(self.by_rag_suggested),
                "by_rating": dict(self.by_rating), "by_rating_suggested": dict(self.by_rating_suggested),
                "by_status": dict(self.by_status)}


@dataclass(frozen=True)
class PriorityTotals:
    ref: str | None  # None: actions under no listed priority
    title: str
    totals: Totals

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "title": self.title, **self.totals.to_json()}


class MovedAction(NamedTuple):
    action_id: int
    ref: str
    title: str
    lead: str
    before: Rag | None  # rating at the end of `since`
    after: Rag | None  # rating at the end of `as_of`
    detail: str  # "Amber → Red", "target 31 Mar 2026 → 30 Jun 2026", ...

    def to_json(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "ref": self.ref, "title": self.title, "lead": self.lead,
                "before": rag_key(self.before), "after": rag_key(self.after), "detail": self.detail}


@dataclass(frozen=True)
class Moved:
    """What changed between the end of `since` and the end of `as_of`. An action is listed once
    per kind; newly Red ones are not repeated under worsened, and completed or signed-off ones
    not under improved."""

    newly_red: tuple[MovedAction, ...] = ()
    worsened: tuple[MovedAction, ...] = ()
    improved: tuple[MovedAction, ...] = ()
    completed: tuple[MovedAction, ...] = ()
    signed_off: tuple[MovedAction, ...] = ()
    rebaselined: tuple[MovedAction, ...] = ()

    KINDS = ("newly_red", "worsened", "improved", "completed", "signed_off", "rebaselined")

    @property
    def count(self) -> int:
        """How many distinct actions moved."""
        return len({m.action_id for k in self.KINDS for m in getattr(self, k)})

    def to_json(self) -> dict[str, Any]:
        return {k: [m.to_json() for m in getattr(self, k)] for k in self.KINDS}


class OverdueAction(NamedTuple):
    action_id: int
    ref: str
    title: str
    lead: str
    target: date
    days_overdue: int
    rating: Rag | None
    rating_suggested: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "ref": self.ref, "title": self.title, "lead": self.lead,
                "target": self.target.isoformat(), "days_overdue": self.days_overdue, "rating": rag_key(self.rating),
                "rating_suggested": self.rating_suggested}


class DueSoonAction(NamedTuple):
    action_id: int
    ref: str
    title: str
    lead: str
    target: date
    days_left: int

    def to_json(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "ref": self.ref, "title": self.title, "lead": self.lead,
                "target": self.target.isoformat(), "days_left": self.days_left}


@dataclass(frozen=True)
class MissingUpdates:
    """Open actions with no update in `weeks` weeks: counts only, safe for a channel."""

    weeks: int
    actions: int
    people: int  # distinct owners of those actions
    unowned: int  # of `actions`, those with no known owner

    def to_json(self) -> dict[str, Any]:
        return {"weeks": self.weeks, "actions": self.actions, "people": self.people, "unowned": self.unowned}


@dataclass(frozen=True)
class StaleOwner:
    """For the plan owner's private copy only."""

    person_id: int | None  # None: actions with no known owner
    name: str
    refs: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "name": self.name, "refs": list(self.refs)}


class AwaitingSignoff(NamedTuple):
    action_id: int
    ref: str
    title: str
    lead: str
    stage: str

    def to_json(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "ref": self.ref, "title": self.title, "lead": self.lead, "stage": self.stage}


class Disagreement(NamedTuple):
    action_id: int
    ref: str
    title: str
    reported: Rag
    suggested: Rag
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "ref": self.ref, "title": self.title, "reported": self.reported.value,
                "suggested": self.suggested.value, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class TrendPoint:
    week_ending: date
    counts: dict[str, int]  # by rating; keys "B", "G", "A", "R", "none"

    def to_json(self) -> dict[str, Any]:
        return {"week_ending": self.week_ending.isoformat(), "counts": dict(self.counts)}


@dataclass(frozen=True)
class Digest:
    plan_id: int
    plan_title: str
    scheme: RagScheme
    as_of: date
    since: date
    totals: Totals
    by_priority: tuple[PriorityTotals, ...]
    moved: Moved
    overdue: tuple[OverdueAction, ...]  # most overdue first
    due_soon: tuple[DueSoonAction, ...]  # soonest first
    missing_updates: MissingUpdates
    missing_updates_named: tuple[StaleOwner, ...]  # private: plan owner only
    awaiting_signoff: tuple[AwaitingSignoff, ...]
    disagreements: tuple[Disagreement, ...]
    trend: tuple[TrendPoint, ...]  # oldest first, the last one is `as_of`; none before the plan was held
    plan_held: bool = True  # False: the register did not hold the plan at the end of `as_of`
    held_since: date | None = None  # the day (plan timezone) the plan entered the register, if known

    @property
    def not_held_note(self) -> str:
        """"The register did not hold ILACS on 1 Jan 2020: it was first loaded on 28 Nov 2026."."""
        since = f": it was first loaded on {fmt_date(self.held_since)}" if self.held_since else ""
        return f"The register did not hold {self.plan_title} on {fmt_date(self.as_of)}{since}. There is nothing to report for that date."

    def to_json(self, *, private: bool = False) -> dict[str, Any]:
        """A JSON-ready dict. Names of people missing updates only when `private`."""
        out = {
            "plan": {"id": self.plan_id, "title": self.plan_title, "scheme": self.scheme.value,
                     "held_since": self.held_since.isoformat() if self.held_since else None},
            "plan_held": self.plan_held,
            "as_of": self.as_of.isoformat(),
            "since": self.since.isoformat(),
            "totals": {**self.totals.to_json(), "by_priority": [p.to_json() for p in self.by_priority]},
            "moved": self.moved.to_json(),
            "overdue": [o.to_json() for o in self.overdue],
            "due_soon": [d.to_json() for d in self.due_soon],
            "missing_updates": self.missing_updates.to_json(),
            "awaiting_signoff": [a.to_json() for a in self.awaiting_signoff],
            "disagreements": [d.to_json() for d in self.disagreements],
            "trend": [t.to_json() for t in self.trend],
        }
        if private:
            out["missing_updates_named"] = [s.to_json() for s in self.missing_updates_named]
        return out


# --------------------------------------------------------------------------- history

# One update as the digest reads it: (at, status, rag, revised_target), None where it left that
# field alone. The digest needs nothing else of an update.
Change = tuple[datetime, Status | None, Rag | None, date | None]


def trails_of(updates: Iterable[UpdateSnapshot]) -> dict[int, list[Change]]:
    """The updates as build_digest reads them: each action's changes in time order (those at
    the same moment in the order given)."""
    out: dict[int, list[Change]] = {}
    for u in updates:
        change = (u.at, u.status, u.rag, u.revised_target)
        got = out.get(u.action_id)
        if got is None:
            out[u.action_id] = [change]
        else:
            got.append(change)
    for changes in out.values():
        changes.sort(key=_AT)  # stable
    return out



class _State(NamedTuple):
    status: Status
    rag: Rag | None
    revised_target: date | None
    last_update_at: datetime | None


assert OverdueAction._fields.index("target") == DueSoonAction._fields.index("target") == 4
# a _State, or a line of the digest, of its values in field order: tuple.__new__ itself, not the
# named tuple's own __new__ (a Python function taking each value as an argument): 3% of
# build_digest at 200,000 actions, with 72,000 overdue and 88,000 disagreements listed
_new_state = _new_line = tuple.__new__


class _History:
    """One action's fields over time, from its changes in time order."""

    __slots__ = ("_after", "_last", "action", "times")

    def __init__(self, action: ActionSnapshot, trail: Sequence[Change]):  # trail: in time order
        self.action = action
        self.times = [c[0] for c in trail]
        # _after[i]: (status, RAG, revised target) as the first i changes left them, from the
        # starting values; _last: the index of the last change that set each (-1: none did)
        status, rag, target = Status.NOT_STARTED, None, None
        last_status = last_rag = last_target = -1
        after: list[tuple[Status, Rag | None, date | None]] = [(status, rag, target)]
        for j, (_, s, r, t) in enumerate(trail):
            if s is not None:
                status, last_status = s, j
            if r is not None:
                rag, last_rag = r, j
            if t is not None:
                target, last_target = t, j
            after.append((status, rag, target))
        self._after = after
        self._last = (last_status, last_rag, last_target)

    def runs(self, moments: Sequence[datetime]) -> list[tuple[int, int, _State | None]]:
        """The action at each of `moments` (ascending) as runs of moments that see it alike:
        (index of the first, index after the last, its state there; None before it existed).
        The state changes only where a moment passes its creation, an update or its
        last_update_at, so an action gets a run per such change inside the span of
        `moments`, not a state per moment."""
        a = self.action
        m = len(moments)
        edges = {0}
        unborn = 0  # the moments at or before its creation: it did not exist yet
        if a.created_at is not None:
            unborn = bisect_right(moments, a.created_at)
            edges.add(unborn)
        if a.last_update_at is not None:
            edges.add(bisect_right(moments, a.last_update_at))
        for at in self.times:
            edges.add(bisect_right(moments, at))
        starts = sorted(edges)
        if starts[-1] >= m:
            starts.pop()
        ends = starts[1:] + [m]
        times, make = self.times, self._make_state
        return [(b, e, None if b < unborn else make(moments[b], bisect_left(times, moments[b])))
                for b, e in zip(starts, ends, strict=True)]

    def state_as_created(self) -> _State:
        """The action as it was made: with whatever its import or creation wrote at that moment."""
        assert self.action.created_at is not None
        cutoff = self.action.created_at + _TICK
        return self._make_state(cutoff, bisect_left(self.times, cutoff))

    def _make_state(self, cutoff: datetime, i: int) -> _State:
        """The state before `cutoff`, which `i` changes precede. A field takes the value the
        latest of those set; its current value when none after the cutoff set it; its starting
        value when later changes set it but none before did."""
        a = self.action
        last = self.times[i - 1] if i else None
        if a.last_update_at is not None and a.last_update_at < cutoff and (last is None or a.last_update_at > last):
            last = a.last_update_at
        status, rag, target = self._after[i]
        last_status, last_rag, last_target = self._last
        return _new_state(_State, (a.status if last_status < i else status, a.rag if last_rag < i else rag,
                                   a.revised_target if last_target < i else target, last))


# --------------------------------------------------------------------------- building


def _ref_key(ref: str | None) -> tuple[bool, str]:
    return (ref is None, ref or "")


def build_digest(
    plan: PlanSnapshot,
    priorities: Sequence[tuple[str, str]],
    actions: Sequence[ActionSnapshot],
    updates: Sequence[UpdateSnapshot] | Mapping[int, Sequence[Change]],
    *,
    as_of: date,
    since: date | None = None,
    stale_weeks: int = 4,
    people: Mapping[int, PersonSnapshot] = _EMPTY,
    awaiting_signoff: Sequence[tuple[int, str]] = (),
    history_weeks: int = TREND_WEEKS,
    reported_weeks: Mapping[date, Mapping[str, int]] = _EMPTY,
) -> Digest:
    """The digest of `plan` at the end of `as_of` (plan timezone), with movement since the end
    of `since` (default: a week earlier). `priorities` are (ref, title) pairs in plan order;
    actions whose priority_ref is not among them are totalled under "Other actions".
    `updates` is the actions' history: the updates themselves, or (as storage's digest read
    gives it) each action's changes by action id in time order, as trails_of makes them.

    `reported_weeks`: trend points an earlier digest already reported (counts by rating key,
    by week-ending day). A trend day before `as_of` found there is shown as reported then, not
    rebuilt from the history: the trend keeps what leadership was shown each week, and the
    weekly digest rebuilds only the days no digest has reported (with every earlier week
    reported, only the last week's changes). `as_of` itself is always worked out now."""
    if since is None:
        since = as_of - timedelta(days=7)
    if since > as_of:
        raise ValueError(f"the digest's start ({since}) is after its end ({as_of})")
    if history_weeks < 1 or stale_weeks < 1:
        raise ValueError("history_weeks and stale_weeks must be at least 1")
    tz = zone(plan.timezone)

    def end_of(day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)

    week_days = [as_of - timedelta(days=7 * k) for k in range(history_weeks - 1, -1, -1)]  # the trend's, as_of last
    ends = {d: end_of(d) for d in {*week_days, since, as_of}}
    # The plan entered the register when it was created or, for snapshots made without that
    # moment, when its first action was.
    births = [a.created_at for a in actions if a.created_at is not None]
    if plan.created_at is not None:
        births.append(plan.created_at)
    born = min(births) if births else None
    plan_held = born is None or born < ends[as_of]
    held_since = born.astimezone(tz).date() if born is not None else None
    if born is not None:
        week_days = [d for d in week_days if born < ends[d]]
    # The trend days rebuilt here (`trend_days`): those no earlier digest reported, and as_of.
    as_reported = {d: _counted(reported_weeks[d]) for d in week_days if d != as_of and d in reported_weeks}
    trend_days = [d for d in week_days if d not in as_reported]
    cutoffs = {d: ends[d] for d in {*trend_days, since, as_of}}
    stale_edge = end_of(as_of - timedelta(days=7 * stale_weeks))
    due_soon_until = as_of + timedelta(days=DUE_SOON_DAYS)

    # Most actions did not change after the earliest cutoff: they stand the same at every one
    # of them ("steady"), as they are now, and need no history rebuilt. The others get one.
    first_cut = min(cutoffs.values())
    trails: Mapping[int, Sequence[Change]] = updates if isinstance(updates, Mapping) else trails_of(updates)
    no_trail: Sequence[Change] = ()
    # The cutoffs in time order (a later day ends later), where `since` and the trend days fall
    # among them, and for each index the first trend day at or after it: a run of cutoffs
    # (_History.runs) covers the trend days trend_from[first]..trend_from[end].
    cut_days = sorted(cutoffs)
    cut_moments = [cutoffs[d] for d in cut_days]
    since_at = cut_days.index(since)  # as_of is the last
    trend_at = [cut_days.index(d) for d in trend_days]
    trend_from = [bisect_left(trend_at, j) for j in range(len(cut_days) + 1)]

    prio_titles = {ref: title for ref, title in priorities}
    prio_counters: dict[str | None, _Counters] = {ref: _Counters() for ref, _ in priorities}
    trend = {d: _zero_rag() for d in trend_days}
    steady_trend = _zero_rag()  # steady actions rated alike on every trend day: added to each at the end
    # changed actions rated alike over a run of trend days: +1 at the run's first day, -1 after
    # its last, by rating, summed over the days at the end
    trend_steps = {k: [0] * (len(trend_days) + 1) for k in RAG_KEYS}
    moved: dict[str, list[MovedAction]] = {k: [] for k in Moved.KINDS}
    overdue: list[OverdueAction] = []
    due_soon: list[DueSoonAction] = []
    disagreements: list[Disagreement] = []
    stale_by_owner: defaultdict[int | None, list[str]] = defaultdict(list)
    stale_count = 0
    worded: dict[tuple[Status, Rag, date | None, date | None], tuple[str, ...]] = {}  # a disagreement's reasons
    reasons_of = worded.get
    # how many actions share each (priority ref, status, reported, suggested, rating, is-suggestion):
    # counted into prio_counters at the end (a ref not listed under "Other actions"), one entry
    # per kind rather than per action
    tally: dict[tuple[str | None, Status, Rag | None, Rag | None, Rag | None, bool], int] = {}
    tally_get = tally.get
    stale_owners: dict[tuple[int, ...], list[int | None]] = {}  # the known owners of owner_ids, None for none
    names: dict[tuple[int, ...], str] = {}  # the known owners' names by owner ids: the same few people lead many actions

    def lead_of(action: ActionSnapshot) -> str:
        """The lead a line shows: its known owners' names (looked up once per set of owners),
        else the lead as the plan wrote it."""
        got = names.get(action.owner_ids)
        if got is None:
            got = names[action.owner_ids] = _names(action.owner_ids, people)
        return got or action.lead_text

    scheme, near = plan.rag_scheme, plan.due_soon_days

    def rated_alike(status: Status, ot: date | None, revised: date | None, days: Sequence[date],
                    last: str | None = None) -> str:
        """The key of the rules' rating of an unrated action in this state on each of `days`
        (ascending, at least one; `last`: the key on the last day, when already known) when it
        is the same on all of them; else "", once the action is counted into `trend` day by
        day. Over the days of one state that rating only climbs (Green or Amber, Amber when due
        soon and not started, Red once past the target), each rating for one run of days, so
        the same rating on the first and the last day is its rating on every day between."""
        first = suggested_rag(status, None, ot, revised, today=days[0], scheme=scheme, due_soon_days=near) or "none"
        if len(days) == 1:
            return first
        if last is None:
            last = suggested_rag(status, None, ot, revised, today=days[-1], scheme=scheme, due_soon_days=near) or "none"
        if last == first:
            return first
        for d in days:
            trend[d][suggested_rag(status, None, ot, revised, today=d, scheme=scheme, due_soon_days=near) or "none"] += 1
        return ""

    for action in actions:
        aid = action.id
        ot, created, lu = action.original_target, action.created_at, action.last_update_at
        trail = trails.get(aid, no_trail)
        latest = trail[-1][0] if trail else None  # its latest update
        history: _History | None = None
        # changed: an update at or after the earliest cutoff, or made or edited (a change the
        # updates do not show) then
        if ((latest is not None and latest >= first_cut) or (created is not None and created >= first_cut)
                or (lu is not None and lu >= first_cut)):
            history = _History(action, trail)
            runs = history.runs(cut_moments)
            for first, end, s in runs:
                t0, t1 = trend_from[first], trend_from[end]
                if s is None or t0 == t1:
                    continue
                key = s.rag if s.rag is not None else rated_alike(s.status, ot, s.revised_target, trend_days[t0:t1])
                if key:
                    steps = trend_steps[key]
                    steps[t0] += 1
                    steps[t1] -= 1
            now = runs[-1][2]  # at the end of as_of
            if now is None:
                continue
            status, reported, revised, seen = now
        else:  # steady: as it is now at every cutoff (its last change: its latest update or edit)
            now = None
            status, reported, revised, seen = action.status, action.rag, action.revised_target, latest
            if lu is not None and (seen is None or lu > seen):
                seen = lu
        suggested = suggested_rag(status, reported, ot, revised, today=as_of, scheme=scheme, due_soon_days=near)
        rating, is_suggestion = shown_rag(reported, suggested)  # the rating a person sees (_rag_on at as_of)
        was = rating  # a steady action's rating at `since`: worked out below where it can differ
        if history is None:
            if reported is not None or status not in _OPEN or (revised or ot) is None:
                steady_trend[rating or "none"] += 1  # rated alike on every day, `since` included
            else:  # open, unrated and rated by its target: its rating can change over the days
                key = rated_alike(status, ot, revised, trend_days, rating or "none") if trend_days else ""  # as_of is the last
                if key:
                    steady_trend[key] += 1
                if not key or since < trend_days[0]:  # else `since` is one of the days rated alike
                    was = suggested_rag(status, None, ot, revised, today=since, scheme=scheme, due_soon_days=near)
        tally_key = (action.priority_ref, status, reported, suggested, rating, is_suggestion)
        tally[tally_key] = tally_get(tally_key, 0) + 1
        if reported is not None and suggested is not None and disagreement(reported, suggested):
            why = (status, reported, ot, revised)  # the reasons' wording is worked out once for all actions alike
            reasons = reasons_of(why)
            if reasons is None:
                reasons = worded[why] = rule_rag(status, reported, ot, revised, today=as_of, scheme=scheme,
                                                 due_soon_days=near).reasons
            disagreements.append(_new_line(Disagreement, (aid, action.ref, action.text, reported, suggested, reasons)))

        lead: str | None = None
        if status in _OPEN:
            target = revised or ot
            if target is not None:
                if target < as_of:
                    lead = lead_of(action)
                    overdue.append(_new_line(OverdueAction, (aid, action.ref, action.text, lead, target,
                                                             (as_of - target).days, rating, is_suggestion)))
                elif target <= due_soon_until:
                    lead = lead_of(action)
                    due_soon.append(_new_line(DueSoonAction, (aid, action.ref, action.text, lead, target, (target - as_of).days)))
            last_seen = seen or created
            if last_seen is None or last_seen < stale_edge:
                stale_count += 1
                owners = stale_owners.get(action.owner_ids)
                if owners is None:
                    owners = stale_owners[action.owner_ids] = [pid for pid in dict.fromkeys(action.owner_ids) if pid in people] or [None]
                for pid in owners:
                    stale_by_owner[pid].append(action.ref)

        if history is None or now is None:  # steady: the same state at `since`; only its rating can have moved
            if was != rating:
                same = _State(status, reported, revised, seen)
                _movement(action, lead if lead is not None else lead_of(action), same, same, was, rating, moved)
            continue
        before, before_day = next(st for first, end, st in runs if first <= since_at < end), since
        if before is None and created is not None:
            # Made during the period (imported, added): it moved from how it was made.
            before, before_day = history.state_as_created(), created.astimezone(tz).date()
        if before is not None:
            was = _rag_on(ot, before, before_day, scheme, near)
            if was != rating or before.status is not status or before.revised_target != revised:
                _movement(action, lead if lead is not None else lead_of(action), before, now, was, rating, moved)
    for (ref, status, reported, suggested, rating, is_suggestion), n in tally.items():
        bucket = ref if ref in prio_titles else None
        group = prio_counters.get(bucket)
        if group is None:  # only None (under no listed priority) is not there already: it comes last
            group = prio_counters[bucket] = _Counters()
        group.add(status, reported, suggested, rating, is_suggestion, n)
    for k, steps in trend_steps.items():
        running = steady_trend[k]
        for d, step in zip(trend_days, steps, strict=False):
            running += step
            trend[d][k] += running

    # most overdue first is earliest target first; soonest first too (stable: register order within a day)
    overdue.sort(key=_TARGET)
    due_soon.sort(key=_TARGET)
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
    by_id = dict(zip(map(_ID, actions), actions, strict=True)) if awaiting_signoff else {}
    waiting = tuple(
        AwaitingSignoff(aid, by_id[aid].ref, by_id[aid].text, lead_of(by_id[aid]), stage)
        for aid, stage in awaiting_signoff
        if aid in by_id
    )
    return Digest(
        plan_id=plan.id,
        plan_title=plan.title,
        scheme=scheme,
        as_of=as_of,
        since=since,
        totals=_Counters.sum(prio_counters.values()).totals(),  # every action is counted under one priority
        by_priority=by_priority,
        moved=Moved(**{k: tuple(v) for k, v in moved.items()}),
        overdue=tuple(overdue),
        due_soon=tuple(due_soon),
        missing_updates=MissingUpdates(stale_weeks, stale_count, sum(1 for k in stale_by_owner if k is not None),
                                       len(stale_by_owner.get(None, ()))),
        missing_updates_named=named,
        awaiting_signoff=waiting,
        disagreements=tuple(disagreements),
        trend=tuple(TrendPoint(d, as_reported[d] if d in as_reported else trend[d]) for d in week_days),
        plan_held=plan_held,
        held_since=held_since,
    )


class _Counters:
    __slots__ = ("actions", "rag", "rating", "rating_suggested", "status", "suggested")

    def __init__(self) -> None:
        self.actions = 0
        self.rag, self.suggested, self.rating, self.rating_suggested = _zero_rag(), _zero_rag(), _zero_rag(), _zero_rag()
        self.status = _zero_status()

    def add(self, status: Status, reported: Rag | None, suggested: Rag | None, rating: Rag | None, is_suggestion: bool,
            n: int = 1) -> None:
        """Counts `n` actions alike."""
        # Rag and Status are str enums: a member finds its plain-string key
        self.actions += n
        self.rag[reported or "none"] += n
        self.suggested[suggested or "none"] += n
        self.rating[rating or "none"] += n
        if is_suggestion:
            self.rating_suggested[rating or "none"] += n
        self.status[status] += n

    def totals(self) -> Totals:
        return Totals(self.actions, self.rag, self.suggested, self.rating, self.status, self.rating_suggested)

    @classmethod
    def sum(cls, parts: Iterable[_Counters]) -> _Counters:
        total = cls()
        for c in parts:
            total.actions += c.actions
            for mine, theirs in ((total.rag, c.rag), (total.suggested, c.suggested), (total.rating, c.rating),
                                 (total.rating_suggested, c.rating_suggested), (total.status, c.status)):
                for k, n in theirs.items():
                    mine[k] += n
        return total


def _counted(counts: Mapping[str, int]) -> dict[str, int]:
    """A reported trend point's counts, with every rating key."""
    return {k: int(counts.get(k, 0)) for k in RAG_KEYS}


def _rag_on(original_target: date | None, state: _State, day: date, scheme: RagScheme, near: int) -> Rag | None:
    """The rating a person saw on `day` for an action in `state` (rag_of's rating, without reasons)."""
    if state.rag is not None:
        return state.rag
    return suggested_rag(state.status, None, original_target, state.revised_target, today=day, scheme=scheme,
                         due_soon_days=near)


def _names(owner_ids: tuple[int, ...], people: Mapping[int, PersonSnapshot]) -> str:
    """The names of the known people among `owner_ids`, in order ("" when none is known)."""
    return ", ".join([people[pid].display_name for pid in owner_ids if pid in people])


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
