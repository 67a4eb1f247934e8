"""The Block Kit renderer: escaping of people's text, Block Kit's limits, modals and their
submissions."""

from __future__ import annotations

import json

import pytest

from bot.domain.model import Rag
from cards import blockkit
from cards.form import Form, Input, Option
from cards.ids import Field, Verb
from cards.view import Button, Card, Fact, Line, Section, Text


def all_text(obj) -> str:
    return json.dumps(obj)


def texts(blocks) -> list[str]:
    out = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("type") in ("mrkdwn", "plain_text"):
                out.append(x["text"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(blocks)
    return out


NASTY = "<!channel> ping <@U0BOSS> see <https://evil.example|the intranet> & more"


def test_user_text_is_escaped_so_it_pings_nobody_and_shows_as_typed():
    card = Card(screen="confirmation", title=Line.of("What I read"), subtitle=NASTY,
                facts=(Fact("Progress", NASTY),),
                sections=(Section("s", "Notes <b>", (Line((Text("2.4", user=True, strong=True), Text(" "), Text(NASTY, user=True))),)),))
    msg = blockkit.render(card)
    joined = "\n".join(t for t in texts(msg.blocks) if t is not None)
    assert "<!channel>" not in joined and "<@U0BOSS>" not in joined and "<https://" not in joined
    assert "&lt;!channel&gt; ping &lt;@U0BOSS&gt; see &lt;https://evil.example|the intranet&gt; &amp; more" in joined
    assert "*2.4*" in joined
    assert "<!channel>" not in msg.text
    # mrkdwn objects are verbatim: Slack does not auto-link names or URLs in them
    mrkdwn = [b["text"] for b in msg.blocks if b["type"] == "section" and "text" in b]
    assert all(m.get("verbatim") is True for m in mrkdwn)


def test_escape_order_does_not_double_escape():
    assert blockkit.escape("a & <b>") == "a &amp; &lt;b&gt;"
    assert blockkit.escape("&lt;") == "&amp;lt;"


def test_rag_marker_and_buttons_carry_verb_and_value():
    card = Card(screen="nudge", title=Line.of("Hello"), sections=(Section("due", "Due", (Line.of("2.4 x", rag=Rag.RED),)),),
                buttons=(Button("Update 2.4", Verb.OPEN_UPDATE, {"action_id": 7, "version": 3}, "primary"),))
    msg = blockkit.render(card)
    assert ":red_circle:" in all_text(msg.blocks)
    actions = [b for b in msg.blocks if b["type"] == "actions"]
    assert len(actions) == 1
    btn = actions[0]["elements"][0]
    assert btn["style"] == "primary"
    assert blockkit.read_button_value(btn["value"]) == ("open_update", {"action_id": 7, "version": 3})


def test_more_than_ten_buttons_are_split_across_actions_blocks_with_unique_ids():
    buttons = tuple(Button(f"B{i}", Verb.OPEN_UPDATE, {"action_id": i}) for i in range(23))
    msg = blockkit.render(Card(screen="nudge", title=Line.of("t"), buttons=buttons))
    actions = [b for b in msg.blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [10, 10, 3]
    ids = [e["action_id"] for a in actions for e in a["elements"]]
    assert len(set(ids)) == 23


def test_long_lists_stay_within_fifty_blocks_and_three_thousand_chars_and_say_how_many_more():
    lines = tuple(Line.of(f"{i}.1 " + "word " * 150, user=True) for i in range(400))  # ~750 chars each
    card = Card(screen="digest", title=Line.of("Digest"), sections=(Section("a", "Overdue", lines, more=5),
                                                                     Section("b", "Moved", lines[:3])))
    msg = blockkit.render(card)
    assert len(msg.blocks) <= 50
    for b in msg.blocks:
        if b["type"] == "section" and "text" in b:
            assert len(b["text"]["text"]) <= 3000
    shown = sum(t.count("• ") for t in texts(msg.blocks))
    more = [t for t in texts(msg.blocks) if "more" in t and "… and" in t]
    assert more, "the cut must be said"
    n = int(more[0].split("… and ")[1].split()[0])
    assert "Moved" in "\n".join(texts(msg.blocks)) and len(more) == 1  # the short section is whole
    assert n == (400 - (shown - 3)) + 5  # the cut lines and the card's own 'more'
    # the lines left out go to thread messages, each within the limits, none lost
    assert msg.rest
    assert all(len(m) <= 50 for m in msg.rest)
    in_rest = sum(t.count("• ") for m in msg.rest for t in texts(m))
    assert shown + in_rest == 403


def test_lines_per_section_keeps_the_main_message_short():
    lines = tuple(Line.of(f"line {i}") for i in range(30))
    msg = blockkit.render(Card(screen="digest", title=Line.of("D"), sections=(Section("a", "Overdue", lines),)), lines_per_section=5)
    joined = "\n".join(texts(msg.blocks))
    assert "line 4" in joined and "line 5" not in joined
    assert "… and 25 more in the thread" in joined
    assert "line 29" in "\n".join(texts(msg.rest[0]))


def test_a_single_huge_line_is_cut_to_the_section_limit():
    msg = blockkit.render(Card(screen="notice", title=Line.of("t" * 400), sections=(Section("a", "", (Line.of("x" * 10000),)),)))
    assert all(len(t) <= 3000 for t in texts(msg.blocks))
    assert len(msg.blocks[0]["text"]["text"]) <= 150


def update_form(**kw) -> Form:
    return Form(
        id=Verb.SUBMIT_UPDATE, title="Update 2.4 — a very long action title indeed", submit_label="Save update",
        intro="2.4 <!here> Deliver training", value={"action_id": 7, "version": 3},
        inputs=(
            Input(Field.STATUS, "choice", "Status", required=True, initial="in_progress",
                  options=(Option("in_progress", "In progress"), Option("complete", "Complete"))),
            Input(Field.RAG, "choice", "RAG", initial="A", options=tuple(Option(c, c) for c in "RAGB")),
            Input(Field.TEXT, "multiline", "Progress", max_length=3000, hint="What happened"),
            Input(Field.REVISED_TARGET, "date", "Revised target", initial="2027-01-31"),
            Input(Field.REASON, "text", "Reason"),
            Input(Field.EVIDENCE, "url", "Evidence link"),
        ), **kw)


def test_form_becomes_a_modal_within_limits():
    v = blockkit.modal(update_form(), metadata={"reply_to": {"channel": "D1", "ts": "1.2"}})
    assert v["type"] == "modal" and v["callback_id"] == "submit_update"
    assert len(v["title"]["text"]) <= 24 and v["title"]["text"].endswith("…")
    meta = json.loads(v["private_metadata"])
    assert meta == {"value": {"action_id": 7, "version": 3}, "reply_to": {"channel": "D1", "ts": "1.2"}}
    inputs = {b["block_id"]: b for b in v["blocks"] if b["type"] == "input"}
    assert inputs["status"]["element"]["initial_option"]["value"] == "in_progress"
    assert inputs["status"].get("optional") is False
    assert inputs["rag"]["optional"] is True
    assert inputs["rag"]["element"]["initial_option"]["value"] == "A"
    assert inputs["progress"]["element"]["multiline"] is True
    assert inputs["revised_target"]["element"]["type"] == "datepicker"
    assert inputs["revised_target"]["element"]["initial_date"] == "2027-01-31"
    assert inputs["evidence"]["element"]["type"] == "url_text_input"
    assert "&lt;!here&gt;" in v["blocks"][0]["text"]["text"]


def test_a_choice_of_more_than_a_hundred_options_is_cut_and_says_so():
    f = Form(id="x", title="t", inputs=(Input("who", "choice", "Who", options=tuple(Option(str(i), f"P{i}") for i in range(130))),))
    v = blockkit.modal(f)
    block = v["blocks"][0]
    assert len(block["element"]["options"]) == 100
    assert "… and 30 more" in block["hint"]["text"]


def test_submission_is_read_back_as_the_forms_fields():
    view = {
        "callback_id": "submit_update",
        "private_metadata": json.dumps({"value": {"action_id": 7, "version": 3}, "reply_to": {"channel": "D1", "ts": "1.2"}}),
        "state": {"values": {
            "status": {"status": {"type": "static_select", "selected_option": {"value": "complete"}}},
            "rag": {"rag": {"type": "static_select", "selected_option": None}},
            "progress": {"progress": {"type": "plain_text_input", "value": "Done <@U1>"}},
            "revised_target": {"revised_target": {"type": "datepicker", "selected_date": "2027-02-01"}},
            "reason": {"reason": {"type": "plain_text_input", "value": None}},
            "evidence": {"evidence": {"type": "url_text_input", "value": "https://x.example/e"}},
        }},
    }
    form_id, value, fields = blockkit.read_submission(view)
    assert form_id == "submit_update" and value == {"action_id": 7, "version": 3}
    assert fields == {"status": "complete", "rag": "", "progress": "Done <@U1>", "revised_target": "2027-02-01",
                      "reason": "", "evidence": "https://x.example/e"}
    assert blockkit.read_metadata(view)["reply_to"] == {"channel": "D1", "ts": "1.2"}


def test_errors_go_under_their_inputs_and_unknown_ones_are_not_lost():
    f = update_form()
    r = blockkit.errors_response({"reason": "A revised target needs a reason", "version": "changed"}, [i.id for i in f.inputs])
    assert r["response_action"] == "errors"
    assert r["errors"]["reason"] == "A revised target needs a reason"
    assert r["errors"]["status"] == "changed"


def test_oversized_hidden_state_is_refused_not_truncated():
    with pytest.raises(ValueError):
        blockkit.modal(Form(id="x", title="t", inputs=(), value={"blob": "x" * 4000}))


def test_button_value_too_long_is_refused():
    with pytest.raises(ValueError):
        blockkit.button_value(Button("b", Verb.APPROVE, {"blob": "x" * 3000}))


def test_home_tab_holds_cards_within_a_hundred_blocks():
    lines = tuple(Line.of(f"line {i} " + "y" * 2900) for i in range(80))
    cards = [Card(screen="notice", title=Line.of(f"c{i}"), sections=(Section("a", "A", lines),)) for i in range(4)]
    v = blockkit.home(cards)
    assert v["type"] == "home" and 0 < len(v["blocks"]) <= 100


def test_import_modal_has_a_file_input_and_loading_modal_is_valid():
    v = blockkit.import_modal()
    assert v["callback_id"] == blockkit.IMPORT_FORM
    assert any(b.get("element", {}).get("type") == "file_input" for b in v["blocks"])
    assert blockkit.loading_modal()["type"] == "modal"
