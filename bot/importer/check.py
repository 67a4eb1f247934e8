"""Step 5 of an import: what the administrator should look at before committing.

Every action is checked for what a register needs (text, a lead officer, a target date we can
read, a RAG rating we understand) and each gap becomes one warning listing the refs, so the
preview says in a few lines what to fix in the file or set by hand afterwards.
"""

from __future__ import annotations

from bot.domain.model import Status
from bot.importer.parsed import ParsedAction, ParsedPlan

# the warning `actionbot import --organisation NAME` answers (and so leaves out)
NO_ORGANISATION = "the organisation's name was not found at the top of the file; give it with `import --organisation NAME`."


def snippet(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def list_some(items: list[str], limit: int = 12) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


UNREAD_MARK = "target(s) are not dates we could read"


def unread_targets_warning(actions: list[ParsedAction]) -> str | None:
    unread = [f"{a.ref} ('{snippet(a.target_raw, 40)}')" for a in actions if a.target_kind == "unknown"]
    return f"{len(unread)} {UNREAD_MARK}; kept as written: {list_some(unread)}." if unread else None


def check_plan(plan: ParsedPlan, *, odd_refs: list[str], footnotes: int, bad_rag: dict[str, str]) -> None:
    """Append the plan's warnings about gaps in its actions and recommendations."""
    warnings = plan.warnings
    no_lead: list[str] = []
    no_target: list[str] = []
    for action in plan.actions:
        ref = action.ref
        if not action.lead_text:
            no_lead.append(ref)
        if action.target_kind == "empty" and action.status not in (Status.COMPLETE, Status.SIGNED_OFF):
            no_target.append(ref)
        if not action.text:
            warnings.append(f"{action.where}: action {ref} has no action text.")
    untitled = [p.ref for p in plan.priorities if not p.title]
    if untitled:
        warnings.append(f"{len(untitled)} recommendation(s) have no text: {list_some(untitled)}.")
    if odd_refs:
        warnings.append(f"{len(odd_refs)} ref(s) look unusual and were kept as written: {list_some(odd_refs, 5)}.")
    if footnotes:
        warnings.append(f"{footnotes} footnote(s) kept as notes on the plan, not as actions.")
    if no_lead:
        warnings.append(f"{len(no_lead)} action(s) have no lead officer: {list_some(no_lead)}.")
    if no_target:
        warnings.append(f"{len(no_target)} open action(s) have no target date: {list_some(no_target)}.")
    unread = unread_targets_warning(plan.actions)
    if unread:
        warnings.append(unread)
    for raw, ref in bad_rag.items():
        warnings.append(f"action {ref}: RAG rating '{raw}' is not Red, Amber, Green or Blue; left unrated.")
    if not plan.organisation:
        warnings.append(NO_ORGANISATION)
