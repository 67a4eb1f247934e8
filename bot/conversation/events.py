"""What a platform adapter hands the conversation, and what it gets back.

Adapters (Slack, Teams, console) only translate: a request becomes an ``Incoming`` (who sent
it, what it is, the platform's id for it), the conversation decides what it means and answers
with a ``Reply`` (cards for the sender, a replacement for the message a button was pressed on,
a form to open, validation errors, files). Nothing here knows any chat SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cards.form import Form
from cards.view import Card


@dataclass(frozen=True)
class Who:
    platform: str  # "slack" | "teams" | "console"
    user_id: str  # the platform's user id (console: the person's name or #id)
    workspace: str | None = None  # Slack team id, Teams tenant id
    email: str | None = None  # the e-mail the platform holds for this user, when known
    name: str | None = None  # display name as the platform gives it
    timezone: str | None = None  # IANA zone, when the platform says (Teams localTimezone, Slack users.info tz)


@dataclass(frozen=True)
class Said:
    """Text typed to the bot, exactly as the platform sent it (Slack mrkdwn with <…> links and
    mentions, Teams HTML): the conversation decodes it."""

    text: str
    command: bool = False  # came as a command (Slack /actions): read as a command, never as a progress update
    mentions: tuple[tuple[str, str], ...] = ()  # (text shown, platform user id) when the platform lists them apart (Teams)


@dataclass(frozen=True)
class Press:
    """A button pressed: its verb (cards.ids.Verb) and the value the card gave it."""

    verb: str
    value: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submit:
    """A form submitted: the form's id, its hidden value as sent, and each input's value as
    typed ('' when left empty; dates as ISO yyyy-mm-dd)."""

    form: str
    value: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileIn:
    """A file sent to the bot (bytes already downloaded by the adapter) and any text with it."""

    name: str
    data: bytes
    text: str = ""


Body = Said | Press | Submit | FileIn


@dataclass(frozen=True)
class Incoming:
    who: Who
    body: Body
    event_id: str | None = None  # the platform's id for this event (Slack event_id / interaction id, Teams activity id)
    where: str | None = None  # the channel or conversation it came from (for "set PLAN channel here")


@dataclass(frozen=True)
class OutFile:
    name: str
    data: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Reply:
    """The conversation's answer to one event.

    - ``cards``: to the sender, in the conversation the event came from (privately);
    - ``replace``: the new face of the message the button was pressed on (what was recorded,
      by whom, when), for adapters that can update a message in place;
    - ``form``: a form to open (after a press), or to show again;
    - ``errors``: the submitted form was refused: input id -> message (Slack
      ``response_action: errors``; Teams shows the form again with the messages);
    - ``files``: files for the sender (exports);
    - ``replayed``: this event id was seen before; the earlier answer, and nothing was done again.
    """

    cards: tuple[Card, ...] = ()
    replace: Card | None = None
    form: Form | None = None
    errors: dict[str, str] = field(default_factory=dict)
    files: tuple[OutFile, ...] = ()
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """What the event-id store keeps (file names, not their bytes)."""
        return {
            "cards": [c.to_dict() for c in self.cards],
            "replace": self.replace.to_dict() if self.replace else None,
            "form": self.form.to_dict() if self.form else None,
            "errors": dict(self.errors),
            "files": [{"name": f.name, "mime": f.mime} for f in self.files],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, replayed: bool = True) -> Reply:
        return cls(
            cards=tuple(Card.from_dict(c) for c in d.get("cards", ())),
            replace=Card.from_dict(d["replace"]) if d.get("replace") else None,
            form=Form.from_dict(d["form"]) if d.get("form") else None,
            errors=dict(d.get("errors") or {}),
            files=(),
            replayed=replayed,
        )
