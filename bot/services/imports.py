"""Committing an imported plan to the register, in one transaction.

First import: the plan, its priorities, its actions with their history (each progress column
becomes a dated entry with its label), and people for every lead officer named (linked as the
action's owners, ready to be mapped to Slack or Teams users).

Re-import (same plan: `--plan`, or the same slug, or the same source file name): actions are
matched by ref, never duplicated. What the file defines (text, lead, outputs, priority…) is
updated; a changed target date becomes a revised target with the original kept; status, RAG
and progress from the file are added to the history — unless someone updated the action in
chat since its last import, in which case the newer chat update is kept and a warning says so.
Actions missing from the file are marked removed (their history is kept) and reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bot.domain.country import DEFAULT_COUNTRY, normalise_country
from bot.domain.due import next_working_day, zone
from bot.domain.model import Channel, RagScheme, Status
from bot.domain.names import name_key
from bot.domain.permissions import Actor, Permission, allowed, denial
from bot.domain.vocabulary import ref_key
from bot.errors import ActionbotError, PermissionDenied
from bot.importer.dateorder import apply_country
from bot.importer.leads import is_role, split_leads
from bot.importer.parsed import ParsedAction, ParsedPlan
from storage import repo
from storage.tables import Action, ActionPerson, Organisation, Person, Plan, Priority, Update

PASTED = "pasted"  # the source name of text pasted on stdin (bot.importer.read_plan_text)
DEFINITION_FIELDS = ("text", "lead_text", "outputs", "outcome_required", "evidence_required", "links", "original_target_raw")


@dataclass
class ImportResult:
    plan_slug: str
    created_plan: bool
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0
    people_created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    chase_from: date | None = None  # the plan's chase start (set when the import created the plan)

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan_slug,
            "created_plan": self.created_plan,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "restored": self.restored,
            "unchanged": self.unchanged,
            "people_created": self.people_created,
            "dry_run": self.dry_run,
            "chase_from": self.chase_from.isoformat() if self.chase_from else None,
        }


def find_target_plan(session: Session, org: Organisation, parsed: ParsedPlan, *, plan_ident: str | None, plan_name: str | None,
                     notes: list[str] | None = None) -> Plan | None:
    """The existing plan a file re-imports into, if any: `--plan`; else the plan of the same
    name (slug) or file name; else, unless `--plan-name` names a new plan, the plan the file
    is recognisably a copy of in another format or wording (`recognise_plan`)."""
    if plan_ident:
        return repo.get_plan(session, org.id or 0, plan_ident)
    slug = repo.slugify(plan_name or parsed.title or Path(parsed.source_file).stem)
    plan = session.exec(select(Plan).where(Plan.org_id == org.id, Plan.slug == slug)).first()
    # A name given is the plan meant (new if no plan has it); pasted text has no file name.
    if plan is None and not plan_name and parsed.source_file and parsed.source_file != PASTED:
        name = Path(parsed.source_file).name
        plan = session.exec(select(Plan).where(Plan.org_id == org.id, Plan.source_file == name)).first()
    if plan is None and not plan_name:
        plan = recognise_plan(session, org, parsed, notes)
    return plan


def _words(text: str | None) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", (text or "").lower()))


def recognise_plan(session: Session, org: Organisation, parsed: ParsedPlan, notes: list[str] | None = None) -> Plan | None:
    """The organisation's plan that `parsed` is the same plan as, though its name and file
    differ (the .xlsx of a plan first loaded from .docx under another name).

    The same plan: at least half the file's actions are that plan's actions (same ref, same
    text), and the organisations named do not differ. Exactly one such plan is updated (and a
    note says so). Several such plans, or a plan that shares half the refs and the
    organisation or title but not the actions' text, could be meant: the import stops and
    says which plan it looks like and how to choose (ActionbotError; nothing is written)."""
    if not parsed.actions:
        return None
    plans = {p.id: p for p in repo.list_plans(session, org.id or 0) if p.id is not None}
    if not plans:
        return None
    file_pairs = {(ref_key(a.ref), _words(a.text)[:80]) for a in parsed.actions}
    file_refs = {r for r, _ in file_pairs}
    held: dict[int, tuple[set[str], set[tuple[str, str]]]] = {pid: (set(), set()) for pid in plans}
    rows = session.exec(select(Action.plan_id, Action.ref, Action.text).where(col(Action.plan_id).in_(list(plans)),
                                                                             col(Action.removed).is_(False)))
    for pid, ref, text in rows:
        refs, pairs = held[pid]
        refs.add(ref_key(ref))
        pairs.add((ref_key(ref), _words(text)[:80]))
    half = max(1, (len(file_pairs) + 1) // 2)
    same, alike = [], []
    for pid, plan in plans.items():
        refs, pairs = held[pid]
        common_refs, common_actions = len(file_refs & refs), len(file_pairs & pairs)
        org_same = bool(parsed.organisation) and _words(parsed.organisation) == _words(plan.organisation_name)
        org_differs = bool(parsed.organisation and plan.organisation_name) and not org_same
        title_same = bool(parsed.title) and _words(parsed.title) == _words(plan.title)
        why = (f"{plan.slug} ({plan.title}: {common_actions} of the file's {len(file_pairs)} actions the same, "
               f"{common_refs} refs in common{', same organisation' if org_same else ''})")
        if common_actions >= half and not org_differs:
            same.append((plan, why))
        elif common_refs >= half and (org_same or title_same):
            alike.append((plan, why))
    if len(same) == 1 and not alike:
        plan, why = same[0]
        if notes is not None:
            notes.append(f"recognised as plan {why}; updating it (use --plan-name NAME to load the file as a new plan)")
        return plan
    if same or alike:
        looks = "; ".join(why for _, why in same + alike)
        slugs = [p.slug for p, _ in same + alike]
        target = f"import with --plan {slugs[0]}" if len(slugs) == 1 else f"import with --plan and one of {', '.join(slugs)}"
        raise ActionbotError(
            f"this file looks like plan {looks}. Nothing was stored. To update {'that plan' if len(slugs) == 1 else 'one of them'}, "
            f"{target}; to load the file as a separate plan, give it a new name with --plan-name NAME.")
    return None


def import_plan(
    session: Session, *, org: Organisation, parsed: ParsedPlan, actor: Actor, now: datetime, plan_ident: str | None = None,
    plan_name: str | None = None, dry_run: bool = False, channel: Channel = Channel.CLI, chase_from: date | None = None,
    holiday_country: str | None = "GB", holiday_subdiv: str | None = "ENG", country: str | None = None,
) -> ImportResult:
    """Write `parsed` to the register (or, with dry_run, work out what would be written and
    write nothing). The caller's transaction is all-or-nothing.

    A new plan is chased from `chase_from`, by default the next working day after the import
    (the file is not the lead officers' answer: from then every overdue action is asked about;
    the day between lets an administrator map people first). A re-import leaves it alone.

    `country` (`import --country`) is the country the file's numeric dates are written in,
    kept as the plan's; without it, the plan's own, else the organisation's. It decides only
    when the file's own dates do not settle the order (bot/importer/dateorder.py)."""
    assert org.id is not None
    if dry_run:
        # Work it all out inside a savepoint and roll back just that: the caller's transaction
        # (and whatever it did before) is theirs to commit.
        with _rolled_back(session):
            result = _write(session, org=org, parsed=parsed, actor=actor, now=now, plan_ident=plan_ident, plan_name=plan_name,
                            channel=channel, chase=(chase_from, holiday_country, holiday_subdiv), country=country)
        result.dry_run = True
        return result
    return _write(session, org=org, parsed=parsed, actor=actor, now=now, plan_ident=plan_ident, plan_name=plan_name, channel=channel,
                  chase=(chase_from, holiday_country, holiday_subdiv), country=country)


