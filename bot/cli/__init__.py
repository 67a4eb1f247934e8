"""`actionbot`: the administrator's command line.

Sub-commands live in sibling modules and register themselves on `main`. Errors meant for
people (`ActionbotError`, `InvalidValue`) print one line on stderr and exit 1; nothing is
written when a command fails (each command is one transaction).
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.domain.limits import check_date, shown
from bot.domain.model import InvalidValue
from bot.errors import ActionbotError, NotFound

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from bot.config import Settings
    from storage.tables import Organisation

# Commands that run on (a server, the scheduler, a terminal chat, the scripted demo) keep the
# cyclic garbage collector; every other command is one short transaction and turns it off.
LONG_RUNNING = frozenset({"serve", "worker", "chat", "demo"})
T = TypeVar("T")
DEFAULT_ORG = "default"  # Settings.org's default: made by the first write, never by a read (tests/test_newcomer.py checks they agree)


class LazyModule:
    """A module imported when a command first uses it, so `actionbot --help` and `actionbot
    parse` do not load SQLAlchemy, SQLModel, Alembic and the services (about a second). Used
    as ``if TYPE_CHECKING: from storage import repo / else: repo = LazyModule("storage.repo")``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


@dataclass
class Ctx:
    overrides: dict[str, Any] = field(default_factory=dict)
    _engine: Engine | None = field(default=None, repr=False)

    @cached_property
    def settings(self) -> Settings:
        """Read when a command first needs it."""
        from bot.config import Settings, SettingsError

        try:
            return Settings(**self.overrides)
        except SettingsError as e:
            raise ActionbotError(f"a setting is wrong ({e}); see the Configuration table in the README") from None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from storage.db import upgrade

            engine, current = self.connect()
            if self.settings.auto_migrate and not current:
                upgrade(engine)
            self._engine = engine
        return self._engine

    def close(self) -> None:
        """Let go of the database's connections when the command ends."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def connect(self) -> tuple[Engine, bool]:
        """The engine for the configured URL and whether its schema is the newest (one SELECT
        when it is), or an error saying why the URL cannot be used or the database cannot be
        reached."""
        from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

        from storage.db import current_revision, head_revision, make_engine, safe_url, schema_is_current

        url = self.settings.database_url
        try:
            engine = make_engine(url)
        except (ArgumentError, NoSuchModuleError, ValueError) as e:
            raise ActionbotError(f"the database URL {safe_url(url)} is not one actionbot can use ({str(e).splitlines()[0]}); "
                                 "write sqlite:///path/to/file.db or postgresql://user@host:5432/dbname") from None
        try:
            return engine, schema_is_current(engine) or current_revision(engine) == head_revision()
        except DBAPIError as e:
            engine.dispose()
            reason = str(e.orig).strip().splitlines()[0] if str(e.orig).strip() else type(e.orig).__name__
            raise ActionbotError(f"cannot reach the database {safe_url(url)}: {reason}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        from storage.db import session_scope

        with session_scope(self.engine) as s:
            yield s

    @contextmanager
    def reading(self, find: Callable[[Any, int], T | None]) -> Iterator[tuple[Any, T]]:
        """A source to read the register from (for storage.snapshots) and what `find` found
        in it, given the source and the organisation's id.

        For a one-shot read of a database already at the newest schema: a bare driver
        connection in a transaction that only reads (storage.rawdb), with no SQLAlchemy
        imported at all (importing the database stack costs a command like `due` or `digest`
        more than its reads). Whenever that is not plain (the organisation or what `find`
        looks for not found there, a database to create or migrate, an unusual URL), the
        whole way: a session, `org()`, and `find` again, which then finds or says why not."""
        from storage.rawdb import close, open_for_reading
        from storage.snapshots import org_id_of

        db = open_for_reading(self.settings.database_url) if self._engine is None else None
        found: T | None = None
        if db is not None:
            try:
                org_id = org_id_of(db, self.settings.org)
                found = find(db, org_id) if org_id is not None else None
            except Exception:  # whatever it is, the whole way words it
                found = None
            if found is None:
                close(db)
                db = None
        if db is not None:
            try:
                yield db, found  # type: ignore[misc]
            finally:
                close(db)
            return
        with self.session() as s:
            org_id = self.org(s).id or 0
            got = find(s, org_id)
            if got is None:
                raise ActionbotError("nothing found to read")  # `find` raises its own NotFound on the whole way
            yield s, got

    def org(self, session: Session, *, write: bool = False) -> Organisation:
        """The organisation --org / ACTIONBOT_ORG names. Reading never creates one: an unknown
        name is an error listing those that exist (`actionbot org add` creates one), and the
        embedded default reads as empty until something is written to it. `write=True` (import,
        plan create, person add, org link) creates the embedded default on first use."""
        from storage import repo
        from storage.tables import Organisation

        slug = self.settings.org
        found = repo.find_org(session, slug)
        if found is not None:
            return found
        if slug == DEFAULT_ORG:
            return repo.get_or_create_org(session, slug) if write else Organisation(slug=slug, name=slug)
        existing = repo.org_slugs(session)
        known = f"the organisations are: {', '.join(existing)}" if existing else "there are none yet"
        raise NotFound(f"no organisation {slug!r} ({known}); check --org / ACTIONBOT_ORG, "
                       f"or create it with `actionbot org add {slug}`")


pass_ctx = click.make_pass_decorator(Ctx)


def utcnow() -> datetime:
    return datetime.now(UTC)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if hasattr(v, "to_json"):
        return v.to_json()
    raise TypeError(f"cannot write {type(v).__name__} as JSON")


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y", "%d %b %y")


def parse_ok(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text.strip(), fmt)  # noqa: DTZ007 - only whether it parses
    except ValueError:
        return False
    return True


def parse_cli_date(text: str, what: str = "date") -> date:
    """Dates typed on the command line: 2026-11-30, 30/11/2026, 30 Nov 2026, 30 November 2026,
    within the dates actionbot works with (``bot.domain.limits``)."""
    t = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            d = datetime.strptime(t, fmt).date()  # noqa: DTZ007 - only the calendar date is kept
        except ValueError:
            continue
        return check_date(d, what)
    raise InvalidValue(f"{what} {shown(text)} is not a date; write it as 2026-11-30 or 30/11/2026")


def local_today() -> date:
    """Today on this machine's clock, the default day of a command given no date."""
    return datetime.now().astimezone().date()


