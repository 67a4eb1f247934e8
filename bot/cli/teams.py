"""`actionbot teams`: the Microsoft Teams app package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot.cli import Ctx, main, pass_ctx


@main.group()
def teams() -> None:
    """Microsoft Teams: build the app package to upload."""


@teams.command("package")
@click.option("--app-id", help="The bot's Microsoft App ID (default: env MicrosoftAppId).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=Path("actionbot-teams.zip"), show_default=True,
              help="Where to write the zip.")
@click.option("--name", default="actionbot", show_default=True, help="The app's name in Teams.")
@click.option("--version", "version", default="1.0.0", show_default=True, help="The package version (raise it for each upload).")
@click.option("--developer", default="actionbot", show_default=True, help="Who publishes the app (shown in Teams).")
@click.option("--website", default="https://example.org/actionbot", show_default=True, help="https address shown as the app's website.")
@click.option("--privacy", help="https address of the privacy statement (default: the website).")
@click.option("--terms", help="https address of the terms of use (default: the website).")
@pass_ctx
def package(ctx: Ctx, app_id: str | None, out: Path, name: str, version: str, developer: str, website: str,
            privacy: str | None, terms: str | None) -> None:
    """Build the Teams app package (manifest.json with the bot's command menu and file support,
    and its icons, zipped) for the bot registered as APP ID. Upload the zip in Teams (Apps →
    Manage your apps → Upload an app) or in the Teams admin centre."""
    from handlers.teams_package import PackageError, build, manifest

    app_id = (app_id or ctx.settings.microsoft_app_id or "").strip()
    if not app_id:
        raise click.UsageError("give --app-id (the bot's Microsoft App ID) or set MicrosoftAppId")
    options: dict[str, Any] = {"name": name, "version": version, "developer": developer, "website": website, "privacy": privacy, "terms": terms}
    try:
        data = build(app_id, **options)
    except PackageError as e:
        raise click.UsageError(str(e)) from None
    out.write_bytes(data)
    lists: list[dict[str, Any]] = manifest(app_id, **options)["bots"][0]["commandLists"]
    commands = sum(len(c["commands"]) for c in lists)
    click.echo(f"wrote {out} ({len(data):,} bytes): manifest.json for app {app_id.lower()} with {commands} menu commands, color.png, outline.png")
