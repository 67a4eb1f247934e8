"""Sign-off: an action reported complete passes through the plan's stages in order (e.g.
Evidence Challenge Panel, then Directorate Leadership Team). Each stage's approvers approve it
(the last approval signs it off: Blue under BRAG) or return it with a note, which reopens it
and makes it due for an update. Decisions are append-only rows; a later status change clears
them (see ``register.record_update``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.domain import limits
from bot.domain.model import Channel, InvalidValue, Rag, RagScheme, Role, Status
from bot.domain.permissions import Actor, Permission, allowed, own_work
from bot.errors import PermissionDenied
from bot.services.register import ACTION_FIELDS, versioned_write
from storage import repo
from storage.snapshots import awaiting_signoff
from storage.tables import Action, Organisation, Person, Plan, RoleGrant, Signoff, Update


def pending_stage(plan: Plan, action: Action) -> str | None:
    """The stage an action is waiting for, or None."""
    if action.status != Status.COMPLETE.value or not plan.signoff_stages:
        return None
    if action.signoff_stage >= len(plan.signoff_stages):
        return None
    return plan.signoff_stages[action.signoff_stage]


def awaiting(session: Session, plan: Plan) -> list[tuple[int, str]]:
    """(action id, stage name) of every action waiting for a sign-off decision."""
    return awaiting_signoff(session, plan.id or 0, plan.signoff_stages)


def approvers(session: Session, plan: Plan, stage: str) -> list[Person]:
    """The people who approve `stage` of `plan`."""
    rows = session.exec(
        select(Person).join(RoleGrant, col(RoleGrant.person_id) == col(Person.id)).where(
            RoleGrant.plan_id == plan.id, RoleGrant.role == Role.APPROVER.value, func.lower(RoleGrant.stage) == stage.lower()
        ).order_by(col(Person.display_name), col(Person.id))
    ).all()
    return list({p.id: p for p in rows}.values())


def _refusal(session: Session, plan: Plan, action: Action, stage: str, actor: Actor, action_people: tuple[int, ...]) -> str:
    """Why the actor may not decide, and who can."""
    others = [p for p in approvers(session, plan, stage) if p.id not in action_people and p.id != actor.person_id]
    who = (f"approvers of {stage!r} who can: {', '.join(f'{p.display_name} (id {p.id})' for p in others)}" if others
           else f"nobody else approves {stage!r} yet: an administrator can grant it with "
                f"`actionbot role grant PERSON approver --plan {plan.slug} --stage {stage!r}`")
    if own_work(actor, action_people):
        return f"you own or update {action.ref}, so you cannot approve or return it yourself (separation of duties); {who}"
    return f"only the approvers of {stage!r} can decide on {action.ref} now; {who}"


def decide(
    session: Session, *, org: Organisation, plan: Plan, action: Action, approve: bool, note: str, actor: Actor,
    author: Person | None, channel: Channel, now: datetime, expected_version: int | None = None,
) -> Signoff:
    stage = pending_stage(plan, action)
    if stage is None:
        if not plan.signoff_stages:
            raise InvalidValue(f"plan {plan.slug!r} has no sign-off stages (set them with `actionbot plan set --stage`)")
        raise InvalidValue(f"{action.ref} is not waiting for sign-off (status {action.status})")
    owners, delegates = repo.action_people(session, action.id or 0)
    if not allowed(actor, Permission.APPROVE, plan_id=plan.id, action_people=owners + delegates, stage=stage):
        raise PermissionDenied(_refusal(session, plan, action, stage, actor, owners + delegates))
    if not approve and not note.strip():
        raise InvalidValue("returning an action needs a note saying what is missing")
    if len(note) > limits.NOTE:
        raise InvalidValue(f"the note is {len(note):,} characters; the limit is {limits.NOTE:,}")
    before = repo.row_dict(action, ACTION_FIELDS)
    expected = expected_version if expected_version is not None else action.version
    last = action.signoff_stage + 1 >= len(plan.signoff_stages)
    values: dict[str, object] = {"updated_at": now}
    if approve and last:
        values |= {"status": Status.SIGNED_OFF.value, "signoff_stage": action.signoff_stage + 1,
                   "rag": (Rag.BLUE if RagScheme(plan.rag_scheme) is RagScheme.BRAG else Rag.GREEN).value}
    elif approve:
        values |= {"signoff_stage": action.signoff_stage + 1}
    else:
        values |= {"status": Status.IN_PROGRESS.value, "signoff_stage": 0, "returned_at": now}
    versioned_write(session, action, expected, values)
    if not approve:  # a return undoes earlier stages' approvals (kept, marked cleared)
        for s in session.exec(select(Signoff).where(Signoff.action_id == action.id, col(Signoff.cleared_at).is_(None))):
            s.cleared_at = now
            session.add(s)
    row = Signoff(action_id=action.id or 0, stage_index=action.signoff_stage, stage_name=stage,
                  decision="approved" if approve else "returned", by_id=author.id if author else None, at=now, note=note.strip())
    session.add(row)
    who = author.display_name if author else "operator"
    text = (f"Signed off at {stage}" if approve and last else f"Approved at {stage}" if approve else f"Returned by {stage}: {note.strip()}")
    if approve and note.strip():
        text += f" — {note.strip()}"
    session.add(Update(action_id=action.id or 0, at=now, author_id=author.id if author else None, author_text=who, channel=channel.value,
                       text=text, status=values.get("status"), rag=values.get("rag"), period_label=""))  # type: ignore[arg-type]
    session.flush()
    session.refresh(action)
    assert org.id is not None
    repo.audit(session, org_id=org.id, actor_id=author.id if author else None, actor_text=who, channel=channel.value, entity="action",
               entity_id=action.id, op="approve" if approve else "return", before=before,
               after=repo.row_dict(action, ACTION_FIELDS) | {"stage": stage, "note": note.strip()}, at=now)
    return row
