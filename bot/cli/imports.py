"""`actionbot import|export`: plans in and out of the register as the files councils use."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli import Ctx, emit_json, local_today, main, parse_cli_date, pass_ctx, utcnow
from bot.domain.model import InvalidValue
from bot.domain.rag import fmt_date


def _mapping(pairs: tuple[str, ...]) -> dict[str, str] | None:
    out = {}
    for p in pairs:
        header, sep, fld = p.partition("=")
        if not sep or not header.strip() or not fld.strip():
            raise InvalidValue(f"--map takes 'Column heading=field', e.g. 'Key milestones=text', not {p!r}")
        out[header.strip()] = fld.strip()
    return out or None


@main.command("import")
@click.argument("path", metavar="PATH", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--plan-name", help="Name for the plan (default: the title found in the file).")
@click.option("--plan", "plan_ident", help="Re-import into this existing plan (default: the plan with the same name or file).")
@click.option("--map", "maps", multiple=True, metavar="HEADING=FIELD",
              help="Override how a column is read, e.g. --map 'Key milestones=text' (fields: ref, text, lead, target, progress, rag, status, "
                   "outputs, outcome, evidence, links, priority, achievement). Repeat.")
@click.option("--organisation", "organisation", metavar="NAME",
              help="The organisation's name as the plan states it, when the file does not say (e.g. 'Anytown Council').")
@click.option("--country", metavar="CC",
              help="Country code the file's numeric dates are written in (GB day-first, US month-first), kept as the plan's; used "
                   "only when the file's own dates do not settle it (a '25/07/2025' does). Default: the plan's, else the organisation's (GB).")
@click.option("--dry-run", is_flag=True, help="Store nothing; show what would be stored.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the same shape with or without --dry-run).")
@pass_ctx
def import_cmd(ctx: Ctx, path: Path, plan_name: str | None, plan_ident: str | None, maps: tuple[str, ...], organisation: str | None,
               country: str | None, dry_run: bool, as_json: bool) -> None:
    """Load a plan from .xlsx, .docx, .csv, .txt or .md (PATH '-' reads pasted text from stdin).

    Re-importing updates actions by ref (no duplicates) and reports what was added, changed
    and removed; history is kept. One transaction: a file that fails changes nothing."""
    from bot.domain.country import normalise_country
    from bot.importer import PlanFileError, read_plan, read_plan_text

    country = normalise_country(country) if country is not None else None
    try:
        if str(path) == "-":
            # Bytes, decoded here: whatever the terminal's locale, text that is not UTF-8 keeps its
            # bad bytes as lone surrogates and is refused with a clear message, not a traceback.
            raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8", "surrogateescape")
            pasted = raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
            parsed = read_plan_text(pasted, source="pasted", plan_name=plan_name, mapping=_mapping(maps), country=country)
        else:
            if not path.exists():
                raise InvalidValue(f"no file {str(path)!r}")
            parsed = read_plan(path, plan_name=plan_name, mapping=_mapping(maps), country=country)
    except PlanFileError as e:
        message = str(e)  # most messages name the file already: never twice ("plan.pdf: plan.pdf: ...")
        raise InvalidValue(message if path.name in message else f"{path.name}: {message}") from None
    if organisation and organisation.strip():
        from bot.importer.check import NO_ORGANISATION

        parsed.organisation = organisation.strip()
        parsed.warnings = [w for w in parsed.warnings if w != NO_ORGANISATION]
    if not parsed.actions:
        raise InvalidValue(f"{path.name}: no actions found; nothing was stored" + (f" ({parsed.warnings[0]})" if parsed.warnings else ""))
    # The database stack is imported once the file is read: its modules then take the room the
    # reading's working rows (freed by now) took, rather than adding to it.
    from bot.services.imports import import_plan
    from storage import repo

    cfg = ctx.settings.engine_config()
    with ctx.session() as s:
        org = ctx.org(s, write=not dry_run)
        trial = s.begin_nested() if org.id is None else None  # a dry run before the default organisation exists
        if trial is not None:
            org = ctx.org(s, write=True)  # made inside the savepoint, gone with it: a dry run stores nothing
        result = import_plan(s, org=org, parsed=parsed, actor=repo.actor_for(s, None, operator=True), now=utcnow(),
                             plan_ident=plan_ident, plan_name=plan_name, dry_run=dry_run,
                             holiday_country=cfg.holiday_country, holiday_subdiv=cfg.holiday_subdiv, country=country)
        if trial is not None:
            trial.rollback()
    if as_json:  # the parsed plan as JSON only when asked for (a fifth of a second at 10,000 actions)
        data = parsed.to_json()
        data["warnings"] = result.warnings
        data["result"] = result.to_json()
        emit_json(data)
        return
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {len(parsed.actions)} actions in {len(parsed.priorities)} priorities into plan {result.plan_slug}"
               f"{' (new)' if result.created_plan else ''}: {len(result.added)} added, {len(result.changed)} changed, "
               f"{len(result.removed)} removed, {result.unchanged} unchanged; {len(result.people_created)} people created")
    if result.chase_from:
        click.echo(f"  lead officers are chased from {fmt_date(result.chase_from)}: every overdue action is asked about then "
                   f"(map people to Slack or Teams first; change the day with `actionbot plan set {result.plan_slug} --chase-from DATE`)")
    for w in result.warnings:
        click.echo(f"  warning: {w}")
    if parsed.extra_columns:
        click.echo(f"  kept as extra fields: {', '.join(parsed.extra_columns)}")


@main.command("export")
@click.argument("plan_ident", metavar="PLAN")
@click.option("--to", "dest", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.xlsx, FILE.docx or FILE.csv")
@click.option("--as-of", "as_of", help="Position date shown in the report (default today).")
@pass_ctx
def export_cmd(ctx: Ctx, plan_ident: str, dest: Path, as_of: str | None) -> None:
    """Write a plan as the committee-report layout (grouped by priority, RAG colours, legend)."""
    from bot.services.exports import plan_report
    from storage import repo
    from storage.exporters import EXPORT_FORMATS, export_plan

    if dest.suffix.lower() not in EXPORT_FORMATS:
        raise InvalidValue(f"cannot export to {dest.name!r}: use one of {', '.join(EXPORT_FORMATS)}")
    folder = dest.resolve().parent
    if not folder.is_dir():
        raise InvalidValue(f"there is no folder {str(folder)!r} to write {dest.name!r} into; create it first")
    if dest.is_dir():
        raise InvalidValue(f"{str(dest)!r} is a folder; give a file name such as {str(dest / ('plan' + dest.suffix))!r}")
    day = parse_cli_date(as_of, "as-of date") if as_of else local_today()
    with ctx.session() as s:
        report = plan_report(s, repo.get_plan(s, ctx.org(s).id or 0, plan_ident), as_of=day)
    out = export_plan(report, dest)
    n = sum(len(p.actions) for p in report.priorities)
    click.echo(f"wrote {out} ({n} actions, {len(report.priorities)} priorities)")
