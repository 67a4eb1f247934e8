"""The RAG rules: what rating an action's facts suggest, in one place.

Officers report a rating; these rules say what the facts (status, target date, re-baselining)
suggest. The digest shows both and lists the actions where they differ. The rules never
overwrite a reported rating.

| # | when (first match wins)                                     | suggested rating                     |
|---|-------------------------------------------------------------|--------------------------------------|
| 1 | signed off                                                  | Blue under BRAG, Green under RAG     |
| 2 | complete, awaiting sign-off                                 | Green (Blue only once signed off)    |
| 3 | cancelled                                                   | none: no longer delivered, not rated |
| 4 | on hold                                                     | Amber                                |
| 5 | open (not started / in progress), past its target date      | Red                                  |
| 6 | open, no target date                                        | the reported rating, else none       |
| 7 | open, target date ahead                                     | the reported rating, else Green, but |
|   | - re-baselined (revised target differs from the original)  | at least Amber                       |
|   | - not started and the target is within `due_soon_days`     | at least Amber                       |

Notes:
- "Past its target" uses the revised target when there is one. Due on the target day itself
  is not yet late.
- On hold is Amber, not "no rating": a paused action still belongs to the plan and its outcome
  is at risk until it restarts or is formally cancelled, which is what Amber says to a panel.
  Cancelled actions are no longer delivered, so they take no rating and leave the totals of
  Red/Amber/Green alone.
- For open actions the rules only ever make the rating worse (a floor): an officer who reports
  Amber on an action the rules think on track is not contradicted. An open action is never
  Blue: a reported Blue on an open action is suggested Green.
- A disagreement is a reported rating that differs from the suggestion; with nothing reported,
  or nothing suggested, there is nothing to disagree with.

The rating a person sees (`Rating`, made by `shown_rating` / `rating_of` / `action_rating`
and nowhere else) is the reported one, else the rules' suggestion marked as suggested. Every
output and filter uses it: the digest and its chart, `action list` and its `--rag`, `action
show`, exports and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from bot.domain.model import ActionSnapshot, Rag, RagScheme, Status

# Keys used for counts everywhere (digest totals, trend, JSON): best to worst, then unrated.
RAG_KEYS: tuple[str, ...] = ("B", "G", "A", "R", "none")


def rag_key(rag: Rag | None) -> str:
    """"B", "G", "A", "R" or "none": the key a rating is counted under."""
    # _value_ is what .value returns, read without Enum's property (the digest asks ~10 times per action)
    return rag._value_ if rag is not None else "none"


@lru_cache(maxsize=4096)
def fmt_date(d: date) -> str:
    """5 Mar 2026: how dates are written in every sentence we produce."""
    return f"{d.day} {d:%b %Y}"


class RagSuggestion(NamedTuple):
    rag: Rag | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RagComparison:
    """A reported rating beside the rules' suggestion, for showing both."""

    reported: Rag | None
    suggested: Rag | None
    reasons: tuple[str, ...]

    @property
    def disagrees(self) -> bool:
        return disagreement(self.reported, self.suggested)

    @property
    def summary(self) -> str:
        """"reported Green, rules say Red: 12 days past its target date of 31 Jan 2026"."""
        rep = self.reported.label if self.reported else "no rating"
        sug = self.suggested.label if self.suggested else "no rating"
        why = "; ".join(self.reasons)
        return f"reported {rep}, rules say {sug}" + (f": {why}" if why else "")


@dataclass(frozen=True)
class Rating:
    """The rating a person sees: the reported one, else the rules' suggestion (`suggested`
    True). `rag` None: nothing reported and the rules suggest nothing (cancelled, or open with
    no target date)."""

    rag: Rag | None
    suggested: bool = False
    reasons: tuple[str, ...] = ()  # why the rules suggest it (empty for a reported rating)

    @property
    def key(self) -> str:
        """"B", "G", "A", "R" or "none", as counts and JSON use."""
        return rag_key(self.rag)

    @property
    def label(self) -> str:
        """"Red", "Red (suggested)" or "no rating"."""
        if self.rag is None:
            return "no rating"
        return f"{self.rag.label} (suggested)" if self.suggested else self.rag.label

    @property
    def short(self) -> str:
        """"R", "R*" (suggested) or "-": for narrow table columns."""
        if self.rag is None:
            return "-"
        return f"{self.rag.value}*" if self.suggested else self.rag.value

    def to_json(self) -> dict[str, object]:
        return {"rating": self.key, "rating_suggested": self.suggested, "rating_reasons": list(self.reasons)}


def shown_rating(reported: Rag | None, suggestion: RagSuggestion | None) -> Rating:
    """The one rule for what a person sees: the reported rating, else the suggestion."""
    if reported is not None:
        return Rating(reported)
    if suggestion is None or suggestion.rag is None:
        return Rating(None)
    return Rating(suggestion.rag, True, suggestion.reasons)


def rating_of(
    status: Status,
    reported: Rag | None,
    original_target: date | None,
    revised_target: date | None,
    *,
    today: date,
    scheme: RagScheme,
    due_soon_days: int = 14,
) -> Rating:
    """The rating a person sees, from bare fields (for past states, as the digest rebuilds)."""
    if reported is not None:
        return Rating(reported)
    return shown_rating(None, rule_rag(status, None, original_target, revised_target, today=today, scheme=scheme,
                                       due_soon_days=due_soon_days))


