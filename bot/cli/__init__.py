"""`actionbot`: the administrator's command line.

Sub-commands live in sibling modules and register themselves on `main`. Errors meant for
people (`ActionbotError`, `InvalidValue`) print one line on stderr and exit 1; nothing is
written when a command fails (each command is one transaction).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from bot.domain.model import InvalidValue
from bot.errors import ActionbotError, NotFound

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from bot.config import Settings
    from storage.tables import Organisation

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
        """Read when a command first needs it (pydantic-settings costs a fifth of a second)."""
        from bot.config import Settings

        return Settings(**self.overrides)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from storage.db import current_revision, head_revision, make_engine, schema_is_current, upgrade

            self._engine = make_engine(self.settings.database_url)
            if (self.settings.auto_migrate and not schema_is_current(self._engine)
                    and current_revision(self._engine) != head_revision()):
                upgrade(self._engine)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        from storage.db import session_scope

        with session_scope(self.engine) as s:
            yield s

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


def parse_cli_date(text: str, what: str = "date") -> date:
    """Dates typed on the command line: 2026-11-30, 30/11/2026, 30 Nov 2026, 30 November 2026."""
    t = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y", "%d %b %y"):
        try:
            return datetime.strptime(t, fmt).date()  # noqa: DTZ007 - only the calendar date is kept
        except ValueError:
            continue
    raise InvalidValue(f"{what} {text!r} is not a date; write it as 2026-11-30 or 30/11/2026")


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
        try:
            d = parse_cli_date(text)
        except InvalidValue:
            raise InvalidValue(f"{text!r} is not a date and time; write it as 2026-11-23T10:00") from None
        dt = datetime(d.year, d.month, d.day, 9, 0, tzinfo=ZoneInfo(tz))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(UTC)


class ActionbotGroup(click.Group):
    """Turns errors meant for people into one clear line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ActionbotError, InvalidValue) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)


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


def _register_commands() -> None:
    from bot.cli import db, engine, imports, org, register, serve, teams  # noqa: F401  (each adds its commands to main)


_register_commands()
