"""The Adaptive Card renderer: every card it makes validates against the Adaptive Cards 1.5
schema and stays under 28 KB, buttons carry their verb and value both ways (Action.Execute and
its Action.Submit fallback), forms have the right inputs, and people's text never formats a card."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlmodel import Session

from bot.domain.model import Rag
from cards import adaptive
from cards.adaptive import MAX_BYTES, Refresh, render_card, render_form, size_of
from cards.form import Form, Input, Option
from cards.ids import Field, Verb
from cards.view import Button, Card, Fact, Line, Section, Text
from storage.tables import Outbox
from tests.test_engine import Reg, plan_and_run, rows

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "adaptive-card-1.5.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft6Validator(SCHEMA)


def check(card_json: dict[str, Any]) -> dict[str, Any]:
    """Valid against the 1.5 schema, version 1.5, under 28 KB: what every test's card must be."""
    errors = sorted(VALIDATOR.iter_errors(card_json), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]
    assert card_json["version"] == "1.5"
    assert size_of(card_json) <= MAX_BYTES
    return card_json


def walk(node: Any):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def texts(card_json: dict[str, Any]) -> str:
    return "\n".join(str(n.get("text", "")) for n in walk(card_json) if n.get("type") in ("TextRun", "TextBlock"))


def nudge_like(n_lines: int = 3, *, text: str = "Deliver reflective practice sessions") -> Card:
    return Card(
        screen="nudge",
        title=Line((Text("Ann, "), Text(f"{n_lines} actions need an update", strong=True))),
        subtitle="Children's services improvement plan",
        facts=(Fact("Due", "3 Nov 2026"), Fact("Plan", "cs")),
        sections=(Section("due", "Due now", tuple(Line((Text(f"2.{i} ", strong=True), Text(text, user=True)), rag=Rag.AMBER)
                                                   for i in range(n_lines))),
                  Section("none", "Nothing else", (), empty="No other actions.")),
        buttons=(Button("Update 2.4", Verb.OPEN_UPDATE, {"action_id": 7, "version": 3}, style="primary"),
                 Button("On track", Verb.ON_TRACK, {"action_id": 7, "version": 3}),
                 Button("Snooze", Verb.SNOOZE, {"days": 3}, style="danger")),
        reply_hint="Or reply in your own words, e.g. \"2.4 on track\".",
        chart_path="charts/x.png",
    )


UPDATE_FORM = Form(
    id=Verb.SUBMIT_UPDATE, title="Update 2.4", submit_label="Save update", intro="2.4 Deliver *reflective* practice sessions",
    value={"action_id": 7, "version": 3},
    inputs=(
        Input(Field.STATUS, "choice", "Status", required=True, initial="in_progress",
              options=(Option("not_started", "Not started"), Option("in_progress", "In progress"), Option("complete", "Complete"))),
        Input(Field.RAG, "choice", "RAG", required=True, initial="A",
              options=(Option("R", "Red"), Option("A", "Amber (suggested)"), Option("G", "Green"))),
        Input(Field.TEXT, "multiline", "Progress", required=True, hint="What happened since the last update", max_length=2000),
        Input(Field.REVISED_TARGET, "date", "Revised target", initial="2027-01-31"),
        Input(Field.REASON, "text", "Reason for the new date"),
        Input(Field.EVIDENCE, "url", "Evidence link", hint="https://…"),
    ),
)


def test_a_card_renders_valid_with_execute_buttons_and_submit_fallbacks():
    out = check(render_card(nudge_like(), image_url="https://bot.example/charts/x.png"))
    actions = out["actions"]
    assert [a["type"] for a in actions] == ["Action.Execute"] * 3
    update = actions[0]
    assert update["verb"] == "open_update"
    assert update["data"] == {"ab_verb": "open_update", "ab_value": {"action_id": 7, "version": 3}}
    assert update["fallback"]["type"] == "Action.Submit" and update["fallback"]["data"] == update["data"]
    assert update["style"] == "positive" and actions[2]["style"] == "destructive"
    images = [n for n in walk(out) if n.get("type") == "Image"]
    assert [i["url"] for i in images] == ["https://bot.example/charts/x.png"]
    body = texts(out)
    assert "Deliver reflective practice sessions" in body and "No other actions" in body
    assert "● Amber" in body
    assert "2.4 on track" in out["fallbackText"] or "on track" in body


def test_without_an_image_url_the_chart_is_left_out():
    out = check(render_card(nudge_like()))
    assert not [n for n in walk(out) if n.get("type") == "Image"]


def test_user_text_is_never_markdown():
    evil = "**bold** [click](https://evil.example) _x_ <at>Ann</at> # heading"
    card = Card(screen="notice", title=Line.of(evil, user=True), subtitle=evil, facts=(Fact("Lead", evil),),
                sections=(Section("s", evil, (Line.of(evil, user=True),)),))
    out = check(render_card(card))
    for node in walk(out):
        if node.get("type") == "TextRun":
            assert node["text"] == evil  # TextRuns render no markdown: kept verbatim
        if node.get("type") == "TextBlock":
            assert "**" not in node["text"] and "\\*\\*bold\\*\\*" in node["text"]
    facts = next(n for n in walk(out) if n.get("type") == "FactSet")["facts"]
    assert facts[0]["value"].startswith("\\*\\*bold")


