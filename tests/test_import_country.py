"""Day-first or month-first: decided once per file from its own dates, else from the plan's
country (import --country, the plan's, the organisation's, GB), and said in the preview; a file
whose dates contradict each other is read the way most of them are and the doubtful ones named."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.importer import apply_country, read_plan_text

HEAD = "Springfield Town Council\nImprovement Plan\n\nRef\tAction\tLead\tTarget\n"


def plan_text(*targets: str) -> str:
    return HEAD + "".join(f"{i}\tAction number {i} for the service\tAnn Lee\t{t}\n" for i, t in enumerate(targets, start=1))


AMBIGUOUS = plan_text("4/3/2026", "5/6/2026")  # either way round


def order_warnings(plan) -> list[str]:
    return [w for w in plan.warnings if "numeric dates" in w]


def test_dates_no_cell_settles_are_read_as_the_country_writes_them() -> None:
    gb = read_plan_text(AMBIGUOUS)
    us = read_plan_text(AMBIGUOUS, country="US")
    assert [a.target_date for a in gb.actions] == [date(2026, 3, 4), date(2026, 6, 5)]
    assert [a.target_date for a in us.actions] == [date(2026, 4, 3), date(2026, 5, 6)]
    assert order_warnings(gb) == [
        "numeric dates were read day-first: no date in the file settles it (e.g. 4/3/2026 could be either); country GB (the default). "
        "If they are month-first, import again with --country US."]  # fmt: skip
    assert "read month-first: no date in the file settles it" in order_warnings(us)[0] and "country US (given with --country)" in order_warnings(us)[0]
    assert gb.to_json()["plan"]["date_order"] == {"order": "dmy", "settled_by": "country", "country": "GB", "country_from": "default"}


@pytest.mark.parametrize("country", ["GB", "IE", "US"])
def test_the_files_own_dates_settle_the_order_whatever_the_country(country: str) -> None:
    day_first = read_plan_text(plan_text("25/7/2025", "4/3/2026"), country=country)
    month_first = read_plan_text(plan_text("7/25/2025", "4/3/2026"), country=country)
    assert [a.target_date for a in day_first.actions] == [date(2025, 7, 25), date(2026, 3, 4)]
    assert [a.target_date for a in month_first.actions] == [date(2025, 7, 25), date(2026, 4, 3)]
    assert day_first.date_order.settled_by == month_first.date_order.settled_by == "file"
    # said only when the file goes against the country: a UK plan read day-first is not news
    assert bool(order_warnings(day_first)) == (country == "US")
    assert bool(order_warnings(month_first)) == (country != "US")
    if country == "US":
        assert "read day-first: the file's own dates settle it (e.g. 25/7/2025), though country US" in order_warnings(day_first)[0]


def test_dates_that_contradict_each_other_are_read_the_way_most_are_and_the_doubtful_named() -> None:
    plan = read_plan_text(plan_text("13/05/2025", "14/06/2025", "05/13/2025", "04/03/2026"), country="US")
    assert [a.target_date for a in plan.actions] == [date(2025, 5, 13), date(2025, 6, 14), None, date(2026, 3, 4)]
    (said,) = order_warnings(plan)
    assert "contradict each other: 2 can only be day-first" in said and "1 only month-first (05/13/2025)" in said
    assert "read day-first, as most of its one-way dates are (2 to 1)" in said
    assert "05/13/2025 (written the other way) kept as written, without a date" in said and "check the targets of 4" in said
    assert any("target(s) are not dates we could read" in w and "3 ('05/13/2025')" in w for w in plan.warnings)


@pytest.mark.parametrize(("country", "read"), [("GB", [date(2025, 5, 13), None, date(2026, 3, 4)]), ("US", [None, date(2025, 5, 13), date(2026, 4, 3)])])
def test_an_even_contradiction_is_settled_by_the_country(country: str, read: list) -> None:
    plan = read_plan_text(plan_text("13/05/2025", "05/13/2025", "04/03/2026"), country=country)
    assert [a.target_date for a in plan.actions] == read
    assert f"country {country} (given with --country)" in order_warnings(plan)[0]


def test_a_parsed_plan_is_reread_for_the_country_of_the_plan_it_goes_into() -> None:
    plan = read_plan_text(AMBIGUOUS)
    apply_country(plan, "US", "plan")
    assert [a.target_date for a in plan.actions] == [date(2026, 4, 3), date(2026, 5, 6)]
    assert len(order_warnings(plan)) == 1 and "country US (this plan's)" in order_warnings(plan)[0]
    settled = read_plan_text(plan_text("25/7/2025", "4/3/2026"))
    assert order_warnings(settled) == []
    apply_country(settled, "US", "organisation")  # the file decided: its dates stay, the preview says why
    assert [a.target_date for a in settled.actions] == [date(2025, 7, 25), date(2026, 3, 4)]
    assert "though country US (the organisation's)" in order_warnings(settled)[0]
    apply_country(settled, "GB", "organisation")
    assert order_warnings(settled) == []


# ------------------------------------------------------------------------------------------------
# the country kept in the register: organisation, plan, import --country, re-import


@pytest.fixture
def run(db_url):
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, ["--db", db_url, *args], catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output + result.stderr
        return result

    return invoke


def targets(run, org: str) -> list[str]:
    (plan,) = json.loads(run("--org", org, "plan", "list", "--json").stdout)
    return [a["revised_target"] or a["original_target"] for a in json.loads(run("--org", org, "action", "list", plan["slug"], "--json").stdout)]


def test_the_organisations_country_decides_and_import_country_is_kept_for_re_imports(run, tmp_path: Path) -> None:
    path = tmp_path / "plan.txt"
    path.write_text(AMBIGUOUS, encoding="utf-8")
    run("org", "add", "springfield", "--country", "us")
    run("org", "add", "shelbyville")
    assert "country: US" in run("org", "list").stdout
    preview = run("--org", "springfield", "import", str(path), "--dry-run").stdout
    assert "numeric dates were read month-first" in preview and "country US (the organisation's)" in preview
    run("--org", "springfield", "import", str(path))
    assert targets(run, "springfield") == ["2026-04-03", "2026-05-06"]
    run("--org", "shelbyville", "import", str(path))
    assert targets(run, "shelbyville") == ["2026-03-04", "2026-06-05"]  # GB by default

    # import --country is this plan's from now on: a re-import without it reads the same way
    out = run("--org", "shelbyville", "import", str(path), "--country", "US").stdout
    assert "2 changed" in out and "country US (given with --country)" in out
    assert "country (numeric dates): US" in run("--org", "shelbyville", "plan", "show", "improvement-plan").stdout
    again = json.loads(run("--org", "shelbyville", "import", str(path), "--json").stdout)
    assert again["plan"]["date_order"]["country_from"] == "plan" and not again["result"]["changed"]
    assert targets(run, "shelbyville") == ["2026-04-03", "2026-05-06"]

    # back to the organisation's, and the organisation's own changed
    run("--org", "shelbyville", "plan", "set", "improvement-plan", "--country", "org")
    assert "GB (the organisation's)" in run("--org", "shelbyville", "plan", "show", "improvement-plan").stdout
    run("--org", "shelbyville", "org", "set", "--country", "IE")
    assert "country IE (the organisation's)" in run("--org", "shelbyville", "import", str(path)).stdout
    assert targets(run, "shelbyville") == ["2026-03-04", "2026-06-05"]


@pytest.mark.parametrize(
    "args",
    [["org", "add", "x", "--country", "Britain"], ["--org", "o", "org", "set", "--country", "XX"],
     ["--org", "o", "plan", "set", "improvement-plan", "--country", "U5"], ["--org", "o", "import", "PLAN", "--country", "ZZ"]],
)  # fmt: skip
def test_a_bad_country_is_refused_in_one_line_and_nothing_changes(run, tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "plan.txt"
    path.write_text(AMBIGUOUS, encoding="utf-8")
    run("org", "add", "o")
    run("--org", "o", "import", str(path))
    before = targets(run, "o")
    result = run(*[str(path) if a == "PLAN" else a for a in args], ok=False)
    assert "is not a two-letter ISO 3166 country code" in result.output + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "country: GB" in run("org", "list").stdout and targets(run, "o") == before
