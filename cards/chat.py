"""Screens of the chat conversation: help, a stranger's welcome, my actions, one action, plans,
sign-off requests, the import preview and the face a card takes once answered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.model import ActionSnapshot, Rag, Status
from bot.domain.rag import Rating
from cards.ids import Verb
from cards.nudge import action_line
from cards.view import Button, Card, Fact, Line, Section, Text

MAX_LINES = 25  # lines in one list; the rest are counted ("… and N more")
MAX_BUTTON_ROWS = 5


def help_card(name: str, commands: Sequence[tuple[str, str]], *, platform_hint: str = "") -> Card:
    lines = tuple(Line((Text(usage, strong=True), Text(f" — {summary}"))) for usage, summary in commands)
    return Card(
        screen="help",
        title=Line.of(f"What you can do, {name}"),
        sections=(Section("commands", "Commands", lines),),
        reply_hint=platform_hint or 'Or just tell me about an action in your own words, e.g. "2.4 done, session delivered 3 Nov".',
    )


def stranger_card(admins: Sequence[str]) -> Card:
    who = ", ".join(admins) if admins else "your organisation's administrator"
    return Card(
        screen="notice",
        title=Line.of("You are not set up yet"),
        sections=(
            Section("what", "", (
                Line.of(f"Ask your administrator ({who}) to add you to actionbot."),
                Line.of("actionbot keeps your organisation's improvement-plan actions, reminds lead officers when an "
                        "update is due, takes updates in plain words or in a form, and posts a weekly RAG digest."),
            )),
        ),
    )


def actions_card(title: str, items: Sequence[tuple[ActionSnapshot, str]], *, empty: str, plan_names: dict[int, str] | None = None) -> Card:
    """A person's actions, each with why it is due ('' when not due), with Update buttons."""
    lines = tuple(action_line(a, why) for a, why in items[:MAX_LINES])
    buttons = tuple(
        Button(f"Update {a.ref}", Verb.OPEN_UPDATE, {"action_id": a.id, "version": a.version}, "primary" if why else "")
        for a, why in items[:MAX_BUTTON_ROWS]
    )
    return Card(
        screen="actions",
        title=Line.of(title),
        sections=(Section("actions", "", lines, more=max(0, len(items) - MAX_LINES), empty=empty),),
        buttons=buttons,
        reply_hint='Reply in your own words, e.g. "2.4 on track", or type "update REF".' if items else "",
    )


def action_card(a: ActionSnapshot, *, plan: str, lead: str, history: Sequence[tuple[datetime, str, str]],
                buttons: Sequence[Button] = (), rating: Rating | None = None) -> Card:
    """One action. `rating`: what a person sees (bot.domain.rag.Rating: reported, else the
    rules' suggestion, marked suggested); without it, the reported rating."""
    shown = rating if rating is not None else Rating(a.rag)
    facts = [Fact("Plan", plan), Fact("Status", a.status.label), Fact("RAG", shown.label if shown.rag else "not rated")]
    if lead:
        facts.append(Fact("Lead", lead))
    if a.original_target or a.original_target_raw:
        facts.append(Fact("Target", a.original_target.strftime("%-d %b %Y") if a.original_target else a.original_target_raw))
    if a.revised_target:
        facts.append(Fact("Revised target", a.revised_target.strftime("%-d %b %Y")))
    hist = tuple(Line((Text(f"{at:%-d %b %Y} {who}: "), Text(text, user=True))) for at, who, text in history[:10])
    return Card(
        screen="action",
        title=Line((Text(a.ref, user=True, strong=True), Text(" "), Text(a.text, user=True)), shown.rag),
        facts=tuple(facts),
        sections=(Section("history", "Latest updates", hist, more=max(0, len(history) - 10), empty="No updates yet."),),
        buttons=tuple(buttons),
    )


