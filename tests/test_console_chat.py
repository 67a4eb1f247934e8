"""The console platform: ConsoleChat driven line by line with a fixed clock, `actionbot chat`
and `actionbot due --json` on a prepared database, and the ConsolePort's two outputs."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, col, select

from bot.cli import main
from bot.services import engine as eng
from cards.nudge import notice_card
from handlers.console import ConsoleChat, ConsolePort
from storage.db import session_scope
from storage.tables import Action, NudgeStateRow, Outbox, Update
from tests.test_engine import Reg, plan_and_run

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 10:00 in London
ORG = "kent"


@pytest.fixture
def world(session: Session):
    """Ann (no chat account: her messages go to the console) owns 2.4 (target passed) and 2.5
    (no update yet); Nia in New York owns 3.1; 9.1 has no owner in Olive's plan; 1.1 was
    updated yesterday. Mo manages Ann."""
    r = Reg(session, org=ORG)
    mo = r.person("Mo Manager", slack_user_id="UMO")
    ann = r.person("Ann Lead", manager_id=mo.id)
    nia = r.person("Nia York", timezone="America/New_York")
    olive = r.person("Olive Owner", slack_user_id="UOLIVE")
    cs = r.plan("Children's services improvement plan", slug="cs", owner_id=olive.id)
    r.action(cs, "2.4", owner=ann, target=date(2026, 11, 3), text="Deliver reflective practice sessions")
    r.action(cs, "2.5", owner=ann, text="Audit supervision records")
    r.action(cs, "3.1", owner=nia, target=date(2026, 12, 1), text="Publish the practice standards")
    r.action(cs, "9.1", text="Nobody mapped yet")
    fresh = r.action(cs, "1.1", owner=ann, text="Refresh the policy")
    r.update(cs, fresh, by=ann, at=NOW - timedelta(days=1), text="Done the draft")
    r.commit()
    return r, cs, ann, nia, olive, mo


def action(engine, ref: str) -> Action:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as s:
        a = s.exec(select(Action).where(Action.ref == ref)).one()
        s.commit()
        return a


def updates(engine, a: Action) -> list[Update]:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as s:
        out = list(s.exec(select(Update).where(Update.action_id == a.id).order_by(col(Update.id))))
        s.commit()
        return out


def test_console_chat_shows_the_nudge_reads_confirms_and_records(engine, world, tmp_path):
    _r, _cs, ann, *_ = world
    plan_and_run(engine, NOW, eng.EngineConfig(chart_dir=tmp_path))  # Ann's nudge waits in the console outbox
    clock = [NOW + timedelta(minutes=5)]
    said: list[str] = []
    chat = ConsoleChat(engine, org=ORG, person="ann lead", clock=lambda: clock[0], out=said.append)
    chat.start()
    opening = "\n".join(said)
    assert opening.startswith("Hello Ann Lead.")
    assert opening.count("Hello Ann Lead: 2 actions due an update") == 1  # the queued nudge
    assert "2 of your actions due an update" in opening  # then what is due now
    assert "2.4 Deliver reflective practice sessions — due 3 Nov 2026" in opening and "1.1" not in opening
    with Session(engine) as s:
        (msg,) = s.exec(select(Outbox).where(Outbox.screen == "nudge", Outbox.person_id == ann.id)).all()
        assert (msg.platform, msg.status, msg.claimed_by) == ("console", "sent", "console-chat")

    def say(line: str) -> str:
        said.clear()
        assert chat.handle(line) is True
        return "\n".join(said)

    assert "There is nothing waiting for a yes." in say("yes")
    reply = say("2.4 done, session delivered 3 Nov")
    assert "Is this right?" in reply and "Status: Complete" in reply and "[Yes, record it]" in reply
    assert updates(engine, action(engine, "2.4")) == []  # nothing changed yet
    clock[0] += timedelta(minutes=1)
    assert "Recorded on 2.4. Thank you!" in say("yes")
    a = action(engine, "2.4")
    (u,) = updates(engine, a)
    assert (a.status, u.channel, u.author_id, u.text) == ("complete", "console", ann.id, "session delivered 3 Nov")
    assert u.at.replace(tzinfo=UTC) == NOW + timedelta(minutes=6)
    due_now = say("due")
    assert "1 of your actions due an update" in due_now and "2.5 " in due_now and "  - 2.4 " not in due_now
    assert "Nothing to cancel." in say("no")
    assert "Nothing was changed" not in say("2.5 on track") and "OK, nothing was changed." in say("no")
    assert updates(engine, action(engine, "2.5")) == []
    assert "I won't remind you before Mon 30 Nov 09:00" in say("remind me next week")
    with Session(engine) as s:
        assert s.get(NudgeStateRow, ann.id).snoozed_until.replace(tzinfo=UTC) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert "I won't remind you before Tue 24 Nov 09:00" in say("snooze until tuesday")  # the command says the same
    helped = say("help")
    assert "mine — your actions" in helped and "import" not in helped  # only what Ann may do
    assert chat.handle("quit") is False


def test_console_chat_for_someone_with_nothing_due(engine, world):
    said: list[str] = []
    chat = ConsoleChat(engine, org=ORG, person="Mo Manager", clock=lambda: NOW, out=said.append)
    chat.start()
    assert "Nothing of yours needs an update right now." in said[-1]
    said.clear()
    chat.handle("2.4 on track")
    assert "no actions assigned to you" in said[-1]


def test_actionbot_chat_on_the_command_line(db_url, engine, world, tmp_path):
    plan_and_run(engine, NOW, eng.EngineConfig(chart_dir=tmp_path))
    result = CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "chat", "--as", "Ann Lead", "--now", "2026-11-23T10:05"],
                                input="2.4 done, session delivered 3 Nov\nyes\nquit\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Hello Ann Lead.") and "Hello Ann Lead: 2 actions due an update" in out
    assert out.index("Is this right?") < out.index("Recorded on 2.4. Thank you!") < out.index("Bye.")
    assert out.count("you> ") == 3
    a = action(engine, "2.4")
    (u,) = updates(engine, a)
    assert a.status == "complete" and u.channel == "console" and u.text == "session delivered 3 Nov"
    assert u.at.replace(tzinfo=UTC) - NOW - timedelta(minutes=5) < timedelta(minutes=1)  # the --now clock, not today's
    listed = CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "action", "list", "cs", "--json"], catch_exceptions=False)
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)
    row = next(x for x in (rows if isinstance(rows, list) else rows["actions"]) if x["ref"] == "2.4")
    assert row["status"] == "complete"


def test_actionbot_chat_refuses_an_unknown_person(db_url, world):
    result = CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "chat", "--as", "Nobody", "--now", "2026-11-23T10:05"], input="quit\n")
    assert result.exit_code == 1 and "no person 'Nobody'" in result.stderr


def test_actionbot_due_json(db_url, engine, world):
    _r, _cs, ann, _nia, _olive, mo = world
    with session_scope(engine) as s:
        st = s.get(NudgeStateRow, ann.id)  # there since her update of 1.1
        st.unanswered_count, st.last_nudged_at = 2, NOW - timedelta(days=1)
        s.add(st)
    result = CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "due", "--as-of", "2026-11-23T10:00", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"as_of", "people", "actions", "nudges", "not_chased_yet"}
    assert data["as_of"] == "2026-11-23T10:00:00+00:00" and data["people"] == 3 and data["actions"] == 4
    by_name = {n["name"]: n for n in data["nudges"]}
    assert list(by_name) == ["Ann Lead", "Nia York", "Olive Owner"]  # Mo has nothing due
    for n in data["nudges"]:
        assert set(n) == {"person_id", "name", "send_at", "send_now", "actions", "unassigned", "escalations"}
        for a in n["actions"] + n["unassigned"]:
            assert set(a) == {"action_id", "plan_id", "plan", "ref", "title", "reason", "why"} and a["why"] and a["plan"]
    ann_n = by_name["Ann Lead"]
    assert ann_n["person_id"] == ann.id and ann_n["send_now"] is True and ann_n["send_at"] == "2026-11-23T10:00:00+00:00"
    assert [(a["ref"], a["reason"]) for a in ann_n["actions"]] == [("2.4", "overdue"), ("2.5", "cadence")]
    assert "The target date 3 Nov 2026 passed 20 days ago" in ann_n["actions"][0]["why"]
    (esc,) = ann_n["escalations"]
    assert (esc["to_id"], esc["to_name"], esc["private"], esc["refs"], esc["unanswered_count"]) == (mo.id, "Mo Manager", True, ["2.4", "2.5"], 2)
    nia_n = by_name["Nia York"]
    assert nia_n["send_now"] is False and nia_n["send_at"] == "2026-11-23T14:00:00+00:00"  # 09:00 in New York
    assert [(a["ref"], a["reason"]) for a in nia_n["actions"]] == [("3.1", "target_near")]
    olive_n = by_name["Olive Owner"]
    assert olive_n["actions"] == [] and [(a["ref"], a["reason"]) for a in olive_n["unassigned"]] == [("9.1", "cadence")]
    # The text form says the same in words.
    text = CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "due", "--as-of", "2026-11-23T10:00"], catch_exceptions=False).stdout
    assert "Ann Lead — send now" in text and "escalate privately to Mo Manager" in text
    assert "    cs 2.4: The target date 3 Nov 2026 passed" in text  # each ref with its plan
    assert "Nia York — send 2026-11-23T14:00:00+00:00" in text


def test_actionbot_due_with_nothing_due(db_url, world):
    assert CliRunner().invoke(main, ["--db", db_url, "org", "add", "empty-org"]).exit_code == 0
    result = CliRunner().invoke(main, ["--db", db_url, "--org", "empty-org", "due", "--as-of", "2026-11-23T10:00"], catch_exceptions=False)
    assert result.exit_code == 0 and result.stdout.strip() == "Nobody needs a nudge."
    bad = CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "due", "--as-of", "next tuesday"])
    assert bad.exit_code == 1 and "is not a date and time" in bad.stderr


async def test_console_port_writes_json_lines_or_text(tmp_path: Path):
    path = tmp_path / "console.jsonl"
    port = ConsolePort(path=path)
    await port.send("7", notice_card("first"))
    sent = await port.update("7", "", notice_card("second"))
    assert sent.ref == ""
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(x["target"], x["card"]["screen"], x["card"]["sections"][0]["lines"][0]["parts"][0]["text"]) for x in lines] == [
        ("7", "notice", "first"), ("7", "notice", "second")]
    stream = io.StringIO()
    await ConsolePort(stream=stream).send("8", notice_card("hello"))
    assert stream.getvalue() == "--- to person 8 ---\nhello\n"  # no bare "actionbot" title line


def test_console_buttons_are_numbered_choices_and_forms_are_prompts(engine, world):
    answers = iter(["", "A", "Two of four sessions run", "2027-01-31", "trainer off sick", "https://intranet.example/ev/7"])
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    said: list[str] = []
    chat = ConsoleChat(engine, org=ORG, person="Ann Lead", clock=lambda: NOW, out=said.append, ask=ask)
    chat.handle("mine")
    assert "1) Update 2.4" in said[-1]
    said.clear()
    chat.handle("1")
    assert said[0].startswith("== Update 2.4 ==") and asked[0].startswith("Status [") and "(not_started)" in asked[0]
    assert any("yyyy-mm-dd" in p for p in asked)
    out = "\n".join(said)
    assert "Recorded on 2.4" in out and "Revised target: 31 Jan 2027 (trainer off sick)" in out
    a = action(engine, "2.4")
    assert (a.rag, a.revised_target, a.status) == ("A", date(2027, 1, 31), "not_started")


def test_console_form_shows_errors_and_asks_again(engine, world):
    answers = iter(["", "", "", "2020-01-01", "", "", "."])
    said: list[str] = []
    chat = ConsoleChat(engine, org=ORG, person="Ann Lead", clock=lambda: NOW, out=said.append, ask=lambda p: next(answers))
    chat.handle("update 2.5")
    out = "\n".join(said)
    assert "! Revised target date: A new target date cannot be in the past." in out and "Form abandoned; nothing was changed." in out
    assert updates(engine, action(engine, "2.5")) == []
