"""`actionbot db …`: schema migrations."""

import click

from bot.cli import Ctx, emit_json, main, pass_ctx


@main.group()
def db() -> None:
    """Database schema: upgrade, show the current revision."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Revision to upgrade to.")
@pass_ctx
def db_upgrade(ctx: Ctx, revision: str) -> None:
    """Apply migrations (also done automatically on start)."""
    from storage.db import current_revision, make_engine, upgrade

    engine = make_engine(ctx.settings.database_url)
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    click.echo(f"database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@db.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def db_current(ctx: Ctx, as_json: bool) -> None:
    """Show the schema revision of the database and the newest one known."""
    from storage.db import current_revision, head_revision, make_engine, sqlite_path

    path = sqlite_path(ctx.settings.database_url)
    if path is not None and not path.exists():  # asking must not create the file
        newest = head_revision()
        if as_json:
            emit_json({"current": None, "newest": newest, "up_to_date": False, "database": "sqlite", "exists": False})
            return
        click.echo(f"current: no database at {path} (nothing created); newest: {newest}")
        return
    engine = make_engine(ctx.settings.database_url)
    current, newest = current_revision(engine), head_revision()
    if as_json:
        emit_json({"current": current, "newest": newest, "up_to_date": current == newest, "database": engine.dialect.name})
        return
    click.echo(f"current: {current or 'empty'}; newest: {newest}")
