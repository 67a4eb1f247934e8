"""Slack: the bolt app on actionbot's aiohttp server, and the port that delivers the outbox.

Thin glue. Every request is acknowledged at once (Slack wants an answer within 3 seconds and
retries otherwise); what it means is the conversation's to decide (``bot.conversation``): a
slash command, a message in the bot's DM, a button, a modal submission, a file or the opening
of the Home tab becomes an ``Incoming``, and the ``Reply`` becomes Slack calls:

- ``cards``: to the bot's DM with the person (an answer to a slash command typed in another
  channel comes back there, visible only to them);
- ``replace``: ``chat.update`` of the message whose button was pressed (after a modal submit
  too: the modal carries that message's channel and ts in its ``private_metadata``);
- ``form``: a modal; for the buttons that open forms a "Loading…" modal is opened at once (a
  trigger id lives 3 seconds) and filled with ``views.update``;
- ``errors``: ``response_action: errors`` in the submission's acknowledgement;
- ``files``: ``files_upload_v2`` to the DM.

Dedup of retries and double clicks, identity, tenancy and permissions are the conversation's:
each event carries Slack's id for it (``event_id``; an interaction's ``trigger_id``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.events import FileIn, Incoming, Press, Reply, Said, Submit, Who
from bot.ports import DeliveryError, Sent
from cards import blockkit
from cards.ids import Verb
from cards.view import Card, Line

log = logging.getLogger("actionbot.slack")

COMMAND = "/actions"
PATH = "/slack/events"
USER_TTL = 6 * 3600.0  # users.info is asked again after this (e-mail, name, timezone change)
FORM_VERBS = {Verb.OPEN_UPDATE.value, Verb.RETURN.value}  # buttons that open a form: a modal is opened at once
FORM_COMMANDS = {"update"}  # `/actions update 2.4` opens the update form
WINDOW = 1.02  # seconds: the workspace rate is kept over any window this long (a little over Slack's second)
STEP_THREADS = 2  # conversation steps under way at once
ACK_HEADSTART = 0.015  # seconds the acknowledgement gets before slow work starts
SUBMIT_DEADLINE = 2.3  # seconds: a submission's answer must be in its acknowledgement (3 s at Slack)
MAX_DOWNLOAD = 10 * 1024 * 1024 + 1  # one byte over the importer's limit, so it says "too big"
DIGEST_LINES = 8  # a digest's sections show this many lines; the full lists go in the thread
METADATA_EVENT = "actionbot_outbox"  # message metadata tagging a sent message with its outbox key
HISTORY_PAGE, HISTORY_PAGES = 200, 5  # an earlier attempt's tag is looked for among the 1,000 most recent messages

# Errors that trying again cannot cure: the outbox gives up on them and tells the plan owner.
PERMANENT = {
    "not_in_channel", "channel_not_found", "user_not_found", "users_not_found", "account_inactive", "is_archived",
    "user_disabled", "cannot_dm_bot", "restricted_action", "not_allowed_token_type", "invalid_blocks", "msg_too_long",
    "no_text", "invalid_arguments", "message_not_found", "cant_update_message", "edit_window_closed",
}


def keep_alive(client: AsyncWebClient) -> None:
    """Give the client one HTTP session for all its calls, so they share kept-alive
    connections (without one, slack_sdk opens a session and a new connection for every call).
    Called on the event loop, where the session must be made."""
    if client.session is None or client.session.closed:
        client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))


async def close_client(client: AsyncWebClient) -> None:
    if client.session is not None and not client.session.closed:
        await client.session.close()
    client.session = None


class Handles(Protocol):
    def handle(self, event: Incoming, *, now: datetime) -> Reply: ...


# --- people -----------------------------------------------------------------------------------
@dataclass
class _Profile:
    email: str | None
    name: str | None
    tz: str | None
    at: float


class SlackUsers:
    """users.info, cached: a person's e-mail, name and timezone, asked again once stale."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = USER_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.ttl, self.clock = client, ttl, clock
        self._cache: dict[str, _Profile] = {}

    async def who(self, user_id: str, team_id: str | None) -> Who:
        p = self._cache.get(user_id)
        if p is None or self.clock() - p.at > self.ttl:
            try:
                resp = await self.client.users_info(user=user_id)
                u = resp.get("user") or {}
                prof = u.get("profile") or {}
                p = _Profile(prof.get("email") or None, prof.get("real_name") or u.get("real_name") or u.get("name"), u.get("tz"), self.clock())
                self._cache[user_id] = p
            except (TimeoutError, SlackApiError, aiohttp.ClientError) as e:
                log.warning("users.info %s failed: %s", user_id, e)  # an old profile beats none
                if p is None:
                    p = _Profile(None, None, None, 0.0)
        return Who(platform="slack", user_id=user_id, workspace=team_id, email=p.email, name=p.name, timezone=p.tz)


