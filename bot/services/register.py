"""Use cases on the register: record an update, manage people, roles, plans and owners.

Each function runs inside the caller's transaction (``session``), checks permissions through
``bot.domain.permissions``, writes the audit log, and raises an ``ActionbotError`` with a message
for the person when something is wrong — before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update as sql_update
from sqlmodel import Session, col, func, select

from bot.domain import limits
from bot.domain.model import Cadence, Channel, InvalidValue, Rag, RagScheme, Role, Status
from bot.domain.permissions import Actor, Permission, allowed, denial
from bot.errors import Conflict, NotFound, PermissionDenied
from storage import repo
from storage.tables import Action, ActionPerson, Organisation, Person, Plan, RoleGrant, Signoff, Update, check_values

MAX_TEXT = limits.PROGRESS_TEXT  # characters of progress text one update may carry

ACTION_FIELDS = (
    "ref",
    "status",
    "rag",
    "original_target",
    "revised_target",
    "revised_reason",
    "version",
    "signoff_stage",
)


@dataclass(frozen=True)
class UpdateRequest:
    """What a person asked to change. None means 'leave as it is'."""

    text: str = ""
    status: Status | None = None
    rag: Rag | None = None
    revised_target: date | None = None
    revised_reason: str = ""
    evidence: tuple[str, ...] = ()
    period_label: str = ""
    expected_version: int | None = None  # the version the person saw; None: whatever is current


def record_update(
    session: Session,
    *,
    org: Organisation,
    plan: Plan,
    action: Action,
    request: UpdateRequest,
    actor: Actor,
    author: Person | None,
    channel: Channel,
    now: datetime,
) -> Update:
    """Append a progress update and apply its changes to the action.

    Optimistic concurrency: the action's row is changed only if its version is still the one
    the person saw (``expected_version``); otherwise ``Conflict`` and nothing is written, so a
    stale form can never overwrite a newer update. History is append-only."""
    assert action.id is not None and org.id is not None
    owners, delegates = repo.action_people(session, action.id)
    if not allowed(actor, Permission.UPDATE_ACTION, plan_id=plan.id, action_people=owners + delegates):
        raise PermissionDenied(denial(Permission.UPDATE_ACTION) + f" ({action.ref} is not yours)")
    if request.expected_version is None:
        # No version seen: a note on whatever is current. Wait for any change in flight (the
        # row lock; SQLite already holds its write lock) and build on it, so two notes never
        # conflict. Only a change made against a version the person saw may conflict.
        session.refresh(action, with_for_update=True)
    _validate(plan, action, request)

    before = repo.row_dict(action, ACTION_FIELDS)
    expected = request.expected_version if request.expected_version is not None else action.version
    values: dict[str, object] = {"last_update_at": now, "updated_at": now}
    values["returned_at"] = None
    if request.rag is not None:
        values["rag"] = request.rag.value
    if request.revised_target is not None:
        values["revised_target"] = request.revised_target
        values["revised_reason"] = request.revised_reason.strip()
    status_changed = request.status is not None and request.status.value != action.status
    if request.status is not None:
        values["status"] = request.status.value
        if status_changed:
            values["signoff_stage"] = 0
    versioned_write(session, action, expected, values)
    if status_changed:
        # A later status change clears any sign-off already given (kept, marked cleared).
        for s in session.exec(select(Signoff).where(Signoff.action_id == action.id, col(Signoff.cleared_at).is_(None))):
            s.cleared_at = now
            session.add(s)
    upd = Update(
        action_id=action.id,
        at=now,
        author_id=author.id if author else None,
        author_text=author.display_name if author else "operator",
        channel=channel.value,
        text=request.text.strip(),
        status=request.status.value if request.status else None,
        rag=request.rag.value if request.rag else None,
        revised_target=request.revised_target,
        revised_reason=request.revised_reason.strip() if request.revised_target else "",
        evidence=list(request.evidence),
        period_label=request.period_label,
    )
    session.add(upd)
    if author is not None and author.id is not None:
        # Answering counts for the author and, when a delegate answers, for the owners they act for.
        for pid in {author.id} | (set(owners) if author.id in delegates else set()):
            mark_answered(session, pid, now)
    session.flush()
    session.refresh(action)
    repo.audit(
        session,
        org_id=org.id,
        actor_id=author.id if author else None,
        actor_text=upd.author_text,
        channel=channel.value,
        entity="action",
        entity_id=action.id,
        op="update",
        before=before,
        after=repo.row_dict(action, ACTION_FIELDS) | {"update_id": upd.id},
        at=now,
    )
    return upd


def mark_answered(session: Session, person_id: int, now: datetime) -> None:
    """The person answered: their unanswered-reminder count and escalation start again."""
    from storage.tables import NudgeStateRow

    row = session.get(NudgeStateRow, person_id) or NudgeStateRow(person_id=person_id)
    row.unanswered_count, row.escalated_at, row.last_answered_at = 0, None, now
    session.add(row)


def versioned_write(session: Session, action: Action, expected: int, values: dict[str, object]) -> None:
    """Write `values` to the action only if it is still at version `expected` (and bump it);
    otherwise raise Conflict, having written nothing."""
    values = {**values, "version": expected + 1}
    check_values(Action.__table__, values)  # type: ignore[attr-defined]
    result = session.execute(
        sql_update(Action)
        .where(col(Action.id) == action.id, col(Action.version) == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        # Nothing was written by this statement; the caller owns the transaction and decides
        # whether the rest of it stands (a use case never rolls back a session it was given).
        session.refresh(action)
        raise Conflict(
            f"{action.ref} was changed by someone else since you opened it (now at version "
            f"{action.version}, you saw {expected}); nothing was saved — look at the latest and try again"
        )


def _validate(plan: Plan, action: Action, r: UpdateRequest) -> None:
    if not (r.text.strip() or r.status or r.rag or r.revised_target or r.evidence):
        raise InvalidValue("an update needs progress text, a status, a RAG rating, a revised date or evidence")
    if len(r.text) > MAX_TEXT:
        raise InvalidValue(f"progress text is {len(r.text)} characters; the limit is {MAX_TEXT}")
    if len(r.revised_reason) > limits.REASON:
        raise InvalidValue(f"the reason is {len(r.revised_reason):,} characters; the limit is {limits.REASON:,}")
    if len(r.evidence) > limits.EVIDENCE_LINKS:
        raise InvalidValue(f"{len(r.evidence)} evidence links on one update; the limit is {limits.EVIDENCE_LINKS}")
    for link in r.evidence:
        if len(link) > limits.EVIDENCE_LINK:
            raise InvalidValue(f"an evidence link is {len(link):,} characters; the limit is {limits.EVIDENCE_LINK:,}")
    if r.status is Status.SIGNED_OFF:
        raise InvalidValue("an action is signed off by its sign-off stages, not by an update: mark it complete")
    if r.rag is Rag.BLUE and RagScheme(plan.rag_scheme) is RagScheme.RAG:
        raise InvalidValue(f"plan {plan.slug!r} uses RAG, not BRAG: Blue is not a rating there")
    if r.revised_target is not None and not r.revised_reason.strip():
        raise InvalidValue("a revised target date needs a reason (why is it moving?)")
    if r.revised_target is not None and action.original_target and r.revised_target == action.revised_target:
        raise InvalidValue(f"{action.ref} is already re-baselined to {r.revised_target.isoformat()}")


# --- plans ----------------------------------------------------------------------------------
def create_plan(
    session: Session,
    *,
    org: Organisation,
    title: str,
    actor: Actor,
    slug: str | None = None,
    rag_scheme: RagScheme = RagScheme.BRAG,
    cadence: str = "monthly:last",
    timezone: str = "Europe/London",
    now: datetime,
    channel: Channel = Channel.CLI,
) -> Plan:
    if not allowed(actor, Permission.MANAGE_PLAN):
        raise PermissionDenied(denial(Permission.MANAGE_PLAN))
    if not title.strip():
        raise InvalidValue("a plan needs a title")
    Cadence.parse(cadence)
    _check_tz(timezone)
    assert org.id is not None
    plan = Plan(
        org_id=org.id,
        slug=repo.unique_plan_slug(session, org.id, slug or title),
        title=title.strip(),
        rag_scheme=rag_scheme.value,
        cadence=str(Cadence.parse(cadence)),
        timezone=timezone,
        created_at=now,
    )
    session.add(plan)
    session.flush()
    _audit(session, org, actor, channel, entity="plan", entity_id=plan.id, op="create", after=repo.row_dict(plan, ("slug", "title", "rag_scheme", "cadence")), now=now)
    return plan


PLAN_SETTINGS = ("cadence", "timezone", "due_soon_days", "rag_scheme", "digest_channels", "signoff_stages", "owner_id", "title", "plan_date", "chase_from",
                 "country")


def configure_plan(
    session: Session, *, org: Organisation, plan: Plan, actor: Actor, changes: dict[str, object], now: datetime, channel: Channel = Channel.CLI
) -> Plan:
    if not allowed(actor, Permission.MANAGE_PLAN, plan_id=plan.id):
        raise PermissionDenied(denial(Permission.MANAGE_PLAN))
    unknown = set(changes) - set(PLAN_SETTINGS)
    if unknown:
        raise InvalidValue(f"unknown plan setting(s): {', '.join(sorted(unknown))}")
    if "cadence" in changes:
        changes["cadence"] = str(Cadence.parse(str(changes["cadence"])))
    if "timezone" in changes:
        _check_tz(str(changes["timezone"]))
    if changes.get("country") is not None:
        from bot.domain.country import normalise_country

        changes["country"] = normalise_country(str(changes["country"]))
    if "rag_scheme" in changes:
        changes["rag_scheme"] = RagScheme.parse(str(changes["rag_scheme"])).value
    if "signoff_stages" in changes:
        _check_names(changes["signoff_stages"], "sign-off stage", 200, 20)  # type: ignore[arg-type]
    if "digest_channels" in changes:
        _check_names(changes["digest_channels"], "digest channel", 200, 20)  # type: ignore[arg-type]
    if "due_soon_days" in changes and not 0 <= int(changes["due_soon_days"]) <= 365:  # type: ignore[call-overload]
        raise InvalidValue("due-soon days must be between 0 and 365")
    before = repo.row_dict(plan, changes.keys())
    for k, v in changes.items():
        setattr(plan, k, v)
    if "owner_id" in changes and plan.owner_id is not None:
        _ensure_grant(session, org, plan.owner_id, Role.OWNER, plan.id, "")
    session.add(plan)
    session.flush()
    _audit(session, org, actor, channel, entity="plan", entity_id=plan.id, op="configure", before=before, after=repo.row_dict(plan, changes.keys()), now=now)
    return plan


def _check_names(values: list[str], what: str, longest: int, most: int) -> None:
    if len(values) > most:
        raise InvalidValue(f"{len(values)} {what}s; the limit is {most}")
    for v in values:
        if len(v) > longest:
            raise InvalidValue(f"a {what} is {len(v):,} characters; the limit is {longest}")


def _check_tz(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"unknown timezone {limits.shown(name)}; use an IANA name such as Europe/London") from None


# --- people ---------------------------------------------------------------------------------
PERSON_FIELDS = ("display_name", "role_title", "email", "slack_user_id", "teams_user_id", "timezone", "away_until", "manager_id")


def add_person(
    session: Session, *, org: Organisation, actor: Actor, display_name: str, now: datetime, channel: Channel = Channel.CLI,
    allow_similar: bool = False, **fields: object
) -> Person:
    """Add a person. Names are not identities: a name that reads the same as someone's already
    here (case, spacing, punctuation aside) is refused unless `allow_similar` says this is
    someone else; they are then told apart by id."""
    if not allowed(actor, Permission.MANAGE_PEOPLE):
        raise PermissionDenied(denial(Permission.MANAGE_PEOPLE))
    name = " ".join(display_name.split())
    if not name:
        raise InvalidValue("a person needs a name")
    assert org.id is not None
    _check_name_free(session, org, name, allow_similar=allow_similar)
    person = Person(org_id=org.id, display_name=name)
    _apply_person(session, org, person, fields)
    session.add(person)
    session.flush()
    _audit(session, org, actor, channel, entity="person", entity_id=person.id, op="create", after=repo.row_dict(person, PERSON_FIELDS), now=now)
    return person


def edit_person(
    session: Session, *, org: Organisation, actor: Actor, person: Person, now: datetime, channel: Channel = Channel.CLI,
    allow_similar: bool = False, **fields: object
) -> Person:
    if not allowed(actor, Permission.MANAGE_PEOPLE) and actor.person_id != person.id:
        raise PermissionDenied(denial(Permission.MANAGE_PEOPLE))
    if "display_name" in fields:
        fields["display_name"] = " ".join(str(fields["display_name"] or "").split())
        if not fields["display_name"]:
            raise InvalidValue("a person needs a name")
        if fields["display_name"] != person.display_name:
            _check_name_free(session, org, str(fields["display_name"]), allow_similar=allow_similar, besides=person.id)
    before = repo.row_dict(person, PERSON_FIELDS)
    _apply_person(session, org, person, fields)
    session.add(person)
    session.flush()
    _audit(session, org, actor, channel, entity="person", entity_id=person.id, op="edit", before=before, after=repo.row_dict(person, PERSON_FIELDS), now=now)
    return person


def _check_name_free(session: Session, org: Organisation, name: str, *, allow_similar: bool, besides: int | None = None) -> None:
    assert org.id is not None
    twins = repo.similar_people(session, org.id, name, besides=besides)
    same = [p for p in twins if p.display_name == name]
    if same:
        raise InvalidValue(f"there is already a person called {name!r} (id {same[0].id}); give this one a name that tells them apart")
    if twins and not allow_similar:
        raise InvalidValue(f"{name!r} reads the same as {repo.describe_people(twins)}; if this is someone else, say so with "
                           "--allow-similar (and then tell them apart by id), otherwise use the existing person")


def _apply_person(session: Session, org: Organisation, person: Person, fields: dict[str, object]) -> None:
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise InvalidValue(f"unknown person field(s): {', '.join(sorted(unknown))}")
    if fields.get("timezone"):
        _check_tz(str(fields["timezone"]))
    if fields.get("email") and "@" not in str(fields["email"]):
        raise InvalidValue(f"{fields['email']!r} is not an e-mail address")
    if fields.get("manager_id") is not None and fields["manager_id"] == person.id:
        raise InvalidValue("a person cannot be their own manager")
    for k, v in fields.items():
        setattr(person, k, v)


def _actor_text(actor: Actor) -> str:
    return "operator" if actor.operator else f"person:{actor.person_id}"


def _audit(session: Session, org: Organisation, actor: Actor, channel: Channel, *, entity: str, entity_id: int | None, op: str,
           now: datetime, before: dict | None = None, after: dict | None = None) -> None:
    """One audit row for a change made by `actor` (the operator, or a person by their grants)."""
    assert org.id is not None
    repo.audit(session, org_id=org.id, actor_id=actor.person_id, actor_text=_actor_text(actor), channel=channel.value,
               entity=entity, entity_id=entity_id, op=op, before=before, after=after, at=now)


def assign(
    session: Session, *, org: Organisation, plan: Plan, action: Action, person: Person, actor: Actor,
    kind: str = "owner", remove: bool = False, now: datetime, channel: Channel = Channel.CLI,
) -> None:
    """Make a person an owner (or delegate) of an action, or remove them."""
    if kind not in ("owner", "delegate"):
        raise InvalidValue("kind must be owner or delegate")
    if not allowed(actor, Permission.MANAGE_PLAN, plan_id=plan.id):
        raise PermissionDenied(denial(Permission.MANAGE_PLAN))
    key = (action.id, person.id, kind)
    row = session.get(ActionPerson, key)
    if remove:
        if row is None:
            raise NotFound(f"{person.display_name} is not a {kind} of {action.ref}")
        session.delete(row)
    elif row is None:
        session.add(ActionPerson(action_id=action.id or 0, person_id=person.id or 0, kind=kind))
    _audit(session, org, actor, channel, entity="action", entity_id=action.id, op=f"{'unassign' if remove else 'assign'}_{kind}", after={"person_id": person.id, "ref": action.ref}, now=now)
    session.flush()


# --- roles ----------------------------------------------------------------------------------
def grant_role(
    session: Session, *, org: Organisation, actor: Actor, person: Person, role: Role, plan: Plan | None = None,
    stage: str = "", now: datetime, channel: Channel = Channel.CLI,
) -> RoleGrant:
    if not allowed(actor, Permission.MANAGE_PEOPLE):
        raise PermissionDenied(denial(Permission.MANAGE_PEOPLE))
    _check_role_scope(role, plan, stage)
    assert person.id is not None
    row = _ensure_grant(session, org, person.id, role, plan.id if plan else None, stage)
    _audit(session, org, actor, channel, entity="role", entity_id=row.id, op="grant", after={"person_id": person.id, "role": role.value, "plan_id": row.plan_id, "stage": stage}, now=now)
    return row


def revoke_role(
    session: Session, *, org: Organisation, actor: Actor, person: Person, role: Role, plan: Plan | None = None,
    stage: str = "", now: datetime, channel: Channel = Channel.CLI,
) -> None:
    if not allowed(actor, Permission.MANAGE_PEOPLE):
        raise PermissionDenied(denial(Permission.MANAGE_PEOPLE))
    q = select(RoleGrant).where(RoleGrant.person_id == person.id, RoleGrant.role == role.value)
    q = q.where(RoleGrant.plan_id == plan.id) if plan else q.where(col(RoleGrant.plan_id).is_(None))
    if stage:
        q = q.where(RoleGrant.stage == stage)
    rows = session.exec(q).all()
    if not rows:
        raise NotFound(f"{person.display_name} does not hold the role {role.value}" + (f" on {plan.slug}" if plan else ""))
    for r in rows:
        session.delete(r)
    _audit(session, org, actor, channel, entity="role", entity_id=None, op="revoke", before={"person_id": person.id, "role": role.value, "plan_id": plan.id if plan else None, "stage": stage}, now=now)
    session.flush()


def _check_role_scope(role: Role, plan: Plan | None, stage: str) -> None:
    if role is Role.ADMIN and plan is not None:
        raise InvalidValue("admin is an organisation role: give no plan")
    if role is not Role.ADMIN and plan is None:
        raise InvalidValue(f"the {role.value} role belongs to a plan: say which (--plan)")
    if role is Role.APPROVER:
        assert plan is not None
        if not stage:
            raise InvalidValue(f"an approver approves one sign-off stage; stages of {plan.slug}: {plan.signoff_stages or 'none yet'}")
        if stage.lower() not in [s.lower() for s in plan.signoff_stages]:
            raise InvalidValue(f"{plan.slug} has no sign-off stage {stage!r}; its stages: {', '.join(plan.signoff_stages) or 'none'}")
    elif stage:
        raise InvalidValue("only approvers have a stage")


def _ensure_grant(session: Session, org: Organisation, person_id: int, role: Role, plan_id: int | None, stage: str) -> RoleGrant:
    q = select(RoleGrant).where(RoleGrant.person_id == person_id, RoleGrant.role == role.value, RoleGrant.stage == stage)
    q = q.where(RoleGrant.plan_id == plan_id) if plan_id is not None else q.where(col(RoleGrant.plan_id).is_(None))
    row = session.exec(q).first()
    if row is None:
        assert org.id is not None
        row = RoleGrant(org_id=org.id, person_id=person_id, role=role.value, plan_id=plan_id, stage=stage)
        session.add(row)
        session.flush()
    return row


# --- actions --------------------------------------------------------------------------------
def add_action(
    session: Session, *, org: Organisation, plan: Plan, actor: Actor, ref: str, text: str, lead_text: str = "",
    original_target: date | None = None, original_target_raw: str = "", priority_ref: str | None = None,
    now: datetime, channel: Channel = Channel.CLI,
) -> Action:
    from storage.tables import Priority

    if not allowed(actor, Permission.MANAGE_PLAN, plan_id=plan.id):
        raise PermissionDenied(denial(Permission.MANAGE_PLAN))
    ref = ref.strip()
    if not ref or not text.strip():
        raise InvalidValue("an action needs a ref and a text")
    try:
        repo.get_action(session, plan, ref)
    except NotFound:
        pass
    else:
        raise InvalidValue(f"plan {plan.slug!r} already has an action {ref!r}")
    priority_id = None
    if priority_ref:
        prio = session.exec(select(Priority).where(Priority.plan_id == plan.id, Priority.ref == priority_ref)).first()
        if prio is None:
            prio = Priority(plan_id=plan.id or 0, ref=priority_ref, position=len(repo.priorities(session, plan.id or 0)))
            session.add(prio)
            session.flush()
        priority_id = prio.id
    position = len(repo.list_actions(session, plan.id or 0, include_removed=True))
    a = Action(plan_id=plan.id or 0, priority_id=priority_id, ref=ref, text=text.strip(), lead_text=lead_text.strip(),
               original_target=original_target, original_target_raw=original_target_raw or (original_target.isoformat() if original_target else ""),
               position=position, created_at=now, updated_at=now)
    session.add(a)
    session.flush()
    _audit(session, org, actor, channel, entity="action", entity_id=a.id, op="create", after=repo.row_dict(a, ACTION_FIELDS), now=now)
    return a


def amend_update(
    session: Session, *, org: Organisation, plan: Plan, action: Action, update_id: int, text: str, actor: Actor,
    author: Person | None, channel: Channel, now: datetime,
) -> Update:
    """Correct the text of an earlier update: a new entry that supersedes it; the old one stays."""
    old = session.get(Update, update_id)
    if old is None or old.action_id != action.id:
        raise NotFound(f"no update {update_id} on {action.ref}")
    owners, delegates = repo.action_people(session, action.id or 0)
    if not allowed(actor, Permission.UPDATE_ACTION, plan_id=plan.id, action_people=owners + delegates):
        raise PermissionDenied(denial(Permission.UPDATE_ACTION))
    if not text.strip():
        raise InvalidValue("the corrected text is empty")
    if len(text) > MAX_TEXT:
        raise InvalidValue(f"progress text is {len(text)} characters; the limit is {MAX_TEXT}")
    new = Update(
        action_id=old.action_id, at=now, author_id=author.id if author else None,
        author_text=author.display_name if author else "operator", channel=channel.value, text=text.strip(),
        status=old.status, rag=old.rag, revised_target=old.revised_target, revised_reason=old.revised_reason,
        evidence=list(old.evidence), period_label=old.period_label, supersedes_id=old.id,
    )
    session.add(new)
    session.flush()
    assert org.id is not None
    repo.audit(session, org_id=org.id, actor_id=new.author_id, actor_text=new.author_text, channel=channel.value,
               entity="action", entity_id=action.id, op="amend_update", before={"update_id": old.id, "text": old.text},
               after={"update_id": new.id, "text": new.text}, at=now)
    return new


def find_lead(session: Session, org: Organisation, lead: str) -> Person:
    """The person an imported lead officer became: by the lead as written on their actions, or
    by display name or role title (case and spacing ignored). Several matches are refused."""
    key = " ".join(lead.split()).lower()
    if not key:
        raise InvalidValue("say which lead officer, as written in the plan")
    people = session.exec(select(Person).where(Person.org_id == org.id)).all()
    hits = [p for p in people if key in (" ".join(p.display_name.split()).lower(), " ".join(p.role_title.split()).lower())]
    if not hits:
        leads = session.exec(select(ActionPerson.person_id).join(Action, col(Action.id) == col(ActionPerson.action_id)).join(
            Plan, col(Plan.id) == col(Action.plan_id)).where(Plan.org_id == org.id, func.lower(Action.lead_text) == key)).all()
        hits = [p for p in people if p.id in set(leads)]
    if not hits:
        raise NotFound(f"no lead officer {lead!r} in the register (see a plan's leads with `show PLAN`)")
    if len({p.id for p in hits}) > 1:
        raise InvalidValue(f"{lead!r} matches several people: {', '.join(f'{p.display_name} (#{p.id})' for p in hits)}")
    return hits[0]


def link_person(
    session: Session, *, org: Organisation, actor: Actor, person: Person, fields: dict[str, object], now: datetime, channel: Channel,
) -> Person:
    """Link a person to a chat account or e-mail: administrators for anyone, a plan's owner for
    the lead officers of their plan's actions."""
    if not allowed(actor, Permission.MANAGE_PEOPLE):
        owned = {g.plan_id for g in actor.grants if g.role is Role.OWNER}
        theirs = session.exec(select(Action.plan_id).join(ActionPerson, col(ActionPerson.action_id) == col(Action.id)).where(
            ActionPerson.person_id == person.id)).all()
        if not owned & set(theirs):
            raise PermissionDenied("only an administrator, or the owner of a plan this person leads actions in, can link them")
    for key in ("slack_user_id", "teams_user_id"):
        if fields.get(key):
            other = session.exec(select(Person).where(Person.org_id == org.id, getattr(Person, key) == fields[key], Person.id != person.id)).first()
            if other is not None:
                raise Conflict(f"that chat user is already linked to {other.display_name}")
    before = repo.row_dict(person, PERSON_FIELDS)
    _apply_person(session, org, person, fields)
    session.add(person)
    session.flush()
    _audit(session, org, actor, channel, entity="person", entity_id=person.id, op="link", before=before,
           after=repo.row_dict(person, PERSON_FIELDS), now=now)
    return person


