"""`actionbot plan|action|update|person|role|audit`: the register from the command line.

The CLI acts as the local operator (whoever can run it holds the database) unless `--as`
names a person: then that person's permissions apply and the change is recorded as theirs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from bot.cli import Ctx, LazyModule, emit_json, main, parse_cli_date, pass_ctx, utcnow
from bot.domain import limits
from bot.domain.model import Channel, InvalidValue, Rag, RagScheme, Role, Status

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.services import queries, register
    from storage import repo
    from storage.tables import Organisation, Person
else:  # loaded when a command uses them
    queries, register, repo = LazyModule("bot.services.queries"), LazyModule("bot.services.register"), LazyModule("storage.repo")


def _actor(session: Session, org: Organisation, as_person: str | None) -> tuple[object, Person | None]:
    if as_person:
        person = repo.find_person(session, org.id or 0, as_person)
        return repo.actor_for(session, person), person
    return repo.actor_for(session, None, operator=True), None


def _table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# --- plans ----------------------------------------------------------------------------------
@main.group()
def plan() -> None:
    """Plans: list, show, create, configure."""


@plan.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def plan_list(ctx: Ctx, as_json: bool) -> None:
    """List the organisation's plans."""
    with ctx.session() as s:
        org = ctx.org(s)
        plans = [queries.plan_json(s, p) for p in repo.list_plans(s, org.id or 0)]
    if as_json:
        emit_json(plans)
        return
    if not plans:
        click.echo("No plans yet. Load one with `actionbot import FILE` or create one with `actionbot plan create TITLE`.")
        return
    _table([[p["slug"], str(p["actions"]), p["rag_scheme"], _short(p["title"], 60)] for p in plans], ["PLAN", "ACTIONS", "SCHEME", "TITLE"])


@plan.command("show")
@click.argument("plan_ident", metavar="PLAN")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def plan_show(ctx: Ctx, plan_ident: str, as_json: bool) -> None:
    """Show a plan's settings and counts by status and RAG."""
    with ctx.session() as s:
        org = ctx.org(s)
        p = repo.get_plan(s, org.id or 0, plan_ident)
        data = queries.plan_json(s, p, today=queries.plan_today(p, utcnow()))
        data["org_country"] = org.country
        data["priorities"] = [{"ref": q.ref, "title": q.title, "timescale": q.timescale} for q in repo.priorities(s, p.id or 0)]
    if as_json:
        emit_json(data)
        return
    click.echo(f"{data['title']}  [{data['slug']}]")
    for k in ("organisation", "plan_date", "rag_scheme", "cadence", "timezone", "due_soon_days", "signoff_stages", "digest_channels"):
        click.echo(f"  {k.replace('_', ' ')}: {data[k]}")
    click.echo(f"  chase from: {data['chase_from'] or 'the start'}")
    click.echo(f"  country (numeric dates): {data['country'] or data['org_country'] + ' (the organisation' + chr(39) + 's)'}")
    click.echo(f"  actions: {data['actions']}  by status: {data['by_status']}  by rating: {data['by_rating']}"
               + (f" (suggested by the rules: {data['by_rating_suggested']})" if data["by_rating_suggested"] else ""))
    for q in data["priorities"]:
        click.echo(f"  {q['ref']}: {_short(q['title'], 90)}")


@plan.command("create")
@click.argument("title")
@click.option("--slug", help="Short name used in commands (default: from the title).")
@click.option("--scheme", type=click.Choice(["RAG", "BRAG"], case_sensitive=False), default="BRAG", show_default=True)
@click.option("--cadence", default="monthly:last", show_default=True, help="weekly[:mon..sun], fortnightly[:day], monthly[:1..28|last].")
@click.option("--timezone", default="Europe/London", show_default=True)
@pass_ctx
def plan_create(ctx: Ctx, title: str, slug: str | None, scheme: str, cadence: str, timezone: str) -> None:
    """Create an empty plan."""
    with ctx.session() as s:
        org = ctx.org(s, write=True)
        p = register.create_plan(s, org=org, title=title, actor=repo.actor_for(s, None, operator=True), slug=slug,
                                 rag_scheme=RagScheme.parse(scheme), cadence=cadence, timezone=timezone, now=utcnow())
        click.echo(f"created plan {p.slug}")


