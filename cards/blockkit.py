"""The neutral card and form rendered as Slack Block Kit: messages, modals and the App Home.

Pure functions, built with ``slack_sdk.models`` (whose validators check Block Kit's limits when
a block is turned into a dict); nothing here talks to Slack. Every piece of text put into mrkdwn
is escaped (``& < >``), so a progress note holding ``<!channel>``, ``<@U123>`` or
``<https://x|disguised link>`` pings nobody and shows as typed.

Block Kit's limits are kept by construction: at most 50 blocks a message (100 in a modal or
the Home tab), 3,000 characters a section, 10 fields a section, 10 buttons an actions block,
24 characters a modal title, 100 options a select. Lines that do not fit are counted in an
"… and N more" line; a message's ``rest`` holds them for a thread (see ``render``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UrlInputElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.domain.model import Rag
from cards.form import Form, Input
from cards.view import Button, Card, Line, Section, render_text

MAX_BLOCKS = 50  # a message
MAX_VIEW_BLOCKS = 100  # a modal or the Home tab
MAX_SECTION_CHARS = 3000
MAX_FIELD_CHARS = 2000
MAX_FIELDS = 10
MAX_BUTTONS = 10  # per actions block
MAX_BUTTON_TEXT = 75
MAX_VALUE_CHARS = 2000  # a button's value
MAX_HEADER_CHARS = 150
MAX_TITLE_CHARS = 24  # modal title, submit and close labels
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_PLACEHOLDER = 150
MAX_LABEL = 2000
MAX_METADATA = 3000  # a view's private_metadata
MAX_TEXT = 3000  # the notification text we send with blocks (Slack allows more; this keeps it short)

RAG_EMOJI = {Rag.RED: ":red_circle:", Rag.AMBER: ":large_orange_circle:", Rag.GREEN: ":large_green_circle:", Rag.BLUE: ":large_blue_circle:"}


def escape(text: str) -> str:
    """Text made inert for mrkdwn: Slack's three control characters escaped (in this order)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(0, n - 1)].rstrip() + "…"


def line_mrkdwn(line: Line, *, bullet: bool = False) -> str:
    """One line as mrkdwn: every part escaped, strong parts bold, the RAG as a coloured dot."""
    out = []
    for p in line.parts:
        t = escape(p.text)
        if p.strong and t.strip():
            lead, core, trail = t[: len(t) - len(t.lstrip())], t.strip(), t[len(t.rstrip()):]
            t = f"{lead}*{core}*{trail}"
        out.append(t)
    text = "".join(out)
    if line.rag is not None:
        text = f"{RAG_EMOJI.get(line.rag, '')} {text}"
    return f"• {text}" if bullet else text


def _md(text: str) -> MarkdownTextObject:
    # verbatim: Slack does not turn bare URLs, #channels or @names into links or mentions
    return MarkdownTextObject(text=text, verbatim=True)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(cut(text, MAX_SECTION_CHARS)))


def _more(n: int, where: str = "") -> SectionBlock:
    return SectionBlock(text=_md(f"_… and {n} more{where}_"))


def button_value(b: Button) -> str:
    """What a button carries back: its verb and value as compact JSON."""
    v = json.dumps({"verb": str(b.verb), "value": b.value}, separators=(",", ":"), sort_keys=True, default=str)
    if len(v) > MAX_VALUE_CHARS:
        raise ValueError(f"button {b.label!r} carries {len(v)} characters; Slack takes {MAX_VALUE_CHARS}")
    return v


def read_button_value(raw: str) -> tuple[str, dict[str, Any]]:
    """(verb, value) from a pressed button's value, as ``button_value`` wrote it."""
    d = json.loads(raw or "{}")
    if not isinstance(d, dict) or not isinstance(d.get("verb"), str):
        raise ValueError("not an actionbot button")
    value = d.get("value") or {}
    return d["verb"], value if isinstance(value, dict) else {}


