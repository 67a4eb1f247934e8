"""The forms of the conversation: an action's update, and a sign-off return with its note.

Built as the neutral ``cards.form.Form`` (each platform renders it), read back and validated
here, once: a revised target needs a reason and may not be in the past; evidence must be web
addresses; something must be said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from bot.domain.model import ActionSnapshot, Rag, RagScheme, Status
from bot.domain.rag import suggest_rag
from bot.services.register import MAX_TEXT, UpdateRequest
from cards.form import Form, Input, Option
from cards.ids import Field, Verb
from storage import repo
from storage.tables import Action, Plan

STATUS_CHOICES = (Status.NOT_STARTED, Status.IN_PROGRESS, Status.COMPLETE, Status.ON_HOLD)
MAX_REASON = 1000
MAX_EVIDENCE = 2000
_URL = re.compile(r"^(https?://[^\s/$.?#][^\s]*)$", re.I)


def update_form(action: Action, plan: Plan, *, today: date, progress: str = "") -> Form:
    snap: ActionSnapshot = repo.action_snapshot(action)
    scheme = RagScheme(plan.rag_scheme)
    suggested = suggest_rag(snap, today=today, scheme=scheme, due_soon_days=plan.due_soon_days).rag
    rags = [Rag.RED, Rag.AMBER, Rag.GREEN] + ([Rag.BLUE] if scheme is RagScheme.BRAG else [])
    initial_rag = (suggested or snap.rag)
    status = Status(action.status)
    statuses = STATUS_CHOICES if status in STATUS_CHOICES else (*STATUS_CHOICES, status)
    target = action.revised_target or action.original_target
    intro = f"{action.ref} {' '.join(action.text.split())[:280]}"
    if target:
        intro += f" — target {target:%-d %b %Y}"
    return Form(
        id=Verb.SUBMIT_UPDATE,
        title=f"Update {action.ref}"[:24],
        intro=intro,
        submit_label="Save update",
        value={"action_id": action.id, "version": action.version},
        inputs=(
            Input(Field.STATUS, "choice", "Status", required=True, initial=status.value,
                  options=tuple(Option(s.value, s.label) for s in statuses)),
            Input(Field.RAG, "choice", "RAG rating", required=True, initial=initial_rag.value if initial_rag else "",
                  options=tuple(Option(r.value, r.label + (" (suggested)" if r is suggested else "")) for r in rags),
                  hint="The suggested rating follows the plan's rules; choose another if you know better."),
            Input(Field.TEXT, "multiline", "Progress", initial=progress[:MAX_TEXT], max_length=MAX_TEXT,
                  hint="What has happened since the last update"),
            Input(Field.REVISED_TARGET, "date", "Revised target date", hint="Only if the target moves"),
            Input(Field.REASON, "text", "Reason for the new date", max_length=MAX_REASON, hint="Needed when the target moves"),
            Input(Field.EVIDENCE, "url", "Evidence link", max_length=MAX_EVIDENCE, hint="https://…"),
        ),
    )


def return_form(action: Action, plan: Plan, *, stage: str) -> Form:
    return Form(
        id=Verb.SUBMIT_RETURN,
        title=f"Return {action.ref}"[:24],
        intro=f"{action.ref} {' '.join(action.text.split())[:280]} — returning it at {stage or 'this stage'} reopens it for the lead officer.",
        submit_label="Return",
        value={"action_id": action.id, "version": action.version, "stage": stage},
        inputs=(Input(Field.NOTE, "multiline", "What is missing?", required=True, max_length=MAX_TEXT),),
    )


def read_update_form(fields: Mapping[str, str], *, today: date, version: int) -> tuple[UpdateRequest | None, dict[str, str]]:
    """The request a submitted update form asks for, or the errors to show against its inputs."""
    errors: dict[str, str] = {}
    get = lambda k: (fields.get(k) or "").strip()  # noqa: E731
    status = rag = None
    if get(Field.STATUS):
        try:
            status = Status(get(Field.STATUS))
        except ValueError:
            errors[Field.STATUS] = "Choose one of the statuses offered."
    if get(Field.RAG):
        try:
            rag = Rag(get(Field.RAG).upper()[:1])
        except ValueError:
            errors[Field.RAG] = "Choose Red, Amber, Green or Blue."
    text = get(Field.TEXT)
    if len(text) > MAX_TEXT:
        errors[Field.TEXT] = f"Keep the progress note under {MAX_TEXT} characters (it has {len(text)})."
    revised: date | None = None
    if get(Field.REVISED_TARGET):
        try:
            revised = date.fromisoformat(get(Field.REVISED_TARGET))
        except ValueError:
            errors[Field.REVISED_TARGET] = "Give the date as a date (yyyy-mm-dd)."
        else:
            if revised < today:
                errors[Field.REVISED_TARGET] = "A new target date cannot be in the past."
    reason = get(Field.REASON)
    if revised is not None and not reason:
        errors[Field.REASON] = "Say why the target moves."
    if len(reason) > MAX_REASON:
        errors[Field.REASON] = f"Keep the reason under {MAX_REASON} characters."
    evidence = tuple(x for x in re.split(r"[\s,]+", get(Field.EVIDENCE)) if x)
    if len(get(Field.EVIDENCE)) > MAX_EVIDENCE:
        errors[Field.EVIDENCE] = f"Keep the evidence under {MAX_EVIDENCE} characters."
    elif any(not _URL.match(e) for e in evidence):
        errors[Field.EVIDENCE] = "Evidence must be a web address starting with https:// (or http://)."
    if not errors and not (text or status or rag or revised or evidence):
        errors[Field.TEXT] = "Say what has happened, or change the status, rating or date."
    if errors:
        return None, errors
    return UpdateRequest(text=text, status=status, rag=rag, revised_target=revised, revised_reason=reason if revised else "",
                         evidence=evidence, expected_version=version), {}
