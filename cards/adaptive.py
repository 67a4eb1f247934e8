"""Adaptive Cards (schema 1.5) for Microsoft Teams: the neutral ``Card`` and ``Form`` as JSON.

Pure functions, no SDK. Every button is an ``Action.Execute`` (Universal Actions: Teams sends an
``adaptiveCard/action`` invoke and the bot answers with the card that replaces this one in place)
with an ``Action.Submit`` fallback for clients without Universal Actions (the same data then
arrives as a message's ``value``). Both carry the verb and the button's value under the ``DATA``
keys below, so the Teams handler reads a press the same way whichever way it came.

Text typed by people is only ever put in ``TextRun``s, which render no markdown; our own text in
``TextBlock``s and facts is markdown-escaped too, so nothing a person types can format a card.
A card longer than ``MAX_BYTES`` (28 KB: fits every Teams surface, including the Workflows
connector) is paged: the longest sections lose their last lines and say "… and N more".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.domain.model import Rag
from cards.form import Form, Input
from cards.view import Button, Card, Line, Section, render_text

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
MAX_BYTES = 28 * 1024
MAX_TEXT = 2000  # one text part; longer is cut with an ellipsis
PRIMARY_BUTTONS = 5  # Teams shows about six; the rest go to the overflow menu ("…")

# The keys a button's data carries; input ids (cards.ids.Field) never start with "ab_".
VERB_KEY = "ab_verb"
VALUE_KEY = "ab_value"
FORM_KEY = "ab_form"  # present on a form's submit: its Form.id
INPUTS_KEY = "ab_inputs"  # a form's input ids, so an input left empty still arrives as ''

_RAG_COLOUR = {Rag.RED: "attention", Rag.AMBER: "warning", Rag.GREEN: "good", Rag.BLUE: "accent"}
_RAG_WORD = {Rag.RED: "Red", Rag.AMBER: "Amber", Rag.GREEN: "Green", Rag.BLUE: "Blue"}
_STYLE = {"primary": "positive", "danger": "destructive"}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~])")


@dataclass(frozen=True)
class Refresh:
    """Universal Actions' ``refresh``: the listed users' clients ask the bot for the card's
    current face (verb + value) whenever they show it, so a card never shows stale state."""

    verb: str
    value: Mapping[str, Any]
    user_ids: tuple[str, ...]


def escape_markdown(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def button_data(verb: str, value: Mapping[str, Any]) -> dict[str, Any]:
    return {VERB_KEY: verb, VALUE_KEY: dict(value)}


def _action(title: str, verb: str, data: dict[str, Any], *, style: str = "", secondary: bool = False) -> dict[str, Any]:
    """Action.Execute, falling back to Action.Submit with the same data for older clients."""
    submit: dict[str, Any] = {"type": "Action.Submit", "title": title, "data": data}
    execute: dict[str, Any] = {"type": "Action.Execute", "title": title, "verb": verb, "data": data, "fallback": submit}
    if style in _STYLE:
        execute["style"] = submit["style"] = _STYLE[style]
    if secondary:
        execute["mode"] = submit["mode"] = "secondary"
    return execute


def _rich(line: Line, *, size: str = "", weight: str = "", subtle: bool = False) -> dict[str, Any]:
    inlines: list[dict[str, Any]] = []
    if line.rag is not None:
        inlines.append({"type": "TextRun", "text": f"● {_RAG_WORD[line.rag]} ", "color": _RAG_COLOUR[line.rag], "weight": "bolder"})
    for part in line.parts:
        run: dict[str, Any] = {"type": "TextRun", "text": _cut(part.text)}
        if part.strong or weight:
            run["weight"] = "bolder"
        if size:
            run["size"] = size
        if subtle:
            run["isSubtle"] = True
        inlines.append(run)
    if not inlines:
        inlines.append({"type": "TextRun", "text": " "})
    return {"type": "RichTextBlock", "inlines": inlines}


def _text_block(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": escape_markdown(_cut(text)), "wrap": True, **extra}


def _body(card: Card, image_url: str | None) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = [_rich(card.title, size="medium", weight="bolder")]
    if card.subtitle:
        body.append(_text_block(card.subtitle, isSubtle=True, spacing="none"))
    if card.facts:
        body.append({"type": "FactSet", "facts": [{"title": escape_markdown(_cut(f.label, 200)), "value": escape_markdown(_cut(f.value))}
                                                  for f in card.facts]})
    for section in card.sections:
        if section.heading:
            body.append(_text_block(section.heading, weight="bolder", separator=True, spacing="medium"))
        if not section.lines and section.empty:
            body.append(_text_block(section.empty, isSubtle=True))
        body += [_rich(ln) for ln in section.lines]
        if section.more:
            body.append(_text_block(f"… and {section.more} more", isSubtle=True, spacing="small"))
    if card.chart_path and image_url:
        body.append({"type": "Image", "url": image_url, "altText": "RAG chart", "size": "stretch"})
    if card.reply_hint:
        body.append(_text_block(card.reply_hint, isSubtle=True, size="small", separator=True))
    return body


def _actions(buttons: Sequence[Button]) -> list[dict[str, Any]]:
    return [_action(_cut(b.label, 100), b.verb, button_data(b.verb, b.value), style=b.style, secondary=i >= PRIMARY_BUTTONS)
            for i, b in enumerate(buttons)]


def _envelope(body: list[dict[str, Any]], actions: list[dict[str, Any]], *, fallback_text: str, refresh: Refresh | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA_URL, "version": VERSION, "body": body}
    if actions:
        out["actions"] = actions
    if refresh is not None:
        out["refresh"] = {
            "action": {"type": "Action.Execute", "title": "Refresh", "verb": refresh.verb, "data": button_data(refresh.verb, refresh.value)},
            "userIds": list(refresh.user_ids),
        }
    out["fallbackText"] = _cut(fallback_text, 1000)
    return out


def size_of(card_json: Mapping[str, Any]) -> int:
    """Bytes on the wire, as Teams counts a message."""
    return len(json.dumps(card_json, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _shorten(card: Card) -> Card | None:
    """One page shorter: the section with the most lines loses its last one (counted in
    ``more``); None when nothing is left to drop."""
    if not card.sections:
        return None
    longest = max(range(len(card.sections)), key=lambda i: len(card.sections[i].lines))
    s = card.sections[longest]
    if not s.lines:
        return None
    drop = max(1, len(s.lines) // 10)  # long lists shrink fast, short ones line by line
    shorter: Section = replace(s, lines=s.lines[:-drop], more=s.more + drop)
    return replace(card, sections=card.sections[:longest] + (shorter,) + card.sections[longest + 1:])


def render_card(card: Card, *, image_url: str | None = None, refresh: Refresh | None = None, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The Adaptive Card for a neutral card. ``image_url``: where the card's chart can be
    fetched (Teams shows images by URL or data URI); without one the chart is left out."""
    current: Card | None = card
    while current is not None:
        out = _envelope(_body(current, image_url), _actions(current.buttons), fallback_text=render_text(current)[:1000], refresh=refresh)
        if size_of(out) <= max_bytes:
            return out
        current = _shorten(current)
    # Every line dropped and still too long (huge facts or buttons): the title and a note.
    note = Card(screen=card.screen, title=card.title, subtitle="This message was too long to show in Teams; ask for it again with a narrower request.")
    return _envelope(_body(note, None), [], fallback_text=note.title.plain, refresh=None)