def recorded_card(ref: str, text: str, what: Sequence[str], *, by: str, at: datetime, rag: Rag | None = None) -> Card:
    """The face a card takes once answered: what was recorded, by whom, when."""
    return Card(
        screen="recorded",
        title=Line((Text(f"Recorded on {ref}: "), Text(text, user=True)), rag),
        facts=(Fact("By", by), Fact("When", at.strftime("%-d %b %Y %H:%M"))),
        sections=(Section("what", "", tuple(Line.of(w, user=True) for w in what)),) if what else (),
    )


def signoff_card(items: Sequence[tuple[ActionSnapshot, str, str]]) -> Card:
    """Actions waiting for the person's sign-off: (action, plan slug, stage)."""
    lines = tuple(Line(action_line(a).parts + (Text(f" — {plan}, {stage}"),), a.rag) for a, plan, stage in items[:MAX_LINES])
    buttons: list[Button] = []
    for a, _plan, stage in items[:MAX_BUTTON_ROWS]:
        v = {"action_id": a.id, "version": a.version, "stage": stage}
        buttons += [Button(f"Approve {a.ref}", Verb.APPROVE, v, "primary"), Button(f"Return {a.ref}", Verb.RETURN, v, "danger")]
    return Card(
        screen="signoff",
        title=Line.of(f"{len(items)} action{'s' if len(items) != 1 else ''} waiting for your sign-off" if items else "Nothing waits for your sign-off"),
        sections=(Section("awaiting", "", lines, more=max(0, len(items) - MAX_LINES)),) if items else (),
        buttons=tuple(buttons),
    )


def import_preview_card(file_name: str, preview: dict, *, token: str, note: str = "") -> Card:  # type: ignore[type-arg]
    """What a file would do to the register, with Confirm / Cancel."""
    r = preview["result"]
    facts = [
        Fact("Plan", f"{r['plan']}{' (new)' if r['created_plan'] else ''}"),
        Fact("Actions", f"{r['added_count']} new, {len(r['changed'])} changed, {len(r['removed'])} removed, {r['unchanged']} unchanged"),
        Fact("Priorities", str(preview.get("priorities", 0))),
    ]
    sections = []
    if note:
        sections.append(Section("note", "", (Line.of(note),)))
    cols = preview.get("columns") or []
    if cols:
        sections.append(Section("columns", "Columns I read", tuple(Line.of(c, user=True) for c in cols[:20]), more=max(0, len(cols) - 20)))
    leads = preview.get("unmapped_leads") or []
    if leads:
        sections.append(Section("leads", "Lead officers not yet linked to a chat user (use map)",
                                tuple(Line.of(x, user=True) for x in leads[:15]), more=max(0, len(leads) - 15)))
    warnings = preview.get("warnings") or []
    if warnings:
        sections.append(Section("warnings", "Warnings", tuple(Line.of(w, user=True) for w in warnings[:10]), more=max(0, len(warnings) - 10)))
    return Card(
        screen="import_preview",
        title=Line((Text("Import "), Text(file_name, user=True), Text("?"))),
        subtitle="Nothing is stored until you confirm.",
        facts=tuple(facts),
        sections=tuple(sections),
        buttons=(Button("Confirm import", Verb.CONFIRM_IMPORT, {"token": token}, "primary"),
                 Button("Cancel", Verb.CANCEL_IMPORT, {"token": token})),
    )


def plans_card(rows: Sequence[tuple[str, str, int, str]]) -> Card:
    """(slug, title, open actions, owner)."""
    lines = tuple(Line((Text(slug, strong=True), Text(" "), Text(title, user=True), Text(f" — {n} open" + (f", owner {owner}" if owner else ""))))
                  for slug, title, n, owner in rows[:MAX_LINES])
    return Card(screen="plans", title=Line.of("Plans"), sections=(Section("plans", "", lines, more=max(0, len(rows) - MAX_LINES), empty="No plans yet: send me a plan file to import."),))


def status_label(value: str) -> str:
    return Status(value).label
