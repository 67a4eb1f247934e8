"""Settings: every variable in the README's Configuration table, read from keyword overrides,
the environment and a .env file in the working directory (in that order of precedence), with
the names matched in any case, unknown names ignored, and values checked: a wrong one is an
error naming the variable."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]

# field: (env names, the first preferred; default)
FIELDS: dict[str, tuple[tuple[str, ...], object]] = {
    "database_url": (("DATABASE_URL",), "sqlite:///actionbot.db"),
    "host": (("HOST",), "127.0.0.1"),
    "port": (("PORT",), 3978),
    "org": (("ACTIONBOT_ORG",), "default"),
    "log_level": (("LOG_LEVEL",), "INFO"),
    "auto_migrate": (("ACTIONBOT_AUTO_MIGRATE",), True),
    "working_hours": (("ACTIONBOT_WORKING_HOURS",), "09:00-17:00"),
    "holidays": (("ACTIONBOT_HOLIDAYS",), "GB-ENG"),
    "escalate_after": (("ACTIONBOT_ESCALATE_AFTER",), 2),
    "digest_day": (("ACTIONBOT_DIGEST_DAY",), "mon"),
    "digest_time": (("ACTIONBOT_DIGEST_TIME",), "09:00"),
    "stale_weeks": (("ACTIONBOT_STALE_WEEKS",), 4),
    "chart_dir": (("ACTIONBOT_CHART_DIR",), "charts"),
    "tick_seconds": (("ACTIONBOT_TICK_SECONDS",), 60.0),
    "lease_seconds": (("ACTIONBOT_LEASE_SECONDS",), 120.0),
    "deliver_batch": (("ACTIONBOT_DELIVER_BATCH",), 50),
    "slack_bot_token": (("SLACK_BOT_TOKEN",), ""),
    "slack_signing_secret": (("SLACK_SIGNING_SECRET",), ""),
    "slack_app_token": (("SLACK_APP_TOKEN",), ""),
    "slack_api_url": (("SLACK_API_URL",), "https://slack.com/api/"),
    "slack_channel_rate": (("SLACK_CHANNEL_RATE",), 1.0),
    "slack_workspace_rate": (("SLACK_WORKSPACE_RATE",), 20.0),
    "env": (("ACTIONBOT_ENV",), "development"),
    "teams": (("ACTIONBOT_TEAMS",), True),
    "microsoft_app_id": (("MicrosoftAppId", "MICROSOFT_APP_ID"), ""),
    "microsoft_app_password": (("MicrosoftAppPassword", "MICROSOFT_APP_PASSWORD"), ""),
    "microsoft_app_tenant_id": (("MicrosoftAppTenantId", "MICROSOFT_APP_TENANT_ID"), ""),
    "teams_app_rate": (("ACTIONBOT_TEAMS_APP_RATE",), 30.0),
}
# A value written as text for each type, and what it reads as.
SAMPLE = {str: ("text", "text"), int: ("7", 7), float: ("2.5", 2.5), bool: ("false", False)}


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting in the environment (in any case) and a working directory with no .env."""
    names = {name.lower() for names, _ in FIELDS.values() for name in names}
    for key in list(os.environ):
        if key.lower() in names:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def values(s: Settings) -> dict[str, object]:
    return {name: getattr(s, name) for name in FIELDS}


def changed(s: Settings) -> dict[str, object]:
    return {name: v for name, v in values(s).items() if v != FIELDS[name][1]}


