"""Read models: plans, actions and history as plain dicts (the CLI's --json, chat cards, exports).

An action's `rag` is the rating reported; `rating` is the one a person sees (the reported one,
else the rules' suggestion, with `rating_suggested` true: bot.domain.rag.Rating). Counts and
filters use `rating`."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot.domain.due import zone
from bot.domain.model import RagScheme
from bot.domain.rag import Rating, action_rating
from storage import repo
from storage.tables import Action, Person, Plan, Update


def plan_today(plan: Plan, now: datetime) -> date:
    """The plan's own calendar day at `now` (its timezone)."""
    return now.astimezone(zone(plan.timezone)).date()


def rating(plan: Plan, action: Action, *, today: date) -> Rating:
    """The rating a person sees for `action` of `plan` on `today`."""
    return action_rating(repo.action_snapshot(action), today=today, scheme=RagScheme(plan.rag_scheme),
                         due_soon_days=plan.due_soon_days)


def plan_json(session: Session, plan: Plan, *, with_counts: bool = True, today: date | None = None) -> dict[str, Any]:
    """`today` (the plan's day) is needed for the counts by rating; without it they are left out."""
    out: dict[str, Any] = {
        "slug": plan.slug,
        "title": plan.title,
        "organisation": plan.organisation_name,
        "plan_date": plan.plan_date.isoformat() if plan.plan_date else None,
        "rag_scheme": plan.rag_scheme,
        "cadence": plan.cadence,
        "timezone": plan.timezone,
        "due_soon_days": plan.due_soon_days,
        "digest_channels": plan.digest_channels,
        "signoff_stages": plan.signoff_stages,
        "owner_id": plan.owner_id,
        "source_file": plan.source_file,
        "chase_from": plan.chase_from.isoformat() if plan.chase_from else None,
        "country": plan.country,  # None: the organisation's
    }
    if with_counts:
        actions = repo.list_actions(session, plan.id or 0)
        out["actions"] = len(actions)
        out["by_status"] = dict(Counter(a.status for a in actions))
        out["by_rag"] = dict(Counter(a.rag or "none" for a in actions))
        if today is not None:
            ratings = [rating(plan, a, today=today) for a in actions if a.id is not None]
            out["by_rating"] = dict(Counter(r.key for r in ratings))
            out["by_rating_suggested"] = dict(Counter(r.key for r in ratings if r.suggested))
    return out


def action_json(action: Action, *, priority_ref: str | None = None, people: dict[int, Person] | None = None,
                owners: tuple[int, ...] = (), delegates: tuple[int, ...] = (), shown: Rating | None = None) -> dict[str, Any]:
    """`shown`: the rating a person sees (see `rating`); without it only the reported `rag` is given."""
    names = people or {}
    return {
        "ref": action.ref,
        "priority_ref": priority_ref,
        "text": action.text,
        "lead": action.lead_text,
        "owners": [names[i].display_name if i in names else i for i in owners],
        "delegates": [names[i].display_name if i in names else i for i in delegates],
        "original_target": action.original_target.isoformat() if action.original_target else None,
        "original_target_raw": action.original_target_raw,
        "revised_target": action.revised_target.isoformat() if action.revised_target else None,
        "revised_reason": action.revised_reason or None,
        "status": action.status,
        "rag": action.rag,
        **(shown.to_json() if shown is not None else {}),
        "version": action.version,
        "last_update_at": action.last_update_at.isoformat() if action.last_update_at else None,
        "outputs": action.outputs,
        "outcome_required": action.outcome_required,
        "evidence_required": action.evidence_required,
        "links": action.links,
        "extra": action.extra,
    }


def update_json(u: Update) -> dict[str, Any]:
    return {
        "id": u.id,
        "at": u.at.isoformat(),
        "author": u.author_text,
        "channel": u.channel,
        "label": u.period_label,
        "text": u.text,
        "status": u.status,
        "rag": u.rag,
        "revised_target": u.revised_target.isoformat() if u.revised_target else None,
        "revised_reason": u.revised_reason or None,
        "evidence": u.evidence,
        "supersedes": u.supersedes_id,
    }


def actions_json(session: Session, plan: Plan, *, today: date) -> list[dict[str, Any]]:
    actions = repo.list_actions(session, plan.id or 0)
    prios = {p.id: p.ref for p in repo.priorities(session, plan.id or 0)}
    people = {p.id: p for p in repo.list_people(session, plan.org_id) if p.id is not None}
    links = repo.people_by_action(session, [a.id for a in actions if a.id is not None])
    return [
        action_json(a, priority_ref=prios.get(a.priority_id), people=people, owners=links[a.id][0], delegates=links[a.id][1],
                    shown=rating(plan, a, today=today))
        for a in actions
        if a.id is not None
    ]
