"""Names are not identities: people differ by id; a name fitting several people (in any case,
spacing, punctuation or invisible characters) is refused with the candidates and their ids; adding
a near-twin needs --allow-similar; anyone can be addressed by id."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.domain.names import name_key


@pytest.fixture
def cli(db_url):
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db_url, "org", "add", "derby"]).exit_code == 0  # creating one is explicit

    def run(*args: str, code: int = 0, input: str | None = None):
        result = runner.invoke(main, ["--db", db_url, "--org", "derby", *args], catch_exceptions=False, input=input)
        assert result.exit_code == code, result.output + result.stderr
        return result

    return run


@pytest.fixture
def world(cli):
    cli("plan", "create", "Improvement plan", "--slug", "ip")
    cli("person", "add", "Priya Shah", "--email", "priya.shah@derby.example")
    cli("person", "add", "Sam Patel")
    cli("action", "add", "ip", "2.5", "Audit supervision")
    cli("action", "assign", "ip", "2.5", "Priya Shah")
    return cli


def people(cli) -> list[dict]:
    return json.loads(cli("person", "list", "--json").stdout)


def audit_rows(cli) -> str:
    return cli("audit", "--json", "--limit", "500").stdout


@pytest.mark.parametrize("twin", ["PRIYA SHAH", "priya  shah", "Priya\u200b Shah", "Priya-Shah", "\u200fpriya shah\u200e",
                                  "Ｐｒｉｙａ Ｓｈａｈ"])
def test_adding_a_near_twin_needs_saying_so(world, twin):
    before = (people(world), audit_rows(world))
    err = world("person", "add", twin, code=1).stderr
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "reads the same as Priya Shah (id 1, priya.shah@derby.example)" in err and "--allow-similar" in err
    assert (people(world), audit_rows(world)) == before
    world("person", "add", twin, "--allow-similar")
    assert len(people(world)) == 3


def test_an_exact_duplicate_name_is_refused_even_when_similar_is_allowed(world):
    for same in ("Priya  Shah", " Priya\u00a0Shah "):  # spacing is tidied: the same name
        err = world("person", "add", same, "--allow-similar", code=1).stderr
        assert err == "error: there is already a person called 'Priya Shah' (id 1); give this one a name that tells them apart\n"
    assert len(people(world)) == 2


def test_acting_as_a_name_that_fits_two_people_is_refused_listing_both(world):
    world("person", "add", "PRIYA SHAH", "--allow-similar", "--role-title", "Agency social worker")
    twin = next(p for p in people(world) if p["display_name"] == "PRIYA SHAH")
    before = (world("action", "show", "ip", "2.5", "--json").stdout, audit_rows(world))
    for ident in ("PRIYA SHAH", "Priya Shah", "priya shah"):
        err = world("update", "ip", "2.5", "-m", "done", "--as", ident, code=1).stderr
        assert err == (f"error: {ident!r} could be 2 people: Priya Shah (id 1, priya.shah@derby.example), "
                       f"PRIYA SHAH (id {twin['id']}, Agency social worker); name one by id (e.g. 1)\n")
    assert (world("action", "show", "ip", "2.5", "--json").stdout, audit_rows(world)) == before
    # By id each is exactly one person: the owner may update, the namesake may not.
    world("update", "ip", "2.5", "-m", "Audit booked", "--as", "1")
    err = world("update", "ip", "2.5", "-m", "done", "--as", f"#{twin['id']}", code=1).stderr
    assert "not allowed to update an action" in err
    shown = json.loads(world("action", "show", "ip", "2.5", "--json").stdout)
    assert [h["author"] for h in shown["history"]] == ["Priya Shah"]


def test_people_are_addressable_by_id_in_every_form(world):
    for ident in ("2", "#2", "id:2", "ID 2"):
        world("person", "set", ident, "--role-title", f"role {ident}")
        assert next(p for p in people(world) if p["id"] == 2)["role_title"] == f"role {ident}"
    assert "no person with id 99" in world("person", "set", "#99", "--role-title", "x", code=1).stderr


def test_renaming_into_a_near_twin_is_refused_too(world):
    err = world("person", "set", "Sam Patel", "--name", "priya shah", code=1).stderr
    assert "reads the same as Priya Shah (id 1" in err
    assert {p["display_name"] for p in people(world)} == {"Priya Shah", "Sam Patel"}
    world("person", "set", "Sam Patel", "--name", "Sam  PATEL")  # one's own name in another case is fine
    assert {p["display_name"] for p in people(world)} == {"Priya Shah", "Sam PATEL"}


def test_name_key_ignores_case_spacing_punctuation_and_invisible_marks():
    assert len({name_key(n) for n in ("Priya Shah", "PRIYA SHAH", "priya\tshah", "Priya-Shah", "\u202epriya shah")}) == 1
    assert name_key("Priya Shah") != name_key("Priya Shaw")
    assert name_key("???") == "???" and name_key("李 雷") == name_key("李雷")


def test_an_import_links_a_lead_by_name_key_and_never_guesses_between_namesakes(world):
    table = "| Ref | Action | Lead Officer | Target date |\n|---|---|---|---|\n| 3.1 | Audit case files | PRIYA  SHAH | 31/03/2027 |\n"
    world("import", "-", "--plan-name", "Audit plan", input=table)
    shown = json.loads(world("action", "show", "audit-plan", "3.1", "--json").stdout)
    assert shown["owners"] == ["Priya Shah"] and len(people(world)) == 2  # no near-twin created
    world("person", "add", "Priya SHAH", "--allow-similar")
    table2 = table.replace("3.1", "3.2")
    out = world("import", "-", "--plan", "audit-plan", input=table2).stdout
    assert "warning: lead 'PRIYA SHAH' could be several people: link 3.2 with `actionbot action assign` and a person id" in out
    assert json.loads(world("action", "show", "audit-plan", "3.2", "--json").stdout)["owners"] == []