def test_the_defaults_and_their_types() -> None:
    s = Settings()
    assert values(s) == {name: default for name, (_, default) in FIELDS.items()}
    for name, (_, default) in FIELDS.items():
        assert type(getattr(s, name)) is type(default), name
    assert Settings.model_fields["org"].default == "default"
    assert Settings.model_fields["database_url"].default == "sqlite:///actionbot.db"
    assert sorted(Settings.model_fields) == sorted(FIELDS)


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_setting_is_read_from_each_of_its_names(field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    names, default = FIELDS[field]
    text, value = SAMPLE[type(default)]
    for name in names:
        monkeypatch.setenv(name, text)
        assert changed(Settings()) == {field: value}, name
        monkeypatch.delenv(name)
        assert changed(Settings(**{name: text})) == {field: value}, name


def test_names_are_matched_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("database_url", "sqlite:///lower.db")
    monkeypatch.setenv("Actionbot_Org", "acme")
    monkeypatch.setenv("microsoftappid", "app")
    monkeypatch.setenv("microsoft_app_password", "pw")
    assert changed(Settings()) == {"database_url": "sqlite:///lower.db", "org": "acme", "microsoft_app_id": "app",
                                   "microsoft_app_password": "pw"}
    # keyword overrides too; they are the variables' names, not the fields' (`org` is not ACTIONBOT_ORG)
    assert changed(Settings(port="1", Actionbot_Teams="no", actionbot_tick_seconds=5, org="ignored")) == {
        "port": 1, "teams": False, "tick_seconds": 5.0, "database_url": "sqlite:///lower.db", "org": "acme",
        "microsoft_app_id": "app", "microsoft_app_password": "pw"}


def test_the_azure_spelling_wins_when_both_names_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", "second")
    monkeypatch.setenv("MicrosoftAppId", "first")
    assert Settings().microsoft_app_id == "first"
    assert Settings(MICROSOFT_APP_ID="b", MicrosoftAppId="a").microsoft_app_id == "a"
    monkeypatch.setenv("MicrosoftAppId", "")  # set, though empty: still the one read
    assert Settings().microsoft_app_id == ""


def test_overrides_beat_the_environment_which_beats_the_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///file.db\nACTIONBOT_ORG=file-org\nPORT=1111\n"
                                   "MicrosoftAppId=file-app\n")
    assert changed(Settings()) == {"database_url": "sqlite:///file.db", "org": "file-org", "port": 1111,
                                   "microsoft_app_id": "file-app"}
    monkeypatch.setenv("DATABASE_URL", "sqlite:///env.db")
    monkeypatch.setenv("PORT", "2222")
    monkeypatch.setenv("MICROSOFT_APP_ID", "env-app")  # the other name: still the environment's turn first
    assert changed(Settings()) == {"database_url": "sqlite:///env.db", "org": "file-org", "port": 2222,
                                   "microsoft_app_id": "env-app"}
    s = Settings(DATABASE_URL="sqlite:///kw.db", ACTIONBOT_ORG="kw-org", MICROSOFT_APP_ID="kw-app")
    assert changed(s) == {"database_url": "sqlite:///kw.db", "org": "kw-org", "port": 2222, "microsoft_app_id": "kw-app"}


def test_the_env_file_is_read_like_a_shell_would(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# a comment\n"
        "export SLACK_APP_TOKEN=xapp-1\n"
        'ACTIONBOT_ORG="acme corp"\n'
        "LOG_level='debug'\n"
        "HOST=  10.0.0.1  # trailing comment\n"
        "SLACK_BOT_TOKEN=${ACTIONBOT_ORG}-token\n"
        "MicrosoftAppTenantId\n"  # no value: as if not there
        "MICROSOFT_APP_TENANT_ID=tenant\n"
        "ACTIONBOT_TEAMS=off\n"
        "SOMETHING_ELSE=ignored\n")
    assert changed(Settings()) == {"slack_app_token": "xapp-1", "org": "acme corp", "log_level": "debug", "host": "10.0.0.1",
                                   "slack_bot_token": "acme corp-token", "microsoft_app_tenant_id": "tenant", "teams": False}