def _write(
    session: Session, *, org: Organisation, parsed: ParsedPlan, actor: Actor, now: datetime, plan_ident: str | None,
    plan_name: str | None, channel: Channel, chase: tuple[date | None, str | None, str | None], country: str | None = None,
) -> ImportResult:
    chase_from, holiday_country, holiday_subdiv = chase
    assert org.id is not None
    notes: list[str] = []
    plan = find_target_plan(session, org, parsed, plan_ident=plan_ident, plan_name=plan_name, notes=notes)
    if not allowed(actor, Permission.MANAGE_PLAN, plan_id=plan.id if plan else None):
        raise PermissionDenied(denial(Permission.MANAGE_PLAN))
    created = plan is None
    if plan is None:
        title = plan_name or parsed.title or Path(parsed.source_file).stem
        plan = Plan(org_id=org.id, slug=repo.unique_plan_slug(session, org.id, title), title=title, created_at=now)
        plan.chase_from = chase_from or next_working_day(now.astimezone(zone(plan.timezone)).date(),
                                                         holiday_country=holiday_country, holiday_subdiv=holiday_subdiv)
    # The order of the file's numeric dates, when its own dates leave it open: this import's
    # --country (kept as the plan's), else the plan's, else the organisation's.
    if country:
        plan.country = normalise_country(country)
        apply_country(parsed, plan.country, "--country")
    elif plan.country:
        apply_country(parsed, plan.country, "plan")
    else:
        apply_country(parsed, org.country or DEFAULT_COUNTRY, "organisation")
    plan.organisation_name = parsed.organisation or plan.organisation_name
    # The plan's own date is its first file's: a later file's date (an export's "position as at")
    # does not move it; `plan set --plan-date` does.
    plan.plan_date = plan.plan_date or parsed.plan_date
    plan.source_file = Path(parsed.source_file).name if parsed.source_file else plan.source_file
    if created or RagScheme(plan.rag_scheme) is RagScheme.RAG:
        plan.rag_scheme = parsed.rag_scheme.value  # a file showing Blue upgrades a plan to BRAG
    session.add(plan)
    session.flush()
    result = ImportResult(plan_slug=plan.slug, created_plan=created, warnings=notes + list(parsed.warnings),
                          chase_from=plan.chase_from if created else None)
    source = Path(parsed.source_file).name or "pasted text"

    if not created and session.get_bind().dialect.name == "postgresql":
        # Hold the plan's actions while re-importing, so a chat update cannot slip in between
        # reading an action's history and writing the file's state over it.
        session.exec(select(Action.id).where(Action.plan_id == plan.id).with_for_update()).all()
    prio_ids = _priorities(session, plan, parsed)
    people = _people(session, org, parsed, result, now)
    existing = {ref_key(a.ref): a for a in repo.list_actions(session, plan.id or 0, include_removed=True)}
    # Read once for the whole file, not per action: who owns each existing action, and each
    # one's latest history entry. What is written is gathered and stored in bulk.
    owners = repo.owner_ids(session, [a.id for a in existing.values() if a.id is not None])
    latest = repo.latest_updates(session, plan.id or 0) if existing else {}
    # New actions go in as they are made, _NEW_CHUNK at a time with their history and owners,
    # so the rows of a 10,000-action file are never all held at once.
    pending: list[tuple[dict[str, Any], list[dict[str, Any]], set[int]]] = []
    updates: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, pa in enumerate(parsed.actions):
        key = ref_key(pa.ref)
        if key in seen:
            result.warnings.append(f"action {pa.ref} appears twice in the file; the second ({pa.where or 'later row'}) was skipped")
            continue
        seen.add(key)
        prio_id = prio_ids.get(pa.priority_ref) if pa.priority_ref else None
        action = existing.get(key)
        if action is None:
            row, history = _new_action(plan, pa, prio_id, position, now, source)
            pending.append((row, history, _owner_ids(pa, people, set())))
            result.added.append(pa.ref)
            if len(pending) >= _NEW_CHUNK:
                _insert_new(session, pending)
        else:
            if action.removed:
                action.removed = False
                result.restored.append(pa.ref)
            changes = _update_action(action, pa, prio_id, position, now, source, result, latest.get(action.id or 0), updates)
            if changes:
                result.changed[pa.ref] = changes
            else:
                result.unchanged += 1
            current = owners.get(action.id or 0, set())
            links += [dict(action_id=action.id, person_id=pid, kind="owner") for pid in _owner_ids(pa, people, current) - current]
    for key, action in existing.items():
        if key not in seen and not action.removed:
            action.removed = True
            action.updated_at = now
            session.add(action)
            result.removed.append(action.ref)
    session.flush()  # the changed existing actions, in one go
    _insert_new(session, pending)
    repo.insert_rows(session, Update, updates)
    repo.insert_rows(session, ActionPerson, links)
    session.flush()
    repo.audit(session, org_id=org.id, actor_id=actor.person_id, actor_text="operator" if actor.operator else f"person:{actor.person_id}",
               channel=channel.value, entity="import", entity_id=plan.id, op="reimport" if not created else "import",
               after=result.to_json() | {"source_file": source, "warnings": len(result.warnings)}, at=now)
    return result