class SlackDirectory:
    """The conversation's directory for `map "Lead" someone@council.gov.uk`: users.lookupByEmail.
    Synchronous: the conversation runs in a worker thread."""

    def __init__(self, token: str, *, base_url: str) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=10)

    def lookup_email(self, email: str) -> str | None:
        try:
            resp = self.client.users_lookupByEmail(email=email)
        except SlackApiError as e:
            if e.response.get("error") != "users_not_found":
                log.warning("users.lookupByEmail failed: %s", e.response.get("error"))
            return None
        uid = (resp.get("user") or {}).get("id")
        return uid or None


# --- where an answer goes ---------------------------------------------------------------------
@dataclass
class Origin:
    user: str
    team: str | None
    channel: str | None = None  # where it happened
    message_ts: str | None = None  # the message whose button was pressed
    ephemeral: bool = False  # that message was visible only to the person (replace through response_url)
    response_url: str | None = None
    trigger_id: str | None = None
    home: bool = False  # pressed on the Home tab

    def reply_to(self) -> dict[str, Any]:
        """What a modal carries so its submission can update the message it came from."""
        d = {"channel": self.channel, "ts": self.message_ts, "ephemeral": self.ephemeral, "response_url": self.response_url, "home": self.home}
        return {k: v for k, v in d.items() if v}

    @classmethod
    def from_reply_to(cls, user: str, team: str | None, d: dict[str, Any]) -> Origin:
        return cls(user=user, team=team, channel=d.get("channel"), message_ts=d.get("ts"), ephemeral=bool(d.get("ephemeral")),
                   response_url=d.get("response_url"), home=bool(d.get("home")))


def _text_of(card: Card) -> str:
    return card.title.plain + (f"\n{card.subtitle}" if card.subtitle else "")


