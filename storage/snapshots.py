"""The register read as domain snapshots, for the engine's rules (due scan, digest).

These are the engine's hot reads: over a whole organisation, every few minutes. They read
plain rows with SQLAlchemy Core (no ORM objects) and build the frozen snapshots directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.domain.due import NudgeState
from bot.domain.model import ActionSnapshot, Channel, PersonSnapshot, PlanSnapshot, Rag, Status, UpdateSnapshot
from storage import repo
from storage.tables import NudgeStateRow, Person, Plan, Update


@dataclass
class RegisterView:
    plans: dict[int, PlanSnapshot]
    plan_rows: dict[int, Plan]
    actions: list[ActionSnapshot]
    people: dict[int, PersonSnapshot]
    people_rows: dict[int, Person]
    state: dict[int, NudgeState]


def load_register(session: Session, org_id: int, *, plan_id: int | None = None) -> RegisterView:
    plan_rows = {p.id: p for p in repo.list_plans(session, org_id) if p.id is not None and (plan_id is None or p.id == plan_id)}
    actions: list[ActionSnapshot] = []
    for p in plan_rows.values():
        prios = {q.id: q.ref for q in repo.priorities(session, p.id or 0)}
        rows = repo.list_actions(session, p.id or 0)
        links = repo.people_by_action(session, [a.id for a in rows if a.id is not None])
        actions += [repo.action_snapshot(a, *links[a.id], priority_ref=prios.get(a.priority_id)) for a in rows if a.id is not None]
    people_rows = {p.id: p for p in repo.list_people(session, org_id) if p.id is not None}
    state = {
        r.person_id: NudgeState(repo._aware(r.last_nudged_at), repo._aware(r.snoozed_until), r.unanswered_count, repo._aware(r.escalated_at))
        for r in session.exec(select(NudgeStateRow).where(col(NudgeStateRow.person_id).in_(list(people_rows))))
    }
    return RegisterView(
        plans={i: repo.plan_snapshot(p) for i, p in plan_rows.items()},
        plan_rows=plan_rows,
        actions=actions,
        people={i: repo.person_snapshot(p) for i, p in people_rows.items()},
        people_rows=people_rows,
        state=state,
    )


def load_updates(session: Session, action_ids: Sequence[int]) -> list[UpdateSnapshot]:
    """The whole update history of the given actions."""
    if not action_ids:
        return []
    return [
        UpdateSnapshot(action_id=u.action_id, at=repo._aware(u.at) or u.at, channel=Channel(u.channel),
                       status=Status(u.status) if u.status else None, rag=Rag(u.rag) if u.rag else None, text=u.text,
                       revised_target=u.revised_target, author_id=u.author_id, label=u.period_label)
        for u in session.exec(select(Update).where(col(Update.action_id).in_(list(action_ids))))
    ]
