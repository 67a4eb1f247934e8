"""Hostile input, as an attacker or a careless user types it: text with NULs, lone surrogates and
RTL marks, numbers past any column, dates at the ends of the calendar (or not on it), values
longer than their field, patterns of 100 kB, bad database URLs, missing folders. Each must end in
one clear line on stderr, a non-zero exit, no traceback, and the register and the audit log
exactly as they were — on SQLite, and on PostgreSQL when ACTIONBOT_TEST_DATABASE_URL is set.

Property-based where it fits (hypothesis); every example runs against the same database, which
is also the point: none of them may leave a trace in it."""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from datetime import date

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.cli import main
from bot.domain import limits
from storage.db import make_engine

hostile = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

NUL, RLO, RLM, ZWSP, BOM = "\x00", "\u202e", "\u200f", "\u200b", "\ufeff"
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
marks = st.sampled_from([RLO, RLM, ZWSP, BOM, "\u2066", "\u2069", "\u061c"])


@st.composite
def poisoned(draw: st.DrawFn) -> str:
    """Text with at least one NUL or lone surrogate somewhere in it, among ordinary letters,
    RTL and zero-width marks."""
    parts = draw(st.lists(st.one_of(st.text(min_size=1, max_size=8), marks), max_size=6))
    bad = draw(st.one_of(st.just(NUL), surrogates))
    parts.insert(draw(st.integers(0, len(parts))), bad)
    return "".join(parts)


too_big = st.one_of(st.integers(min_value=limits.INT_MAX + 1, max_value=10**40), st.integers(max_value=0, min_value=-(10**40)))
off_calendar = st.one_of(st.dates(max_value=date.fromordinal(limits.EARLIEST.toordinal() - 1)),
                         st.dates(min_value=date.fromordinal(limits.LATEST.toordinal() + 1)))


@st.composite
def impossible_dates(draw: st.DrawFn) -> str:
    """A day that does not exist: 30 February, 31 April, 29 February in a common year…"""
    year = draw(st.integers(1900, 2199))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(calendar.monthrange(year, month)[1] + 1, 32))
    return draw(st.sampled_from([f"{year:04d}-{month:02d}-{day:02d}", f"{day:02d}/{month:02d}/{year:04d}"]))


def as_typed(d: date) -> list[str]:
    return [d.isoformat() if d.year >= 1000 else f"{d.year:04d}-{d.month:02d}-{d.day:02d}", f"{d.day:02d}/{d.month:02d}/{d.year:04d}"]


# --- the world every example runs against ----------------------------------------------------------
@pytest.fixture
def world(db_url):
    runner = CliRunner()
    engine = make_engine(db_url)

    def run(*args: str, input: str | bytes | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["--db", db_url, "--org", "derby", *args], input=input, catch_exceptions=True)

    def ok(*args: str) -> None:
        result = run(*args)
        assert result.exit_code == 0, result.output + result.stderr

    assert runner.invoke(main, ["--db", db_url, "org", "add", "derby"]).exit_code == 0
    ok("plan", "create", "Children's services improvement plan", "--slug", "cs")
    ok("plan", "set", "cs", "--stage", "Evidence Challenge Panel")
    ok("person", "add", "Priya Shah", "--email", "priya@derby.example")
    ok("person", "add", "Sam Patel")
    ok("role", "grant", "Sam Patel", "approver", "--plan", "cs", "--stage", "Evidence Challenge Panel")
    ok("action", "add", "cs", "2.4", "Deliver reflective practice sessions", "--target", "2027-01-31")
    ok("action", "add", "cs", "2.5", "Audit supervision records")
    ok("action", "assign", "cs", "2.4", "Priya Shah")
    ok("update", "cs", "2.4", "-m", "Sessions booked", "--as", "Priya Shah")
    ok("update", "cs", "2.5", "-m", "Audit done", "--status", "complete")

    def state() -> dict[str, list[tuple]]:
        """Every row of every table: the register, its history and the audit log."""
        with engine.connect() as c:
            return {t.name: sorted(map(repr, c.execute(text(f'SELECT * FROM "{t.name}"')))) for t in SQLModel.metadata.sorted_tables}

    def refused(*args: str, says: str | None = None, input: str | bytes | None = None, code: int | None = None) -> str:
        before = state()
        result = run(*args, input=input)
        err = result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), f"{args!r} raised {result.exception!r}"
        assert result.exit_code != 0, f"{args!r} was accepted: {result.output}"
        assert code is None or result.exit_code == code
        assert "Traceback" not in result.output + err
        assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
        assert len(err) < 1200, "the message floods the terminal"
        assert says is None or says in err, err
        assert state() == before, f"{args!r} changed the database"
        return err

    def unstorable() -> Iterator[str]:
        """Every stored string (JSON values decoded) holding a NUL or a lone surrogate."""
        def strings(v: object) -> Iterator[str]:
            if isinstance(v, str):
                yield v
                try:
                    yield from strings(json.loads(v))
                except ValueError:
                    pass
            elif isinstance(v, dict):
                for x in v.items():
                    yield from strings(list(x))
            elif isinstance(v, list):
                for x in v:
                    yield from strings(x)

        with engine.connect() as c:
            for t in SQLModel.metadata.sorted_tables:
                for row in c.execute(text(f'SELECT * FROM "{t.name}"')):
                    yield from (f"{t.name}: {v!r}" for v in strings(list(row)) if limits.bad_text(v))

    run.unstorable = unstorable  # type: ignore[attr-defined]
    run.refused = refused  # type: ignore[attr-defined]
    run.state = state  # type: ignore[attr-defined]
    yield run
    engine.dispose()


