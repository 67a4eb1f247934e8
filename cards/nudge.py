"""Screens of the chasing loop: the nudge, the private escalation, the confirmation of what was
read from free text, and short notices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bot.domain.due import DueAction, Escalation
from bot.domain.model import ActionSnapshot, Status
from bot.domain.rag import Rating
from cards.ids import Verb
from cards.view import GENERIC_TITLE, Button, Card, Fact, Line, Section, Text

if TYPE_CHECKING:  # only named in a signature: the reader (its date rules) is not loaded to draw a nudge or a digest
    from bot.domain.reading import Reading

MAX_ACTIONS = 12  # a nudge lists at most this many actions (the rest are counted)


def _target(a: ActionSnapshot) -> str:
    if a.target:
        return a.target.strftime("%-d %b %Y")
    return a.original_target_raw or "no target"


def action_line(a: ActionSnapshot, why: str = "", rating: Rating | None = None) -> Line:
    """One action on a line. `rating`: what a person sees (bot.domain.rag.Rating); a suggested
    one is marked as the rules' suggestion. Without it, the reported rating."""
    parts = [Text(a.ref, user=True, strong=True), Text(" "), Text(_cut(a.text), user=True), Text(f" — due {_target(a)}")]
    if why:
        parts.append(Text(f" ({why})"))
    if rating is None:
        return Line(tuple(parts), a.rag)
    if rating.suggested:
        parts.append(Text(f" — {rating.label}"))
    return Line(tuple(parts), rating.rag)


def _cut(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def nudge_card(person_name: str, due: Sequence[DueAction], actions: Mapping[int, ActionSnapshot], *, unassigned: Sequence[DueAction] = (),
               ratings: Mapping[int, Rating] | None = None) -> Card:
    """One message listing all of a person's due actions, each with buttons. `ratings`: the
    rating each action shows, by action id (the reported one, else the rules' suggestion)."""
    ratings = ratings or {}

    def line(d: DueAction) -> Line:
        return action_line(actions[d.action_id], d.reason.text, ratings.get(d.action_id))

    lines = tuple(line(d) for d in due[:MAX_ACTIONS])
    sections = [Section("due", "Your actions due an update", lines, more=max(0, len(due) - MAX_ACTIONS))]
    if unassigned:
        sections.append(Section("unassigned", "Actions in your plans with no owner mapped",
                                tuple(line(d) for d in unassigned[:MAX_ACTIONS]),
                                more=max(0, len(unassigned) - MAX_ACTIONS)))
    buttons: list[Button] = []
    for d in due[:5]:
        a = actions[d.action_id]
        v = {"action_id": a.id, "version": a.version}
        buttons.append(Button(f"Update {a.ref}", Verb.OPEN_UPDATE, v, "primary"))
    if len(due) == 1:
        a = actions[due[0].action_id]
        v = {"action_id": a.id, "version": a.version}
        buttons += [Button("Still on track", Verb.ON_TRACK, v), Button("Done", Verb.MARK_DONE, v)]
    buttons.append(Button("Remind me tomorrow", Verb.SNOOZE, {"until": "tomorrow"}))
    n = len(due)
    return Card(
        screen="nudge",
        title=Line.of(f"Hello {person_name}: {n} action{'s' if n != 1 else ''} due an update" if n else f"Hello {person_name}"),
        sections=tuple(sections),
        buttons=tuple(buttons),
        reply_hint='Or just reply, e.g. "2.4 done, session delivered 3 Nov" or "1.3 slipping to end of Jan, staffing".',
    )


def escalation_card(e: Escalation, actions: Mapping[int, ActionSnapshot]) -> Card:
    return Card(
        screen="escalation",
        title=Line.of(f"{e.about_name} has not answered {e.unanswered_count} reminders", user=False),
        subtitle="This note is only to you; nothing has been posted in any channel.",
        sections=(Section("actions", "Actions waiting for an update", tuple(action_line(actions[d.action_id], d.reason.text) for d in e.actions)),),
        private=True,
    )


def confirmation_card(reading: Reading, actions: Mapping[str, ActionSnapshot], *, token: str) -> Card:
    """What was read from a free-text reply, to confirm before anything changes."""
    facts: list[Fact] = []
    if reading.status:
        facts.append(Fact("Status", Status(reading.status).label))
    if reading.rag:
        facts.append(Fact("RAG", reading.rag.label))
    if reading.target_date:
        facts.append(Fact("Revised target", reading.target_date.strftime("%-d %b %Y")))
    if reading.reason:
        facts.append(Fact("Reason", reading.reason))
    lines = tuple(action_line(actions[r]) for r in reading.refs if r in actions)
    sections = [Section("actions", "Applies to", lines, empty="(no action identified)")]
    if reading.progress:
        sections.append(Section("progress", "Progress note", (Line.of(reading.progress, user=True),)))
    if reading.evidence:
        sections.append(Section("evidence", "Evidence", tuple(Line.of(e, user=True) for e in reading.evidence)))
    if reading.questions:
        sections.append(Section("questions", "Please check", tuple(Line.of(q) for q in reading.questions)))
    can_confirm = bool(lines)
    buttons = (Button("Yes, record it", Verb.CONFIRM, {"token": token}, "primary"),) if can_confirm else ()
    return Card(
        screen="confirmation",
        title=Line.of("Is this right?" if can_confirm else "I could not tell which action you mean"),
        facts=tuple(facts),
        sections=tuple(sections),
        buttons=buttons + (Button("No, change nothing", Verb.CANCEL, {"token": token}),),
        reply_hint="Reply yes to record it, or write it again differently." if can_confirm else "Name the action's ref, e.g. \"2.4 on track\".",
    )


def notice_card(text: str, *, title: str = GENERIC_TITLE) -> Card:
    return Card(screen="notice", title=Line.of(title), sections=(Section("notice", "", (Line.of(text),)),))
