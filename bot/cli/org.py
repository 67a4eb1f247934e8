"""`actionbot org`: organisations and the chat workspaces linked to them.

Once any organisation is linked to a Slack team or a Teams tenant, chat requests from a
workspace that is not linked are refused (and logged); with no links at all, the embedded
default, every verified request belongs to the organisation the server runs for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.cli import Ctx, LazyModule, emit_json, main, pass_ctx, utcnow

if TYPE_CHECKING:
    from storage import repo
else:  # loaded when a command uses it
    repo = LazyModule("storage.repo")


@main.group()
def org() -> None:
    """Organisations and their linked Slack team and Teams tenant."""


@org.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def org_list(ctx: Ctx, as_json: bool) -> None:
    """Every organisation with its links."""
    from sqlmodel import col, select

    from storage.tables import Organisation

    with ctx.session() as s:
        rows = [{"slug": o.slug, "name": o.name, "country": o.country, "slack_team": o.slack_team_id, "teams_tenant": o.teams_tenant_id}
                for o in s.exec(select(Organisation).order_by(col(Organisation.slug)))]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No organisations yet.")
    for r in rows:
        click.echo(f"{r['slug']}  slack team: {r['slack_team'] or '-'}  teams tenant: {r['teams_tenant'] or '-'}  country: {r['country']}")


@org.command("add")
@click.argument("slug")
@click.option("--name", help="The organisation's full name (default: the slug).")
@click.option("--country", default="GB", show_default=True,
              help="Two-letter country code; decides whether its plans' numeric dates are day-first (GB) or month-first (US) "
                   "when a file's own dates do not settle it.")
@pass_ctx
def org_add(ctx: Ctx, slug: str, name: str | None, country: str) -> None:
    """Create organisation SLUG; then act in it with --org SLUG (or ACTIONBOT_ORG)."""
    from bot.domain.country import normalise_country
    from bot.domain.model import InvalidValue

    code = normalise_country(country)
    slug = slug.strip()
    if not slug or slug != repo.slugify(slug):
        raise InvalidValue(f"an organisation's short name is lower-case letters, digits and dashes, e.g. {repo.slugify(slug or 'derby')!r}")
    with ctx.session() as s:
        if repo.find_org(s, slug) is not None:
            raise InvalidValue(f"organisation {slug!r} already exists")
        o = repo.get_or_create_org(s, slug, (name or "").strip() or slug)
        o.country = code
        s.add(o)
        repo.audit(s, org_id=o.id or 0, actor_id=None, actor_text="operator", channel="cli", entity="organisation", entity_id=o.id,
                   op="create", before=None, after={"slug": o.slug, "name": o.name, "country": o.country}, at=utcnow())
        click.echo(f"created organisation {o.slug} ({o.name}, country {o.country}); use it with --org {o.slug}")


@org.command("set")
@click.option("--name", help="The organisation's full name.")
@click.option("--country", help="Two-letter country code (GB, IE, US…): whether its plans' numeric dates are day- or month-first "
                                "when a file's own dates do not settle it. A plan's own (`plan set --country`) wins.")
@pass_ctx
def org_set(ctx: Ctx, name: str | None, country: str | None) -> None:
    """Change this organisation's (--org) name or country."""
    from bot.domain.country import normalise_country
    from bot.domain.model import InvalidValue

    changes: dict[str, str] = {}
    if name is not None:
        if not name.strip() or len(name.strip()) > 200:
            raise InvalidValue("an organisation's name is 1 to 200 characters")
        changes["name"] = name.strip()
    if country is not None:
        changes["country"] = normalise_country(country)
    if not changes:
        raise click.UsageError("give --name and/or --country")
    with ctx.session() as s:
        o = ctx.org(s, write=True)
        before = {k: getattr(o, k) for k in changes}
        for k, v in changes.items():
            setattr(o, k, v)
        s.add(o)
        repo.audit(s, org_id=o.id or 0, actor_id=None, actor_text="operator", channel="cli", entity="organisation", entity_id=o.id,
                   op="configure", before=before, after=changes, at=utcnow())
        click.echo(f"{o.slug}: name {o.name}, country {o.country}")


@org.command("link")
@click.option("--slack-team", help="The Slack team (workspace) id, T…")
@click.option("--teams-tenant", help="The Microsoft Entra tenant id of the Teams organisation.")
@pass_ctx
def org_link(ctx: Ctx, slack_team: str | None, teams_tenant: str | None) -> None:
    """Link this organisation (--org) to its Slack team and/or Teams tenant."""
    if not slack_team and not teams_tenant:
        raise click.UsageError("give --slack-team and/or --teams-tenant")
    from sqlmodel import select

    from storage.tables import Organisation

    with ctx.session() as s:
        o = ctx.org(s, write=True)
        for field, value in (("slack_team_id", slack_team), ("teams_tenant_id", teams_tenant)):
            if not value:
                continue
            value = value.strip()
            other = s.exec(select(Organisation).where(getattr(Organisation, field) == value, Organisation.id != o.id)).first()
            if other is not None:
                raise click.ClickException(f"{value} is already linked to organisation {other.slug!r}")
            before = getattr(o, field)
            setattr(o, field, value)
            repo.audit(s, org_id=o.id or 0, actor_id=None, actor_text="operator", channel="cli", entity="organisation", entity_id=o.id,
                       op="link", before={field: before}, after={field: value}, at=utcnow())
        s.add(o)
        click.echo(f"{o.slug}: slack team {o.slack_team_id or '-'}, teams tenant {o.teams_tenant_id or '-'}")


@org.command("unlink")
@click.option("--slack", "slack", is_flag=True, help="Remove the Slack team link.")
@click.option("--teams", "teams", is_flag=True, help="Remove the Teams tenant link.")
@pass_ctx
def org_unlink(ctx: Ctx, slack: bool, teams: bool) -> None:
    """Remove this organisation's link to its Slack team and/or Teams tenant."""
    if not slack and not teams:
        raise click.UsageError("give --slack and/or --teams")
    with ctx.session() as s:
        o = ctx.org(s)
        for field, on in (("slack_team_id", slack), ("teams_tenant_id", teams)):
            if on and getattr(o, field):
                repo.audit(s, org_id=o.id or 0, actor_id=None, actor_text="operator", channel="cli", entity="organisation",
                           entity_id=o.id, op="unlink", before={field: getattr(o, field)}, after={field: None}, at=utcnow())
                setattr(o, field, None)
        s.add(o)
        click.echo(f"{o.slug}: slack team {o.slack_team_id or '-'}, teams tenant {o.teams_tenant_id or '-'}")