def _buttons(buttons: Sequence[Button]) -> list[Block]:
    blocks: list[Block] = []
    for start in range(0, len(buttons), MAX_BUTTONS):
        elements = []
        for i, b in enumerate(buttons[start : start + MAX_BUTTONS], start):
            elements.append(ButtonElement(
                text=PlainTextObject(text=cut(b.label, MAX_BUTTON_TEXT), emoji=False),
                action_id=f"{b.verb}:{i}",  # unique in the message; the verb is read from the value
                value=button_value(b),
                style=b.style or None,
            ))
        blocks.append(ActionsBlock(block_id=f"buttons:{start // MAX_BUTTONS}", elements=elements))
    return blocks


def _pack(lines: Sequence[str], budget_chars: int = MAX_SECTION_CHARS) -> list[str]:
    """Lines joined into as few section texts as fit under the character limit (a single line
    longer than the limit is cut)."""
    chunks: list[str] = []
    cur = ""
    for ln in lines:
        ln = cut(ln, budget_chars)
        if cur and len(cur) + 1 + len(ln) > budget_chars:
            chunks.append(cur)
            cur = ln
        else:
            cur = f"{cur}\n{ln}" if cur else ln
    if cur:
        chunks.append(cur)
    return chunks


@dataclass
class Message:
    """A card as a Slack message: the notification ``text``, the ``blocks``, and ``rest``: the
    section lines that did not fit, as further messages (each within the limits) for a thread."""

    text: str
    blocks: list[dict[str, Any]]
    rest: list[list[dict[str, Any]]] = field(default_factory=list)


def _section_blocks(s: Section, lines: Sequence[str], more: int, *, where: str = "") -> list[Block]:
    blocks: list[Block] = []
    if s.heading:
        blocks.append(_section(f"*{escape(s.heading)}*"))
    if not lines and not more and s.empty:
        blocks.append(_section(f"_{escape(s.empty)}_"))
    blocks += [_section(c) for c in _pack(lines)]
    if more:
        blocks.append(_more(more, where))
    return blocks


