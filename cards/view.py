"""The neutral card every screen is built as, and its JSON form (what the outbox stores).

A card is a title, short facts, sections of lines and buttons. Text parts typed by people are
marked ``user=True`` so the Slack and Teams renderers escape exactly those. Buttons carry a
verb from ``cards.ids`` and a small value dict (action id, version…) that comes back when
pressed, so handlers and renderers agree on ids in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bot.domain.model import Rag


@dataclass(frozen=True)
class Text:
    text: str
    user: bool = False  # typed by a person: renderers escape it
    strong: bool = False


@dataclass(frozen=True)
class Line:
    parts: tuple[Text, ...]
    rag: Rag | None = None  # a renderer may show it as a coloured marker

    @property
    def plain(self) -> str:
        return "".join(p.text for p in self.parts)

    @classmethod
    def of(cls, text: str, *, user: bool = False, rag: Rag | None = None) -> Line:
        return cls((Text(text, user=user),), rag)


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    lines: tuple[Line, ...]
    more: int = 0  # lines left out to keep the message short
    empty: str = ""  # what to say when there are no lines


@dataclass(frozen=True)
class Button:
    label: str
    verb: str  # one of cards.ids.Verb
    value: dict[str, Any] = field(default_factory=dict)
    style: str = ""  # "" | "primary" | "danger"


@dataclass(frozen=True)
class Live:
    """A card that shows one action's state: platforms that can (Teams' ``refresh``) have the
    clients of ``user_ids`` (that platform's ids, the people who care besides the one who
    acted) ask for the action's current card whenever they show this one."""

    action_id: int
    user_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Card:
    screen: str  # nudge | digest | escalation | confirmation | notice
    title: Line
    subtitle: str = ""
    facts: tuple[Fact, ...] = ()
    sections: tuple[Section, ...] = ()
    buttons: tuple[Button, ...] = ()
    private: bool = False
    chart_path: str | None = None
    reply_hint: str = ""  # how to answer in free text
    live: Live | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Card:
        def line(x: dict[str, Any]) -> Line:
            return Line(tuple(Text(**p) for p in x["parts"]), Rag(x["rag"]) if x.get("rag") else None)

        return cls(
            screen=d["screen"],
            title=line(d["title"]),
            subtitle=d.get("subtitle", ""),
            facts=tuple(Fact(**f) for f in d.get("facts", ())),
            sections=tuple(
                Section(s["key"], s["heading"], tuple(line(x) for x in s["lines"]), s.get("more", 0), s.get("empty", ""))
                for s in d.get("sections", ())
            ),
            buttons=tuple(Button(**b) for b in d.get("buttons", ())),
            private=d.get("private", False),
            chart_path=d.get("chart_path"),
            reply_hint=d.get("reply_hint", ""),
            live=Live(int(d["live"]["action_id"]), tuple(d["live"].get("user_ids") or ())) if d.get("live") else None,
        )


# The heading of a card that has no subject of its own (a one-line notice): chat platforms show
# it as the card's header; plain text leaves it out rather than print a bare "actionbot" line.
GENERIC_TITLE = "actionbot"


def render_text(card: Card) -> str:
    """Plain text: the console, the CLI, and the fallback text of chat messages."""
    out = [] if card.title.plain == GENERIC_TITLE else [card.title.plain]
    if card.subtitle:
        out.append(card.subtitle)
    if card.facts:
        out.append("  ".join(f"{f.label}: {f.value}" for f in card.facts))
    for s in card.sections:
        if s.heading:
            out += ["", s.heading]
        if not s.lines and s.empty:
            out.append(f"  {s.empty}")
        for ln in s.lines:
            marker = f"[{ln.rag.value}] " if ln.rag else ""
            out.append(f"  - {marker}{ln.plain}" if s.heading else f"{marker}{ln.plain}")
        if s.more:
            out.append(f"  … and {s.more} more")
    if card.buttons:
        out.append("")
        out.append("  ".join(f"[{b.label}]" for b in card.buttons))
    if card.reply_hint:
        out.append(card.reply_hint)
    if card.chart_path:
        out += ["", f"Chart: {card.chart_path}"]
    return "\n".join(out)