_NEW_CHUNK = 250  # new actions stored together (with their history and owner links) during an import


def _insert_new(session: Session, pending: list[tuple[dict[str, Any], list[dict[str, Any]], set[int]]]) -> None:
    """Store the new actions gathered so far, then their history entries and owner links
    (which need their ids), and empty `pending`."""
    if not pending:
        return
    ids = repo.insert_rows(session, Action, [row for row, _, _ in pending], return_ids=True)
    updates: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for action_id, (_, history, owned) in zip(ids, pending, strict=True):
        updates += [h | {"action_id": action_id} for h in history]
        links += [dict(action_id=action_id, person_id=pid, kind="owner") for pid in sorted(owned)]
    pending.clear()
    repo.insert_rows(session, Update, updates)
    repo.insert_rows(session, ActionPerson, links)


@contextmanager
def _rolled_back(session: Session) -> Iterator[None]:
    """Run the block in a savepoint that is always rolled back."""
    nested = session.begin_nested()
    try:
        yield
    finally:
        nested.rollback()


def _priorities(session: Session, plan: Plan, parsed: ParsedPlan) -> dict[str, int]:
    rows = {p.ref: p for p in repo.priorities(session, plan.id or 0)}
    for i, pp in enumerate(parsed.priorities):
        row = rows.get(pp.ref) or Priority(plan_id=plan.id or 0, ref=pp.ref)
        row.title, row.timescale, row.position = pp.title, pp.timescale, i
        row.expected_outcome = pp.expected_outcome or row.expected_outcome
        row.findings = "\n".join(pp.findings) or row.findings
        row.accountable_text = pp.accountable_text or row.accountable_text
        session.add(row)
        rows[pp.ref] = row
    # Actions may name a priority the file never introduced as a heading.
    for pa in parsed.actions:
        if pa.priority_ref and pa.priority_ref not in rows:
            rows[pa.priority_ref] = Priority(plan_id=plan.id or 0, ref=pa.priority_ref, title="", position=len(rows))
            session.add(rows[pa.priority_ref])
    session.flush()
    return {ref: p.id for ref, p in rows.items() if p.id is not None}