def render(card: Card, *, lines_per_section: int | None = None, max_blocks: int = MAX_BLOCKS) -> Message:
    """A card as a message of at most ``max_blocks`` blocks.

    ``lines_per_section`` keeps the main message short (a digest): each section shows that many
    lines and says how many more there are; the full lists go to ``rest`` for a thread. Lines
    that do not fit the block budget either are treated the same way."""
    head: list[Block] = [HeaderBlock(text=PlainTextObject(text=cut(card.title.plain or " ", MAX_HEADER_CHARS), emoji=False))]
    if card.subtitle:
        head.append(ContextBlock(elements=[_md(cut(escape(card.subtitle), MAX_FIELD_CHARS))]))
    if card.facts:
        fields = [_md(cut(f"*{escape(f.label)}*\n{escape(f.value)}", MAX_FIELD_CHARS)) for f in card.facts]
        for i in range(0, len(fields), MAX_FIELDS):
            head.append(SectionBlock(fields=fields[i : i + MAX_FIELDS]))
    tail: list[Block] = []
    if card.reply_hint:
        tail.append(ContextBlock(elements=[_md(cut(escape(card.reply_hint), MAX_FIELD_CHARS))]))
    tail += _buttons(card.buttons)

    sections = [(s, [line_mrkdwn(ln, bullet=bool(s.heading)) for ln in s.lines]) for s in card.sections]
    shown = [len(ls) if lines_per_section is None else min(len(ls), lines_per_section) for _, ls in sections]

    def body() -> list[Block]:
        out: list[Block] = []
        for (s, ls), k in zip(sections, shown, strict=True):
            cut_here = len(ls) - k
            out += _section_blocks(s, ls[:k], cut_here + s.more, where=" in the thread" if cut_here else "")
        return out

    budget = max_blocks - len(head) - len(tail)
    blocks = body()
    while len(blocks) > budget and any(shown):  # drop lines from the longest shown section until it fits
        i = max(range(len(shown)), key=lambda j: shown[j])
        shown[i] = max(0, shown[i] - max(1, shown[i] // 4))
        blocks = body()
    if len(blocks) > budget:  # headings alone overflow (many sections): keep what fits
        blocks = blocks[: max(0, budget - 1)] + [_more(len(blocks) - budget + 1, " parts")]

    rest: list[list[dict[str, Any]]] = []
    for (s, ls), k in zip(sections, shown, strict=True):
        if k < len(ls):
            rest += _chunked(s, ls[k:])
    return Message(text=cut(escape(render_text_head(card)), MAX_TEXT), blocks=_dicts([*head, *blocks, *tail]), rest=rest)


def _chunked(s: Section, lines: Sequence[str]) -> list[list[dict[str, Any]]]:
    """A section's remaining lines as thread messages, each within the block limit."""
    texts = _pack(lines)
    per = MAX_BLOCKS - 1
    out = []
    for i in range(0, len(texts), per):
        blocks: list[Block] = [_section(f"*{escape(s.heading or 'More')}*" + (" (continued)" if i else ""))]
        blocks += [_section(t) for t in texts[i : i + per]]
        out.append(_dicts(blocks))
    return out


def render_text_head(card: Card) -> str:
    """The notification text: the title and subtitle (what a phone's banner shows)."""
    return card.title.plain + (f" — {card.subtitle}" if card.subtitle else "")


def fallback_text(card: Card) -> str:
    """The whole card as plain text, escaped (for clients that cannot show blocks)."""
    return cut(escape(render_text(card)), MAX_TEXT)


def _dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]  # to_dict validates each block against Block Kit's limits


# --- forms as modals ------------------------------------------------------------------------
def _element(inp: Input) -> Any:
    placeholder = PlainTextObject(text=cut(inp.hint, MAX_PLACEHOLDER)) if inp.hint else None
    if inp.kind == "choice":
        options = [Option(value=o.value, label=cut(o.label, MAX_OPTION_TEXT)) for o in inp.options[:MAX_OPTIONS]]
        initial = next((o for o in options if o.value == inp.initial), None)
        return StaticSelectElement(action_id=inp.id, options=options, initial_option=initial,
                                   placeholder=placeholder or PlainTextObject(text="Choose…"))
    if inp.kind == "date":
        return DatePickerElement(action_id=inp.id, initial_date=inp.initial or None, placeholder=placeholder)
    if inp.kind == "url":
        return UrlInputElement(action_id=inp.id, initial_value=inp.initial or None, placeholder=placeholder)
    if inp.kind in ("text", "multiline"):
        return PlainTextInputElement(action_id=inp.id, initial_value=inp.initial or None, placeholder=placeholder,
                                     multiline=inp.kind == "multiline" or None, max_length=inp.max_length or None)
    raise ValueError(f"input {inp.id!r}: unknown kind {inp.kind!r}")


def _input_hint(inp: Input) -> str:
    notes = []
    if inp.kind != "choice" and inp.hint and len(inp.hint) > MAX_PLACEHOLDER:
        notes.append(inp.hint)
    if inp.kind == "choice" and len(inp.options) > MAX_OPTIONS:
        notes.append(f"… and {len(inp.options) - MAX_OPTIONS} more not listed here")
    return cut(" ".join(notes), MAX_LABEL)


def modal(form: Form, *, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A form as a modal view. ``callback_id`` is the form's id; ``private_metadata`` holds the
    form's hidden value plus the adapter's own ``metadata`` (where to update the card after)."""
    blocks: list[Block] = []
    if form.intro:
        blocks += [_section(c) for c in _pack([escape(form.intro)])]
    for inp in form.inputs:
        hint = _input_hint(inp)
        blocks.append(InputBlock(
            block_id=inp.id, label=PlainTextObject(text=cut(inp.label, MAX_LABEL)), element=_element(inp),
            optional=not inp.required, hint=PlainTextObject(text=hint) if hint else None,
        ))
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise ValueError(f"form {form.id!r} has {len(blocks)} blocks; a modal holds {MAX_VIEW_BLOCKS}")
    return _view("modal", blocks, callback_id=form.id, title=form.title, submit=form.submit_label,
                 metadata={"value": form.value, **(metadata or {})})


def _view(kind: str, blocks: Sequence[Block], *, callback_id: str, title: str, submit: str | None,
          metadata: dict[str, Any]) -> dict[str, Any]:
    meta = json.dumps(metadata, separators=(",", ":"), default=str)
    if len(meta) > MAX_METADATA:
        raise ValueError(f"{callback_id}: hidden state of {len(meta)} characters; Slack keeps {MAX_METADATA}")
    v = View(
        type=kind, callback_id=callback_id, title=PlainTextObject(text=cut(title, MAX_TITLE_CHARS)),
        submit=PlainTextObject(text=cut(submit, MAX_TITLE_CHARS)) if submit else None,
        close=PlainTextObject(text="Cancel"), blocks=list(blocks), private_metadata=meta,
    )
    return v.to_dict()


def loading_modal(title: str = "One moment", *, callback_id: str = "loading", text: str = "Loading…") -> dict[str, Any]:
    """What is opened at once (a trigger id lives 3 seconds), to be filled with ``views.update``."""
    return _view("modal", [_section(escape(text))], callback_id=callback_id, title=title, submit=None, metadata={})


def notice_modal(title: str, text: str) -> dict[str, Any]:
    return _view("modal", [_section(c) for c in _pack([escape(text)])], callback_id="notice", title=title, submit=None, metadata={})


IMPORT_FORM = "import_file"  # the callback id of `/actions import`'s modal
IMPORT_FILE_INPUT = "file"


def import_modal(*, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """`/actions import`: a file input (Slack-only: a slash command cannot carry a file)."""
    blocks: list[Block] = [
        _section("Choose the plan file (.xlsx, .docx, .csv, .txt or .md). Nothing is stored until you confirm the preview."),
        InputBlock(block_id=IMPORT_FILE_INPUT, label=PlainTextObject(text="Plan file"),
                   element=FileInputElement(action_id=IMPORT_FILE_INPUT, filetypes=["xlsx", "docx", "csv", "txt", "md"], max_files=1)),
    ]
    return _view("modal", blocks, callback_id=IMPORT_FORM, title="Import a plan", submit="Preview", metadata=metadata or {})


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        d = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def read_submission(view: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(form id, hidden value, input id -> value as typed) from a ``view_submission``'s view.
    Empty inputs read as ''; dates as ISO yyyy-mm-dd; choices as the option's value; files as
    a comma-separated list of file ids."""
    fields: dict[str, str] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for _action_id, st in actions.items():
            kind = st.get("type")
            if kind in ("static_select", "radio_buttons"):
                v = (st.get("selected_option") or {}).get("value") or ""
            elif kind == "datepicker":
                v = st.get("selected_date") or ""
            elif kind == "file_input":
                v = ",".join(f.get("id", "") for f in st.get("files") or [])
            else:
                v = st.get("value") or ""
            fields[block_id] = v
    meta = read_metadata(view)
    value = meta.get("value")
    return view.get("callback_id", ""), value if isinstance(value, dict) else {}, fields


def errors_response(errors: dict[str, str], shown: Sequence[str] = ()) -> dict[str, Any]:
    """``response_action: errors``: each message under its input's block (``shown``: the modal's
    input block ids, in order). An error for an input the modal does not show goes under the
    first input, so it is never lost."""
    out: dict[str, str] = {}
    for k, msg in errors.items():
        key = k if (not shown or k in shown) else shown[0]
        out[key] = cut(f"{out[key]} {msg}" if key in out else msg, 150)
    return {"response_action": "errors", "errors": out}


# --- the App Home tab -----------------------------------------------------------------------
def home(cards: Sequence[Card]) -> dict[str, Any]:
    """The Home tab ("my actions"): the cards one under another, within 100 blocks."""
    blocks: list[dict[str, Any]] = []
    budget = MAX_VIEW_BLOCKS
    for i, c in enumerate(cards):
        if i:
            blocks.append(DividerBlock().to_dict())
        room = budget - len(blocks)
        if room < 3:
            break
        blocks += render(c, max_blocks=min(MAX_BLOCKS, room)).blocks
    v = View(type="home", blocks=blocks[:MAX_VIEW_BLOCKS])
    return v.to_dict()