def undo_update(
    session: Session, *, org: Organisation, plan: Plan, action: Action, update: Update, actor: Actor, author: Person,
    channel: Channel, now: datetime,
) -> Update:
    """Take back one's own update: the action returns to what it was before it (only if nothing
    changed since) and a new history entry supersedes the undone one; nothing is deleted."""
    from storage.tables import AuditLog

    if update.author_id != author.id:
        raise PermissionDenied("you can only undo your own updates")
    if session.exec(select(Update.id).where(Update.supersedes_id == update.id)).first() is not None:
        raise InvalidValue("that update was already undone or corrected")
    rows = session.exec(select(AuditLog).where(AuditLog.entity == "action", AuditLog.entity_id == action.id,
                                               AuditLog.op == "update").order_by(col(AuditLog.id).desc())).all()
    row = next((r for r in rows if (r.after or {}).get("update_id") == update.id), None)
    if row is None or row.before is None:
        raise NotFound("the change that update made is not on record, so it cannot be undone")
    if (row.after or {}).get("version") != action.version:
        raise Conflict(f"{action.ref} has changed since that update; send a new update instead of undoing")
    b = row.before
    values: dict[str, object] = {
        "status": b["status"], "rag": b["rag"], "signoff_stage": b.get("signoff_stage", 0),
        "revised_target": date.fromisoformat(b["revised_target"]) if b.get("revised_target") else None,
        "revised_reason": b.get("revised_reason") or "", "updated_at": now,
    }
    before = repo.row_dict(action, ACTION_FIELDS)
    versioned_write(session, action, action.version, values)
    new = Update(action_id=action.id or 0, at=now, author_id=author.id, author_text=author.display_name, channel=channel.value,
                 text=f"Undone: the update of {update.at:%-d %b %Y %H:%M} UTC", status=b["status"], rag=b["rag"],
                 supersedes_id=update.id)
    session.add(new)
    session.flush()
    session.refresh(action)
    repo.audit(session, org_id=org.id or 0, actor_id=author.id, actor_text=author.display_name, channel=channel.value, entity="action",
               entity_id=action.id, op="undo_update", before=before, after=repo.row_dict(action, ACTION_FIELDS) | {"update_id": new.id,
                                                                                                              "undid": update.id}, at=now)
    return new