def test_many_buttons_go_to_the_overflow_menu():
    buttons = tuple(Button(f"Update {i}", Verb.OPEN_UPDATE, {"action_id": i}) for i in range(9))
    out = check(render_card(Card(screen="nudge", title=Line.of("x"), buttons=buttons)))
    modes = [a.get("mode", "primary") for a in out["actions"]]
    assert modes == ["primary"] * 5 + ["secondary"] * 4


@pytest.mark.parametrize("n_lines", [200, 2000])
def test_a_long_list_is_paged_under_28_kb(n_lines: int):
    card = nudge_like(n_lines, text="A fairly long action description that repeats " * 3)
    out = check(render_card(card))
    shown = sum(1 for n in walk(out) if n.get("type") == "RichTextBlock") - 1  # minus the title
    assert 0 < shown < n_lines
    more = next(n["text"] for n in walk(out) if n.get("type") == "TextBlock" and "more" in n.get("text", ""))
    assert more == f"… and {n_lines - shown} more"


def test_a_card_that_cannot_be_paged_says_so():
    huge = Card(screen="notice", title=Line.of("Export"), facts=tuple(Fact(f"f{i}", "x" * 1900) for i in range(40)))
    out = check(render_card(huge))
    assert "too long to show in Teams" in texts(out)


def test_refresh_lists_the_users_and_the_verb():
    out = check(render_card(nudge_like(), refresh=Refresh(Verb.SHOW_ACTIONS, {"person": 4}, ("29:abc",))))
    assert out["refresh"]["userIds"] == ["29:abc"]
    assert out["refresh"]["action"]["verb"] == "show_actions"
    assert out["refresh"]["action"]["data"] == {"ab_verb": "show_actions", "ab_value": {"person": 4}}


def test_the_update_form_has_every_kind_of_input():
    out = check(render_form(UPDATE_FORM))
    inputs = {n["id"]: n for n in walk(out) if str(n.get("type", "")).startswith("Input.") and "id" in n}
    assert inputs["status"]["type"] == "Input.ChoiceSet" and inputs["status"]["value"] == "in_progress"
    assert [c["value"] for c in inputs["rag"]["choices"]] == ["R", "A", "G"] and inputs["rag"]["value"] == "A"
    assert inputs["progress"]["isMultiline"] is True and inputs["progress"]["isRequired"] is True
    assert inputs["progress"]["errorMessage"] == "Progress is required" and inputs["progress"]["maxLength"] == 2000
    assert inputs["revised_target"]["type"] == "Input.Date" and inputs["revised_target"]["value"] == "2027-01-31"
    assert inputs["evidence"]["type"] == "Input.Text" and inputs["evidence"]["style"] == "url"
    assert "isRequired" not in inputs["reason"]
    (submit,) = out["actions"]
    assert submit["verb"] == "submit_update" and submit["title"] == "Save update"
    assert submit["data"] == {"ab_verb": "submit_update", "ab_form": "submit_update", "ab_value": {"action_id": 7, "version": 3},
                              "ab_inputs": ["status", "rag", "progress", "revised_target", "reason", "evidence"]}
    assert submit["fallback"]["data"] == submit["data"]
    intro = next(n for n in walk(out) if n.get("type") == "TextRun" and "reflective" in n["text"])
    assert intro["text"] == "2.4 Deliver *reflective* practice sessions"


def test_a_refused_form_shows_its_errors():
    out = check(render_form(UPDATE_FORM, errors={"revised_target": "The revised target is in the past.", "_": "2.4 changed meanwhile."}))
    body = texts(out)
    assert "The revised target is in the past\\." in body and "2\\.4 changed meanwhile\\." in body
    date_input = next(n for n in walk(out) if n.get("id") == "revised_target")
    assert date_input["errorMessage"] == "The revised target is in the past."


def test_an_unknown_input_kind_is_refused():
    with pytest.raises(ValueError, match="unknown input kind"):
        render_form(Form(id="x", title="x", inputs=(Input("a", "colour", "A"),)))


def test_invoke_responses():
    card = render_card(nudge_like())
    assert adaptive.invoke_card_response(card) == {"statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": card}
    err = adaptive.invoke_error_response(400, "BadRequest", "Unknown button")
    assert err["statusCode"] == 400 and err["value"]["message"] == "Unknown button"
    assert adaptive.attachment(card)["contentType"] == "application/vnd.microsoft.card.adaptive"


def test_every_card_the_engine_makes_renders_valid(session: Session, engine, tmp_path):  # type: ignore[no-untyped-def]
    """Nudges, escalations and digests as the engine stores them in the outbox."""
    from bot.services import engine as eng

    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    r = Reg(session, org="kent")
    mo = r.person("Mo Manager", teams_user_id="29:mo")
    ann = r.person("Ann Lead", manager_id=mo.id, teams_user_id="29:ann")
    cs = r.plan("Children's services improvement plan", slug="cs", owner_id=mo.id, digest_channels=["teams:19:chan@thread.tacv2"])
    for i in range(30):
        r.action(cs, f"2.{i}", owner=ann, target=date(2026, 11, 3), text=f"Deliver **session** {i} " + "with a long description " * 8)
    r.commit()
    cfg = eng.EngineConfig(chart_dir=tmp_path / "charts", escalate_after=1)
    for day in range(0, 15):
        plan_and_run(engine, now + timedelta(days=day), cfg)
    views = [m.view for m in rows(engine, Outbox)]
    screens = {v["screen"] for v in views}
    assert {"nudge", "digest"} <= screens, screens
    for v in views:
        card = Card.from_dict(v)
        check(render_card(card, image_url="https://bot.example/c.png" if card.chart_path else None))
