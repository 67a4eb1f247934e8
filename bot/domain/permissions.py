"""Who may do what: the one place it is decided.

A person's grants (organisation admin, plan owner, stage approver, leadership reader) plus
their relation to an action (owner, delegate) decide every permission. Adapters and the CLI
call `check`; nothing else makes these decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.model import Role


class Permission(StrEnum):
    UPDATE_ACTION = "update an action"
    APPROVE = "approve or return at a sign-off stage"
    MANAGE_PLAN = "manage a plan (import, edit, export, settings)"
    MANAGE_PEOPLE = "manage people and roles"
    READ_PLAN = "read a plan's register and digest"
    READ_NAMES = "see who has not updated"


@dataclass(frozen=True)
class Grant:
    role: Role
    plan_id: int | None = None  # None: organisation-wide (admins)
    stage: str = ""


@dataclass(frozen=True)
class Actor:
    """Someone acting: their grants, and whether they are the local operator (the CLI run by
    whoever holds the database, who may do anything)."""

    person_id: int | None
    grants: tuple[Grant, ...] = ()
    operator: bool = False

    def has(self, role: Role, plan_id: int | None = None, stage: str | None = None) -> bool:
        for g in self.grants:
            if g.role is not role:
                continue
            if role is Role.ADMIN:
                return True
            if g.plan_id == plan_id and (stage is None or g.stage.lower() == stage.lower()):
                return True
        return False


def allowed(
    actor: Actor,
    permission: Permission,
    *,
    plan_id: int | None = None,
    action_people: tuple[int, ...] = (),
    stage: str | None = None,
) -> bool:
    """`action_people`: owners and delegates of the action concerned."""
    if actor.operator:
        return True
    admin = actor.has(Role.ADMIN)
    owner = plan_id is not None and actor.has(Role.OWNER, plan_id)
    match permission:
        case Permission.UPDATE_ACTION:
            return admin or owner or (actor.person_id is not None and actor.person_id in action_people)
        case Permission.APPROVE:
            # Separation of duties: only the stage's approvers, never implied by admin, and never
            # an owner or delegate of the action itself (nobody approves their own work).
            if own_work(actor, action_people):
                return False
            return plan_id is not None and actor.has(Role.APPROVER, plan_id, stage)
        case Permission.MANAGE_PLAN:
            return admin or owner
        case Permission.MANAGE_PEOPLE:
            return admin
        case Permission.READ_PLAN:
            return (
                admin
                or owner
                or (plan_id is not None and (actor.has(Role.READER, plan_id) or actor.has(Role.APPROVER, plan_id)))
                or (actor.person_id is not None and actor.person_id in action_people)
            )
        case Permission.READ_NAMES:
            return admin or owner
    return False


def own_work(actor: Actor, action_people: tuple[int, ...]) -> bool:
    """Whether the action is the actor's own (they own it or update it as a delegate)."""
    return actor.person_id is not None and actor.person_id in action_people


def denial(permission: Permission) -> str:
    return f"you are not allowed to {permission.value}; ask an administrator of your organisation"
