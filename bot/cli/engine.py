"""`actionbot due|parse|digest|signoff|worker|chat`: the engine from the command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli import Ctx, LazyModule, emit_json, local_today, main, parse_cli_date, parse_cli_datetime, pass_ctx, utcnow
from bot.domain.model import Channel
from bot.errors import ActionbotError

if TYPE_CHECKING:
    from datetime import datetime

    from bot.services import engine as eng
    from storage import repo
else:  # loaded when a command uses them
    eng, repo = LazyModule("bot.services.engine"), LazyModule("storage.repo")


@main.command("due")
@click.option("--as-of", "as_of", help="Moment to evaluate (default now), e.g. 2026-11-23T10:00 (Europe/London unless it says otherwise).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def due_cmd(ctx: Ctx, as_of: str | None, as_json: bool) -> None:
    """Who would be nudged, for which actions, and why."""
    from bot.domain.due import nudges_to_json

    now = parse_cli_datetime(as_of) if as_of else utcnow()
    from bot.domain.rag import fmt_date
    from bot.services.reports import due, waiting_to_chase

    cfg = ctx.settings.engine_config()
    with ctx.reading(lambda _source, org_id: (org_id,)) as (source, (org_id,)):
        nudges, reg = due(source, org_id, now=now, cfg=cfg)
        waiting = waiting_to_chase(reg, now=now, cfg=cfg)
    data = nudges_to_json(nudges, now=now)
    for n in data["nudges"]:
        for a in n["actions"] + n["unassigned"]:
            a["plan"] = reg.slugs.get(a["plan_id"])
    data["not_chased_yet"] = [w.to_json() for w in waiting]
    if as_json:
        emit_json(data)
        return
    for w in waiting:
        click.echo(f"{w.slug} is not chased before {fmt_date(w.chase_from)}; {w.due_then} of its actions will be asked about then "
                   f"(`actionbot plan set {w.slug} --chase-from DATE` to change).")
    if not data["nudges"]:
        click.echo("Nobody needs a nudge.")
    for n in data["nudges"]:
        when = "now" if n["send_now"] else (n["send_at"] or "never (nobody to ask)")
        click.echo(f"{n['name']} — send {when}")
        for a in n["actions"] + n["unassigned"]:
            click.echo(f"    {a['plan']} {a['ref']}: {a['why']}")
        for e in n["escalations"]:
            click.echo(f"    escalate privately to {e['to_name']}: {e['text']}")


@main.command("parse")
@click.argument("text")
@click.option("--today", help="The date the reply is read on (default today).")
@click.option("--ref", "known", multiple=True, help="A ref that exists (repeat); refs not given are reported as unknown only if some are given.")
@click.option("--context-ref", help="The action the conversation is about.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def parse_cmd(text: str, today: str | None, known: tuple[str, ...], context_ref: str | None, as_json: bool) -> None:
    """Show what the free-text reader makes of TEXT (changes nothing)."""
    from bot.domain.reading import read_reply

    day = parse_cli_date(today, "today") if today else local_today()
    r = read_reply(text, today=day, known_refs=known, context_ref=context_ref, now=None if today else utcnow())
    if as_json:
        emit_json(r.to_json())
        return
    for k, v in r.to_json().items():
        click.echo(f"{k}: {v}")


@main.command("digest")
@click.argument("plan_ident", metavar="PLAN")
@click.option("--as-of", "as_of", help="Date of the digest, to the end of that day (default: today, up to now).")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), help="Also write the PNG chart here.")
@click.option("--private", is_flag=True, help="The plan owner's copy: names who has not updated.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def digest_cmd(ctx: Ctx, plan_ident: str, as_of: str | None, chart: Path | None, private: bool, as_json: bool) -> None:
    """A plan's weekly digest: what moved, overdue, missing updates, awaiting sign-off, due soon, totals.

    Without --as-of it is today's, with every change made up to now (the scheduled Monday
    digest covers the week to the end of the day before)."""
    from bot.domain.due import zone
    from bot.services.reports import digest

    def plan_of(source: Any, org_id: int) -> tuple[int, str] | None:
        """The plan's id and timezone: on the bare connection by slug or number only (None
        otherwise: the whole way then also tries its title, or says which plans there are)."""
        from storage.rawdb import Db
        from storage.snapshots import plan_by_slug_or_id

        if isinstance(source, Db):
            return plan_by_slug_or_id(source, org_id, plan_ident)
        p = repo.get_plan(source, org_id, plan_ident)
        return p.id or 0, p.timezone

    cfg = ctx.settings.engine_config()
    with ctx.reading(plan_of) as (source, (plan_id, tz)):
        day = parse_cli_date(as_of, "as-of date") if as_of else utcnow().astimezone(zone(tz)).date()
        try:
            d = digest(source, plan_id, as_of=day, cfg=cfg)
        except KeyError:
            raise ActionbotError(f"plan {plan_ident.strip()!r} is archived: an archived plan has no digest") from None
    if chart:
        from bot.chart import render_digest_chart

        render_digest_chart(d, chart)
    if as_json:
        emit_json(d.to_json(private=private))
        return
    from cards.digest import build_digest_view, render_text

    click.echo(render_text(build_digest_view(d, private=private, chart_path=chart)))


@main.group()
def signoff() -> None:
    """Sign-off: list what awaits it, approve, return with a note."""


@signoff.command("list")
@click.argument("plan_ident", metavar="PLAN")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def signoff_list(ctx: Ctx, plan_ident: str, as_json: bool) -> None:
    """Actions waiting for a sign-off decision, with their stage."""
    from bot.services.signoff import awaiting
    from storage.tables import Action

    with ctx.session() as s:
        p = repo.get_plan(s, ctx.org(s).id or 0, plan_ident)
        rows = [{"ref": s.get(Action, aid).ref, "stage": stage} for aid, stage in awaiting(s, p)]  # type: ignore[union-attr]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['ref']}: waiting for {r['stage']}")
    if not rows:
        click.echo("Nothing awaits sign-off.")


def _decide(ctx: Ctx, plan_ident: str, ref: str, note: str, as_person: str | None, approve: bool) -> None:
    from bot.services.signoff import decide

    with ctx.session() as s:
        org = ctx.org(s)
        p = repo.get_plan(s, org.id or 0, plan_ident)
        a = repo.get_action(s, p, ref)
        person = repo.find_person(s, org.id or 0, as_person) if as_person else None
        actor = repo.actor_for(s, person, operator=person is None)
        row = decide(s, org=org, plan=p, action=a, approve=approve, note=note, actor=actor, author=person, channel=Channel.CLI, now=utcnow())
        click.echo(f"{a.ref}: {row.decision} at {row.stage_name}; status now {a.status}")


@signoff.command("approve")
@click.argument("plan_ident", metavar="PLAN")
@click.argument("ref")
@click.option("--note", default="", help="Optional note.")
@click.option("--as", "as_person", help="The approver deciding (their permission is checked).")
@pass_ctx
def signoff_approve(ctx: Ctx, plan_ident: str, ref: str, note: str, as_person: str | None) -> None:
    """Approve an action at the stage it is waiting for (the last stage signs it off)."""
    _decide(ctx, plan_ident, ref, note, as_person, True)


@signoff.command("return")
@click.argument("plan_ident", metavar="PLAN")
@click.argument("ref")
@click.option("--note", required=True, help="What is missing (required).")
@click.option("--as", "as_person", help="The approver deciding (their permission is checked).")
@pass_ctx
def signoff_return(ctx: Ctx, plan_ident: str, ref: str, note: str, as_person: str | None) -> None:
    """Return an action to its lead with a note: it reopens and becomes due for an update."""
    _decide(ctx, plan_ident, ref, note, as_person, False)


@main.command("worker")
@click.option("--once", is_flag=True, help="One round, then exit.")
@click.option("--now", "now_text", help="Run as if it were this moment (testing, replaying).")
@click.option("--start", "start_text", help="Start the clock at this moment and let it run on (replaying, benchmarks: leases expire).")
@click.option("--interval", type=click.FloatRange(0, 86400, min_open=True), default=60.0, show_default=True, help="Seconds between rounds (each runs the due jobs; jobs are planned at most once a minute; the outbox is sent continuously).")
@click.option("--console-out", type=click.Path(dir_okay=False, path_type=Path), help="Append console messages here as JSON lines (default: print them).")
@pass_ctx
def worker_cmd(ctx: Ctx, once: bool, now_text: str | None, start_text: str | None, interval: float, console_out: Path | None) -> None:
    """Run the scheduler without the HTTP server: plan jobs, run them, deliver messages.

    Messages are sent as fast as each platform's limits allow, by a sender that keeps going
    beside the rounds; a round plans jobs (at most once a minute) and runs the due ones."""
    import asyncio
    import socket
    import time

    from bot.wiring import build_ports, close_ports

    ports = build_ports(ctx.settings, console_path=console_out, console_stream=sys.stdout, engine=ctx.engine)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if now_text and start_text:
        raise click.UsageError("give --now (a fixed moment) or --start (a clock that runs on), not both")
    fixed = parse_cli_datetime(now_text) if now_text else None
    start = parse_cli_datetime(start_text) if start_text else None
    began = utcnow()

    def warn_unsendable() -> None:
        warning = eng.unsendable_warning(eng.unsendable(ctx.engine, ports))
        if warning:
            click.echo(f"warning: {warning}", err=True)

    def clock() -> datetime:
        return fixed or (start + (utcnow() - began) if start else utcnow())

    async def once_only() -> None:
        warn_unsendable()
        now = clock()
        try:
            result = await eng.tick(ctx.engine, ports, now=now, worker=worker, cfg=ctx.settings.engine_config())
        finally:
            await close_ports(ports)
        click.echo(f"{now.isoformat()} planned {result['planned']}, ran {result['ran']}, sent {result['sent']}", err=True)
        warn_unsendable()

    async def run() -> None:
        from bot.services.delivery import Deliverer

        # The sender starts first, on what is already queued; planning and running jobs (the
        # engine's heavier imports and reads) follow in a thread, and wake it when they queue more.
        sender = Deliverer(ctx.engine, ports, worker=worker, clock=clock, lease=ctx.settings.lease, batch=ctx.settings.deliver_batch,
                           idle=min(interval, 1.0))
        sending = asyncio.create_task(sender.run())
        try:
            cfg = await asyncio.to_thread(ctx.settings.engine_config)
            await asyncio.to_thread(warn_unsendable)  # at start, and after every round below
            reported, planned_at = 0, float("-inf")
            while True:
                now = clock()
                # Jobs are planned ahead (due now or later), so reading the whole register for them
                # once a minute is enough however short the interval; due jobs run every round.
                plan = time.monotonic() - planned_at >= max(interval, eng.PLAN_EVERY)
                if plan:
                    planned_at = time.monotonic()
                planned, ran = await asyncio.to_thread(eng.plan_and_run, ctx.engine, now=now, worker=worker, cfg=cfg, plan=plan)
                if ran:
                    sender.wake()
                if sending.done():
                    sending.result()  # the sender stopped: say why
                click.echo(f"{now.isoformat()} planned {planned}, ran {len(ran)}, sent {sender.sent - reported}", err=True)
                reported = sender.sent
                await asyncio.to_thread(warn_unsendable)
                await asyncio.sleep(interval)
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            await close_ports(ports)

    asyncio.run(once_only() if once else run())


@main.command("chat")
@click.option("--as", "as_person", required=True, help="The person to play (name, e-mail or id).")
@click.option("--now", "now_text", help="Pretend it is this moment (default: now).")
@pass_ctx
def chat_cmd(ctx: Ctx, as_person: str, now_text: str | None) -> None:
    """Chat as a lead officer in the terminal: see nudges, answer in free text, confirm."""
    from handlers.console import ConsoleChat

    start = parse_cli_datetime(now_text) if now_text else None
    began = utcnow()
    clock = (lambda: start + (utcnow() - began)) if start else utcnow
    chat = ConsoleChat(ctx.engine, org=ctx.settings.org, person=as_person, clock=clock, out=click.echo, cfg=ctx.settings.engine_config())
    chat.start()
    if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 reach the chat as text it cleans, not a traceback
        sys.stdin.reconfigure(errors="surrogateescape")
    while True:
        try:
            line = input("you> ")
        except EOFError:
            break
        if not chat.handle(line):
            break
    click.echo("Bye.")



@main.command("demo")
@click.option("--db-file", type=click.Path(dir_okay=False, path_type=Path), default=Path("actionbot-demo.db"), show_default=True,
              help="SQLite file for the demo (recreated each run; your own register is not touched).")
@click.option("--chart-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("actionbot-demo-charts"), show_default=True)
@pass_ctx
def demo_cmd(ctx: Ctx, db_file: Path, chart_dir: Path) -> None:
    """A scripted fortnight on a sample plan: nudges, replies, escalation, sign-off, digest.

    The demo always runs in its own SQLite file (--db-file); DATABASE_URL and --db are not used,
    so your register is never touched."""
    from bot.config import Settings
    from bot.demo import Demo
    from storage.db import make_engine, normalise_url, upgrade

    own = normalise_url(ctx.settings.database_url)
    if own != normalise_url(Settings.model_fields["database_url"].default):
        from sqlalchemy.engine import make_url

        shown = make_url(own).render_as_string(hide_password=True)
        click.echo(f"(The demo runs in its own file {db_file}; your database {shown} is not used or changed.)")

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    engine = make_engine(str(db_file))
    upgrade(engine)
    Demo(engine, out=click.echo, chart_dir=chart_dir).run()