# --- text no database stores -------------------------------------------------------------------------
@hostile
@given(poisoned())
def test_poisoned_progress_text_is_refused(world, bad):
    world.refused("update", "cs", "2.4", "-m", bad, "--as", "Priya Shah", code=2)


@hostile
@given(poisoned(), st.sampled_from(["name", "ref", "label", "reason", "note", "evidence", "org", "plan", "person"]))
def test_poisoned_text_in_any_field_is_refused(world, bad, field):
    args = {
        "name": ("person", "add", bad),
        "ref": ("action", "add", "cs", bad, "Some action"),
        "label": ("update", "cs", "2.4", "-m", "x", "--label", bad),
        "reason": ("update", "cs", "2.4", "--revised-target", "2027-03-31", "--reason", bad),
        "note": ("signoff", "return", "cs", "2.5", "--note", bad, "--as", "Sam Patel"),
        "evidence": ("update", "cs", "2.4", "--evidence", bad),
        "org": ("org", "add", bad),
        "plan": ("action", "list", bad),
        "person": ("update", "cs", "2.4", "-m", "x", "--as", bad),
    }[field]
    world.refused(*args, says="an argument contains")


@hostile
@given(st.lists(marks, min_size=1, max_size=3), st.sampled_from(["Priya Shah", "PRIYA SHAH", "priya  shah"]))
def test_a_name_dressed_in_invisible_marks_is_not_a_new_person(world, extra, name):
    dressed = extra[0] + name + "".join(extra[1:])
    world.refused("person", "add", dressed, says="reads the same as Priya Shah (id 1")


def test_poisoned_text_in_an_imported_file_or_pasted_table_changes_nothing(world, tmp_path):
    for bad, says in ((b"\xed\xa0\x80", "invalid character"), (b"\xff\xfe", "invalid character"), (b"\x00", "NUL")):
        table = b"Ref\tAction\tLead Officer\tTarget date\n9.1\tHarmless\tPriya Shah\t31/03/2027\n9.2\tDo " + bad + b" it\tAnn\t31/03/2027\n"
        world.refused("import", "-", "--plan", "cs", input=table, says=says)
    csv = tmp_path / "nul.csv"
    csv.write_bytes(b"Ref,Action,Lead Officer,Target date\n9.1,Do \x00 it,Priya Shah,31/03/2027\n")
    world.refused("import", str(csv), "--plan", "cs")


# --- numbers past any column ----------------------------------------------------------------------------
@hostile
@given(too_big)
@example(99999999999999999999)
@example(-1)
def test_numbers_out_of_range_are_refused(world, n):
    world.refused("update", "cs", "2.4", "-m", "x", "--expect-version", str(n), code=2, says="--expect-version")
    world.refused("audit", "--limit", str(n), code=2, says="--limit")
    world.refused("plan", "set", "cs", "--due-soon-days", str(n if n > 0 else n - 1), code=2, says="--due-soon-days")


