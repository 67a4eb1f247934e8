"""Settings from the environment (and a .env file if present). Every variable is in the README."""

from __future__ import annotations

from datetime import timedelta

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field("sqlite:///actionbot.db", validation_alias=AliasChoices("DATABASE_URL"))
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HOST"))
    port: int = Field(3978, validation_alias=AliasChoices("PORT"))
    org: str = Field("default", validation_alias=AliasChoices("ACTIONBOT_ORG"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    auto_migrate: bool = Field(True, validation_alias=AliasChoices("ACTIONBOT_AUTO_MIGRATE"))

    working_hours: str = Field("09:00-17:00", validation_alias=AliasChoices("ACTIONBOT_WORKING_HOURS"))
    holidays: str = Field("GB-ENG", validation_alias=AliasChoices("ACTIONBOT_HOLIDAYS"))
    escalate_after: int = Field(2, validation_alias=AliasChoices("ACTIONBOT_ESCALATE_AFTER"))
    digest_day: str = Field("mon", validation_alias=AliasChoices("ACTIONBOT_DIGEST_DAY"))
    digest_time: str = Field("09:00", validation_alias=AliasChoices("ACTIONBOT_DIGEST_TIME"))
    stale_weeks: int = Field(4, validation_alias=AliasChoices("ACTIONBOT_STALE_WEEKS"))
    chart_dir: str = Field("charts", validation_alias=AliasChoices("ACTIONBOT_CHART_DIR"))
    tick_seconds: float = Field(60.0, validation_alias=AliasChoices("ACTIONBOT_TICK_SECONDS"))
    lease_seconds: float = Field(120.0, validation_alias=AliasChoices("ACTIONBOT_LEASE_SECONDS"))
    deliver_batch: int = Field(50, validation_alias=AliasChoices("ACTIONBOT_DELIVER_BATCH"))

    slack_bot_token: str = Field("", validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    slack_signing_secret: str = Field("", validation_alias=AliasChoices("SLACK_SIGNING_SECRET"))
    slack_app_token: str = Field("", validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL"))
    slack_channel_rate: float = Field(1.0, validation_alias=AliasChoices("SLACK_CHANNEL_RATE"))
    slack_workspace_rate: float = Field(20.0, validation_alias=AliasChoices("SLACK_WORKSPACE_RATE"))

    @property
    def slack_configured(self) -> bool:
        """Slack runs when the bot token is set with either the signing secret (HTTP) or an
        app-level token (Socket Mode)."""
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    # "production" makes missing chat credentials an error instead of a warning (local mode)
    env: str = Field("development", validation_alias=AliasChoices("ACTIONBOT_ENV"))
    # Microsoft Teams (Azure Bot registration); none set: local mode for the Agents Playground
    teams: bool = Field(True, validation_alias=AliasChoices("ACTIONBOT_TEAMS"))  # false: no /api/messages, no Teams port
    microsoft_app_id: str = Field("", validation_alias=AliasChoices("MicrosoftAppId", "MICROSOFT_APP_ID"))
    microsoft_app_password: str = Field("", validation_alias=AliasChoices("MicrosoftAppPassword", "MICROSOFT_APP_PASSWORD"))
    microsoft_app_tenant_id: str = Field("", validation_alias=AliasChoices("MicrosoftAppTenantId", "MICROSOFT_APP_TENANT_ID"))
    teams_app_rate: float = Field(30.0, validation_alias=AliasChoices("ACTIONBOT_TEAMS_APP_RATE"))  # proactive sends a second, app-wide

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