class SlackAdapter:
    """The bolt app and what it does with each kind of request."""

    def __init__(
        self, conversation: Handles, *, token: str, signing_secret: str, api_url: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), http_timeout: int = 15,
    ) -> None:
        self.conversation, self.clock, self.token = conversation, clock, token
        self.client = AsyncWebClient(token=token, base_url=api_url or AsyncWebClient.BASE_URL, timeout=http_timeout)
        self.users = SlackUsers(self.client)
        # imported here: the worker, which only delivers (SlackPort), does without bolt
        from slack_bolt.async_app import AsyncApp

        self.app = AsyncApp(client=self.client, signing_secret=signing_secret or "socket-mode-only", process_before_response=False,
                            raise_error_for_unhandled_request=False)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dms: dict[str, str] = {}
        # Conversation steps run in threads of their own, two at a time at most: more would not
        # go faster (they share the interpreter) but would take it from the event loop more
        # often, and the loop is what acknowledges the next request within Slack's 3 seconds.
        self._steps = ThreadPoolExecutor(max_workers=STEP_THREADS, thread_name_prefix="slack-step")
        self._register()

    # --- plumbing -------------------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.Response:
        """The aiohttp handler of /slack/events (events, slash commands and interactivity)."""
        from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

        keep_alive(self.client)
        return await to_aiohttp_response(await self.app.async_dispatch(await to_bolt_request(request)))

    def mount(self, app: web.Application, path: str = PATH) -> None:
        app.router.add_post(path, self.dispatch)
        app.on_cleanup.append(lambda _app: self.close())

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Slow work after the acknowledgement; kept referenced, failures logged."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("slack: background work failed", exc_info=t.exception())

        task.add_done_callback(done)

    @staticmethod
    async def _after_ack(work: Coroutine[Any, Any, None]) -> None:
        """Start slow work once the acknowledgement is on its way: bolt looks for the ack every
        10 ms, and a conversation step running in a thread would otherwise compete with the
        answer for the interpreter."""
        await asyncio.sleep(ACK_HEADSTART)
        await work

    async def drain(self) -> None:
        """Wait for the work started after acknowledgements (tests; a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """A clean shutdown: finish the work under way, then let go of the connections."""
        await self.drain()
        await close_client(self.client)
        self._steps.shutdown(wait=False)

    async def handle(self, event: Incoming) -> Reply:
        return await asyncio.get_running_loop().run_in_executor(self._steps, partial(self.conversation.handle, event, now=self.clock()))

    async def dm(self, user: str) -> str:
        ch = self._dms.get(user)
        if ch is None:
            resp = await self.client.conversations_open(users=user)
            ch = self._dms[user] = resp["channel"]["id"]
        return ch

    async def _safely(self, what: str, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except SlackApiError as e:
            log.warning("slack: %s failed: %s", what, e.response.get("error"))
            return None
        except (TimeoutError, aiohttp.ClientError) as e:
            log.warning("slack: %s failed: %s", what, e)
            return None

    # --- answering --------------------------------------------------------------------------------
    async def post(self, channel: str, card: Card) -> str | None:
        msg = blockkit.render(card, lines_per_section=DIGEST_LINES if card.screen == "digest" else None)
        resp = await self._safely("chat.postMessage", self.client.chat_postMessage(
            channel=channel, text=msg.text, blocks=msg.blocks, unfurl_links=False, unfurl_media=False))
        if resp is None:
            return None
        ts = resp["ts"]
        for rest in msg.rest:
            await self._safely("chat.postMessage (thread)", self.client.chat_postMessage(
                channel=resp["channel"], thread_ts=ts, text=msg.text, blocks=rest, unfurl_links=False, unfurl_media=False))
        return str(ts)

    async def answer(self, origin: Origin, reply: Reply, *, view_id: str | None = None, in_dm: bool | None = None) -> None:
        """Carry out a reply: replace, form, cards, files (see the module's docstring)."""
        replaced = False
        if reply.replace is not None and not origin.home and origin.message_ts and origin.channel:
            msg = blockkit.render(reply.replace)
            if origin.ephemeral and origin.response_url:
                replaced = await self._respond(origin.response_url, {"replace_original": True, "text": msg.text, "blocks": msg.blocks})
            else:
                replaced = await self._safely("chat.update", self.client.chat_update(
                    channel=origin.channel, ts=origin.message_ts, text=msg.text, blocks=msg.blocks)) is not None
        # A card that is the new face of the message just updated is not posted a second time.
        cards = [c for c in reply.cards if not (replaced and c == reply.replace)]
        if reply.form is not None:
            view = blockkit.modal(reply.form, metadata={"reply_to": origin.reply_to()})
            if view_id:
                ok = await self._safely("views.update", self.client.views_update(view_id=view_id, view=view))
            elif origin.trigger_id:
                ok = await self._safely("views.open", self.client.views_open(trigger_id=origin.trigger_id, view=view))
            else:
                ok = None
            if ok is None:
                cards.append(Card(screen="notice", title=Line.of("The form could not be opened in time; please press the button again.")))
        elif view_id:  # a modal was opened for a form that did not come: say why in it
            first = cards[0] if cards else (reply.replace if reply.replace else None)
            text = _text_of(first) if first else "Done."
            await self._safely("views.update", self.client.views_update(view_id=view_id, view=blockkit.notice_modal("actionbot", text)))
        if cards:
            if in_dm is None:
                in_dm = origin.channel is not None and origin.channel == await self._safely("conversations.open", self.dm(origin.user))
            if not in_dm and origin.response_url and not origin.home:
                for c in cards:  # typed in a channel: the answer is for their eyes only
                    msg = blockkit.render(c)
                    await self._respond(origin.response_url, {"response_type": "ephemeral", "replace_original": False,
                                                              "text": msg.text, "blocks": msg.blocks})
            else:
                ch = await self._safely("conversations.open", self.dm(origin.user))
                for c in cards:
                    if ch:
                        await self.post(ch, c)
        if reply.files:
            ch = await self._safely("conversations.open", self.dm(origin.user))
            for f in reply.files:
                if ch:
                    await self._safely("files_upload_v2", self.client.files_upload_v2(
                        channel=ch, content=f.data, filename=f.name, title=f.name))
        if origin.home:
            await self.publish_home(origin.user, origin.team)

    async def _respond(self, url: str, body: dict[str, Any]) -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=10)) as r:
                if r.status >= 300:
                    log.warning("slack: response_url answered %s", r.status)
                return r.status < 300
        except (TimeoutError, aiohttp.ClientError) as e:
            log.warning("slack: response_url failed: %s", e)
            return False

    async def publish_home(self, user: str, team: str | None, event_id: str | None = None) -> None:
        who = await self.users.who(user, team)
        reply = await self.handle(Incoming(who, Press(Verb.SHOW_ACTIONS.value, {}), event_id=event_id))
        if reply.replayed and event_id:
            return
        await self._safely("views.publish", self.client.views_publish(user_id=user, view=blockkit.home(list(reply.cards))))

    async def download(self, file: dict[str, Any]) -> tuple[str, bytes]:
        """A file's name and bytes, read with the bot token (files:read), never more than the
        importer accepts."""
        url = file.get("url_private_download") or file.get("url_private")
        if not url:  # file_shared and file_input give the id only
            file = (await self.client.files_info(file=file["id"]))["file"]
            url = file.get("url_private_download") or file.get("url_private")
        if not url:
            raise DownloadError("Slack gave no address to download that file from.")
        name = file.get("name") or file.get("title") or "file"
        headers = {"Authorization": f"Bearer {self.token}"}
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=60)) as r:
            if r.status != 200 or r.content_type == "text/html":
                raise DownloadError(f"Slack would not give me the file ({r.status}); is the app allowed to read files (files:read)?")
            data = bytearray()
            async for chunk in r.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) >= MAX_DOWNLOAD:
                    break
        return name, bytes(data[:MAX_DOWNLOAD])

    async def file_in(self, who: Who, origin: Origin, file: dict[str, Any], text: str, event_id: str) -> None:
        try:
            name, data = await self.download(file)
        except (TimeoutError, DownloadError, SlackApiError, aiohttp.ClientError) as e:
            msg = str(e) if isinstance(e, DownloadError) else "I could not download that file from Slack; please send it again."
            await self.answer(origin, Reply(cards=(Card(screen="notice", title=Line.of(msg)),)), in_dm=True)
            return
        reply = await self.handle(Incoming(who, FileIn(name, data, text), event_id=event_id))
        if not reply.replayed:
            await self.answer(origin, reply, in_dm=True)

    # --- listeners --------------------------------------------------------------------------------
    def _register(self) -> None:
        app = self.app

        def later(work: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., Awaitable[None]]:
            async def listener(ack: Any, body: dict[str, Any], context: Any) -> None:
                await ack()  # first: Slack has its answer whatever follows
                self.spawn(self._after_ack(work(body, context)))
            return listener

        app.command(COMMAND)(later(self.on_command))
        app.action(re.compile(".*"))(later(self.on_action))
        app.view(re.compile(".*"))(self.on_view)
        app.event("app_home_opened")(later(self.on_home))
        app.event("file_shared")(later(self.on_file_shared))
        app.event("message")(later(self.on_message))
        app.event(re.compile(".*"))(later(self.on_other_event))

    async def on_command(self, body: dict[str, Any], context: Any) -> None:
        text = (body.get("text") or "").strip()
        origin = Origin(user=body["user_id"], team=body.get("team_id"), channel=body.get("channel_id"),
                        response_url=body.get("response_url"), trigger_id=body.get("trigger_id"))
        first = text.split()[0].lower() if text else ""
        if first == "import" and len(text.split()) == 1:
            # A slash command cannot carry a file: a modal with a file input does (the conversation
            # decides on the file itself, permissions included, when it arrives).
            await self._safely("views.open", self.client.views_open(trigger_id=origin.trigger_id, view=blockkit.import_modal(
                metadata={"reply_to": origin.reply_to()})))
            return
        view_id = await self._loading(origin.trigger_id) if first in FORM_COMMANDS else None
        who = await self.users.who(origin.user, origin.team)
        reply = await self.handle(Incoming(who, Said(text, command=True), event_id=f"slack:{origin.trigger_id}" if origin.trigger_id else None))
        await self.answer(origin, reply, view_id=view_id)

    async def _loading(self, trigger_id: str | None) -> str | None:
        if not trigger_id:
            return None
        resp = await self._safely("views.open", self.client.views_open(trigger_id=trigger_id, view=blockkit.loading_modal()))
        return resp["view"]["id"] if resp else None

    async def on_action(self, body: dict[str, Any], context: Any) -> None:
        action = (body.get("actions") or [{}])[0]
        try:
            verb, value = blockkit.read_button_value(action.get("value") or "")
        except ValueError:
            return  # not one of our buttons (a date picked in a modal, a link button)
        container = body.get("container") or {}
        origin = Origin(
            user=body["user"]["id"], team=(body.get("team") or {}).get("id") or body["user"].get("team_id"),
            channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=container.get("message_ts") or (body.get("message") or {}).get("ts"),
            ephemeral=bool(container.get("is_ephemeral")), response_url=body.get("response_url"), trigger_id=body.get("trigger_id"),
            home=(body.get("view") or {}).get("type") == "home",
        )
        view_id = await self._loading(origin.trigger_id) if verb in FORM_VERBS else None
        who = await self.users.who(origin.user, origin.team)
        event_id = f"slack:{origin.trigger_id or action.get('action_ts')}"
        reply = await self.handle(Incoming(who, Press(verb, value), event_id=event_id))
        await self.answer(origin, reply, view_id=view_id)

    async def on_view(self, ack: Any, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        user, team = body["user"]["id"], (body.get("team") or {}).get("id") or body["user"].get("team_id")
        meta = blockkit.read_metadata(view)
        origin = Origin.from_reply_to(user, team, meta.get("reply_to") or {})
        event_id = f"slack:{body.get('trigger_id') or view.get('id')}:{view.get('hash', '')}"
        if view.get("callback_id") == blockkit.IMPORT_FORM:
            await ack()
            self.spawn(self._import_from_modal(body, origin, event_id))
            return
        form_id, value, fields = blockkit.read_submission(view)
        who = await self.users.who(user, team)
        work = asyncio.ensure_future(self.handle(Incoming(who, Submit(form_id, value, fields), event_id=event_id)))
        done, _ = await asyncio.wait({work}, timeout=SUBMIT_DEADLINE)
        if not done:  # slow: close the modal now, say what happened once known
            await ack()
            reply = await work
            if reply.errors:
                text = "Not saved: " + "; ".join(reply.errors.values())
                reply = Reply(cards=(*reply.cards, Card(screen="notice", title=Line.of(text))))
            await self.answer(origin, Reply(cards=reply.cards, replace=reply.replace, files=reply.files), in_dm=True)
            return
        reply = work.result()
        if reply.errors:
            await ack(**blockkit.errors_response(reply.errors, list(((view.get("state") or {}).get("values") or {}).keys())))
            return
        if reply.form is not None:  # the form again (another step): shown in the same modal
            await ack(response_action="update", view=blockkit.modal(reply.form, metadata={"reply_to": origin.reply_to()}))
            reply = Reply(cards=reply.cards, replace=reply.replace, files=reply.files, replayed=reply.replayed)
        else:
            await ack()
        self.spawn(self.answer(origin, reply, in_dm=True))

    async def _import_from_modal(self, body: dict[str, Any], origin: Origin, event_id: str) -> None:
        _, _, fields = blockkit.read_submission(body.get("view") or {})
        file_ids = [f for f in fields.get(blockkit.IMPORT_FILE_INPUT, "").split(",") if f]
        who = await self.users.who(origin.user, origin.team)
        if not file_ids:
            await self.answer(origin, Reply(cards=(Card(screen="notice", title=Line.of("No file came with that; please choose one.")),)), in_dm=True)
            return
        files = ((body.get("view") or {}).get("state") or {}).get("values", {}).get(blockkit.IMPORT_FILE_INPUT, {})
        listed = {f.get("id"): f for st in files.values() for f in (st.get("files") or [])}
        for fid in file_ids:
            await self.file_in(who, origin, listed.get(fid) or {"id": fid}, "", f"slack:file:{fid}")

    async def on_home(self, body: dict[str, Any], context: Any) -> None:
        event = body.get("event") or {}
        if event.get("tab", "home") != "home":
            return
        await self.publish_home(event["user"], body.get("team_id"), event_id=f"slack:{body.get('event_id')}" if body.get("event_id") else None)

    async def on_file_shared(self, body: dict[str, Any], context: Any) -> None:
        event = body.get("event") or {}
        channel, user = event.get("channel_id") or "", event.get("user_id") or ""
        if not channel.startswith("D") or user == getattr(context, "bot_user_id", None):
            return  # only files sent to the bot in its DM; never our own uploads
        origin = Origin(user=user, team=body.get("team_id"), channel=channel)
        who = await self.users.who(user, origin.team)
        await self.file_in(who, origin, {"id": event.get("file_id") or (event.get("file") or {}).get("id")}, "", f"slack:file:{event.get('file_id')}")

    async def on_message(self, body: dict[str, Any], context: Any) -> None:
        event = body.get("event") or {}
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return  # edits, joins, other bots and our own messages are not said to us
        user = event.get("user")
        if not user or user == getattr(context, "bot_user_id", None):
            return
        origin = Origin(user=user, team=body.get("team_id") or event.get("team"), channel=event.get("channel"))
        self._dms.setdefault(user, event.get("channel") or "")
        who = await self.users.who(user, origin.team)
        text = event.get("text") or ""
        files = event.get("files") or []
        if files:
            for f in files:
                await self.file_in(who, origin, f, text, f"slack:file:{f.get('id')}")
            return
        reply = await self.handle(Incoming(who, Said(text), event_id=f"slack:{body.get('event_id')}" if body.get("event_id") else None))
        if not reply.replayed:
            await self.answer(origin, reply, in_dm=True)

    async def on_other_event(self, body: dict[str, Any], context: Any) -> None:
        return  # acknowledged (bolt acks events itself); nothing to do


class DownloadError(Exception):
    pass


# --- delivering the outbox ----------------------------------------------------------------------
class Pacer:
    """Spaces sends under Slack's limits: about one message a second per channel and a
    workspace-wide rate, so a rate-limited Slack has no reason to refuse one.

    A send first waits for its channel's turn (one busy channel never holds up the others),
    then passes the workspace's gate one at a time, first come first served. The gate keeps
    the sends on a steady beat of 1/rate: a send the event loop woke late may catch up on its
    beat, but never comes sooner than half a beat after the one before (late sends do not
    bunch; a longer stall is lost, not made up in a burst), and never more than the rate in any window a little over Slack's second. A 429's
    Retry-After holds the channel (or everything) until then."""

    def __init__(self, per_channel: float = 1.0, workspace: float = 20.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        # a little under the limits: requests arrive with some jitter, and Slack counts arrivals
        self.gap_channel = 1.05 / per_channel if per_channel > 0 else 0.0
        self.gap_workspace = 1.01 / workspace if workspace > 0 else 0.0
        self.limit = max(1, round(1.0 / self.gap_workspace)) if self.gap_workspace else 0
        self.clock, self.sleep = clock, sleep
        self._channel_next: dict[str, float] = {}
        self._beat = 0.0  # the workspace's next send, on the beat
        self._sent: deque[float] = deque()  # when sends went, the last window's worth
        self._hold_until = 0.0
        self._gate = asyncio.Lock()

    async def _until(self, t: Callable[[], float]) -> None:
        while (delay := t() - self.clock()) > 0:
            await self.sleep(delay)

    async def wait(self, channel: str) -> None:
        await self._until(lambda: max(self._channel_next.get(channel, 0.0), self._hold_until))
        async with self._gate:
            await self._until(lambda: max(self._beat, self._hold_until, self._channel_next.get(channel, 0.0)))
            if self.limit:
                while True:
                    now = self.clock()
                    while self._sent and now - self._sent[0] > WINDOW:
                        self._sent.popleft()
                    if len(self._sent) < self.limit:
                        break
                    await self.sleep(WINDOW - (now - self._sent[0]) + 0.001)
            now = self.clock()
            self._sent.append(now)
            behind = max(self._beat, now - self.gap_workspace)  # at most one beat of lateness is made up
            self._beat = max(behind + self.gap_workspace, now + self.gap_workspace / 2)
            self._channel_next[channel] = now + self.gap_channel
            if len(self._channel_next) > 10000:
                self._channel_next = {c: t for c, t in self._channel_next.items() if t > now}

    def hold(self, channel: str | None, seconds: float) -> None:
        until = self.clock() + seconds
        if channel is None:
            self._hold_until = max(self._hold_until, until)
        else:
            self._channel_next[channel] = max(self._channel_next.get(channel, 0.0), until)


class SlackPort:
    """The outbox's way into Slack (``bot.ports.ChatPort``). A person's id is a DM (opened with
    conversations.open); a channel id is posted to. ``Sent.ref`` is ``channel:ts`` so the message
    can be updated in place later."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, *, per_channel: float = 1.0, workspace: float = 20.0,
                 max_inline_wait: float = 5.0, attempts: int = 3) -> None:
        self.client = client
        self.pacer = Pacer(per_channel, workspace)
        self.max_inline_wait, self.attempts = max_inline_wait, attempts
        self._dms: dict[str, str] = {}
        self._unreadable: set[str] = set()  # conversations whose history the token may not read

    async def close(self) -> None:
        await close_client(self.client)

    async def _call(self, what: str, pace: str | None, fn: Callable[..., Awaitable[Any]], **kw: Any) -> Any:
        """One Web API call, paced for channel `pace`; a short 429 is waited out here, a long one is
        handed to the outbox (DeliveryError with retry_after)."""
        keep_alive(self.client)
        for attempt in range(1, self.attempts + 1):
            if pace is not None:
                await self.pacer.wait(pace)
            try:
                return await fn(**kw)
            except SlackApiError as e:
                resp = e.response
                if resp.status_code == 429:
                    retry_after = float(resp.headers.get("Retry-After") or resp.headers.get("retry-after") or 1)
                    self.pacer.hold(pace, retry_after)
                    if retry_after <= self.max_inline_wait and attempt < self.attempts:
                        await asyncio.sleep(retry_after)
                        continue
                    raise DeliveryError(f"Slack rate limit on {what}", retry_after=retry_after) from e
                error = str(resp.get("error") or f"HTTP {resp.status_code}")
                raise DeliveryError(f"Slack {what}: {error}", permanent=error in PERMANENT) from e
            except (TimeoutError, aiohttp.ClientError) as e:
                raise DeliveryError(f"Slack {what}: {type(e).__name__}: {e}") from e
        raise DeliveryError(f"Slack {what}: still rate limited")  # not reached: the loop raises or returns

    async def channel_for(self, target: str) -> str:
        if not target.startswith(("U", "W")):
            return target
        ch = self._dms.get(target)
        if ch is None:
            resp = await self._call("conversations.open", None, self.client.conversations_open, users=target)
            ch = self._dms[target] = resp["channel"]["id"]
        return ch

    async def send(self, target: str, card: Card) -> Sent:
        return await self.send_once(target, card)

    async def send_once(self, target: str, card: Card, *, key: str = "", again: bool = False) -> Sent:
        """Send, tagging the message with the outbox key (message metadata). ``again``: an
        earlier attempt may have got through (its worker died before recording it): look for
        the tag among the channel's recent messages first, so it is not posted twice."""
        channel = await self.channel_for(target)
        if again and key and (ref := await self._already_sent(channel, key)):
            return Sent(ref=ref)
        msg = blockkit.render(card, lines_per_section=DIGEST_LINES if card.screen == "digest" else None)
        extra: dict[str, Any] = {"metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": key}}} if key else {}
        resp = await self._call("chat.postMessage", channel, self.client.chat_postMessage, channel=channel, text=msg.text,
                                blocks=msg.blocks, unfurl_links=False, unfurl_media=False, **extra)
        channel, ts = resp["channel"], resp["ts"]
        # The message is out: what follows is its thread and chart. A failure there is logged,
        # never raised (raising would send the message again).
        for rest in msg.rest:
            try:
                await self._call("chat.postMessage", channel, self.client.chat_postMessage, channel=channel, thread_ts=ts,
                                 text=msg.text, blocks=rest, unfurl_links=False, unfurl_media=False)
            except DeliveryError as e:
                log.warning("slack: a thread reply of %s:%s was not sent: %s", channel, ts, e)
        if card.chart_path:
            await self._chart(channel, ts, Path(card.chart_path))
        return Sent(ref=f"{channel}:{ts}")

    async def _already_sent(self, channel: str, key: str) -> str | None:
        """The ``channel:ts`` of a message in `channel` tagged with `key`, looked for among its
        recent top-level messages (conversations.history: im:history for DMs, channels:history
        or groups:history for channels). A conversation the token may not read is remembered and
        not asked again: the message is posted (at least once rather than never), with a
        warning saying which scope would prevent a double post. A 429 sends the message back to
        the outbox (retried later, still checked first)."""
        if channel in self._unreadable:
            return None
        cursor = ""
        for _ in range(HISTORY_PAGES):
            try:
                keep_alive(self.client)
                resp = await self.client.conversations_history(channel=channel, limit=HISTORY_PAGE, include_all_metadata=True,
                                                               cursor=cursor or None)
            except SlackApiError as e:
                r = e.response
                if r.status_code == 429:
                    raise DeliveryError("Slack rate limit on conversations.history",
                                        retry_after=float(r.headers.get("Retry-After") or r.headers.get("retry-after") or 1)) from e
                error = str(r.get("error") or f"HTTP {r.status_code}")
                if error in ("missing_scope", "not_in_channel", "channel_not_found", "not_allowed_token_type"):
                    self._unreadable.add(channel)
                    needed = f" (needs {r.get('needed')})" if r.get("needed") else ""
                    log.warning("slack: cannot read %s's history to check for an earlier send of %s: %s%s; posting it, so it may "
                                "show twice there. Give the app the history scopes in slack/manifest.yml and reinstall it.",
                                channel, key, error, needed)
                else:
                    log.warning("slack: could not check %s for an earlier send of %s (%s); posting it", channel, key, error)
                return None
            except (TimeoutError, aiohttp.ClientError) as e:
                raise DeliveryError(f"Slack conversations.history: {type(e).__name__}: {e}") from e
            for m in resp.get("messages") or []:
                meta = m.get("metadata") or {}
                if meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("key") == key:
                    return f"{channel}:{m['ts']}"
            cursor = ((resp.get("response_metadata") or {}).get("next_cursor") or "") if resp.get("has_more") else ""
            if not cursor:
                return None
        return None

    async def _chart(self, channel: str, ts: str, path: Path) -> None:
        if not path.is_file():
            log.warning("slack: digest chart %s is missing; the digest went without it", path)
            return
        try:
            await self._call("files_upload_v2", channel, self.client.files_upload_v2, channel=channel, file=str(path), filename=path.name,
                             title="RAG by priority and the trend", initial_comment="This week's chart")
        except DeliveryError as e:
            log.warning("slack: digest chart not uploaded to %s: %s", channel, e)

    async def update(self, target: str, ref: str, card: Card) -> Sent:
        channel, _, ts = ref.partition(":")
        if not ts:
            return await self.send(target, card)
        msg = blockkit.render(card)
        await self._call("chat.update", channel, self.client.chat_update, channel=channel, ts=ts, text=msg.text, blocks=msg.blocks)
        return Sent(ref=ref)


# --- building ----------------------------------------------------------------------------------
def build_client(token: str, api_url: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=api_url, timeout=15)


def build_port(settings: Any) -> SlackPort:
    return SlackPort(build_client(settings.slack_bot_token, settings.slack_api_url),
                     per_channel=settings.slack_channel_rate, workspace=settings.slack_workspace_rate)


def build_adapter(settings: Any, conversation: Handles) -> SlackAdapter:
    return SlackAdapter(conversation, token=settings.slack_bot_token, signing_secret=settings.slack_signing_secret,
                        api_url=settings.slack_api_url)


async def start_socket_mode(adapter: SlackAdapter, app_token: str) -> Callable[[], Awaitable[None]]:
    """Socket Mode (SLACK_APP_TOKEN): Slack pushes requests over a websocket instead of HTTP.
    Returns the function that closes it."""
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    keep_alive(adapter.client)
    handler = AsyncSocketModeHandler(adapter.app, app_token)
    await handler.connect_async()
    return handler.close_async