def _people(session: Session, org: Organisation, parsed: ParsedPlan, result: ImportResult, now: datetime) -> dict[str, Person | None]:
    """Every lead officer named in the file, found by name or created, keyed by ``name_key``.
    A name several people share (told apart by id) links nobody: a warning says so."""
    known: dict[str, Person | None] = {}
    for p in repo.list_people(session, org.id or 0):
        key = name_key(p.display_name)
        known[key] = None if key in known else p
    warned: set[str] = set()
    for pa in parsed.actions:
        for name, key in _leads(pa.lead_text):
            if key in known and known[key] is None and key not in warned:
                warned.add(key)
                result.warnings.append(f"lead {name!r} could be several people: link {pa.ref} with `actionbot action assign` and a person id")
            if key in known or len(name) > 200:
                continue
            person = Person(org_id=org.id or 0, display_name=name, role_title=name if is_role(name) else "", created_at=now)
            session.add(person)
            known[key] = person
            result.people_created.append(name)
    session.flush()
    return known


@lru_cache(maxsize=4096)
def _leads(lead_text: str) -> tuple[tuple[str, str], ...]:
    """The leads a lead cell names, each with its ``name_key``: worked out once per distinct
    cell text (a register names a few dozen leads over thousands of rows, and each row is
    read twice: for the people to create, then for the action's owners)."""
    return tuple((name, name_key(name)) for name in split_leads(lead_text))


def _owner_ids(pa: ParsedAction, people: dict[str, Person | None], current: set[int]) -> set[int]:
    """The people the file names as the action's lead officers, added to those it has."""
    out = set(current)
    for _, key in _leads(pa.lead_text):
        person = people.get(key)
        if person is not None and person.id is not None:
            out.add(person.id)
    return out


def _status_of(pa: ParsedAction) -> Status:
    return pa.register_status


def _history_row(now: datetime, source: str, **values: Any) -> dict[str, Any]:
    return dict(at=now, author_text=f"import: {source}", channel=Channel.IMPORT.value, **values)


