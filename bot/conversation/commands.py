"""The chat commands: one table that help, the README and the parser all read.

Typed as ``/actions mine`` on Slack and as plain words on Teams and the console. Who may use a
command is a level (everyone < approver < plan owner < admin); ``help`` lists only the commands
a person's roles allow.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    EVERYONE = 0
    APPROVER = 1
    OWNER = 2  # a plan's owner (or an admin)
    ADMIN = 3


LEVEL_NAMES = {Level.EVERYONE: "everyone", Level.APPROVER: "approvers", Level.OWNER: "plan owners and admins", Level.ADMIN: "admins"}


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    example: str
    level: Level = Level.EVERYONE
    aliases: tuple[str, ...] = ()

    @property
    def takes_args(self) -> bool:
        return " " in self.usage


COMMANDS: tuple[Command, ...] = (
    Command("help", "help", "what you can do here", "help", aliases=("?", "commands")),
    Command("mine", "mine", "your actions, and why any is due an update", "mine", aliases=("my actions", "actions", "list")),
    Command("due", "due", "only your actions that are due an update now", "due"),
    Command("update", "update REF [progress…]", "open the update form for one of your actions", "update 2.4 session delivered 3 Nov"),
    Command("undo", "undo", "take back your last update (within 10 minutes)", "undo"),
    Command("snooze", "snooze until WHEN", "no reminders until then", "snooze until Monday", aliases=("remind",)),
    Command("away", "away until DATE", "no reminders while you are away", "away until 5 Jan"),
    Command("back", "back", "you are back: reminders start again", "back"),
    Command("signoff", "signoff", "actions waiting for your sign-off, with Approve / Return", "signoff", Level.APPROVER, ("sign-off", "approvals")),
    Command("plans", "plans", "the organisation's plans", "plans", Level.OWNER),
    Command("show", "show PLAN [REF]", "a plan's register, or one action and its history", "show ilacs 2.4", Level.OWNER),
    Command("digest", "digest PLAN [preview|send]", "the weekly digest now: to you (preview) or to the plan's channels (send)", "digest ilacs preview", Level.OWNER),
    Command("export", "export PLAN xlsx|docx|csv", "the register as a committee-report file, sent to you", "export ilacs xlsx", Level.OWNER),
    Command("assign", "assign PLAN REF PERSON", "make someone an owner of an action", 'assign ilacs 2.4 "Priya Shah"', Level.OWNER),
    Command("map", 'map "LEAD AS WRITTEN" @user|email', "link a lead officer from an imported plan to a chat user", 'map "HoS First Response" @priya', Level.OWNER),
    Command("set", "set PLAN channel|cadence|stages VALUE…", "change a plan's digest channel, update cadence or sign-off stages", "set ilacs cadence monthly:last", Level.OWNER),
    Command("import", "import (with a file attached)", "load a plan from a Word, Excel or CSV file: you see a preview, then Confirm", "import", Level.ADMIN),
)

BY_NAME = {c.name: c for c in COMMANDS} | {a: c for c in COMMANDS for a in c.aliases}


@dataclass(frozen=True)
class Parsed:
    command: Command
    args: tuple[str, ...]
    rest: str  # the text after the command word, as typed


def split_args(text: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text))
    except ValueError:  # an unbalanced quote: split on spaces
        return tuple(text.split())


def parse(text: str) -> Parsed | None:
    """The command a line starts with, or None when it does not start with one."""
    words = text.strip().split(None, 1)
    if not words:
        return None
    first = words[0].lower().lstrip("/")
    rest = words[1] if len(words) > 1 else ""
    if first == "actions" and rest:  # "/actions mine" typed out in full
        return parse(rest)
    two = f"{first} {rest.split(None, 1)[0].lower()}" if rest else ""
    if two in BY_NAME:
        rest2 = rest.split(None, 1)
        rest = rest2[1] if len(rest2) > 1 else ""
        return Parsed(BY_NAME[two], split_args(rest), rest)
    if first in BY_NAME:
        return Parsed(BY_NAME[first], split_args(rest), rest)
    return None


def closest(word: str) -> str | None:
    hits = difflib.get_close_matches(word.lower(), [c.name for c in COMMANDS], n=1, cutoff=0.5)
    return hits[0] if hits else None


def allowed_commands(level: Level) -> list[Command]:
    return [c for c in COMMANDS if c.level <= level]


def markdown_table() -> str:
    """The README's table of chat commands (a test keeps the README in step with it)."""
    rows = ["| command | who may use it | what it does | example |", "|---|---|---|---|"]
    for c in COMMANDS:
        rows.append(f"| `{c.usage}` | {LEVEL_NAMES[c.level]} | {c.summary} | `{c.example}` |")
    return "\n".join(rows)
