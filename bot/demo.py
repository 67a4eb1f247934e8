"""`actionbot demo`: a scripted fortnight on a sample plan, so a new user sees the whole loop —
import, nudges, free-text replies and confirmations, an escalation, sign-off, and the weekly
digest with its chart — without Slack or Teams. Everything runs through the real use cases and
a real database; only the clock is scripted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.domain.model import Channel, Role
from bot.importer import read_plan
from bot.services import engine as eng
from bot.services import register, replies
from bot.services.imports import import_plan
from bot.services.signoff import decide
from cards.view import render_text
from handlers.console import ConsolePort
from storage import repo
from storage.db import session_scope

SAMPLE = Path(__file__).with_name("samples") / "sample_plan.md"
LONDON = ZoneInfo("Europe/London")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, London time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=LONDON)


class Demo:
    def __init__(self, engine: Engine, *, out: Callable[[str], None], chart_dir: Path) -> None:
        self.engine, self.out = engine, out
        self.cfg = eng.EngineConfig(chart_dir=chart_dir)
        self.port = _PrintingPort(out, self._name)

    def _name(self, target: str) -> str:
        if not target.isdigit():
            return f"channel {target}"
        with session_scope(self.engine) as s:
            from storage.tables import Person

            p = s.get(Person, int(target))
            return p.display_name if p else f"person {target}"

    def step(self, when: datetime, title: str) -> None:
        self.out(f"\n===== {when:%a %-d %b %Y %H:%M} — {title} =====")

    def tick(self, when: datetime) -> None:
        result = asyncio.run(eng.tick(self.engine, {"console": self.port}, now=when, worker="demo", cfg=self.cfg))
        self.out(f"(scheduler: {result['planned']} job(s) planned, {result['ran']} run, {result['sent']} message(s) sent)")

    def say(self, when: datetime, who: str, text: str, *, confirm: bool = True) -> None:
        self.out(f"\n{who}> {text}")
        with session_scope(self.engine) as s:
            org = repo.get_org(s, "demo")
            person = repo.find_person(s, org.id or 0, who)
            outcome = replies.read(s, person=person, text=text, channel=Channel.CONSOLE, now=when)
        self.out(render_text(outcome.card))
        if confirm and outcome.token:
            self.out(f"\n{who}> yes")
            with session_scope(self.engine) as s:
                org = repo.get_org(s, "demo")
                person = repo.find_person(s, org.id or 0, who)
                self.out(render_text(replies.confirm(s, org=org, person=person, token=outcome.token, channel=Channel.CONSOLE, now=when)))

    def approve(self, when: datetime, who: str, ref: str, note: str = "") -> None:
        with session_scope(self.engine) as s:
            org = repo.get_org(s, "demo")
            plan = repo.list_plans(s, org.id or 0)[0]
            person = repo.find_person(s, org.id or 0, who)
            action = repo.get_action(s, plan, ref)
            row = decide(s, org=org, plan=plan, action=action, approve=True, note=note, actor=repo.actor_for(s, person), author=person,
                         channel=Channel.CONSOLE, now=when)
            self.out(f"{who} approved {ref} at {row.stage_name}; {ref} is now {action.status.replace('_', ' ')}"
                     f"{' (RAG ' + action.rag + ')' if action.rag else ''}")

    def run(self) -> None:
        t0 = at(2, 8, 30)
        self.step(t0, "the administrator loads the plan and maps people")
        with session_scope(self.engine) as s:
            org = repo.get_or_create_org(s, "demo", "Anytown Council")
            op = repo.actor_for(s, None, operator=True)
            result = import_plan(s, org=org, parsed=read_plan(SAMPLE), actor=op, now=t0, plan_name="Anytown improvement plan")
            plan = repo.get_plan(s, org.id or 0, result.plan_slug)
            self.out(f"imported {len(result.added)} actions into plan {plan.slug}; people created: {', '.join(result.people_created)}")
            dana = register.add_person(s, org=org, actor=op, display_name="Dana Reed", role_title="Head of Service", now=t0)
            sam = register.add_person(s, org=org, actor=op, display_name="Sam Patel", role_title="Evidence Challenge Panel chair", now=t0)
            for name in ("Priya Shah", "Tom Okafor", "Grace Lee"):
                register.edit_person(s, org=org, actor=op, person=repo.find_person(s, org.id or 0, name), manager_id=dana.id, now=t0)
            register.configure_plan(s, org=org, plan=plan, actor=op, now=t0, changes={
                "cadence": "weekly:mon", "rag_scheme": "BRAG", "owner_id": dana.id,
                "signoff_stages": ["Evidence Challenge Panel", "Leadership Team"], "digest_channels": ["console:leadership-channel"]})
            register.grant_role(s, org=org, actor=op, person=sam, role=Role.APPROVER, plan=plan, stage="Evidence Challenge Panel", now=t0)
            register.grant_role(s, org=org, actor=op, person=dana, role=Role.APPROVER, plan=plan, stage="Leadership Team", now=t0)
        self.out("Dana Reed owns the plan and manages the three leads; Sam Patel chairs the Evidence Challenge Panel.")
        self.tick(t0)

        self.step(at(9, 9), "a week later: updates are due (weekly cadence); nudges go out, the first digest too")
        self.tick(at(9, 9))

        self.step(at(9, 10, 15), "lead officers answer in their own words")
        self.say(at(9, 10, 15), "Priya Shah", "1.1 done, dip sampling now weekly, evidence https://intranet.anytown.example/mash/dip-sampling")
        self.say(at(9, 11), "Tom Okafor", "2.1 slipping to end of Jan because of staffing")
        self.say(at(9, 11, 5), "Tom Okafor", "1.3 on track")
        self.say(at(9, 14), "Priya Shah", "remind me Thursday", confirm=False)

        self.step(at(10, 9), "Grace has not answered: a second nudge")
        self.tick(at(10, 9))
        self.step(at(11, 9), "still no answer: the third nudge, and a private note to her manager (never a channel)")
        self.tick(at(11, 9))

        self.step(at(12, 10), "the Evidence Challenge Panel and the Leadership Team sign 1.1 off")
        self.approve(at(12, 10), "Sam Patel", "1.1", "evidence seen")
        self.approve(at(12, 10, 30), "Dana Reed", "1.1")
        self.say(at(12, 15), "Grace Lee", "2.2 can't start until the new audit tool is ready", confirm=False)
        self.say(at(12, 15, 5), "Grace Lee", "2.2 on hold until January, waiting for the audit tool")
        self.say(at(12, 15, 10), "Grace Lee", "2.3 in progress, draft tool shared with auditors, on track")

        self.step(at(16, 9), "Monday: the weekly digest leads with what moved")
        self.tick(at(16, 9))
        self.out(f"\nCharts are in {self.cfg.chart_dir}/. Try it yourself: actionbot --db {self.engine.url.database} --org demo chat --as \"Grace Lee\"")


class _PrintingPort(ConsolePort):
    def __init__(self, out: Callable[[str], None], name: Callable[[str], str]) -> None:
        super().__init__()
        self._out, self._label = out, name

    async def send(self, target, card):
        label = f"{self._label(target)}{' (private)' if card.private else ''}"
        if card.screen == "digest" and card.private:
            self._out(f"\n--- message to {label} ---\n(the same digest, plus the names of anyone who has not updated)")
        else:
            self._out(f"\n--- message to {label} ---\n{render_text(card)}")
        return await super().send(target, card)
