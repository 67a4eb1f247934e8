"""The console platform: a chat in the terminal (`actionbot chat --as PERSON`) and a port that
delivers console messages when no Slack or Teams account is mapped.

Like the Slack and Teams handlers it only translates: a line typed becomes a call to one use
case (read a reply, confirm, cancel, show what is due), and the answer card is rendered as text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

from bot.domain.model import Channel
from bot.ports import Sent
from bot.services import engine as eng
from bot.services import replies
from cards.nudge import nudge_card, notice_card
from cards.view import Card, render_text
from storage import repo
from storage.db import session_scope
from storage.tables import Person

HELP = (
    "Type an update in your own words (e.g. \"2.4 on track\", \"1.3 done, evidence at https://…\",\n"
    "\"slipping to end of Jan because of staffing\"), then 'yes' to record it or 'no' to drop it.\n"
    "Other words: 'due' (what needs an update), 'remind me Monday', 'help', 'quit'."
)


class ConsolePort:
    """Delivers console messages: appended as JSON lines to a file when one is given, else
    written as text to a stream (the server's log)."""

    platform = "console"

    def __init__(self, *, path: Path | None = None, stream: TextIO | None = None) -> None:
        self.path, self.stream = path, stream

    async def send(self, target: str, card: Card) -> Sent:
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"target": target, "card": card.to_dict()}) + "\n")
        elif self.stream is not None:
            self.stream.write(f"--- to person {target} ---\n{render_text(card)}\n")
            self.stream.flush()
        return Sent(ref="")

    async def update(self, target: str, ref: str, card: Card) -> Sent:
        return await self.send(target, card)


class ConsoleChat:
    """One person's chat session against the register."""

    def __init__(self, engine: Engine, *, org: str, person: str, clock: Callable[[], datetime], out: Callable[[str], None],
                 cfg: eng.EngineConfig = eng.EngineConfig()) -> None:
        self.engine, self.org_slug, self.clock, self.out, self.cfg = engine, org, clock, out, cfg
        with session_scope(engine) as s:
            org_row = repo.get_org(s, org)
            self.person: Person = repo.find_person(s, org_row.id or 0, person)
        self.token: str | None = None

    def start(self) -> None:
        self.out(f"Hello {self.person.display_name}. {HELP}")
        self.show_inbox()
        self.show_due()

    def show_inbox(self) -> None:
        """Console messages waiting for this person (nudges, escalations, digests)."""
        for card in eng.take_console_messages(self.engine, self.person.id or 0, now=self.clock()):
            self.out(render_text(card))

    def show_due(self) -> None:
        now = self.clock()
        with session_scope(self.engine) as s:
            nudges, reg = eng.due(s, self.person.org_id, now=now, cfg=self.cfg, person_id=self.person.id)
        mine = next((n for n in nudges if n.person_id == self.person.id), None)
        if mine is None or not (mine.actions or mine.unassigned):
            self.out("Nothing of yours needs an update right now.")
            return
        by_id = {a.id: a for a in reg.actions}
        self.out(render_text(nudge_card(self.person.display_name, mine.actions, by_id, unassigned=mine.unassigned)))

    def handle(self, line: str) -> bool:
        """Handle one line; False when the person wants to stop."""
        text = line.strip()
        low = text.lower()
        now = self.clock()
        if low in ("quit", "exit", "bye", "q"):
            return False
        if low in ("help", "?"):
            self.out(HELP)
            return True
        if low in ("due", "list", "what's due", "whats due"):
            self.show_due()
            return True
        with session_scope(self.engine) as s:
            org = repo.get_org(s, self.org_slug)
            person = s.get(Person, self.person.id)
            assert person is not None
            if low in ("yes", "y", "confirm", "ok", "yes please"):
                pending = replies.latest_pending(s, person, now=now)
                card = (replies.confirm(s, org=org, person=person, token=pending.token, channel=Channel.CONSOLE, now=now)
                        if pending else notice_card("There is nothing waiting for a yes."))
            elif low in ("no", "n", "cancel"):
                pending = replies.latest_pending(s, person, now=now)
                card = replies.cancel(s, person=person, token=pending.token, now=now) if pending else notice_card("Nothing to cancel.")
            else:
                card = replies.read(s, person=person, text=text, channel=Channel.CONSOLE, now=now).card
        self.out(render_text(card))
        return True