def test_an_env_file_elsewhere_or_a_directory_named_env_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("ACTIONBOT_ORG=here\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert Settings().org == "default"
    (tmp_path / "sub" / ".env").mkdir()
    assert Settings().org == "default"
    monkeypatch.chdir(tmp_path)
    assert Settings().org == "here"


def test_unknown_names_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("NOT_A_SETTING=1\nPORT=80\n")
    monkeypatch.setenv("ACTIONBOT_NOT_A_SETTING", "x")
    s = Settings(ALSO_NOT_A_SETTING=object())
    assert changed(s) == {"port": 80}
    assert not hasattr(s, "ALSO_NOT_A_SETTING") and not hasattr(s, "also_not_a_setting")


@pytest.mark.parametrize(("text", "value"), [
    ("80", 80), (" 80 ", 80), ("80\n", 80), ("+80", 80), ("-5", -5), ("080", 80), ("1_000", 1000),
    ("80.0", 80), ("80.00", 80), ("1_000.0", 1000)])
def test_whole_numbers_from_text(text: str, value: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", text)
    assert Settings().port == value
    assert Settings(PORT=text).port == value


@pytest.mark.parametrize("text", ["abc", "", " ", "80.5", "80.", "1e3", "0x10", "1__0", "_1", "1_", "١٢", "8 0"])
def test_not_whole_numbers(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", text)
    with pytest.raises(ValueError, match="PORT") as e:
        Settings()
    assert "Input should be a valid integer, unable to parse string as an integer" in str(e.value)


@pytest.mark.parametrize(("text", "value"), [
    ("1.5", 1.5), (" 1.5 ", 1.5), ("3600", 3600.0), (".5", 0.5), ("5.", 5.0), ("1e3", 1000.0), ("-2", -2.0),
    ("1_000.5", 1000.5), ("inf", math.inf), ("Infinity", math.inf), ("-inf", -math.inf)])
def test_numbers_from_text(text: str, value: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONBOT_TICK_SECONDS", text)
    assert Settings().tick_seconds == value
    assert type(Settings().tick_seconds) is float


def test_nan_is_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONBOT_TICK_SECONDS", "NaN")
    assert math.isnan(Settings().tick_seconds)


@pytest.mark.parametrize("text", ["abc", "", "1,5", "0x10", "٣", "1__0"])
def test_not_numbers(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONBOT_TICK_SECONDS", text)
    with pytest.raises(ValueError, match="ACTIONBOT_TICK_SECONDS") as e:
        Settings()
    assert "Input should be a valid number, unable to parse string as a number" in str(e.value)


@pytest.mark.parametrize("text", ["true", "True", "TRUE", "yes", "Yes", "y", "Y", "on", "oN", "1", "t", "T"])
def test_true(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONBOT_AUTO_MIGRATE", "false")
    monkeypatch.setenv("ACTIONBOT_TEAMS", text)
    assert Settings().teams is True
    assert Settings(ACTIONBOT_AUTO_MIGRATE=text).auto_migrate is True


@pytest.mark.parametrize("text", ["false", "False", "FALSE", "no", "NO", "n", "off", "Off", "0", "f", "F"])
def test_false(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONBOT_TEAMS", text)
    assert Settings().teams is False


@pytest.mark.parametrize("text", ["maybe", "", " yes", "yes ", "2", "1.0", "enabled"])
def test_not_true_or_false(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONBOT_TEAMS", text)
    with pytest.raises(ValueError, match="ACTIONBOT_TEAMS") as e:
        Settings()
    assert "Input should be a valid boolean, unable to interpret input" in str(e.value)


def test_text_is_kept_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONBOT_ORG", "  acme  ")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    assert Settings().org == "  acme  "
    assert Settings().slack_bot_token == ""


def test_overrides_given_as_python_values() -> None:
    s = Settings(ACTIONBOT_TICK_SECONDS=3600, ACTIONBOT_TEAMS=False, PORT=8080.0, ACTIONBOT_AUTO_MIGRATE=0,
                 ACTIONBOT_STALE_WEEKS=True)
    assert changed(s) == {"tick_seconds": 3600.0, "teams": False, "port": 8080, "auto_migrate": False, "stale_weeks": 1}
    assert type(s.tick_seconds) is float and type(s.port) is int
    assert Settings(ACTIONBOT_TEAMS=1.0).teams is True
    for bad, message in [({"PORT": 80.5}, "PORT: Input should be a valid integer, got a number with a fractional part"),
                         ({"ACTIONBOT_TEAMS": 2}, "ACTIONBOT_TEAMS: Input should be a valid boolean, unable to interpret input"),
                         ({"ACTIONBOT_ORG": 5}, "ACTIONBOT_ORG: Input should be a valid string"),
                         ({"DATABASE_URL": None}, "DATABASE_URL: Input should be a valid string"),
                         ({"ACTIONBOT_TICK_SECONDS": None}, "ACTIONBOT_TICK_SECONDS: Input should be a valid number")]:
        with pytest.raises(ValueError) as e:
            Settings(**bad)
        name, _, problem = message.partition(": ")
        assert name in str(e.value) and problem in str(e.value), str(e.value)


def test_every_wrong_value_is_named_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "abc")
    monkeypatch.setenv("ACTIONBOT_TEAMS", "maybe")
    with pytest.raises(ValueError) as e:
        Settings()
    text = str(e.value)
    assert text.index("PORT") < text.index("ACTIONBOT_TEAMS")


def test_the_cli_says_which_setting_is_wrong(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot.cli import main

    monkeypatch.setenv("PORT", "abc")
    monkeypatch.setenv("ACTIONBOT_TEAMS", "maybe")
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "plan", "list", "--json"])
    assert result.exit_code == 1
    assert result.stderr == ("error: a setting is wrong (PORT: Input should be a valid integer, unable to parse string as an "
                             "integer; ACTIONBOT_TEAMS: Input should be a valid boolean, unable to interpret input); "
                             "see the Configuration table in the README\n")
    assert not (tmp_path / "x.db").exists()


def test_properties_and_engine_config(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not Settings().slack_configured
    assert Settings(SLACK_BOT_TOKEN="xoxb", SLACK_SIGNING_SECRET="s").slack_configured
    assert Settings(SLACK_BOT_TOKEN="xoxb", SLACK_APP_TOKEN="xapp").slack_configured
    assert not Settings(SLACK_SIGNING_SECRET="s", SLACK_APP_TOKEN="xapp").slack_configured
    assert Settings(ACTIONBOT_LEASE_SECONDS=1).lease == timedelta(seconds=5)
    monkeypatch.setenv("ACTIONBOT_WORKING_HOURS", "08:30-18:00")
    monkeypatch.setenv("ACTIONBOT_DIGEST_DAY", "Friday")
    cfg = Settings(ACTIONBOT_HOLIDAYS="gb-sct").engine_config()
    assert (cfg.working_hours[0].isoformat(), cfg.working_hours[1].isoformat()) == ("08:30:00", "18:00:00")
    assert (cfg.digest_weekday, cfg.holiday_country, cfg.holiday_subdiv) == (4, "GB", "SCT")


def test_settings_compare_and_show_by_value() -> None:
    assert Settings(PORT=1) == Settings(PORT="1")
    assert Settings(PORT=1) != Settings(PORT=2)
    assert "port=1," in repr(Settings(PORT=1))


def test_the_readme_configuration_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {name for row in table.splitlines() if row.startswith("| `")
                  for name in re.findall(r"`([A-Za-z_]+)`", row.split(" | ")[0])}
    preferred = {names[0] for names, _ in FIELDS.values()}
    assert documented - {"ACTIONBOT_TEST_DATABASE_URL"} == preferred


LOADS = """
import json, sys
from bot.config import Settings
s = Settings()
print(json.dumps({"org": s.org, "loaded": sorted(m for m in ("pydantic", "pydantic_settings", "pydantic_core", "dotenv") if m in sys.modules)}))
"""


def test_settings_load_without_pydantic(tmp_path: Path) -> None:
    def run() -> dict:
        env = {k: v for k, v in os.environ.items() if k.lower() != "actionbot_org"}
        done = subprocess.run([sys.executable, "-c", LOADS], capture_output=True, text=True, check=True, cwd=tmp_path, env=env)
        return json.loads(done.stdout)

    assert run() == {"org": "default", "loaded": []}
    (tmp_path / ".env").write_text("ACTIONBOT_ORG=from-file\n")
    assert run() == {"org": "from-file", "loaded": ["dotenv"]}