@plan.command("set")
@click.argument("plan_ident", metavar="PLAN")
@click.option("--title")
@click.option("--cadence", help="weekly[:mon..sun], fortnightly[:day], monthly[:1..28|last].")
@click.option("--timezone")
@click.option("--scheme", type=click.Choice(["RAG", "BRAG"], case_sensitive=False))
@click.option("--due-soon-days", type=click.IntRange(0, 365), help="Nudge when the target is this near (default 14).")
@click.option("--plan-date", help="The plan's own date; relative timescales count from it.")
@click.option("--chase-from", help="Day from which lead officers are chased (an import sets the next working day); 'start' for at once.")
@click.option("--country", help="Two-letter country code (GB, US…) its files' numeric dates are written in, when a file's own dates "
                                "do not settle day- or month-first; 'org' for the organisation's.")
@click.option("--owner", help="Person who owns the plan (gets private escalations and names).")
@click.option("--channel", "channels", multiple=True, help="Digest channel, e.g. slack:C0123 or teams:<conversation id>. Repeat; replaces the list.")
@click.option("--stage", "stages", multiple=True, help="Sign-off stage in order, e.g. 'Evidence Challenge Panel'. Repeat; replaces the list.")
@pass_ctx
def plan_set(ctx: Ctx, plan_ident: str, title: str | None, cadence: str | None, timezone: str | None, scheme: str | None,
             due_soon_days: int | None, plan_date: str | None, chase_from: str | None, country: str | None, owner: str | None,
             channels: tuple[str, ...], stages: tuple[str, ...]) -> None:
    """Change a plan's settings."""
    changes: dict[str, object] = {}
    for key, value in (("title", title), ("cadence", cadence), ("timezone", timezone), ("rag_scheme", scheme), ("due_soon_days", due_soon_days)):
        if value is not None:
            changes[key] = value
    if plan_date:
        changes["plan_date"] = parse_cli_date(plan_date, "plan date")
    if chase_from:
        changes["chase_from"] = None if chase_from.strip().lower() == "start" else parse_cli_date(chase_from, "chase-from date")
    if country is not None:
        from bot.domain.country import normalise_country

        changes["country"] = None if country.strip().lower() == "org" else normalise_country(country)
    if channels:
        for c in channels:
            if not c.startswith(("slack:", "teams:")):
                raise InvalidValue(f"channel {c!r} must start with slack: or teams:")
        changes["digest_channels"] = list(channels)
    if stages:
        changes["signoff_stages"] = [st.strip() for st in stages if st.strip()]
    if not changes and not owner:
        raise InvalidValue("nothing to change; see `actionbot plan set --help`")
    with ctx.session() as s:
        org = ctx.org(s)
        p = repo.get_plan(s, org.id or 0, plan_ident)
        if owner:
            changes["owner_id"] = repo.find_person(s, org.id or 0, owner).id
        register.configure_plan(s, org=org, plan=p, actor=repo.actor_for(s, None, operator=True), changes=changes, now=utcnow())
        click.echo(f"updated {p.slug}: {', '.join(sorted(changes))}")


# --- actions --------------------------------------------------------------------------------
@main.group()
def action() -> None:
    """Actions: list, show (with history), assign owners and delegates."""


