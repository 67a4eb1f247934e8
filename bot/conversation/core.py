"""The conversation: one place that decides what a message, a button or a form means.

``Conversation.handle`` takes one ``Incoming`` from any platform and returns a ``Reply``. Each
event is one transaction: the event id is recorded with the answer in the same transaction as
the change it caused, so a retried or double-clicked event returns the earlier answer and
changes nothing, across restarts and replicas. Bad input gets a clear answer and changes
nothing; an unexpected failure is logged and the person is told nothing was changed.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.conversation import commands as cmds
from bot.conversation.commands import Level
from bot.conversation.events import FileIn, Incoming, OutFile, Press, Reply, Said, Submit, Who
from bot.conversation.forms import read_update_form, return_form, update_form
from bot.conversation.markup import Decoded, decode
from bot.domain.due import needs_update, parse_snooze, zone
from bot.domain.model import Channel, InvalidValue, Role, Status
from bot.domain.permissions import Actor, Grant
from bot.domain.vocabulary import ref_key
from bot.errors import ActionbotError, NotFound
from bot.services import engine as eng
from bot.services import queries, register, replies, signoff
from cards import chat
from cards.ids import Field, Verb
from cards.nudge import notice_card
from cards.view import Button, Card, Live
from storage import repo
from storage.db import session_scope
from storage.snapshots import load_register
from storage.tables import (
    Action,
    Organisation,
    PendingImport,
    Person,
    Plan,
    SeenEvent,
    Update,
)

log = logging.getLogger("actionbot.conversation")

SEEN_FOR = timedelta(days=7)  # event ids older than this are pruned (Slack retries within minutes)
PRUNE_EVERY = timedelta(minutes=10)  # each process prunes them this often, not on every event
UNDO_WITHIN = timedelta(minutes=10)
IMPORT_PENDING_FOR = timedelta(hours=24)
EXPORT_MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv",
}
PLATFORM_ID = {"slack": "slack_user_id", "teams": "teams_user_id"}
CHANNEL = {"slack": Channel.SLACK, "teams": Channel.TEAMS, "console": Channel.CONSOLE}
GREETINGS = {"hi", "hello", "hey", "hiya", "morning", "good morning", "good afternoon", "thanks", "thank you", "cheers", "ta"}
YES = {"yes", "y", "yes please", "confirm", "ok", "okay", "yep", "correct", "that's right", "thats right"}
NO = {"no", "n", "cancel", "nope", "wrong", "no thanks"}


class Directory(Protocol):
    """A platform's user directory: the user id for an e-mail address (Slack users.lookupByEmail)."""

    def lookup_email(self, email: str) -> str | None: ...


class _Answer(Exception):
    """Stop here and answer with this card; the transaction is rolled back (nothing changes)."""

    def __init__(self, card: Card) -> None:
        super().__init__(card.title.plain)
        self.card = card


@dataclass
class _Ctx:
    session: Session
    org: Organisation
    person: Person
    who: Who
    channel: Channel
    now: datetime
    level: Level
    where: str | None
    grants: tuple[Grant, ...] = ()  # the person's roles, read once per event

    @property
    def actor(self) -> Actor:
        return Actor(person_id=self.person.id, grants=self.grants)


