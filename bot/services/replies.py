"""Free-text replies: read, ask the person to confirm, then apply — from any chat platform.

``read`` stores what was understood as a pending reply (with the versions of the actions it
touches) and returns a confirmation card; nothing in the register changes. ``confirm`` applies
it as updates, each guarded by the version seen when it was read, so a reply confirmed after
someone else changed the action gets a conflict instead of overwriting their change.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.domain.model import Channel, InvalidValue, Rag, Status
from bot.domain.reading import MAX_TEXT, is_snooze_request, read_reply
from bot.domain.vocabulary import ref_key
from bot.errors import Conflict, NotFound
from bot.services import register
from cards.nudge import confirmation_card, notice_card
from cards.view import Card
from storage import repo
from storage.tables import Action, ActionPerson, NudgeStateRow, Organisation, PendingReply, Person, Plan

PENDING_FOR = timedelta(hours=24)
MAX_REPLY = MAX_TEXT  # the reader reads no more than this


@dataclass(frozen=True)
class ReplyOutcome:
    card: Card
    token: str | None = None  # set when a confirmation is waiting


def my_actions(session: Session, person: Person) -> list[tuple[Action, Plan]]:
    """Actions a person may update by name: those they own or are delegate for, and every
    action of plans they own (one query, not the whole register)."""
    theirs = select(ActionPerson.action_id).where(ActionPerson.person_id == person.id)
    rows = session.exec(
        select(Action, Plan)
        .join(Plan, col(Plan.id) == col(Action.plan_id))
        .where(Plan.org_id == person.org_id, col(Plan.archived).is_(False), col(Action.removed).is_(False),
               or_(col(Action.id).in_(theirs), col(Plan.owner_id) == person.id))
        .order_by(col(Plan.id), col(Action.position), col(Action.id))
    )
    return [(a, p) for a, p in rows]


def read(session: Session, *, person: Person, text: str, channel: Channel, now: datetime, today: date | None = None,
         context_ref: str | None = None) -> ReplyOutcome:
    if len(text) > MAX_REPLY:
        return ReplyOutcome(notice_card(f"That message is {len(text)} characters; please keep an update under {MAX_REPLY}."))
    if not text.strip():
        return ReplyOutcome(notice_card('Tell me about an action, e.g. "2.4 on track" or "1.3 done, evidence at https://…".'))
    tz = person.timezone or "Europe/London"
    if is_snooze_request(text):  # the reader's answer, the same as `actionbot parse` gives
        asked = read_reply(text, today=today or now.astimezone(_tz(tz)).date(), now=now, tz=tz)
        if asked.snooze_until is None:
            return ReplyOutcome(notice_card(asked.questions[0]))
        snooze(session, person=person, until=asked.snooze_until)
        local = asked.snooze_until.astimezone(_tz(tz))
        return ReplyOutcome(notice_card(f"OK, I won't remind you before {local.strftime('%a %-d %b %H:%M')}."))
    mine = my_actions(session, person)
    if not mine:
        return ReplyOutcome(notice_card("You have no actions assigned to you yet; ask your plan's administrator to map you to your actions."))
    by_ref: dict[str, list[tuple[Action, Plan]]] = {}
    for a, p in mine:
        by_ref.setdefault(ref_key(a.ref), []).append((a, p))
    if context_ref is None and len(mine) == 1:
        context_ref = mine[0][0].ref
    today = today or now.astimezone(_tz(tz)).date()
    reading = read_reply(text, today=today, known_refs=[a.ref for a, _ in mine], context_ref=context_ref, now=now, tz=tz)
    questions = list(reading.questions)
    chosen: dict[str, Action] = {}
    plan: Plan | None = None
    for ref in reading.refs:
        hits = by_ref.get(ref_key(ref), [])
        if len(hits) > 1:
            questions.append(f"{ref} exists in several of your plans ({', '.join(p.slug for _, p in hits)}); say which.")
        elif hits:
            a, p = hits[0]
            if plan is not None and p.id != plan.id:
                questions.append("Please update one plan at a time.")
                continue
            chosen[a.ref], plan = a, p
    reading = replace(reading, refs=tuple(chosen), questions=tuple(questions))
    if chosen and not reading.proposes_change:  # "2.4" alone: nothing to confirm, so ask
        return ReplyOutcome(notice_card(" ".join(questions)))
    token = secrets.token_urlsafe(12)
    snaps = {ref: repo.action_snapshot(a) for ref, a in chosen.items()}
    if plan is None:
        return ReplyOutcome(confirmation_card(reading, snaps, token=token))
    supersede_pending(session, person, now=now)  # a "yes" only ever applies what the person was last shown
    session.add(PendingReply(token=token, org_id=person.org_id, person_id=person.id or 0, plan_id=plan.id or 0, channel=channel.value,
                             text=text, reading=reading.to_json(), versions={str(a.id): a.version for a in chosen.values()},
                             created_at=now, expires_at=now + PENDING_FOR))
    session.flush()
    return ReplyOutcome(confirmation_card(reading, snaps, token=token), token)


def _tz(name: str):
    from bot.domain.due import zone

    return zone(name)


def snooze(session: Session, *, person: Person, until: datetime | None) -> None:
    """No reminders before `until` (None: reminders as usual again)."""
    row = session.get(NudgeStateRow, person.id) or NudgeStateRow(person_id=person.id or 0)
    row.snoozed_until = until
    session.add(row)


def supersede_pending(session: Session, person: Person, *, now: datetime) -> None:
    """Earlier proposals waiting for this person's yes are dropped: a new one replaces them."""
    for p in session.exec(select(PendingReply).where(PendingReply.person_id == person.id, col(PendingReply.resolved_at).is_(None))):
        _resolve(session, p, "superseded", now)