# --- dates at the ends of the calendar, or not on it ----------------------------------------------------
@hostile
@given(off_calendar, st.integers(0, 1))
@example(date(9999, 12, 31), 0)
@example(date(1, 1, 1), 0)
def test_dates_off_the_calendar_are_refused(world, d, form):
    typed = as_typed(d)[form]
    says = "outside the dates actionbot works with"
    if d.year < 1000 and form == 0:  # not even a date to strptime: still one clear line
        says = ""
    world.refused("digest", "cs", "--as-of", typed, says=says)
    world.refused("due", "--as-of", typed + "T23:59" if form == 0 else typed, says=says)
    world.refused("update", "cs", "2.4", "--revised-target", typed, "--reason", "staffing", says=says)
    world.refused("person", "set", "Priya Shah", "--away-until", typed, says=says)
    world.refused("plan", "set", "cs", "--plan-date", typed, says=says)


@hostile
@given(impossible_dates())
def test_days_that_do_not_exist_are_refused(world, typed):
    world.refused("update", "cs", "2.4", "--revised-target", typed, "--reason", "staffing", says="is not a date")
    world.refused("due", "--as-of", typed)


# --- one length limit per field, the same on both databases --------------------------------------------
@hostile
@given(st.sampled_from([
    (("person", "add", "{}"), 200, "person display name"),
    (("action", "add", "cs", "{}", "Some action"), 40, "action ref"),
    (("update", "cs", "2.4", "-m", "x", "--label", "{}"), 100, "period label"),
    (("org", "add", "{}"), 64, "organisation slug"),
    (("update", "cs", "2.4", "--revised-target", "2027-03-31", "--reason", "{}"), limits.REASON, "reason"),
    (("update", "cs", "2.4", "--evidence", "{}"), limits.EVIDENCE_LINK, "evidence link"),
    (("signoff", "approve", "cs", "2.5", "--as", "Sam Patel", "--note", "{}"), limits.NOTE, "note"),
    (("update", "cs", "2.4", "-m", "{}"), limits.PROGRESS_TEXT, "progress text"),
    (("plan", "set", "cs", "--title", "{}"), limits.LONG_TEXT, "plan title"),
    (("plan", "set", "cs", "--stage", "{}"), 200, "sign-off stage"),
]), st.integers(1, 3000))
def test_values_longer_than_their_field_are_refused(world, case, over):
    args, limit, says = case
    long = "x" * (limit + over)
    world.refused(*(a.format(long) for a in args), says=says)


def test_at_the_limit_is_still_fine(world):
    result = world("update", "cs", "2.4", "-m", "x", "--label", "L" * 100, "--as", "Priya Shah")
    assert result.exit_code == 0, result.stderr


# --- lookups that would be patterns, paths and URLs that lead nowhere -----------------------------------
LEAD_NOWHERE = [
    (("action", "list", "%_" * 50_000), "no plan '%_%_"),
    (("action", "list", "cs", "--status", "x" * 100_000), "unknown status"),
    (("action", "show", "cs", "%" * 100_000), "no action"),
    (("person", "set", "_" * 100_000, "--role-title", "x"), "no person"),
    (("export", "cs", "--to", "/nonexistent/folder/plan.xlsx"), "there is no folder '/nonexistent/folder'"),
    (("--db", "postgresql://someone:secret@127.0.0.1:1/nowhere", "plan", "list"), "cannot reach the database"),
    (("--db", "nosuchdb://x/y", "plan", "list"), "is not one actionbot can use"),
    (("--db", "/nonexistent/folder/x.db", "plan", "list"), "cannot reach the database"),
    (("action", "list", "%"), "no plan '%'"),  # a title search treats wildcards as letters
    (("--org", "defualt", "plan", "list"), "no organisation 'defualt'"),  # a read creates nothing
    (("--org", "o" * 100_000, "audit"), "no organisation 'ooo"),
    (("action", "list", "_"), "no plan '_'"),
]


def test_lookups_paths_and_urls_that_lead_nowhere(world):
    for args, says in LEAD_NOWHERE:
        err = world.refused(*args, says=says)
        assert "secret" not in err



# --- chat text -----------------------------------------------------------------------------------------
@hostile
@given(poisoned())
def test_poisoned_chat_text_is_answered_and_never_stored(world, bad):
    """The conversation cleans NULs and lone surrogates out of what people type (it may then act on
    the rest, once confirmed): no traceback, and no such character in any row."""
    typed = f"2.4 on track {bad}\nyes\n".encode("utf-8", "surrogatepass")
    result = world("chat", "--as", "1", "--now", "2026-11-23T10:00", input=typed)
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "Traceback" not in result.output and result.output.rstrip().endswith("Bye.")
    assert not list(world.unstorable())