@action.command("list")
@click.argument("plan_ident", metavar="PLAN")
@click.option("--status", help="Only this status.")
@click.option("--rag", help="Only this rating (R, A, G, B): the reported one, else the rules' suggestion.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def action_list(ctx: Ctx, plan_ident: str, status: str | None, rag: str | None, as_json: bool) -> None:
    """List a plan's actions. RAG is the reported rating, else the rules' suggestion (marked *)."""
    want_status = Status.parse(status) if status else None
    want_rag = Rag.parse(rag) if rag else None
    with ctx.session() as s:
        p = repo.get_plan(s, ctx.org(s).id or 0, plan_ident)
        rows = queries.actions_json(s, p, today=queries.plan_today(p, utcnow()))
    rows = [r for r in rows if (not want_status or r["status"] == want_status.value) and (not want_rag or r["rating"] == want_rag.value)]
    if as_json:
        emit_json(rows)
        return
    _table(
        [[r["ref"], r["status"], r["rating"] + ("*" if r["rating_suggested"] else "") if r["rating"] != "none" else "-",
          r["revised_target"] or r["original_target"] or (r["original_target_raw"] or "-"),
          _short(r["lead"], 28), _short(r["text"], 60)] for r in rows],
        ["REF", "STATUS", "RAG", "TARGET", "LEAD", "ACTION"],
    )
    if any(r["rating_suggested"] for r in rows):
        click.echo("* suggested by the rules: no lead officer has reported a rating")


@action.command("show")
@click.argument("plan_ident", metavar="PLAN")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def action_show(ctx: Ctx, plan_ident: str, ref: str, as_json: bool) -> None:
    """Show one action with its full update history."""
    with ctx.session() as s:
        org = ctx.org(s)
        p = repo.get_plan(s, org.id or 0, plan_ident)
        a = repo.get_action(s, p, ref)
        owners, delegates = repo.action_people(s, a.id or 0)
        people = {x.id: x for x in repo.list_people(s, org.id or 0) if x.id is not None}
        prio = next((q.ref for q in repo.priorities(s, p.id or 0) if q.id == a.priority_id), None)
        data = queries.action_json(a, priority_ref=prio, people=people, owners=owners, delegates=delegates,
                                   shown=queries.rating(p, a, today=queries.plan_today(p, utcnow())))
        data["history"] = [queries.update_json(u) for u in repo.history(s, a.id or 0)]
    if as_json:
        emit_json(data)
        return
    click.echo(f"{data['ref']}  {data['text']}")
    target = data["original_target"] or data["original_target_raw"] or "none"
    if data["revised_target"]:
        target += f" → revised {data['revised_target']} ({data['revised_reason']})"
    for k, v in (("lead", data["lead"]), ("owners", ", ".join(map(str, data["owners"])) or "none mapped"),
                 ("target", target), ("status", data["status"]), ("RAG", _rating_text(data)), ("version", data["version"])):
        click.echo(f"  {k}: {v}")
    click.echo("  history:")
    for u in data["history"]:
        bits = [x for x in (u["status"], u["rag"] and f"RAG {u['rag']}", u["revised_target"] and f"→ {u['revised_target']}") if x]
        click.echo(f"    {u['at'][:16]}  {u['author']} via {u['channel']}{' [' + u['label'] + ']' if u['label'] else ''}"
                   f"{' (' + ', '.join(bits) + ')' if bits else ''}: {_short(u['text'], 100)}")


def _rating_text(data: dict) -> str:
    """"Red (reported)", "Red (suggested by the rules: …; none reported)" or "none"."""
    if data["rating"] == "none":
        return "none"
    name = Rag(data["rating"]).label
    if not data["rating_suggested"]:
        return f"{name} (reported)"
    why = "; ".join(data["rating_reasons"])
    return f"{name} (suggested by the rules{': ' + why if why else ''}; none reported)"


@action.command("add")
@click.argument("plan_ident", metavar="PLAN")
@click.argument("ref")
@click.argument("text")
@click.option("--lead", default="", help="Lead officer as written (a name or a role).")
@click.option("--target", help="Original target date.")
@click.option("--priority", help="Priority / recommendation ref it belongs to (created if new).")
@pass_ctx
def action_add(ctx: Ctx, plan_ident: str, ref: str, text: str, lead: str, target: str | None, priority: str | None) -> None:
    """Add one action to a plan."""
    with ctx.session() as s:
        org = ctx.org(s)
        p = repo.get_plan(s, org.id or 0, plan_ident)
        a = register.add_action(s, org=org, plan=p, actor=repo.actor_for(s, None, operator=True), ref=ref, text=text, lead_text=lead,
                                original_target=parse_cli_date(target, "target") if target else None, priority_ref=priority, now=utcnow())
        click.echo(f"added action {a.ref} to {p.slug}")


@action.command("assign")
@click.argument("plan_ident", metavar="PLAN")
@click.argument("ref")
@click.argument("person")
@click.option("--delegate", is_flag=True, help="As a delegate who may update for the owners.")
@click.option("--remove", is_flag=True, help="Remove instead of adding.")
@pass_ctx
def action_assign(ctx: Ctx, plan_ident: str, ref: str, person: str, delegate: bool, remove: bool) -> None:
    """Make PERSON an owner (or --delegate) of an action."""
    with ctx.session() as s:
        org = ctx.org(s)
        p = repo.get_plan(s, org.id or 0, plan_ident)
        a = repo.get_action(s, p, ref)
        who = repo.find_person(s, org.id or 0, person)
        register.assign(s, org=org, plan=p, action=a, person=who, actor=repo.actor_for(s, None, operator=True),
                        kind="delegate" if delegate else "owner", remove=remove, now=utcnow())
        click.echo(f"{'removed' if remove else 'added'} {who.display_name} as {'delegate' if delegate else 'owner'} of {a.ref}")


# --- updates --------------------------------------------------------------------------------
@main.command("update")
@click.argument("plan_ident", metavar="PLAN")
@click.argument("ref")
@click.option("--text", "-m", default="", help="Progress text.")
@click.option("--status", help="not_started, in_progress, complete, on_hold, cancelled.")
@click.option("--rag", help="R, A, G or B (Red, Amber, Green, Blue).")
@click.option("--revised-target", help="New target date (the original is kept).")
@click.option("--reason", default="", help="Why the target moves (needed with --revised-target).")
@click.option("--evidence", multiple=True, help="Link to evidence. Repeat for several.")
@click.option("--label", default="", help="Period label, e.g. 'End of November'.")
@click.option("--as", "as_person", help="Record as this person (their permissions apply).")
@click.option("--expect-version", type=click.IntRange(1, limits.INT_MAX), help="Fail with a conflict if the action changed since this version.")
@pass_ctx
def update_cmd(ctx: Ctx, plan_ident: str, ref: str, text: str, status: str | None, rag: str | None, revised_target: str | None,
               reason: str, evidence: tuple[str, ...], label: str, as_person: str | None, expect_version: int | None) -> None:
    """Record a progress update on an action (appended to its history)."""
    req = register.UpdateRequest(
        text=text,
        status=Status.parse(status) if status else None,
        rag=Rag.parse(rag) if rag else None,
        revised_target=parse_cli_date(revised_target, "revised target") if revised_target else None,
        revised_reason=reason,
        evidence=evidence,
        period_label=label,
        expected_version=expect_version,
    )
    with ctx.session() as s:
        org = ctx.org(s)
        p = repo.get_plan(s, org.id or 0, plan_ident)
        a = repo.get_action(s, p, ref)
        actor, author = _actor(s, org, as_person)
        register.record_update(s, org=org, plan=p, action=a, request=req, actor=actor, author=author,  # type: ignore[arg-type]
                               channel=Channel.CLI, now=utcnow())
        shown = queries.rating(p, a, today=queries.plan_today(p, utcnow()))
        click.echo(f"recorded update on {a.ref} (version {a.version}): status {a.status}, RAG {shown.label}")


# --- people ---------------------------------------------------------------------------------
@main.group()
def person() -> None:
    """People: list, add, set details (chat ids, timezone, manager, away)."""


def _person_fields(s: Session, org: Organisation, role_title: str | None, email: str | None, slack: str | None, teams: str | None,
                   timezone: str | None, manager: str | None, away_until: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for k, v in (("role_title", role_title), ("email", email), ("slack_user_id", slack), ("teams_user_id", teams), ("timezone", timezone)):
        if v is not None:
            fields[k] = v or None if k != "role_title" else v
    if manager is not None:
        fields["manager_id"] = repo.find_person(s, org.id or 0, manager).id if manager else None
    if away_until is not None:
        fields["away_until"] = parse_cli_date(away_until, "away-until date") if away_until else None
    return fields


_person_options = [
    click.option("--role-title", help="Job title or role, e.g. 'HoS First Response'."),
    click.option("--email"),
    click.option("--slack", help="Slack user id (U…)."),
    click.option("--teams", help="Teams user id (29:… or AAD object id)."),
    click.option("--timezone", help="IANA timezone (default Europe/London)."),
    click.option("--manager", help="Their manager (gets private escalations)."),
    click.option("--away-until", help="Away until this date (no nudges); empty to clear."),
]


def _with_person_options(f):
    for opt in reversed(_person_options):
        f = opt(f)
    return f


@person.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def person_list(ctx: Ctx, as_json: bool) -> None:
    """List people."""
    with ctx.session() as s:
        people = [repo.row_dict(p, ("id",) + register.PERSON_FIELDS) for p in repo.list_people(s, ctx.org(s).id or 0)]
    if as_json:
        emit_json(people)
        return
    _table([[str(p["id"]), p["display_name"], p["role_title"] or "", p["email"] or "", p["slack_user_id"] or "", p["teams_user_id"] or ""]
            for p in people], ["ID", "NAME", "ROLE", "EMAIL", "SLACK", "TEAMS"])


_allow_similar = click.option(
    "--allow-similar", is_flag=True,
    help="The name reads the same as someone's already here (case or spacing aside) but this is another person.")


@person.command("add")
@click.argument("name")
@_with_person_options
@_allow_similar
@pass_ctx
def person_add(ctx: Ctx, name: str, allow_similar: bool, **opts: str | None) -> None:
    """Add a person. People are told apart by id (see `person list`); a name that reads the same
    as someone's already here needs --allow-similar."""
    with ctx.session() as s:
        org = ctx.org(s, write=True)
        fields = _person_fields(s, org, **opts)
        p = register.add_person(s, org=org, actor=repo.actor_for(s, None, operator=True), display_name=name, now=utcnow(),
                                allow_similar=allow_similar, **fields)
        click.echo(f"added {p.display_name} (id {p.id})")


@person.command("set")
@click.argument("ident", metavar="PERSON")
@click.option("--name", help="New display name.")
@_with_person_options
@_allow_similar
@pass_ctx
def person_set(ctx: Ctx, ident: str, name: str | None, allow_similar: bool, **opts: str | None) -> None:
    """Change a person's details. PERSON is an id (12 or #12), e-mail, chat id or name."""
    with ctx.session() as s:
        org = ctx.org(s)
        p = repo.find_person(s, org.id or 0, ident)
        fields = _person_fields(s, org, **opts)
        if name:
            fields["display_name"] = name.strip()
        if not fields:
            raise InvalidValue("nothing to change; see `actionbot person set --help`")
        register.edit_person(s, org=org, actor=repo.actor_for(s, None, operator=True), person=p, now=utcnow(),
                             allow_similar=allow_similar, **fields)
        click.echo(f"updated {p.display_name}: {', '.join(sorted(fields))}")


# --- roles ----------------------------------------------------------------------------------
@main.group()
def role() -> None:
    """Roles: admin (organisation), owner, approver (per sign-off stage), reader (per plan)."""


def _role_args(f):
    f = click.option("--stage", default="", help="Sign-off stage (approvers).")(f)
    f = click.option("--plan", "plan_ident", help="Plan (all roles but admin).")(f)
    f = click.argument("role_name", metavar="ROLE")(f)
    return click.argument("ident", metavar="PERSON")(f)


def _change_role(ctx: Ctx, ident: str, role_name: str, plan_ident: str | None, stage: str, *, grant: bool) -> None:
    with ctx.session() as s:
        org = ctx.org(s)
        who = repo.find_person(s, org.id or 0, ident)
        p = repo.get_plan(s, org.id or 0, plan_ident) if plan_ident else None
        change = register.grant_role if grant else register.revoke_role
        change(s, org=org, actor=repo.actor_for(s, None, operator=True), person=who, role=Role.parse(role_name), plan=p, stage=stage,
               now=utcnow())
        if grant:
            click.echo(f"granted {role_name} to {who.display_name}" + (f" on {p.slug}" if p else "") + (f" ({stage})" if stage else ""))
        else:
            click.echo(f"revoked {role_name} from {who.display_name}")


@role.command("grant")
@_role_args
@pass_ctx
def role_grant(ctx: Ctx, ident: str, role_name: str, plan_ident: str | None, stage: str) -> None:
    """Grant ROLE to PERSON. ROLE is one of:

    \b
      admin     the organisation: manages people, roles and every plan (no --plan)
      owner     --plan P: manages plan P and gets its private notes
      approver  --plan P --stage S: approves or returns actions at sign-off stage S
      reader    --plan P: a leadership reader of plan P and its digest

    e.g. actionbot role grant "Sam Patel" approver --plan ilacs --stage "Evidence Challenge Panel"
    """
    _change_role(ctx, ident, role_name, plan_ident, stage, grant=True)


@role.command("revoke")
@_role_args
@pass_ctx
def role_revoke(ctx: Ctx, ident: str, role_name: str, plan_ident: str | None, stage: str) -> None:
    """Revoke ROLE (admin, owner, approver or reader; as granted) from PERSON."""
    _change_role(ctx, ident, role_name, plan_ident, stage, grant=False)


@role.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def role_list(ctx: Ctx, as_json: bool) -> None:
    """List role grants."""
    from sqlmodel import select

    from storage.tables import RoleGrant

    with ctx.session() as s:
        org = ctx.org(s)
        people = {p.id: p.display_name for p in repo.list_people(s, org.id or 0)}
        plans = {p.id: p.slug for p in repo.list_plans(s, org.id or 0, include_archived=True)}
        rows: list[dict[str, Any]] = [{"person": people.get(g.person_id), "role": g.role, "plan": plans.get(g.plan_id), "stage": g.stage}
                for g in s.exec(select(RoleGrant).where(RoleGrant.org_id == org.id))]
    if as_json:
        emit_json(rows)
        return
    _table([[r["person"] or "?", r["role"], r["plan"] or "(organisation)", r["stage"]] for r in rows], ["PERSON", "ROLE", "PLAN", "STAGE"])


# --- audit ----------------------------------------------------------------------------------
@main.command("audit")
@click.option("--entity", type=click.Choice(["action", "plan", "person", "role", "import"]), help="Only this kind of thing.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="How many entries (1 to 10,000).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def audit_cmd(ctx: Ctx, entity: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log, newest first."""
    with ctx.session() as s:
        rows = [repo.row_dict(r, ("id", "at", "actor_text", "channel", "entity", "entity_id", "op", "before", "after"))
                for r in repo.audit_log(s, ctx.org(s).id or 0, entity=entity, limit=limit)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("Nothing in the audit log yet.")
    for r in rows:
        click.echo(f"{r['at'][:19]}  {r['actor_text']} via {r['channel']}: {r['op']} {r['entity']} {r['entity_id'] or ''}".rstrip())
        for line in audit_changes(r["before"], r["after"]):
            click.echo(f"    {line}")


def audit_changes(before: object, after: object) -> list[str]:
    """An audit entry as one line per field: "status: in_progress → complete"; a field that only
    appeared or went away shows just its value. Unchanged fields are left out."""

    def show(v: object) -> str:
        if v is None or v == "":
            return "(none)"
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        return text if len(text) <= 80 else text[:77] + "…"

    old = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    new = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    lines = []
    for key in dict.fromkeys([*old, *new]):
        if key in old and key in new:
            if old[key] != new[key]:
                lines.append(f"{key}: {show(old[key])} → {show(new[key])}")
        elif key in new:
            lines.append(f"{key}: {show(new[key])}")
        else:
            lines.append(f"{key}: {show(old[key])} → (removed)")
    return lines
