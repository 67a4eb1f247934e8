"""Settings from the environment (and a .env file if present). Every variable is in the README.

Read by hand, as pydantic-settings read them before: keyword overrides, then the environment,
then a `.env` file in the working directory (python-dotenv's syntax, read only when the file
is there), then the default; variable names in any case; names that are not settings ignored;
whole numbers, numbers and true/false read as pydantic reads them (surrounding space allowed
in numbers, "1_000", "80.0"; true/false as 1/0, yes/no, y/n, on/off, t/f in any case). A
wrong value raises SettingsError naming every variable that is wrong. Importing pydantic cost
every command a sixth of a second, more than `actionbot due`'s whole budget (issue 13);
tests/test_config.py pins what is kept.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar


class SettingsError(ValueError):
    """Settings that cannot be read: ``problems`` holds (variable, what is wrong) for each, in
    the order Settings declares them; the message lists them as `NAME: problem; NAME: problem`."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems))


class Setting:
    """One setting: its default (whose type is the setting's) and the variable names it is
    read from, the first preferred when more than one is set."""

    __slots__ = ("default", "names")

    def __init__(self, default: Any, names: tuple[str, ...]) -> None:
        self.default: Any = default  # a str, int, float or bool (Any, as pydantic's FieldInfo.default is, for its readers)
        self.names = names

    def __repr__(self) -> str:
        return f"Setting({self.default!r}, {self.names!r})"


def setting(default: Any, *names: str) -> Any:
    """A setting read from the variables `names` (typed Any so the class body can declare
    `port: int = setting(3978, "PORT")`; an instance holds the value read)."""
    return Setting(default, names)


class Settings:
    # The settings, by field name (named as pydantic's was, which `actionbot demo` and tests read defaults from).
    model_fields: ClassVar[dict[str, Setting]]

    database_url: str = setting("sqlite:///actionbot.db", "DATABASE_URL")
    host: str = setting("127.0.0.1", "HOST")
    port: int = setting(3978, "PORT")
    org: str = setting("default", "ACTIONBOT_ORG")
    log_level: str = setting("INFO", "LOG_LEVEL")
    auto_migrate: bool = setting(True, "ACTIONBOT_AUTO_MIGRATE")

    working_hours: str = setting("09:00-17:00", "ACTIONBOT_WORKING_HOURS")
    holidays: str = setting("GB-ENG", "ACTIONBOT_HOLIDAYS")
    escalate_after: int = setting(2, "ACTIONBOT_ESCALATE_AFTER")
    digest_day: str = setting("mon", "ACTIONBOT_DIGEST_DAY")
    digest_time: str = setting("09:00", "ACTIONBOT_DIGEST_TIME")
    stale_weeks: int = setting(4, "ACTIONBOT_STALE_WEEKS")
    chart_dir: str = setting("charts", "ACTIONBOT_CHART_DIR")
    tick_seconds: float = setting(60.0, "ACTIONBOT_TICK_SECONDS")
    lease_seconds: float = setting(120.0, "ACTIONBOT_LEASE_SECONDS")
    deliver_batch: int = setting(50, "ACTIONBOT_DELIVER_BATCH")

    slack_bot_token: str = setting("", "SLACK_BOT_TOKEN")
    slack_signing_secret: str = setting("", "SLACK_SIGNING_SECRET")
    slack_app_token: str = setting("", "SLACK_APP_TOKEN")
    slack_api_url: str = setting("https://slack.com/api/", "SLACK_API_URL")
    slack_channel_rate: float = setting(1.0, "SLACK_CHANNEL_RATE")
    slack_workspace_rate: float = setting(20.0, "SLACK_WORKSPACE_RATE")

    # "production" makes missing chat credentials an error instead of a warning (local mode)
    env: str = setting("development", "ACTIONBOT_ENV")
    # Microsoft Teams (Azure Bot registration); none set: local mode for the Agents Playground
    teams: bool = setting(True, "ACTIONBOT_TEAMS")  # false: no /api/messages, no Teams port
    microsoft_app_id: str = setting("", "MicrosoftAppId", "MICROSOFT_APP_ID")
    microsoft_app_password: str = setting("", "MicrosoftAppPassword", "MICROSOFT_APP_PASSWORD")
    microsoft_app_tenant_id: str = setting("", "MicrosoftAppTenantId", "MICROSOFT_APP_TENANT_ID")
    teams_app_rate: float = setting(30.0, "ACTIONBOT_TEAMS_APP_RATE")  # proactive sends a second, app-wide

    def __init__(self, **overrides: Any) -> None:
        """The settings from `overrides` (by variable name, e.g. DATABASE_URL=...), the
        environment, ./.env and the defaults, in that order; SettingsError if any is wrong."""
        given: dict[str, Any] = {}
        for key in overrides:
            given.setdefault(key.lower(), overrides[key])  # the first of two spellings of a name
        environ = {key.lower(): value for key, value in os.environ.items()}  # the last, as os.environ lists them
        dotenv = _read_env_file(".env")
        problems: list[tuple[str, str]] = []
        for field, var in self.model_fields.items():
            value: Any = var.default
            found = _find(var.names, given, environ, dotenv)
            if found is not None:
                name, raw = found
                try:
                    value = _READ[type(var.default)](raw)
                except _Wrong as e:
                    problems.append((name, str(e)))
            setattr(self, field, value)
        if problems:
            raise SettingsError(problems)

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{field}={getattr(self, field)!r}' for field in self.model_fields)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, field) == getattr(other, field) for field in self.model_fields)

    @property
    def slack_configured(self) -> bool:
        """Slack runs when the bot token is set with either the signing secret (HTTP) or an
        app-level token (Socket Mode)."""
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def lease(self) -> timedelta:
        """How long a claimed job or message is a worker's before another may take it."""
        return timedelta(seconds=max(5.0, self.lease_seconds))

    def engine_config(self):
        """The engine's settings, checked: a wrong value stops start-up with a clear message."""
        from datetime import time
        from pathlib import Path

        from bot.domain.model import InvalidValue
        from bot.services.reports import EngineConfig

        def clock(text: str, name: str) -> time:
            try:
                return time.fromisoformat(text.strip())
            except ValueError:
                raise InvalidValue(f"{name} {text!r} is not a time of day like 09:00") from None

        start_text, _, end_text = self.working_hours.partition("-")
        start, end = clock(start_text, "ACTIONBOT_WORKING_HOURS start"), clock(end_text, "ACTIONBOT_WORKING_HOURS end")
        if not start < end:
            raise InvalidValue(f"ACTIONBOT_WORKING_HOURS {self.working_hours!r}: the start must be before the end")
        if self.holidays.strip().lower() in ("", "none"):
            country, subdiv = None, None
        else:
            country, _, sub = self.holidays.strip().partition("-")
            country, subdiv = country.upper(), (sub.upper() or None)
        days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        if self.digest_day.strip().lower()[:3] not in days:
            raise InvalidValue(f"ACTIONBOT_DIGEST_DAY {self.digest_day!r} is not a weekday (mon..sun)")
        return EngineConfig(
            working_hours=(start, end),
            holiday_country=country,
            holiday_subdiv=subdiv,
            escalate_after=max(1, self.escalate_after),
            digest_weekday=days.index(self.digest_day.strip().lower()[:3]),
            digest_time=clock(self.digest_time, "ACTIONBOT_DIGEST_TIME"),
            stale_weeks=max(1, self.stale_weeks),
            chart_dir=Path(self.chart_dir),
            lease=self.lease,
            deliver_batch=max(1, self.deliver_batch),
        )


