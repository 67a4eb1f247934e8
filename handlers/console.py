"""The console platform: a chat in the terminal (`actionbot chat --as PERSON`) and a port that
delivers console messages when no Slack or Teams account is mapped.

Like the Slack and Teams handlers it only translates: a line typed becomes an ``Incoming`` for
the one conversation (``bot.conversation``), whose cards are printed as text, buttons as
numbered choices and forms as prompts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.conversation.events import FileIn, Incoming, Press, Said, Submit, Who
from bot.ports import Sent
from cards.form import Form
from cards.view import Button, Card, render_text

if TYPE_CHECKING:  # the chat's own; the port (all a worker needs from here) does without them
    from sqlalchemy import Engine

    from bot.services import engine as eng
    from storage.tables import Person

HELP = (
    "Type an update in your own words (e.g. \"2.4 on track\", \"1.3 done, evidence at https://…\",\n"
    "\"slipping to end of Jan because of staffing\"), then 'yes' to record it or 'no' to drop it.\n"
    "Type a number to press a button, 'help' for every command, 'quit' to leave."
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
    """One person's chat in the terminal. It only translates: a typed line, a number picking one
    of the last card's buttons, or the answers to a form's prompts become an ``Incoming`` for the
    conversation, and its ``Reply`` is printed."""

    def __init__(self, engine: Engine, *, org: str, person: str, clock: Callable[[], datetime], out: Callable[[str], None],
                 cfg: eng.EngineConfig | None = None, ask: Callable[[str], str] | None = None,
                 files_dir: Path | None = None) -> None:
        self.engine, self.clock, self.out = engine, clock, out
        self.ask = ask or input
        self.files_dir = files_dir or Path.cwd()
        from bot.conversation.core import Conversation
        from bot.services import engine as eng
        from storage import repo
        from storage.db import session_scope

        self.cfg = cfg if cfg is not None else eng.EngineConfig()
        with session_scope(engine) as s:
            org_row = repo.get_org(s, org)
            self.person: Person = repo.find_person(s, org_row.id or 0, person)
        self.conversation = Conversation(engine, org=org, cfg=self.cfg, clock=clock)
        self.who = Who("console", str(self.person.id))
        self.buttons: list[Button] = []

    def start(self) -> None:
        from bot.services import engine as eng

        self.out(f"Hello {self.person.display_name}. {HELP}")
        for card in eng.take_console_messages(self.engine, self.person.id or 0, now=self.clock()):
            self.show(card)
        self.send(Said("due"))

    def handle(self, line: str) -> bool:
        """Handle one line; False when the person wants to stop."""
        text = line.strip()
        if text.lower() in ("quit", "exit", "bye", "q"):
            return False
        if text.isdigit() and self.buttons and 1 <= int(text) <= len(self.buttons):
            b = self.buttons[int(text) - 1]
            self.send(Press(b.verb, dict(b.value)))
        elif text.lower().startswith("import ") and Path(text[7:].strip()).expanduser().is_file():
            path = Path(text[7:].strip()).expanduser()
            self.send(FileIn(path.name, path.read_bytes()))
        else:
            self.send(Said(text))
        return True

    def send(self, body: Said | Press | Submit | FileIn) -> None:
        reply = self.conversation.handle(Incoming(self.who, body))
        self.buttons = []
        for card in reply.cards:
            self.show(card)
        for f in reply.files:
            path = self.files_dir / f.name
            path.write_bytes(f.data)
            self.out(f"(file saved: {path})")
        if reply.form is not None:
            self.fill(reply.form)

    def show(self, card: Card) -> None:
        self.out(render_text(card))
        if card.buttons:
            self.buttons = list(card.buttons)
            self.out("  ".join(f"{i}) {b.label}" for i, b in enumerate(card.buttons, 1)) + "   (type a number)")

    def fill(self, form: Form, errors: dict[str, str] | None = None) -> None:
        """A form as prompts, one per input; '.' alone abandons it."""
        self.out(f"== {form.title} ==" + (f"\n{form.intro}" if form.intro else ""))
        self.out("(press Enter to keep what is shown, '.' to abandon)")
        labels = {i.id: i.label for i in form.inputs}
        for key, message in (errors or {}).items():
            self.out(f"  ! {labels.get(key, key)}: {message}")
        fields: dict[str, str] = {}
        for i in form.inputs:
            opts = f" [{' / '.join(f'{o.value}={o.label}' for o in i.options)}]" if i.options else ""
            shown = f" ({i.initial})" if i.initial else ""
            hint = " yyyy-mm-dd" if i.kind == "date" else ""
            try:
                answer = self.ask(f"{i.label}{opts}{hint}{shown}{'*' if i.required else ''}: ")
            except EOFError:
                answer = "."
            if answer.strip() == ".":
                self.out("Form abandoned; nothing was changed.")
                return
            fields[i.id] = answer.strip() or i.initial
        reply = self.conversation.handle(Incoming(self.who, Submit(form.id, dict(form.value), fields)))
        if reply.errors:
            self.fill(form, reply.errors)
            return
        for card in reply.cards:
            self.show(card)
