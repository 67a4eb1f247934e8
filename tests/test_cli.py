"""The command line: commands an administrator types, their --json, and bad input that must
give a clear message, exit non-zero and change nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main


@pytest.fixture
def cli(db_url):
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db_url, "org", "add", "derby"]).exit_code == 0  # creating one is explicit

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, ["--db", db_url, "--org", "derby", *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return run


@pytest.fixture
def plan(cli):
    cli("plan", "create", "Children and young people improvement plan", "--slug", "cyp")
    cli("person", "add", "Nina Martin", "--email", "nina.martin@derby.example", "--role-title", "Head of Service")
    cli("action", "add", "cyp", "1.1", "Review current Quality Framework", "--lead", "Nina Martin", "--target", "31/12/2011", "--priority", "1")
    cli("action", "add", "cyp", "1.2", "Review ICS processes", "--lead", "Chris Newton", "--target", "2011-09-30", "--priority", "1")
    return "cyp"


def state(cli, plan):
    return cli("action", "list", plan, "--json").stdout, cli("audit", "--json", "--limit", "500").stdout


def test_help_lists_the_commands():
    out = CliRunner().invoke(main, ["--help"]).output
    for cmd in ("plan", "action", "update", "person", "role", "audit", "db", "serve"):
        assert f"  {cmd} " in out


def test_list_show_update_and_history_as_json(cli, plan):
    plans = json.loads(cli("plan", "list", "--json").stdout)
    assert [p["slug"] for p in plans] == ["cyp"] and plans[0]["actions"] == 2
    cli("update", plan, "1.1", "-m", "Audit framework in place", "--status", "in progress", "--rag", "green", "--label", "End of September")
    cli("update", plan, "1.1", "--revised-target", "31 Jan 2012", "--reason", "staffing", "--rag", "A", "--evidence", "https://intranet/qa")
    shown = json.loads(cli("action", "show", plan, "1.1.", "--json").stdout)  # "1.1." as some plans write it
    assert shown["status"] == "in_progress" and shown["rag"] == "A" and shown["version"] == 3
    assert shown["original_target"] == "2011-12-31" and shown["revised_target"] == "2012-01-31" and shown["revised_reason"] == "staffing"
    assert [h["label"] for h in shown["history"]] == ["End of September", ""]
    assert shown["history"][1]["evidence"] == ["https://intranet/qa"] and shown["history"][0]["channel"] == "cli"
    greens = json.loads(cli("action", "list", plan, "--rag", "A", "--json").stdout)
    assert [a["ref"] for a in greens] == ["1.1"]
    people = json.loads(cli("person", "list", "--json").stdout)
    assert people[0]["display_name"] == "Nina Martin" and people[0]["email"] == "nina.martin@derby.example"


@pytest.mark.parametrize(
    "args, message",
    [
        (("update", "nope", "1.1", "-m", "x"), "no plan 'nope'; plans here: cyp"),
        (("update", "cyp", "9.9", "-m", "x"), "no action '9.9' in plan 'cyp'"),
        (("update", "cyp", "1.1", "--status", "finished-ish"), "unknown status 'finished-ish'"),
        (("update", "cyp", "1.1", "--rag", "purple"), "unknown RAG rating 'purple'"),
        (("update", "cyp", "1.1", "--revised-target", "next blue moon", "--reason", "x"), "'next blue moon' is not a date"),
        (("update", "cyp", "1.1", "--revised-target", "2012-01-31"), "needs a reason"),
        (("update", "cyp", "1.1", "-m", "x", "--expect-version", "7"), "changed by someone else"),
        (("update", "cyp", "1.1", "-m", "x", "--as", "Nobody"), "no person 'Nobody'"),
        (("action", "add", "cyp", "1.1", "again"), "already has an action '1.1'"),
        (("plan", "set", "cyp", "--cadence", "hourly"), "unknown cadence 'hourly'"),
        (("plan", "set", "cyp", "--timezone", "Mars/Olympus"), "unknown timezone"),
        (("person", "add", "Nina Martin"), "already a person called"),
        (("person", "set", "Nina Martin", "--away-until", "soon"), "'soon' is not a date"),
        (("role", "grant", "Nina Martin", "approver", "--plan", "cyp", "--stage", "Panel"), "has no sign-off stage 'Panel'"),
        (("role", "grant", "Nina Martin", "emperor"), "unknown role 'emperor'"),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(cli, plan, args, message):
    before = state(cli, plan)
    result = cli(*args, ok=False)
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert state(cli, plan) == before


def test_roles_and_plan_settings(cli, plan):
    cli("plan", "set", plan, "--stage", "Evidence Challenge Panel", "--stage", "Directorate Leadership Team", "--cadence", "weekly:thu",
        "--channel", "slack:C0123", "--channel", "teams:19:abc@thread.tacv2", "--owner", "Nina Martin", "--plan-date", "2011-05-31")
    shown = json.loads(cli("plan", "show", plan, "--json").stdout)
    assert shown["signoff_stages"] == ["Evidence Challenge Panel", "Directorate Leadership Team"]
    assert shown["cadence"] == "weekly:thu" and shown["digest_channels"][1].startswith("teams:") and shown["plan_date"] == "2011-05-31"
    cli("person", "add", "Panel Chair")
    cli("role", "grant", "Panel Chair", "approver", "--plan", plan, "--stage", "Evidence Challenge Panel")
    roles = json.loads(cli("role", "list", "--json").stdout)
    assert {"person": "Panel Chair", "role": "approver", "plan": "cyp", "stage": "Evidence Challenge Panel"} in roles
    assert {"person": "Nina Martin", "role": "owner", "plan": "cyp", "stage": ""} in roles  # plan owner gets the role
    cli("role", "revoke", "Panel Chair", "approver", "--plan", plan)
    assert not any(r["person"] == "Panel Chair" for r in json.loads(cli("role", "list", "--json").stdout))


def test_as_person_applies_their_permissions(cli, plan):
    cli("person", "add", "Chris Newton")
    result = cli("update", plan, "1.2", "-m", "x", "--as", "Chris Newton", ok=False)
    assert result.exit_code == 1 and "not allowed" in result.stderr
    cli("action", "assign", plan, "1.2", "Chris Newton")
    cli("update", plan, "1.2", "-m", "Monitoring report developed", "--as", "chris newton")
    hist = json.loads(cli("action", "show", plan, "1.2", "--json").stdout)["history"]
    assert hist[-1]["author"] == "Chris Newton"


def test_db_upgrade_and_current(cli):
    assert "database at revision" in cli("db", "upgrade").stdout
    out = cli("db", "current").stdout
    current, newest = (part.split(": ")[1] for part in out.strip().split("; "))
    assert current == newest
    data = json.loads(cli("db", "current", "--json").stdout)
    assert data["up_to_date"] and data["current"] == current