def _new_action(plan: Plan, pa: ParsedAction, prio_id: int | None, position: int, now: datetime, source: str
                ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new action's row and its history's rows (without the action id it does not have yet)."""
    status = _status_of(pa)
    rag = pa.rag.value if pa.rag else None
    entries = list(pa.history)
    history = [_history_row(now, source, text=h.text, rag=h.rag.value if h.rag else None, period_label=h.label) for h in entries]
    latest_text = entries[-1].text if entries else ""
    if (pa.progress and pa.progress != latest_text) or (not entries and (pa.status or pa.rag)):
        history.append(_history_row(now, source, text=pa.progress, status=status.value, rag=rag, period_label="As imported"))
    row = dict(
        plan_id=plan.id or 0, priority_id=prio_id, ref=pa.ref, text=pa.text, outputs=pa.outputs, outcome_required=pa.outcome_required,
        evidence_required=pa.evidence_required, links=pa.links, lead_text=pa.lead_text[:500], original_target=pa.target_date,
        original_target_raw=pa.target_raw[:300], revised_target=pa.revised_target_date,
        revised_reason=(pa.revision_reason or f"revised in {source}") if pa.revised_target_date else "", status=status.value, rag=rag,
        extra=_extra(pa), position=position, created_at=now, updated_at=now,
        signoff_stage=len(plan.signoff_stages) if status is Status.SIGNED_OFF else 0,
        last_update_at=now if (entries or pa.progress or pa.status or pa.rag) else None,
    )
    return row, history


# What the importer works out from where an action sat in its first file (its section, the ref
# as written, a note after its date…). A later file that does not say (an export of the
# register, another format) leaves them as they are.
DERIVED_EXTRA = ("achievement", "section", "timescale", "target_note", "source_ref")
_DATE_FORMS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y")


def _bare_date(raw: str, day: date) -> bool:
    """Is `raw` only `day` written as a date (a date cell, 2011-12-31, 31/12/2011, 31 Dec 2011)?"""
    text = raw.strip()
    for form in _DATE_FORMS:
        try:
            return datetime.strptime(text, form).date() == day  # noqa: DTZ007 - a calendar date, no time of day
        except ValueError:
            continue
    return False


def _extra(pa: ParsedAction) -> dict[str, str]:
    extra = dict(pa.extra)
    for k, v in (("achievement", pa.achievement), ("section", pa.section), ("timescale", pa.timescale), ("target_note", pa.target_note),
                 ("source_ref", pa.source_ref if pa.source_ref != pa.ref else "")):
        if v:
            extra[k] = v
    return extra


def _update_action(
    a: Action, pa: ParsedAction, prio_id: int | None, position: int, now: datetime, source: str, result: ImportResult,
    latest: repo.LatestUpdate | None, updates: list[dict[str, Any]],
) -> list[str]:
    """Bring an existing action to what the file says; a new history entry joins `updates`."""
    changes: list[str] = []
    raw = pa.target_raw[:300]
    if a.original_target is not None and pa.target_date == a.original_target and _bare_date(raw, a.original_target):
        raw = a.original_target_raw  # the same date as a date cell: the wording it was first given stays
    wanted = {"text": pa.text, "lead_text": pa.lead_text[:500], "outputs": pa.outputs, "outcome_required": pa.outcome_required,
              "evidence_required": pa.evidence_required, "links": pa.links, "original_target_raw": raw}
    for f, v in wanted.items():
        if (getattr(a, f) or "") != (v or ""):
            setattr(a, f, v)
            changes.append(f)
    if a.priority_id != prio_id:
        a.priority_id = prio_id
        changes.append("priority")
    extra = _extra(pa)
    for k in DERIVED_EXTRA:
        if k not in extra and k in (a.extra or {}):
            extra[k] = a.extra[k]
    if extra != (a.extra or {}):
        a.extra = extra
        changes.append("extra")
    a.position = position
    # A target that moved in the file is a revision: the original stays.
    if pa.revised_target_date is not None:
        if a.original_target is None and pa.target_date is not None:
            a.original_target = pa.target_date
            changes.append("original_target")
        if pa.revised_target_date != a.revised_target:
            a.revised_target, a.revised_reason = pa.revised_target_date, pa.revision_reason or f"revised in {source}"
            changes.append("revised_target")
    elif pa.target_date is not None and pa.target_date != (a.revised_target or a.original_target):
        if a.original_target is None:
            a.original_target = pa.target_date
            changes.append("original_target")
        else:
            a.revised_target, a.revised_reason = pa.target_date, f"changed in imported file {source}"
            changes.append("revised_target")
    # Progress: the file's state joins the history unless chat is newer than the last import.
    status = _status_of(pa)
    chat_newer = latest is not None and latest.channel != Channel.IMPORT.value
    file_differs = status.value != a.status or (pa.rag.value if pa.rag else None) != a.rag or (pa.progress and (latest is None or latest.text != pa.progress))
    if file_differs and chat_newer:
        result.warnings.append(f"{a.ref}: updated via {latest.channel} on {latest.at:%d %b %Y} since its last import; kept that update "  # type: ignore[union-attr]
                               f"(the file says {status.value}{', RAG ' + pa.rag.value if pa.rag else ''})")
    elif file_differs:
        updates.append(_history_row(now, source, action_id=a.id, text=pa.progress, status=status.value,
                                    rag=pa.rag.value if pa.rag else None, period_label="As imported"))
        a.status, a.rag, a.last_update_at = status.value, pa.rag.value if pa.rag else a.rag, now
        changes.append("progress")
    if changes:
        a.version += 1
        a.updated_at = now
    return changes
