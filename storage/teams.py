"""Teams conversation references: saved on install and on every message, read by proactive
sends; and files offered with a file consent card until they are answered. The caller owns
the transaction."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, or_, select

from storage.tables import TeamsConversation, TeamsMember, TeamsUpload

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


# --- files offered with a file consent card -----------------------------------------------------
UPLOAD_KEPT = timedelta(hours=24)  # an offered file waits this long for Allow or Decline


def offer_upload(session: Session, *, conversation_id: str, user_id: str, file_name: str, mime: str, data: bytes,
                 now: datetime) -> TeamsUpload:
    """Keep a file until its consent card is answered; files offered more than a day ago go."""
    session.execute(delete(TeamsUpload).where(col(TeamsUpload.expires_at) < now))
    row = TeamsUpload(token=secrets.token_urlsafe(18), conversation_id=conversation_id, user_id=user_id, file_name=file_name[:300],
                      mime=mime[:200], size=len(data), data=data, created_at=now, expires_at=now + UPLOAD_KEPT)
    session.add(row)
    session.flush()
    return row


def claim_upload(session: Session, token: str, *, now: datetime) -> tuple[TeamsUpload | None, str]:
    """The offered file for ``token``, marked as being uploaded (so a second Allow pressed at
    the same moment does not upload it twice), or None and why not."""
    row = session.exec(select(TeamsUpload).where(TeamsUpload.token == token).with_for_update()).first()
    if row is None or row.expires_at < now:
        return None, "expired"
    if row.status != "offered":
        return None, row.status
    row.status = "uploading"
    session.add(row)
    return row, ""


def resolve_upload(session: Session, token: str, status: str, *, now: datetime) -> TeamsUpload | None:
    """Uploaded, declined or failed: the bytes are dropped, the row stays (so a repeated
    answer is recognised) until it expires. A file already resolved is left as it is."""
    row = session.exec(select(TeamsUpload).where(TeamsUpload.token == token).with_for_update()).first()
    if row is None or row.status not in ("offered", "uploading"):
        return row
    row.status, row.data, row.resolved_at = status, b"", now
    session.add(row)
    return row


# --- members of the teams the bot is in -----------------------------------------------------------
MEMBER_FIELDS = ("aad_object_id", "name", "email", "service_url", "bot_id", "team_id")


def save_member(session: Session, *, tenant_id: str, user_id: str, now: datetime, **fields: Any) -> TeamsMember:
    """Insert or refresh one member (by tenant and Teams user id); empty values keep known ones."""
    unknown = set(fields) - set(MEMBER_FIELDS)
    if unknown:
        raise TypeError(f"unknown member fields {sorted(unknown)}")
    row = session.exec(select(TeamsMember).where(TeamsMember.tenant_id == tenant_id, TeamsMember.user_id == user_id)).first()
    if row is None:
        row = TeamsMember(tenant_id=tenant_id, user_id=user_id, service_url=fields.get("service_url") or "", created_at=now)
    for name, value in fields.items():
        if value not in (None, ""):
            setattr(row, name, value)
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def forget_member(session: Session, *, tenant_id: str, user_id: str) -> None:
    session.execute(delete(TeamsMember).where(col(TeamsMember.tenant_id) == tenant_id, col(TeamsMember.user_id) == user_id))


def find_member(session: Session, target: str) -> TeamsMember | None:
    """A member by Teams user id or Entra object id, the most recently seen first."""
    q = (select(TeamsMember).where(or_(TeamsMember.user_id == target, TeamsMember.aad_object_id == target))
         .order_by(col(TeamsMember.updated_at).desc()))
    return session.exec(q).first()


def member_by_email(session: Session, email: str) -> TeamsMember | None:
    from sqlalchemy import func

    q = select(TeamsMember).where(func.lower(TeamsMember.email) == email.strip().lower()).order_by(col(TeamsMember.updated_at).desc())
    return session.exec(q).first()