def parse_cli_datetime(text: str, tz: str = "Europe/London") -> datetime:
    """A moment typed on the command line, in `tz` unless it says otherwise: 2026-11-23T10:00,
    2026-11-23 10:00, 2026-11-23T10:00Z, or a date alone (09:00)."""
    from zoneinfo import ZoneInfo

    t = text.strip().replace(" ", "T", 1)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        if not any(parse_ok(text, fmt) for fmt in _DATE_FORMATS):
            raise InvalidValue(f"{shown(text)} is not a date and time; write it as 2026-11-23T10:00") from None
        d = parse_cli_date(text, "the moment")
        dt = datetime(d.year, d.month, d.day, 9, 0, tzinfo=ZoneInfo(tz))
    check_date(dt.date(), "the moment")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(UTC)


def _one_line(message: str, limit: int = 1000) -> str:
    """A message as one printable line: no newlines, no unencodable characters, not a flood."""
    from bot.domain.limits import bad_text

    line = " ".join(message.split())
    if bad_text(line):
        line = "".join("\ufffd" if bad_text(ch) else ch for ch in line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {_one_line(message)}", err=True)
    sys.exit(code)


# The module of bot.cli defining each command: `actionbot X` imports X's module only, not every
# command's definitions (`--help` lists them all, so it imports them all). A test checks this
# map against the modules.
COMMAND_MODULES = {
    "action": "register", "audit": "register", "chat": "engine", "db": "db", "demo": "engine", "digest": "engine",
    "due": "engine", "export": "imports", "import": "imports", "org": "org", "parse": "engine", "person": "register",
    "plan": "register", "role": "register", "serve": "serve", "signoff": "engine", "teams": "teams", "update": "register",
    "worker": "engine",
}


class ActionbotGroup(click.Group):
    """Every failure a person can cause ends as one clear line on stderr and a non-zero exit,
    never a traceback: errors meant for people (`ActionbotError`, `InvalidValue`) and misuse of
    the command line exit 1 and 2; the database refusing or not answering, and files that cannot
    be written, exit 1 with what happened. Each command is one transaction, so nothing was saved.

    Commands are defined in sibling modules, imported when a command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"bot.cli.{COMMAND_MODULES[cmd_name]}")  # its decorators add it to `main`
        return super().get_command(ctx, cmd_name)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from bot.domain.limits import bad_text

        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        args = list(sys.argv[1:] if args is None else args)
        for arg in args:
            if problem := bad_text(arg):
                _fail(f"an argument contains {problem}: {shown(arg)}; nothing was done", 2)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            _fail("aborted; nothing was saved")
        except click.UsageError as e:
            where = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
            _fail(e.format_message() + where, e.exit_code)
        except click.ClickException as e:
            _fail(e.format_message(), e.exit_code)
        except (ActionbotError, InvalidValue) as e:
            _fail(str(e))
        except OSError as e:
            where = f": {e.filename}" if e.filename else ""
            _fail(f"{e.strerror or e}{where}")
        except Exception as e:
            if (said := _database_failure(e)) is None:
                raise
            _fail(said)
        sys.exit(rv if isinstance(rv, int) else 0)


def _database_failure(e: Exception) -> str | None:
    """What to tell a person when the database refused or failed a command (SQLAlchemy is only
    looked at if a command loaded it)."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    if isinstance(e, DBAPIError):
        first = str(e.orig).strip().splitlines()[0] if str(e.orig).strip() else type(e.orig).__name__
        return f"the database refused this ({first}); nothing was saved"
    if isinstance(e, SQLAlchemyError):
        return f"database error: {str(e).splitlines()[0] if str(e) else type(e).__name__}; nothing was saved"
    return None


@click.group(cls=ActionbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "database_url", envvar="DATABASE_URL", help="Database URL (default: sqlite:///actionbot.db; env DATABASE_URL).")
@click.option("--org", envvar="ACTIONBOT_ORG", help="Organisation (workspace) to act in (default: 'default'; env ACTIONBOT_ORG).")
@click.version_option(package_name="actionbot")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, org: str | None) -> None:
    """actionbot keeps improvement-plan action registers and chases their updates in chat.

    Every read command takes --json. Dates are written 2026-11-30 or 30/11/2026.
    """
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["DATABASE_URL"] = database_url
    if org:
        overrides["ACTIONBOT_ORG"] = org
    ctx.obj = Ctx(overrides)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand not in LONG_RUNNING and gc.isenabled():
        # A one-shot command makes many small objects with no reference cycles (snapshots,
        # rows, JSON dicts) and ends within seconds: the collector's passes over a heap that
        # keeps growing only cost time (a third of `due --json` on 20,000 actions) and free
        # next to nothing (reference counting frees these; the 10,000-row import peaks at the same RSS). Back on when the command ends, for callers
        # running commands in their own process (tests, CliRunner).
        gc.disable()
        ctx.call_on_close(gc.enable)


