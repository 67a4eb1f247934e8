"""`actionbot serve`: the HTTP server."""

import click

from bot.cli import Ctx, main, pass_ctx


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1; env HOST).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default 3978; env PORT).")
@click.option("--no-scheduler", is_flag=True, help="Serve HTTP only; do not plan or send nudges and digests.")
@pass_ctx
def serve(ctx: Ctx, host: str | None, port: int | None, no_scheduler: bool) -> None:
    """Run the bot: one aiohttp server (GET /healthz) with the scheduler on the same loop.

    Migrations are applied first. Nudges and digests for people with no Slack or Teams id are
    printed here (the console platform)."""
    import asyncio
    import logging

    from bot.app import build_app
    from bot.app import serve as serve_app

    logging.basicConfig(level=ctx.settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = ctx.engine  # creates the database and applies migrations
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations, and the health check until the schema is the newest
    host = host or ctx.settings.host
    port = port or ctx.settings.port
    click.echo(f"actionbot serving on http://{host}:{port} (database: {engine.url.render_as_string(hide_password=True)})")
    app = build_app(ctx.settings, engine, scheduler=not no_scheduler)
    app.on_startup.append(_freeze_start_up)
    asyncio.run(serve_app(app, host, port))


async def _freeze_start_up(_app: object) -> None:
    """Once started, move everything made so far (modules, the app, the engine, settings) out
    of the garbage collector's reach: full collections then scan only what requests and
    scheduler rounds make, instead of stalling the event loop over the whole heap."""
    import gc

    gc.collect()
    gc.freeze()
