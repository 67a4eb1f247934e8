"""What a new user tripped over (issue 11, "Messages and the tour"): organisations, import
messages, the audit log, `due`, `db current`, and messages waiting for a platform not set up."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, func, select

from bot.cli import main
from bot.cli.register import audit_changes
from storage.db import make_engine
from storage.tables import Organisation, Outbox
from tests.conftest import BASIC
from tests.fixtures.basic import make_plans as basic

INVENTED = BASIC / f"{basic.STEM}.docx"


def run(db_url: str, *args: str, org: str | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    base = ["--db", db_url] + (["--org", org] if org else [])
    return CliRunner().invoke(main, [*base, *args], input=input)


def orgs(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    with Session(engine) as s:
        found = list(s.exec(select(Organisation.slug)))
    engine.dispose()
    return sorted(found)


def test_a_mistyped_org_is_an_error_naming_the_ones_that_exist_and_creates_nothing(db_url: str) -> None:
    assert run(db_url, "import", str(INVENTED)).exit_code == 0  # the embedded default is made by the first write
    assert run(db_url, "org", "add", "derby", "--name", "Derby City Council").exit_code == 0
    for args in (["plan", "list"], ["action", "list", "ilacs"], ["due"], ["audit"], ["person", "list"]):
        bad = run(db_url, *args, org="defualt")
        assert bad.exit_code == 1, args
        assert "no organisation 'defualt' (the organisations are: default, derby)" in bad.stderr
        assert "actionbot org add defualt" in bad.stderr
    assert run(db_url, "import", str(INVENTED), org="defualt").exit_code == 1  # a write does not create it either
    assert orgs(db_url) == ["default", "derby"]


def test_reading_a_fresh_database_creates_no_organisation(db_url: str) -> None:
    listed = run(db_url, "plan", "list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []
    assert run(db_url, "due").stdout.strip() == "Nobody needs a nudge."
    assert orgs(db_url) == []
    assert run(db_url, "org", "add", "derby").exit_code == 0
    again = run(db_url, "org", "add", "derby")
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_the_organisation_warning_names_an_option_that_exists(db_url: str, tmp_path: Path) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text("Ref\tAction\tLead\tTarget\n1.1\tReview the audit tool\tAnn Lee\tDecember 2026\n", encoding="utf-8")
    warned = run(db_url, "import", str(plan), "--dry-run")
    assert "give it with `import --organisation NAME`" in warned.stdout
    done = run(db_url, "import", str(plan), "--organisation", "Anytown Council", "--json")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["plan"]["organisation"] == "Anytown Council"
    assert not any("organisation" in w for w in data["warnings"])


def test_a_refused_file_is_named_once(db_url: str, tmp_path: Path) -> None:
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    result = run(db_url, "import", str(pdf))
    assert result.exit_code == 1 and result.stderr.startswith("error: plan.pdf")
    assert result.stderr.count("plan.pdf") == 1, result.stderr


def test_audit_shows_before_and_after_per_field(db_url: str) -> None:
    assert run(db_url, "import", str(INVENTED), "--plan-name", "ILACS").exit_code == 0
    assert run(db_url, "update", "ilacs", "2.4", "-m", "Sessions delivered", "--status", "complete", "--rag", "G").exit_code == 0
    text = run(db_url, "audit", "--entity", "action", "--limit", "1").stdout
    assert "update action" in text
    assert "    status: in_progress → complete" in text and "    rag: A → G" in text
    assert "{" not in text  # no raw dicts
    assert audit_changes({"a": 1, "b": "x"}, {"a": 2, "b": "x", "c": None}) == ["a: 1 → 2", "c: (none)"]
    assert audit_changes(None, {"slug": "derby"}) == ["slug: derby"]


def test_db_current_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.db"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{path}", "db", "current"])
    assert result.exit_code == 0 and "no database at" in result.stdout and "nothing created" in result.stdout
    assert not path.exists() and list(tmp_path.iterdir()) == []
    as_json = json.loads(CliRunner().invoke(main, ["--db", f"sqlite:///{path}", "db", "current", "--json"]).stdout)
    assert as_json["current"] is None and as_json["exists"] is False and not path.exists()


@pytest.mark.parametrize("platform", ["slack"])
def test_the_worker_warns_about_messages_for_a_platform_that_is_not_set_up(db_url: str, platform: str) -> None:
    assert run(db_url, "import", str(INVENTED)).exit_code == 0
    engine = make_engine(db_url)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with Session(engine) as s:
        org_id = s.exec(select(Organisation.id)).one()
        for i in range(3):
            s.add(Outbox(org_id=org_id, key=f"k{i}", platform=platform, target="U1", person_id=None, screen="notice",
                         view={}, status="pending", next_attempt_at=now, created_at=now, attempts=0))
        s.commit()
    result = CliRunner().invoke(main, ["--db", db_url, "worker", "--once", "--now", "2026-11-23T10:00"],
                                env={"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": "", "SLACK_APP_TOKEN": ""})
    assert result.exit_code == 0, result.output
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 2  # at start and after the round
    assert "3 outbox message(s) wait for a platform that is not configured here: 3 for slack (set SLACK_BOT_TOKEN" in warnings[0]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Outbox).where(Outbox.status == "pending")).one() == 3  # still there
    engine.dispose()


def test_a_dry_run_on_a_fresh_database_stores_nothing(db_url: str) -> None:
    result = run(db_url, "import", str(INVENTED), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["result"]["dry_run"] is True
    assert orgs(db_url) == [] and json.loads(run(db_url, "plan", "list", "--json").stdout) == []


def test_the_cli_default_organisation_is_the_settings_default() -> None:
    from bot.cli import DEFAULT_ORG
    from bot.config import Settings

    assert Settings.model_fields["org"].default == DEFAULT_ORG