def latest_pending(session: Session, person: Person, *, now: datetime) -> PendingReply | None:
    return session.exec(
        select(PendingReply)
        .where(PendingReply.person_id == person.id, col(PendingReply.resolved_at).is_(None), col(PendingReply.expires_at) > now)
        .order_by(col(PendingReply.id).desc())
    ).first()


def confirm(session: Session, *, org: Organisation, person: Person, token: str, channel: Channel, now: datetime) -> Card:
    """Apply a pending reply as updates (one per action), each guarded by the version seen."""
    pending = session.exec(select(PendingReply).where(PendingReply.token == token, PendingReply.person_id == person.id)).first()
    if pending is None:
        raise NotFound("that confirmation is not yours or does not exist")
    if pending.resolved_at is not None:
        return notice_card(f"Already {pending.outcome}; nothing more to do.")
    if pending.expires_at < now:
        _resolve(session, pending, "expired", now)
        return notice_card("That confirmation has expired (24 hours); please send the update again.")
    plan = session.get(Plan, pending.plan_id)
    assert plan is not None
    r = pending.reading
    req = register.UpdateRequest(
        text=r.get("progress") or "",
        status=Status(r["status"]) if r.get("status") else None,
        rag=Rag(r["rag"]) if r.get("rag") else None,
        revised_target=date.fromisoformat(r["target_date"]) if r.get("target_date") else None,
        revised_reason=r.get("reason") or ("" if not r.get("target_date") else "not given"),
        evidence=tuple(r.get("evidence") or ()),
    )
    actor = repo.actor_for(session, person)
    done = []
    try:
        with session.begin_nested():  # all or nothing: one failing action undoes the others
            for action_id, version in pending.versions.items():
                action = session.get(Action, int(action_id))
                assert action is not None
                register.record_update(session, org=org, plan=plan, action=action,
                                       request=replace(req, expected_version=version),
                                       actor=actor, author=person, channel=channel, now=now)
                done.append(action.ref)
    except Conflict as e:
        _resolve(session, pending, "conflict", now)
        return notice_card(str(e))
    except InvalidValue as e:
        return notice_card(f"I could not record that: {e}")
    _resolve(session, pending, "confirmed", now)
    return notice_card(f"Recorded on {', '.join(done)}. Thank you!", title="Update recorded")


def cancel(session: Session, *, person: Person, token: str, now: datetime) -> Card:
    pending = session.exec(select(PendingReply).where(PendingReply.token == token, PendingReply.person_id == person.id)).first()
    if pending is None or pending.resolved_at is not None:
        return notice_card("Nothing to cancel.")
    _resolve(session, pending, "cancelled", now)
    return notice_card("OK, nothing was changed.")


def _resolve(session: Session, pending: PendingReply, outcome: str, now: datetime) -> None:
    pending.resolved_at, pending.outcome = now, outcome
    session.add(pending)
    session.flush()