def action_rating(action: ActionSnapshot, *, today: date, scheme: RagScheme, due_soon_days: int = 14) -> Rating:
    """The rating a person sees for `action` on `today`."""
    return rating_of(action.status, action.rag, action.original_target, action.revised_target, today=today,
                     scheme=scheme, due_soon_days=due_soon_days)


def worse(a: Rag, b: Rag) -> Rag:
    return a if a.severity >= b.severity else b


def disagreement(reported: Rag | None, suggested: Rag | None) -> bool:
    """True when a rating was reported, the rules suggest one, and they differ."""
    return reported is not None and suggested is not None and reported != suggested


def suggest_rag(action: ActionSnapshot, *, today: date, scheme: RagScheme, due_soon_days: int = 14) -> RagSuggestion:
    """The rating the rules in this module's table suggest for `action` on `today`."""
    return rule_rag(
        action.status,
        action.rag,
        action.original_target,
        action.revised_target,
        today=today,
        scheme=scheme,
        due_soon_days=due_soon_days,
    )


def compare_rag(action: ActionSnapshot, *, today: date, scheme: RagScheme, due_soon_days: int = 14) -> RagComparison:
    s = suggest_rag(action, today=today, scheme=scheme, due_soon_days=due_soon_days)
    return RagComparison(action.rag, s.rag, s.reasons)


_OPEN_STATUSES = (Status.NOT_STARTED, Status.IN_PROGRESS)
_SEVERITY = {r: r.severity for r in Rag}


def suggested_rag(
    status: Status,
    reported: Rag | None,
    original_target: date | None,
    revised_target: date | None,
    *,
    today: date,
    scheme: RagScheme,
    due_soon_days: int = 14,
) -> Rag | None:
    """``rule_rag(...).rag`` without wording the reasons: for the digest, which rates every
    action on each of its trend days and shows reasons only for disagreements. The same table;
    tests hold the two to the same answers."""
    if status is Status.SIGNED_OFF:
        return Rag.BLUE if scheme is RagScheme.BRAG else Rag.GREEN
    if status is Status.COMPLETE:
        return Rag.GREEN
    if status not in _OPEN_STATUSES:
        return None if status is Status.CANCELLED else Rag.AMBER
    open_reported = Rag.GREEN if reported is Rag.BLUE else reported
    target = revised_target or original_target
    if target is None:
        return open_reported
    if target < today:
        return Rag.RED
    floor = Rag.GREEN
    if (revised_target is not None and revised_target != original_target) or (
            status is Status.NOT_STARTED and (target - today).days <= due_soon_days):
        floor = Rag.AMBER
    if open_reported is not None and _SEVERITY[open_reported] > _SEVERITY[floor]:
        return open_reported
    return floor


def shown_rag(reported: Rag | None, suggested: Rag | None) -> tuple[Rag | None, bool]:
    """(rating, whether it is the suggestion): what ``shown_rating`` makes, without its reasons."""
    if reported is not None:
        return reported, False
    return suggested, suggested is not None


def rule_rag(
    status: Status,
    reported: Rag | None,
    original_target: date | None,
    revised_target: date | None,
    *,
    today: date,
    scheme: RagScheme,
    due_soon_days: int = 14,
) -> RagSuggestion:
    """The same rules on bare fields, for callers that reconstruct past states (the digest)."""
    if status is Status.SIGNED_OFF:
        if scheme is RagScheme.BRAG:
            return RagSuggestion(Rag.BLUE, ("signed off",))
        return RagSuggestion(Rag.GREEN, ("signed off",))
    if status is Status.COMPLETE:
        why = "complete, awaiting sign-off; Blue once signed off" if scheme is RagScheme.BRAG else "complete, awaiting sign-off"
        return RagSuggestion(Rag.GREEN, (why,))
    if status is Status.CANCELLED:
        return RagSuggestion(None, ("cancelled: no longer rated",))
    if status is Status.ON_HOLD:
        return RagSuggestion(Rag.AMBER, ("on hold: the outcome is at risk until it restarts",))

    # Open: not started or in progress.
    open_reported = Rag.GREEN if reported is Rag.BLUE else reported
    target = revised_target or original_target
    if target is None:
        if open_reported is None:
            return RagSuggestion(None, ("no target date to judge against",))
        why = "no target date; keeping the reported rating"
        if reported is Rag.BLUE:
            why = "no target date; Blue is only for completed actions"
        return RagSuggestion(open_reported, (why,))
    if target < today:
        days = (today - target).days
        return RagSuggestion(Rag.RED, (f"{days} day{'s' if days != 1 else ''} past its target date of {fmt_date(target)}",))

    floor = Rag.GREEN
    reasons: list[str] = []
    if revised_target is not None and revised_target != original_target:
        floor = Rag.AMBER
        was = fmt_date(original_target) if original_target else "no date"
        reasons.append(f"re-baselined: target moved from {was} to {fmt_date(revised_target)}")
    days_left = (target - today).days
    if status is Status.NOT_STARTED and days_left <= due_soon_days:
        floor = Rag.AMBER
        reasons.append(f"not started and due in {days_left} day{'s' if days_left != 1 else ''}")
    if open_reported is not None and open_reported.severity > floor.severity:
        return RagSuggestion(open_reported, (*reasons, f"keeping the reported {open_reported.label}"))
    if not reasons:
        reasons.append(f"open and on time: target {fmt_date(target)}")
        if reported is Rag.BLUE:
            reasons.append("Blue is only for completed actions")
    return RagSuggestion(floor, tuple(reasons))
