"""Teams conversation references: saved on install and on every message, read by proactive
sends. The caller owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from storage.tables import TeamsConversation

FIELDS = ("kind", "service_url", "tenant_id", "user_id", "aad_object_id", "user_name", "team_id", "channel_name", "bot_id", "timezone")


def save_reference(session: Session, *, conversation_id: str, now: datetime, installed: bool = True, **fields: Any) -> TeamsConversation:
    """Insert or refresh one conversation's reference. Empty values never overwrite known ones
    (a channel message carries no user's timezone; an update without a name keeps the name)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown reference fields {sorted(unknown)}")
    row = session.exec(select(TeamsConversation).where(TeamsConversation.conversation_id == conversation_id)).first()
    if row is None:
        row = TeamsConversation(conversation_id=conversation_id, service_url=fields.get("service_url") or "", created_at=now)
    for name, value in fields.items():
        if value not in (None, ""):
            setattr(row, name, value)
    row.installed = installed
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def mark_uninstalled(session: Session, *, conversation_id: str, now: datetime) -> None:
    row = session.exec(select(TeamsConversation).where(TeamsConversation.conversation_id == conversation_id)).first()
    if row is not None:
        row.installed, row.updated_at = False, now
        session.add(row)


def find_reference(session: Session, target: str) -> TeamsConversation | None:
    """Where to send to ``target``: a conversation by its id (a channel, "teams:<id>" in a plan's
    digest channels), else a person's 1:1 chat by their Teams user id or Entra object id, the
    most recently refreshed first."""
    row = session.exec(select(TeamsConversation).where(TeamsConversation.conversation_id == target)).first()
    if row is not None:
        return row
    q = (select(TeamsConversation)
         .where(TeamsConversation.kind == "personal", or_(TeamsConversation.user_id == target, TeamsConversation.aad_object_id == target))
         .order_by(col(TeamsConversation.installed).desc(), col(TeamsConversation.updated_at).desc()))
    return session.exec(q).first()


def any_reference_for_tenant(session: Session, tenant_id: str) -> TeamsConversation | None:
    """Some conversation in the tenant (its service URL and bot id start a new 1:1 chat)."""
    q = select(TeamsConversation).where(TeamsConversation.tenant_id == tenant_id).order_by(col(TeamsConversation.updated_at).desc())
    return session.exec(q).first()
