"""Settings from the environment (and a .env file if present). Every variable is in the README."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field("sqlite:///actionbot.db", validation_alias=AliasChoices("DATABASE_URL"))
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HOST"))
    port: int = Field(3978, validation_alias=AliasChoices("PORT"))
    org: str = Field("default", validation_alias=AliasChoices("ACTIONBOT_ORG"))
    environment: str = Field("development", validation_alias=AliasChoices("ACTIONBOT_ENV"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    auto_migrate: bool = Field(True, validation_alias=AliasChoices("ACTIONBOT_AUTO_MIGRATE"))

    @property
    def production(self) -> bool:
        return self.environment.lower() in ("prod", "production")
