"""Building the committee report of a plan from the register (the exporters write it)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from bot.domain.model import Rag, RagScheme, Status
from bot.domain.rag import suggest_rag
from storage import repo
from storage.exporters.report import ActionReport, PlanReport, PriorityReport
from storage.tables import Plan, Update


def plan_report(session: Session, plan: Plan, *, as_of: date) -> PlanReport:
    scheme = RagScheme(plan.rag_scheme)
    actions = repo.list_actions(session, plan.id or 0)
    latest: dict[int, Update] = {}
    ids = [a.id for a in actions if a.id is not None]
    if ids:
        for upd in session.exec(select(Update).where(col(Update.action_id).in_(ids)).order_by(col(Update.at), col(Update.id))):
            if upd.text.strip():
                latest[upd.action_id] = upd
    groups: dict[int | None, list[ActionReport]] = {}
    for a in actions:
        snap = repo.action_snapshot(a)
        u = latest.get(a.id or 0)
        groups.setdefault(a.priority_id, []).append(ActionReport(
            ref=a.ref, text=a.text, lead=a.lead_text, original_target=a.original_target, original_target_raw=a.original_target_raw,
            revised_target=a.revised_target, revised_reason=a.revised_reason, status=Status(a.status), rag=Rag(a.rag) if a.rag else None,
            suggested_rag=suggest_rag(snap, today=as_of, scheme=scheme, due_soon_days=plan.due_soon_days).rag,
            latest_progress=u.text if u else "", last_update=a.last_update_at.date() if a.last_update_at else None,
            outputs=a.outputs, outcome_required=a.outcome_required,
        ))
    priorities = [PriorityReport(p.ref, p.title, p.timescale, groups.pop(p.id, [])) for p in repo.priorities(session, plan.id or 0)]
    # Every priority, with or without actions: an export read back must give the same register.
    if groups.get(None):
        priorities.append(PriorityReport("", "Other actions", "", groups.pop(None)))
    return PlanReport(title=plan.title, organisation=plan.organisation_name, rag_scheme=scheme, as_of=as_of, priorities=priorities)