class Conversation:
    def __init__(
        self, engine: Engine, *, org: str = "default", cfg: eng.EngineConfig | None = None,
        directories: Mapping[str, Directory] | None = None, clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.default_org = org
        self.cfg = cfg or eng.EngineConfig()
        self.directories = dict(directories or {})
        self.clock = clock or (lambda: datetime.now(UTC))
        self._pruned_at: datetime | None = None  # when this process last pruned old event ids

    # --- the entry point ----------------------------------------------------------------------
    def handle(self, event: Incoming, *, now: datetime | None = None) -> Reply:
        now = now or self.clock()
        try:
            with session_scope(self.engine) as s:
                seen = self._seen(s, event, now)
                if isinstance(seen, Reply):
                    return seen
                reply = self._dispatch(s, event, now)
                if seen is not None:
                    seen.reply = reply.to_dict()
                    s.add(seen)
            return reply
        except _Answer as a:
            return Reply(cards=(a.card,))
        except IntegrityError:
            # The same event handled at the same moment elsewhere (another replica): its answer stands.
            with session_scope(self.engine) as s:
                again = self._seen(s, event, now, record=False)
            if isinstance(again, Reply):
                return again
            log.exception("conversation: integrity error on %s event", event.who.platform)
            return Reply(cards=(notice_card("Sorry, that could not be saved; nothing was changed. Please try again."),))
        except (ActionbotError, InvalidValue) as e:
            return Reply(cards=(notice_card(_sentence(str(e))),))
        except Exception:
            log.exception("conversation: unexpected failure on a %s event", event.who.platform)
            return Reply(cards=(notice_card("Sorry, something went wrong on my side; nothing was changed. Please try again."),))

    def _seen(self, s: Session, event: Incoming, now: datetime, *, record: bool = True) -> Reply | SeenEvent | None:
        if not event.event_id:
            return None
        key = event.event_id[:200]
        row = s.exec(select(SeenEvent).where(SeenEvent.platform == event.who.platform, SeenEvent.event_id == key)).first()
        if row is not None:
            return Reply.from_dict(row.reply, replayed=True)
        if not record:
            return None
        if self._pruned_at is None or abs(now - self._pruned_at) >= PRUNE_EVERY:  # now and then, forget old ids
            s.execute(delete(SeenEvent).where(col(SeenEvent.at) < now - SEEN_FOR))
            self._pruned_at = now
        row = SeenEvent(platform=event.who.platform, event_id=key, reply={}, at=now)
        s.add(row)
        s.flush()  # on PostgreSQL a concurrent twin waits here, then fails on the unique key
        return row

    # --- who is this? -------------------------------------------------------------------------
    def _org(self, s: Session, who: Who) -> Organisation:
        if who.platform == "console":
            return repo.get_org(s, self.default_org)
        orgs = s.exec(select(Organisation).where(or_(col(Organisation.slack_team_id).is_not(None), col(Organisation.teams_tenant_id).is_not(None),
                                                      col(Organisation.slug) == self.default_org))).all()  # one query for both cases below
        linked = [o for o in orgs if o.slack_team_id is not None or o.teams_tenant_id is not None]
        if linked:
            field_ = "slack_team_id" if who.platform == "slack" else "teams_tenant_id"
            for o in linked:
                if who.workspace and getattr(o, field_) == who.workspace:
                    return o
            log.warning("refused a %s request from unlinked workspace %r (user %r)", who.platform, who.workspace, who.user_id)
            raise _Answer(notice_card("This workspace is not linked to actionbot. An administrator can link it with "
                                      "`actionbot org link`."))
        org = next((o for o in orgs if o.slug == self.default_org), None)
        if org is None:
            raise _Answer(chat.stranger_card([]))
        return org

    def _person(self, s: Session, org: Organisation, who: Who, now: datetime) -> Person:
        assert org.id is not None
        if who.platform == "console":
            return repo.find_person(s, org.id, who.user_id)
        id_field = PLATFORM_ID.get(who.platform)
        if id_field is None:
            raise _Answer(notice_card(f"Unknown platform {who.platform!r}."))
        person = s.exec(select(Person).where(Person.org_id == org.id, getattr(Person, id_field) == who.user_id)).first()
        if person is None and who.email:
            matches = s.exec(select(Person).where(Person.org_id == org.id, func.lower(Person.email) == who.email.strip().lower(),
                                                  col(getattr(Person, id_field)).is_(None))).all()
            if len(matches) == 1:
                person = matches[0]
                setattr(person, id_field, who.user_id)
                s.add(person)
                repo.audit(s, org_id=org.id, actor_id=person.id, actor_text=person.display_name, channel=who.platform, entity="person",
                           entity_id=person.id, op="link_first_contact", after={id_field: who.user_id, "by": "e-mail match"}, at=now)
        if person is None:
            admins = [p.display_name for p in repo.role_holders(s, org.id, Role.ADMIN)]
            log.info("a %s user %r who is not set up wrote to the bot", who.platform, who.user_id)
            raise _Answer(chat.stranger_card(admins))
        if who.timezone and who.timezone != person.timezone:
            try:
                zone(who.timezone)
            except Exception:
                pass
            else:
                person.timezone = who.timezone
                s.add(person)
        return person

    @staticmethod
    def _level(grants: tuple[Grant, ...]) -> Level:
        roles = {g.role for g in grants}
        if Role.ADMIN in roles:
            return Level.ADMIN
        if Role.OWNER in roles:
            return Level.OWNER
        if Role.APPROVER in roles:
            return Level.APPROVER
        return Level.EVERYONE

    def _dispatch(self, s: Session, event: Incoming, now: datetime) -> Reply:
        org = self._org(s, event.who)
        person = self._person(s, org, event.who, now)
        grants = repo.grants(s, person.id or 0)
        c = _Ctx(s, org, person, event.who, CHANNEL.get(event.who.platform, Channel.CONSOLE), now, self._level(grants), event.where, grants)
        body = event.body
        if isinstance(body, Said):
            return self._said(c, body)
        if isinstance(body, Press):
            return self._press(c, body)
        if isinstance(body, Submit):
            return self._submit(c, body)
        if isinstance(body, FileIn):
            return self._file(c, body)
        raise _Answer(notice_card("I can't handle that kind of message."))

    # --- text -----------------------------------------------------------------------------------
    def _said(self, c: _Ctx, body: Said) -> Reply:
        d = decode(c.who.platform, body.text, body.mentions)
        text = d.text
        low = " ".join(text.lower().split()).strip(" .!")
        if not body.command:
            if low in YES:
                return self._yes(c)
            if low in NO:
                return self._no(c)
            if low in GREETINGS:
                thanks = low in ("thanks", "thank you", "cheers", "ta")
                return _say(("You're welcome." if thanks else f"Hello {c.person.display_name}.")
                            + " Type mine to see your actions, help for everything else, or just tell me how an action is going.")
        parsed = cmds.parse(text)
        if parsed is not None and (body.command or parsed.command.takes_args or not parsed.args):
            cmd = parsed.command
            if cmd.level > c.level:
                return _say(f"Only {cmds.LEVEL_NAMES[cmd.level]} can use {cmd.name}. Type help to see what you can do.")
            return getattr(self, f"_cmd_{cmd.name}")(c, parsed, d)
        if body.command:
            word = text.split()[0] if text.split() else ""
            near = cmds.closest(word) if word else None
            hint = f" Did you mean {near}?" if near else ""
            return _say(f"I didn't understand {word!r}.{hint} Type help to see what you can do." if word else
                        "Type help to see what you can do.")
        out = replies.read(c.session, person=c.person, text=text, channel=c.channel, now=c.now)
        return Reply(cards=(out.card,))

    def _yes(self, c: _Ctx) -> Reply:
        pending = replies.latest_pending(c.session, c.person, now=c.now)
        if pending is None:
            return _say("There is nothing waiting for a yes.")
        return Reply(cards=(replies.confirm(c.session, org=c.org, person=c.person, token=pending.token, channel=c.channel, now=c.now),))

    def _no(self, c: _Ctx) -> Reply:
        pending = replies.latest_pending(c.session, c.person, now=c.now)
        if pending is None:
            return _say("Nothing to cancel.")
        return Reply(cards=(replies.cancel(c.session, person=c.person, token=pending.token, now=c.now),))

    # --- commands ---------------------------------------------------------------------------
    def _cmd_help(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        prefix = "/actions " if c.who.platform == "slack" else ""
        rows = [(prefix + x.usage, x.summary) for x in cmds.allowed_commands(c.level)]
        return Reply(cards=(chat.help_card(c.person.display_name, rows),))

    def _my_items(self, c: _Ctx, *, only_due: bool) -> list[tuple[Any, str]]:
        reg = load_register(c.session, c.org.id or 0, person_id=c.person.id)
        items = []
        for a in reg.actions:
            if c.person.id not in a.owner_ids + a.delegate_ids:
                continue
            why = needs_update(a, plan=reg.plans[a.plan_id], now=c.now)
            if only_due and why is None:
                continue
            if not only_due and not a.status.is_open and why is None and a.status is not Status.COMPLETE:
                continue
            items.append((a, why.text if why else ""))
        items.sort(key=lambda x: (x[1] == "", x[0].target or date.max))
        return items

    def _cmd_mine(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        items = self._my_items(c, only_due=False)
        n_due = sum(1 for _, why in items if why)
        title = f"Your actions: {len(items)}" + (f", {n_due} due an update" if n_due else "")
        return Reply(cards=(chat.actions_card(title, items, empty="You have no open actions."),))

    def _cmd_due(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        items = self._my_items(c, only_due=True)
        title = f"{len(items)} of your actions due an update" if items else "Nothing of yours needs an update right now."
        return Reply(cards=(chat.actions_card(title, items, empty="Nothing of yours needs an update right now."),))

    def _find_my_action(self, c: _Ctx, ref: str) -> tuple[Action, Plan]:
        mine = replies.my_actions(c.session, c.person)
        hits = [(a, pl) for a, pl in mine if ref_key(a.ref) == ref_key(ref)]
        if not hits:
            raise _Answer(notice_card(f"{ref} is not one of your actions. Type mine to see yours."))
        if len(hits) > 1:
            raise _Answer(notice_card(f"{ref} is in several of your plans ({', '.join(pl.slug for _, pl in hits)}); "
                                      f"use the Update button on the action instead."))
        return hits[0]

    def _cmd_update(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        if not p.args:
            return _say("Which action? e.g. update 2.4")
        action, plan = self._find_my_action(c, p.args[0])
        progress = p.rest.split(None, 1)[1] if len(p.rest.split(None, 1)) > 1 else ""
        return Reply(form=update_form(action, plan, today=self._today(c), progress=progress))

    def _today(self, c: _Ctx) -> date:
        return c.now.astimezone(zone(c.person.timezone)).date()

    def _cmd_undo(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        return self._undo(c, None)

    def _cmd_snooze(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        words = p.rest.strip()
        if words.lower().startswith("until "):
            words = words[6:]
        if p.command.name == "snooze" and not words:
            return _say("Until when? e.g. snooze until Monday")
        when = parse_snooze(f"remind me {words}" if not words.lower().startswith("me ") else f"remind {words}", now=c.now,
                            tz=c.person.timezone)
        if when is None:
            return _say(f"I couldn't tell when {words!r} is. Try e.g. snooze until Monday, or snooze 3 days.")
        replies.snooze(c.session, person=c.person, until=when)
        return _say(f"OK, I won't remind you before {when.astimezone(zone(c.person.timezone)):%a %-d %b %H:%M}.")

    def _cmd_away(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        words = p.rest.strip()
        if words.lower().startswith("until "):
            words = words[6:]
        when = parse_snooze(f"remind me on {words}", now=c.now, tz=c.person.timezone) if words else None
        if when is None:
            return _say("Until when? e.g. away until 5 Jan")
        until = when.astimezone(zone(c.person.timezone)).date()
        register.edit_person(c.session, org=c.org, actor=c.actor, person=c.person, now=c.now, channel=c.channel, away_until=until)
        return _say(f"OK, no reminders while you are away, up to and including {until:%a %-d %b %Y}. Type back when you return.")

    def _cmd_back(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        register.edit_person(c.session, org=c.org, actor=c.actor, person=c.person, now=c.now, channel=c.channel, away_until=None)
        replies.snooze(c.session, person=c.person, until=None)
        return _say("Welcome back: reminders start again.")

    def _cmd_signoff(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        grants = [g for g in repo.grants(c.session, c.person.id or 0) if g.role is Role.APPROVER]
        items = []
        for plan_id in sorted({g.plan_id for g in grants if g.plan_id is not None}):
            plan = c.session.get(Plan, plan_id)
            if plan is None or plan.archived:
                continue
            stages = {g.stage.lower() for g in grants if g.plan_id == plan_id}
            waiting = [(aid, st) for aid, st in signoff.awaiting(c.session, plan) if st.lower() in stages]
            for aid, stage in waiting:
                action = c.session.get(Action, aid)
                assert action is not None
                owners, delegates = repo.action_people(c.session, aid)
                if c.person.id in owners + delegates:
                    continue  # nobody signs off their own action
                items.append((repo.action_snapshot(action, owners, delegates), plan.slug, stage))
        return Reply(cards=(chat.signoff_card(items),))

    def _plan(self, c: _Ctx, ident: str | None) -> Plan:
        if not ident:
            raise _Answer(notice_card("Which plan? Type plans to see them."))
        try:
            plan = repo.get_plan(c.session, c.org.id or 0, ident)
        except NotFound:
            near = [pl.slug for pl in repo.list_plans(c.session, c.org.id or 0)]
            raise _Answer(notice_card(f"There is no plan {ident!r}." + (f" Plans: {', '.join(near[:10])}." if near else ""))) from None
        if c.level < Level.ADMIN and not repo.actor_for(c.session, c.person).has(Role.OWNER, plan.id):
            raise _Answer(notice_card(f"Only the owner of {plan.slug} or an administrator can do that."))
        return plan

    def _cmd_plans(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        rows = []
        for pl in repo.list_plans(c.session, c.org.id or 0):
            n = c.session.exec(select(func.count()).select_from(Action).where(
                Action.plan_id == pl.id, col(Action.removed).is_(False),
                col(Action.status).in_([Status.NOT_STARTED.value, Status.IN_PROGRESS.value]))).one()
            owner = c.session.get(Person, pl.owner_id) if pl.owner_id else None
            rows.append((pl.slug, pl.title, int(n), owner.display_name if owner else ""))
        return Reply(cards=(chat.plans_card(rows),))

    def _cmd_show(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        plan = self._plan(c, p.args[0] if p.args else None)
        if len(p.args) > 1:
            action = self._action_in(c, plan, p.args[1])
            return Reply(cards=(self._action_card(c, plan, action),))
        reg = load_register(c.session, c.org.id or 0, plan_id=plan.id)
        items = [(a, "") for a in reg.actions]
        return Reply(cards=(chat.actions_card(f"{plan.slug}: {plan.title}"[:150], items, empty="This plan has no actions."),))

    def _action_in(self, c: _Ctx, plan: Plan, ref: str) -> Action:
        try:
            return repo.get_action(c.session, plan, ref)
        except NotFound:
            raise _Answer(notice_card(f"{plan.slug} has no action {ref!r}.")) from None

    def _live(self, c: _Ctx, action: Action, people: Sequence[int], *, besides: int | None = None) -> Live:
        """What keeps a card about ``action`` current: its owners' and delegates' ids on this
        platform (not ``besides``, who just acted and sees the answer in place)."""
        id_field = PLATFORM_ID.get(c.who.platform)
        wanted = [p for p in dict.fromkeys(people) if p != besides]
        ids: list[str] = []
        if id_field and wanted:
            rows = c.session.exec(select(getattr(Person, id_field)).where(col(Person.id).in_(wanted))).all()
            ids = sorted(str(x) for x in rows if x)
        return Live(action.id or 0, tuple(ids))

    def _action_card(self, c: _Ctx, plan: Plan, action: Action) -> Card:
        owners, delegates = repo.action_people(c.session, action.id or 0)
        hist = [(u.at, u.author_text, u.text or (Status(u.status).label if u.status else "")) for u in reversed(repo.history(c.session, action.id or 0))]
        snap = repo.action_snapshot(action, owners, delegates)
        buttons = [Button(f"Update {action.ref}", Verb.OPEN_UPDATE, {"action_id": action.id, "version": action.version}, "primary")] \
            if c.person.id in owners + delegates else []
        rating = queries.rating(plan, action, today=queries.plan_today(plan, c.now))
        card = chat.action_card(snap, plan=plan.slug, lead=action.lead_text, history=hist, buttons=buttons, rating=rating)
        return replace(card, live=self._live(c, action, owners + delegates))

    def _cmd_digest(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        from cards.digest import build_digest_view, digest_card

        plan = self._plan(c, p.args[0] if p.args else None)
        mode = (p.args[1].lower() if len(p.args) > 1 else "preview")
        if mode not in ("preview", "send"):
            return _say("digest PLAN preview (to you) or digest PLAN send (to the plan's channels).")
        if mode == "send" and not plan.digest_channels:
            return _say(f"{plan.slug} has no digest channel yet: set PLAN channel #channel (or here).")
        as_of = c.now.astimezone(zone(plan.timezone)).date()
        dg = eng.digest_for(c.session, plan, as_of=as_of, cfg=self.cfg)
        chart = eng.digest_chart(dg, self.cfg.chart_dir / f"digest-{plan.slug}-{as_of.isoformat()}-manual.png")
        if mode == "preview":
            return Reply(cards=(digest_card(build_digest_view(dg, private=True, chart_path=chart)),))
        card = digest_card(build_digest_view(dg, chart_path=chart))
        n = eng.post_digest(c.session, plan, card, key=f"digest-now:{plan.id}:{c.now:%Y%m%dT%H%M%S}", now=c.now)
        return _say(f"The {plan.slug} digest is on its way to {n} channel(s).")

    def _cmd_export(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        from bot.services.exports import plan_report
        from storage.exporters import export_plan

        plan = self._plan(c, p.args[0] if p.args else None)
        fmt = (p.args[1].lower().lstrip(".") if len(p.args) > 1 else "xlsx")
        if fmt not in EXPORT_MIME:
            return _say(f"export {plan.slug} xlsx, docx or csv — not {fmt!r}.")
        report = plan_report(c.session, plan, as_of=self._today(c))
        with tempfile.TemporaryDirectory() as tmp:
            path = export_plan(report, Path(tmp) / f"{plan.slug}.{fmt}")
            data = path.read_bytes()
        return Reply(cards=(_card(f"Here is {plan.slug} as {fmt}."),), files=(OutFile(f"{plan.slug}.{fmt}", data, EXPORT_MIME[fmt]),))

    def _person_named(self, c: _Ctx, text: str, d: Decoded) -> Person:
        mention = next((uid for shown, uid in d.mentions if shown.lstrip("@") == text.lstrip("@") or uid == text.lstrip("@")), None)
        id_field = PLATFORM_ID.get(c.who.platform)
        if mention and id_field:
            hit = c.session.exec(select(Person).where(Person.org_id == c.org.id, getattr(Person, id_field) == mention)).first()
            if hit is None:
                raise _Answer(notice_card(f"{text} is not linked to anyone in the register yet: use map first."))
            return hit
        return repo.find_person(c.session, c.org.id or 0, text.lstrip("@"))

    def _cmd_assign(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        if len(p.args) < 3:
            return _say('assign PLAN REF PERSON, e.g. assign ilacs 2.4 "Priya Shah"')
        plan = self._plan(c, p.args[0])
        action = self._action_in(c, plan, p.args[1])
        person = self._person_named(c, " ".join(p.args[2:]), d)
        register.assign(c.session, org=c.org, plan=plan, action=action, person=person, actor=c.actor, now=c.now, channel=c.channel)
        return _say(f"{person.display_name} now owns {action.ref} in {plan.slug}.")

    def _cmd_map(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        if len(p.args) < 2:
            return _say('map "LEAD AS WRITTEN" @user (or their e-mail), e.g. map "HoS First Response" @priya')
        lead, target = p.args[0], " ".join(p.args[1:])  # a Teams mention is the person's full name: "@Priya Shah"
        person = register.find_lead(c.session, c.org, lead)
        id_field = PLATFORM_ID.get(c.who.platform)
        mention = next((uid for shown, uid in d.mentions if shown.lstrip("@") == target.lstrip("@")), None)
        fields: dict[str, object] = {}
        if "@" in target and not target.startswith("@") and "." in target.split("@")[-1]:
            fields["email"] = target
            uid = self.directories[c.who.platform].lookup_email(target) if c.who.platform in self.directories else None
            if uid and id_field:
                fields[id_field] = uid
        elif mention and id_field:
            fields[id_field] = mention
        else:
            return _say(f"Mention the person (@name) or give their e-mail address; {target!r} is neither.")
        register.link_person(c.session, org=c.org, actor=c.actor, person=person, now=c.now, channel=c.channel, fields=fields)
        how = "their chat account" if (id_field and id_field in fields) else "their e-mail (they are linked when they first write to me)"
        return _say(f"{lead} is now {person.display_name}, linked to {how}.")

    def _cmd_set(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        if len(p.args) < 3:
            return _say("set PLAN channel #channel|here, set PLAN cadence monthly:last, set PLAN stages \"Panel\" \"DLT\"")
        plan = self._plan(c, p.args[0])
        what, values = p.args[1].lower(), list(p.args[2:])
        changes: dict[str, object]
        if what in ("channel", "channels"):
            chans = []
            for v in values:
                if v.lower() == "here":
                    if not c.where:
                        return _say("Use here inside the channel the digest should go to.")
                    chans.append(f"{c.who.platform}:{c.where}")
                elif v.lower() == "none":
                    continue
                else:
                    cid = next((i for shown, i in d.channels if shown == v), None)
                    chans.append(v if ":" in v else f"{c.who.platform}:{cid or v.lstrip('#')}")
            changes = {"digest_channels": chans}
        elif what == "cadence":
            changes = {"cadence": values[0]}
        elif what in ("stages", "stage"):
            changes = {"signoff_stages": [v for v in values if v.strip()]}
        else:
            return _say(f"I can set channel, cadence or stages of a plan, not {what!r}.")
        register.configure_plan(c.session, org=c.org, plan=plan, actor=c.actor, changes=changes, now=c.now, channel=c.channel)
        (value,) = changes.values()
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        return _say(f"{plan.slug}: {what} set to {shown or 'none'}.")

    def _cmd_import(self, c: _Ctx, p: cmds.Parsed, d: Decoded) -> Reply:
        return _say("Send me the plan file (Word, Excel or CSV) here, and I will show you what it holds before anything is stored.")

    # --- files: import ------------------------------------------------------------------------
    def _file(self, c: _Ctx, body: FileIn) -> Reply:
        if c.level < Level.ADMIN:
            return _say("Only administrators can import plans. Ask one of them, or type help to see what you can do.")
        parsed_cmd = cmds.parse(decode(c.who.platform, body.text).text) if body.text.strip() else None
        plan_ident = parsed_cmd.args[0] if parsed_cmd and parsed_cmd.command.name == "import" and parsed_cmd.args else ""
        preview = self._preview(c, body.name, body.data, plan_ident)
        for old in c.session.exec(select(PendingImport).where(PendingImport.person_id == c.person.id, col(PendingImport.resolved_at).is_(None))):
            old.resolved_at, old.outcome = c.now, "superseded"
            c.session.add(old)
        token = secrets.token_urlsafe(12)
        c.session.add(PendingImport(token=token, org_id=c.org.id or 0, person_id=c.person.id or 0, file_name=body.name[:300], data=body.data,
                                    plan_ident=plan_ident, preview=preview, created_at=c.now, expires_at=c.now + IMPORT_PENDING_FOR))
        return Reply(cards=(chat.import_preview_card(body.name, preview, token=token),))

    def _preview(self, c: _Ctx, name: str, data: bytes, plan_ident: str) -> dict[str, Any]:
        from bot.importer import PlanFileError, read_plan
        from bot.services.imports import import_plan

        safe = Path(name).name or "plan"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / safe
            path.write_bytes(data)
            try:
                parsed = read_plan(path)
            except PlanFileError as e:
                raise _Answer(notice_card(f"I could not read {safe}: {e}")) from None
        result = import_plan(c.session, org=c.org, parsed=parsed, actor=c.actor, now=c.now, plan_ident=plan_ident or None,
                             dry_run=True, channel=c.channel)
        from bot.importer import split_leads

        leads = sorted({name for pa in parsed.actions for name in split_leads(pa.lead_text)})
        linked = {p.display_name for p in c.session.exec(select(Person).where(
            Person.org_id == c.org.id, or_(col(Person.slack_user_id).is_not(None), col(Person.teams_user_id).is_not(None)))).all()}
        columns = [f"{k} → {v}" for k, v in parsed.mapping.items()]
        res = result.to_json()
        res["added_count"] = len(res["added"])
        return {"result": res, "priorities": len(getattr(parsed, "priorities", ()) or ()), "columns": columns,
                "unmapped_leads": [x for x in leads if x not in linked], "warnings": list(result.warnings)}

    def _confirm_import(self, c: _Ctx, token: str) -> Reply:
        from bot.importer import read_plan
        from bot.services.imports import import_plan

        pending = c.session.exec(select(PendingImport).where(PendingImport.token == token, PendingImport.person_id == c.person.id)).first()
        if pending is None:
            return _say("That import is not yours or no longer exists.")
        if pending.resolved_at is not None:
            return Reply(replace=_card(f"Import of {pending.file_name}: already {pending.outcome}."))
        if pending.expires_at < c.now:
            pending.resolved_at, pending.outcome = c.now, "expired"
            c.session.add(pending)
            return _say("That preview has expired; send the file again.")
        fresh = self._preview(c, pending.file_name, pending.data, pending.plan_ident)
        if _comparable(fresh) != _comparable(pending.preview):
            pending.resolved_at, pending.outcome = c.now, "changed"
            c.session.add(pending)
            token2 = secrets.token_urlsafe(12)
            c.session.add(PendingImport(token=token2, org_id=c.org.id or 0, person_id=c.person.id or 0, file_name=pending.file_name,
                                        data=pending.data, plan_ident=pending.plan_ident, preview=fresh, created_at=c.now,
                                        expires_at=c.now + IMPORT_PENDING_FOR))
            card = chat.import_preview_card(pending.file_name, fresh, token=token2,
                                            note="The plan changed since you saw the preview; nothing was stored. This is what the file would do now.")
            return Reply(cards=(card,), replace=_card(f"Import of {pending.file_name}: the plan changed; see the new preview."))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / (Path(pending.file_name).name or "plan")
            path.write_bytes(pending.data)
            parsed = read_plan(path)
        result = import_plan(c.session, org=c.org, parsed=parsed, actor=c.actor, now=c.now, plan_ident=pending.plan_ident or None,
                             channel=c.channel)
        pending.resolved_at, pending.outcome = c.now, "committed"
        c.session.add(pending)
        text = (f"Imported {pending.file_name} into {result.plan_slug}: {len(result.added)} added, {len(result.changed)} changed, "
                f"{len(result.removed)} removed.")
        return Reply(cards=(_card(text + " Next: map lead officers to chat users with map."),),
                     replace=chat.recorded_card(result.plan_slug, f"imported {pending.file_name}", [], by=c.person.display_name, at=c.now))

    # --- buttons ----------------------------------------------------------------------------
    def _press(self, c: _Ctx, body: Press) -> Reply:
        v = body.value or {}
        verb = body.verb
        if verb == Verb.CONFIRM:
            card = replies.confirm(c.session, org=c.org, person=c.person, token=str(v.get("token", "")), channel=c.channel, now=c.now)
            return Reply(cards=(card,), replace=card)
        if verb == Verb.CANCEL:
            card = replies.cancel(c.session, person=c.person, token=str(v.get("token", "")), now=c.now)
            return Reply(cards=(card,), replace=card)
        if verb == Verb.SNOOZE:
            return self._cmd_snooze(c, cmds.Parsed(cmds.BY_NAME["snooze"], (), str(v.get("until") or "tomorrow")), Decoded(""))
        if verb == Verb.SHOW_ACTIONS:
            return self._cmd_mine(c, cmds.Parsed(cmds.BY_NAME["mine"], (), ""), Decoded(""))
        if verb == Verb.CONFIRM_IMPORT:
            return self._confirm_import(c, str(v.get("token", "")))
        if verb == Verb.CANCEL_IMPORT:
            pending = c.session.exec(select(PendingImport).where(PendingImport.token == str(v.get("token", "")),
                                                                 PendingImport.person_id == c.person.id)).first()
            if pending is not None and pending.resolved_at is None:
                pending.resolved_at, pending.outcome = c.now, "cancelled"
                c.session.add(pending)
            card = _card("Import cancelled; nothing was stored.")
            return Reply(cards=(card,), replace=card)
        if verb == Verb.UNDO:
            return self._undo(c, _int(v.get("update_id")))
        if verb == Verb.REFRESH:  # a card about an action, shown again: its current face
            action, plan = self._pressed_action(c, v)
            owners, delegates = repo.action_people(c.session, action.id or 0)
            if c.person.id not in owners + delegates and c.level < Level.ADMIN and not c.actor.has(Role.OWNER, plan.id):
                raise _Answer(notice_card(f"Only the people on {action.ref} and the plan's owner see its current state."))
            return Reply(replace=self._action_card(c, plan, action))
        if verb in (Verb.OPEN_UPDATE, Verb.ON_TRACK, Verb.MARK_DONE, Verb.APPROVE, Verb.RETURN):
            action, plan = self._pressed_action(c, v)
            stale = self._stale(c, plan, action, v)
            if stale is not None:
                return stale
            if verb == Verb.OPEN_UPDATE:
                return Reply(form=update_form(action, plan, today=self._today(c)))
            if verb == Verb.RETURN:
                return Reply(form=return_form(action, plan, stage=str(v.get("stage", ""))))
            if verb == Verb.APPROVE:
                return self._decide(c, plan, action, v, approve=True, note="")
            req = register.UpdateRequest(text="Still on track." if verb == Verb.ON_TRACK else "Done.",
                                         status=Status.COMPLETE if verb == Verb.MARK_DONE else None, expected_version=action.version)
            return self._record(c, plan, action, req)
        raise _Answer(notice_card(f"I don't know the button {verb!r}; nothing was changed."))

    def _pressed_action(self, c: _Ctx, v: Mapping[str, Any]) -> tuple[Action, Plan]:
        action = c.session.get(Action, _int(v.get("action_id")) or 0)
        plan = c.session.get(Plan, action.plan_id) if action is not None else None
        if action is None or plan is None or plan.org_id != c.org.id or action.removed:
            raise _Answer(notice_card("That action is no longer in the register; nothing was changed."))
        return action, plan

    def _stale(self, c: _Ctx, plan: Plan, action: Action, v: Mapping[str, Any]) -> Reply | None:
        seen = _int(v.get("version"))
        if seen is None or seen == action.version:
            return None
        current = self._action_card(c, plan, action)
        note = _card(f"{action.ref} changed since this card was sent — here is the current one. Nothing was changed.")
        return Reply(cards=(note, current), replace=current)

    def _record(self, c: _Ctx, plan: Plan, action: Action, req: register.UpdateRequest, *, replace_card: bool = True) -> Reply:
        upd = register.record_update(c.session, org=c.org, plan=plan, action=action, request=req, actor=c.actor, author=c.person,
                                     channel=c.channel, now=c.now)
        what = _describe(req)
        face = chat.recorded_card(action.ref, action.text[:120], what, by=c.person.display_name, at=c.now.astimezone(zone(c.person.timezone)),
                                  rag=req.rag)
        owners, delegates = repo.action_people(c.session, action.id or 0)
        face = replace(face, buttons=(Button("Undo", Verb.UNDO, {"update_id": upd.id}),),
                       live=self._live(c, action, owners + delegates, besides=c.person.id))
        return Reply(cards=(face,), replace=face if replace_card else None)

    def _decide(self, c: _Ctx, plan: Plan, action: Action, v: Mapping[str, Any], *, approve: bool, note: str) -> Reply:
        stage = signoff.pending_stage(plan, action)
        if v.get("stage") and stage and str(v["stage"]).lower() != stage.lower():
            return Reply(cards=(_card(f"{action.ref} has moved on to {stage}; nothing was changed."),))
        owners, delegates = repo.action_people(c.session, action.id or 0)
        if c.person.id in owners + delegates:
            return _say(f"You cannot sign off {action.ref}: it is your own action. Another approver of {stage or 'this stage'} must decide.")
        signoff.decide(c.session, org=c.org, plan=plan, action=action, approve=approve, note=note, actor=c.actor, author=c.person,
                       channel=c.channel, now=c.now, expected_version=action.version)
        verb = "approved" if approve else "returned"
        face = chat.recorded_card(action.ref, action.text[:120], [f"{verb.capitalize()} at {stage}"] + ([f"Note: {note}"] if note else []),
                                  by=c.person.display_name, at=c.now.astimezone(zone(c.person.timezone)))
        face = replace(face, live=self._live(c, action, owners + delegates, besides=c.person.id))
        return Reply(cards=(face,), replace=face)

    # --- forms ------------------------------------------------------------------------------
    def _submit(self, c: _Ctx, body: Submit) -> Reply:
        v = body.value or {}
        if body.form not in (Verb.SUBMIT_UPDATE, Verb.SUBMIT_RETURN):
            raise _Answer(notice_card(f"I don't know the form {body.form!r}; nothing was changed."))
        action, plan = self._pressed_action(c, v)
        stale = self._stale(c, plan, action, v)
        if stale is not None:
            return stale
        if body.form == Verb.SUBMIT_RETURN:
            note = (body.fields.get(Field.NOTE) or "").strip()
            if not note:
                return Reply(errors={Field.NOTE: "Say what is missing, so the lead officer knows what to do."})
            if len(note) > register.MAX_TEXT:
                return Reply(errors={Field.NOTE: f"Keep the note under {register.MAX_TEXT} characters."})
            return self._decide(c, plan, action, v, approve=False, note=note)
        req, errors = read_update_form(body.fields, today=self._today(c), version=action.version)
        if errors:
            return Reply(errors=errors)
        assert req is not None
        return self._record(c, plan, action, req)

    # --- undo -------------------------------------------------------------------------------
    def _undo(self, c: _Ctx, update_id: int | None) -> Reply:
        q = select(Update).where(Update.author_id == c.person.id)
        if update_id is not None:
            q = q.where(Update.id == update_id)
        upd = c.session.exec(q.order_by(col(Update.id).desc())).first()
        if upd is None or (update_id is None and upd.supersedes_id is not None):
            return _say("You have no update to undo.")
        if c.now - upd.at > UNDO_WITHIN:
            return _say(f"Your last update was at {upd.at.astimezone(zone(c.person.timezone)):%H:%M}; it can only be undone within "
                        f"{int(UNDO_WITHIN.total_seconds() // 60)} minutes. Send a new update instead.")
        action = c.session.get(Action, upd.action_id)
        assert action is not None
        plan = c.session.get(Plan, action.plan_id)
        assert plan is not None
        register.undo_update(c.session, org=c.org, plan=plan, action=action, update=upd, actor=c.actor, author=c.person,
                             channel=c.channel, now=c.now)
        card = _card(f"Undone: your update to {action.ref} no longer counts (it stays in the history, marked as undone).")
        return Reply(cards=(card,), replace=card)


# --- small helpers ----------------------------------------------------------------------------
def _card(text: str) -> Card:
    return notice_card(text)


def _say(text: str) -> Reply:
    return Reply(cards=(notice_card(text),))


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]) if text else "That could not be done; nothing was changed."


def _int(x: object) -> int | None:
    try:
        return int(x)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _describe(req: register.UpdateRequest) -> list[str]:
    out = []
    if req.status:
        out.append(f"Status: {req.status.label}")
    if req.rag:
        out.append(f"RAG: {req.rag.label}")
    if req.revised_target:
        out.append(f"Revised target: {req.revised_target:%-d %b %Y} ({req.revised_reason})")
    if req.text:
        out.append(req.text if len(req.text) <= 300 else req.text[:299] + "…")
    out += [f"Evidence: {e}" for e in req.evidence]
    return out


def _comparable(preview: Mapping[str, Any]) -> Any:
    r = dict(preview.get("result", {}))
    return {k: r.get(k) for k in ("plan", "created_plan", "added", "changed", "removed", "restored", "unchanged")}


__all__ = ["Conversation", "Directory"]