Settings.model_fields = {name: value for name, value in vars(Settings).items() if isinstance(value, Setting)}
for _field, _var in Settings.model_fields.items():  # each default's type is the one its annotation names
    assert type(_var.default).__name__ == Settings.__annotations__[_field], _field
    delattr(Settings, _field)  # an instance holds its own value; the class has none, as with pydantic
del _field, _var


def _find(names: tuple[str, ...], given: dict[str, Any], *sources: Mapping[str, str | None]) -> tuple[str, Any] | None:
    """The first of `names` (in any case) given as an override, else set in the first of
    `sources` that sets one (None there is a name with no value: not set), with its value."""
    for name in names:
        if name.lower() in given:
            return name, given[name.lower()]
    for source in sources:
        for name in names:
            if source.get(name.lower()) is not None:
                return name, source[name.lower()]
    return None


def _read_env_file(path: str) -> dict[str, str | None]:
    """The variables in the .env file at `path` (names lower-cased; None for a name with no
    value), or none when there is no such file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return {}
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        return {}
    from dotenv import dotenv_values  # 10-15 ms to import: only when there is a file to read

    return {key.lower(): value for key, value in dotenv_values(path, encoding="utf-8").items()}


class _Wrong(ValueError):
    """A value that cannot be read as its setting's type; the message says why (pydantic's words)."""


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_WHOLE = re.compile(r"([+-]?[0-9]+(?:_[0-9]+)*)(?:\.0+)?")


def _text(value: Any, undecodable: str) -> str | None:
    """`value` as text when it is text (bytes decoded as UTF-8, or `undecodable` is the error)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise _Wrong(undecodable) from None
    return None


def _read_str(value: Any) -> str:
    text = _text(value, "Input should be a valid string, unable to parse raw data as a unicode string")
    if text is None:
        raise _Wrong("Input should be a valid string")
    return text


def _read_int(value: Any) -> int:
    text = _text(value, "Input should be a valid integer, unable to parse string as an integer")
    if text is not None:
        whole = _WHOLE.fullmatch(text.strip())
        if whole is None:
            raise _Wrong("Input should be a valid integer, unable to parse string as an integer")
        return int(whole[1])
    if isinstance(value, int):
        return int(value)  # True is 1
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Wrong("Input should be a finite number")
        if not value.is_integer():
            raise _Wrong("Input should be a valid integer, got a number with a fractional part")
        return int(value)
    raise _Wrong("Input should be a valid integer")


def _read_float(value: Any) -> float:
    text = _text(value, "Input should be a valid number, unable to parse string as a number")
    if text is not None:
        text = text.strip()
        try:
            if not text.isascii():  # float() would take other scripts' digits
                raise ValueError(text)
            return float(text)  # "1e3", "1_000.5", "inf", "nan" as pydantic reads them
        except ValueError:
            raise _Wrong("Input should be a valid number, unable to parse string as a number") from None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            pass
    raise _Wrong("Input should be a valid number")


def _read_bool(value: Any) -> bool:
    text = _text(value, "Input should be a valid boolean, unable to interpret input")
    if text is not None:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise _Wrong("Input should be a valid boolean, unable to interpret input")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        raise _Wrong("Input should be a valid boolean, unable to interpret input")
    raise _Wrong("Input should be a valid boolean")


_READ: dict[type, Any] = {str: _read_str, int: _read_int, float: _read_float, bool: _read_bool}