def _input(inp: Input, error: str | None) -> list[dict[str, Any]]:
    out: dict[str, Any] = {"id": inp.id, "label": _cut(inp.label, 200)}
    if inp.kind == "choice":
        out |= {"type": "Input.ChoiceSet", "style": "compact",
                "choices": [{"title": _cut(o.label, 200), "value": o.value} for o in inp.options]}
        if inp.initial:
            out["value"] = inp.initial
    elif inp.kind == "date":
        out["type"] = "Input.Date"
        if inp.initial:
            out["value"] = inp.initial
    elif inp.kind in ("text", "multiline", "url"):
        out["type"] = "Input.Text"
        if inp.kind == "multiline":
            out["isMultiline"] = True
        if inp.kind == "url":
            out["style"] = "url"
        if inp.initial:
            out["value"] = _cut(inp.initial, 4000)
        if inp.max_length:
            out["maxLength"] = inp.max_length
    else:
        raise ValueError(f"unknown input kind {inp.kind!r}")
    if inp.hint and out["type"] != "Input.ChoiceSet":
        out["placeholder"] = _cut(inp.hint, 200)
    if inp.required:
        out["isRequired"] = True
    if error or inp.required:
        out["errorMessage"] = _cut(error or f"{inp.label} is required", 300)
    blocks = [out]
    if error:  # a server-side refusal: shown above the input, since the client's own check passed
        blocks.insert(0, {"type": "TextBlock", "text": escape_markdown(_cut(error, 300)), "color": "attention", "wrap": True, "spacing": "medium"})
    return blocks


def form_submit_data(form: Form) -> dict[str, Any]:
    return {VERB_KEY: form.id, FORM_KEY: form.id, VALUE_KEY: dict(form.value), INPUTS_KEY: [i.id for i in form.inputs]}


def render_form(form: Form, *, errors: Mapping[str, str] | None = None, refresh: Refresh | None = None) -> dict[str, Any]:
    """The form as a card with inputs; ``errors`` (input id -> message) from a refused submit
    show next to their inputs, and one the form has no input for shows at the top."""
    errors = dict(errors or {})
    body: list[dict[str, Any]] = [_text_block(form.title, size="medium", weight="bolder")]
    if form.intro:
        body.append(_rich(Line.of(form.intro, user=True)))
    ids = {i.id for i in form.inputs}
    for key, message in errors.items():
        if key not in ids:
            body.append({"type": "TextBlock", "text": escape_markdown(_cut(message, 300)), "color": "attention", "wrap": True})
    for inp in form.inputs:
        body += _input(inp, errors.get(inp.id))
    actions = [_action(_cut(form.submit_label, 100), form.id, form_submit_data(form), style="primary")]
    fallback = f"{form.title}: this form needs a newer Teams client."
    return _envelope(body, actions, fallback_text=fallback, refresh=refresh)


def attachment(card_json: Mapping[str, Any]) -> dict[str, Any]:
    """The message attachment that carries a card."""
    return {"contentType": CONTENT_TYPE, "content": dict(card_json)}


def invoke_card_response(card_json: Mapping[str, Any]) -> dict[str, Any]:
    """The body of an ``adaptiveCard/action`` invoke response that replaces the card in place."""
    return {"statusCode": 200, "type": CONTENT_TYPE, "value": dict(card_json)}


def invoke_message_response(text: str) -> dict[str, Any]:
    """An ``adaptiveCard/action`` invoke response that leaves the card and shows a short message."""
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": _cut(text, 500)}


def invoke_error_response(status: int, code: str, message: str) -> dict[str, Any]:
    """A 4xx-style invoke answer: the client shows the message; the card stays as it was."""
    return {"statusCode": status, "type": "application/vnd.microsoft.error", "value": {"code": code, "message": _cut(message, 500)}}
