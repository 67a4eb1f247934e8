"""Microsoft Teams: Bot Framework activities in, Adaptive Cards out. Thin glue only.

- ``/api/messages`` (botbuilder's ``CloudAdapter`` on the same aiohttp server) turns each
  activity into one ``Incoming`` for the conversation and renders its ``Reply``: a message's
  text (HTML as Teams sent it, with the bot's own @mention taken out and the other mentions
  listed), a button or form sent with ``Action.Execute`` (an ``adaptiveCard/action`` invoke,
  answered with the card that replaces the pressed one) or with the ``Action.Submit`` fallback
  (a message with a ``value``), or a file sent in the 1:1 chat (the file download info
  attachment, downloaded here). What any of it means is the conversation's business.
- Conversation references are saved on install (``installationUpdate``, ``conversationUpdate``)
  and refreshed on every activity, with the user's timezone from ``localTimezone``.
- ``TeamsPort`` sends the outbox proactively through those references, paced per conversation
  and per app, backing off on 429 (and 412, 502, 504), and reports 403/404 as permanent.

Authentication is botbuilder's: with ``MicrosoftAppId``/``MicrosoftAppPassword`` (and
``MicrosoftAppTenantId`` for a single-tenant bot) every request's JWT is checked; with none it
runs unauthenticated for the Agents Playground (``local`` mode), which production refuses.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, Attachment, ConversationAccount
from botframework.connector.auth import AuthenticationConstants, ClaimsIdentity, ConnectorFactory
from sqlalchemy import Engine

from bot.conversation.events import FileIn, Incoming, Press, Reply, Said, Submit, Who
from bot.ports import DeliveryError, Sent
from cards import adaptive
from cards.ids import Verb
from cards.nudge import notice_card
from cards.view import Card, render_text
from storage import teams as refs
from storage.db import session_scope

log = logging.getLogger("actionbot.teams")

FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
UPLOAD_KEY = "ab_upload"  # the offered file's token in a consent card's accept/decline context
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # an export larger than this is not offered in chat
MAX_FILE_BYTES = 10 * 1024 * 1024  # the importer's own limit; one byte more is read so it can say "too big"
INVOKE_DEADLINE = 12.0  # seconds: Teams gives up on an invoke after 15
NOT_REACHABLE = "not reachable in Teams — install the app for them"
KNOWN_VERBS = {v.value for v in Verb}
REFRESH_EVERY = 3600.0  # a reference unchanged this long is written again anyway (seconds)
REFERENCES_FOR = 60.0  # the port re-reads conversation references this often (seconds)
CLIENTS_KEPT = 32  # connector clients kept (one per service URL, i.e. per Teams region, in practice)


class Handles(Protocol):
    """The conversation, as the adapter sees it."""

    def handle(self, event: Incoming, *, now: datetime) -> Reply: ...


@dataclass(frozen=True)
class TeamsAuth:
    """What botbuilder's ConfigurationBotFrameworkAuthentication reads (its attribute names)."""

    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TENANTID: str = ""
    APP_TYPE: str = "MultiTenant"

    @property
    def local(self) -> bool:
        return not self.APP_ID


def auth_from(settings: Any) -> TeamsAuth:
    app_id = (settings.microsoft_app_id or "").strip()
    tenant = (settings.microsoft_app_tenant_id or "").strip()
    return TeamsAuth(APP_ID=app_id, APP_PASSWORD=settings.microsoft_app_password or "", APP_TENANTID=tenant,
                     APP_TYPE="SingleTenant" if tenant else "MultiTenant")


class _CachedConnectors(ConnectorFactory):
    """botbuilder's connector factory, remembering the client it made for each service URL and
    audience: building one (credentials, msrest's configuration and retry policy) costs a few
    milliseconds, and the stock adapter builds a new one for every incoming activity."""

    def __init__(self, inner: ConnectorFactory, cache: OrderedDict[tuple[str, str, str], Any], app_id: str) -> None:
        self.inner, self.cache, self.app_id = inner, cache, app_id

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        key = (self.app_id, service_url, audience or "")
        client = self.cache.get(key)
        if client is None:
            client = await self.inner.create(service_url, audience)
            self.cache[key] = client
            while len(self.cache) > CLIENTS_KEPT:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(key)
        return client


class CachingAuthentication(ConfigurationBotFrameworkAuthentication):
    """ConfigurationBotFrameworkAuthentication that reuses its connector and user-token clients
    (per app id, service URL and audience) instead of making new ones on every turn, as a
    long-running bot should. Requests are still authenticated one by one."""

    def __init__(self, configuration: Any, **kw: Any) -> None:
        super().__init__(configuration, **kw)
        self._connectors: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._token_clients: dict[str, Any] = {}

    @staticmethod
    def _app_id(claims: ClaimsIdentity | None) -> str:
        claims_ = (claims.claims if claims is not None else None) or {}
        return str(claims_.get(AuthenticationConstants.AUDIENCE_CLAIM) or claims_.get(AuthenticationConstants.APP_ID_CLAIM) or "")

    async def authenticate_request(self, activity: Activity, auth_header: str) -> Any:
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _CachedConnectors(result.connector_factory, self._connectors, self._app_id(result.claims_identity))
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _CachedConnectors(super().create_connector_factory(claims_identity), self._connectors, self._app_id(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> Any:
        key = self._app_id(claims_identity)
        client = self._token_clients.get(key)
        if client is None:
            client = self._token_clients[key] = await super().create_user_token_client(claims_identity)
        return client

    async def close(self) -> None:
        """Let go of the kept clients' HTTP sessions (when the app stops): each holds an
        aiohttp session that would otherwise be left for the garbage collector."""
        clients = [*self._connectors.values(), *(getattr(c, "_client", None) for c in self._token_clients.values())]
        self._connectors.clear()  # in place: the connector factories share this cache
        self._token_clients.clear()
        for client in clients:
            if client is not None and hasattr(client, "__aexit__"):
                await client.__aexit__(None, None, None)


def make_adapter(auth: TeamsAuth) -> CloudAdapter:
    return CloudAdapter(CachingAuthentication(auth))


# --- reading activities ------------------------------------------------------------------
class BadActivity(ValueError):
    """An activity we cannot read (a malformed button payload, a broken attachment)."""


def tenant_of(activity: Activity) -> str:
    conv = activity.conversation
    if conv is not None and conv.tenant_id:
        return conv.tenant_id
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return str((data.get("tenant") or {}).get("id") or "")


def timezone_of(activity: Activity) -> str | None:
    if activity.local_timezone:
        return activity.local_timezone
    for e in activity.entities or []:
        if (e.type or "").lower() == "clientinfo":
            tz = (e.additional_properties or {}).get("timezone")
            if tz:
                return str(tz)
    return None


def kind_of(activity: Activity) -> str:
    conv = activity.conversation
    return (conv.conversation_type if conv is not None and conv.conversation_type else "personal")


def _mention_entities(activity: Activity) -> list[tuple[str, str, str]]:
    """(text as written, e.g. '<at>Ann</at>'; the name; the user id) for each mention."""
    out = []
    for e in activity.entities or []:
        if (e.type or "").lower() != "mention":
            continue
        props = e.additional_properties or {}
        who = props.get("mentioned") or {}
        if who.get("id"):
            out.append((str(props.get("text") or f"<at>{who.get('name', '')}</at>"), str(who.get("name") or ""), str(who["id"])))
    return out


def said_of(activity: Activity) -> Said:
    """The message's text as Teams sent it, minus the bot's own @mention (how a channel message
    addresses the bot), with the other mentions listed."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else ""
    mentions = []
    for written, name, uid in _mention_entities(activity):
        if uid == bot_id:
            text = text.replace(written, "", 1)
        else:
            mentions.append((re.sub(r"</?at>", "", unescape(written)) or name, uid))
    return Said(text=text.strip(), mentions=tuple(mentions))


def press_of(data: Any, *, verb: str | None = None) -> Press | Submit:
    """A button's data (Action.Execute's ``data``, or an Action.Submit message's ``value``) as a
    press or a form submission. Raises BadActivity when it is not one of our buttons."""
    if not isinstance(data, dict):
        raise BadActivity("This button carries no data I recognise.")
    verb = str(data.get(adaptive.VERB_KEY) or verb or "")
    if verb not in KNOWN_VERBS:
        raise BadActivity(f"I don't know the button {verb!r}." if verb else "This button carries no data I recognise.")
    value = data.get(adaptive.VALUE_KEY) or {}
    if not isinstance(value, dict):
        raise BadActivity("This button's data is malformed.")
    if adaptive.FORM_KEY in data:
        names = data.get(adaptive.INPUTS_KEY) or []
        if not isinstance(names, list):
            raise BadActivity("This form's data is malformed.")
        inputs = {str(n): _field(data.get(str(n))) for n in names}
        return Submit(form=str(data[adaptive.FORM_KEY]), value=value, fields=inputs)
    return Press(verb=verb, value=value)


def _field(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        raise BadActivity("A form field arrived in a shape I cannot read.")
    return str(v)


def file_infos(activity: Activity) -> list[tuple[str, str]]:
    """(file name, download URL) of each file sent with a message (1:1 chats)."""
    out = []
    for a in activity.attachments or []:
        if a.content_type == FILE_DOWNLOAD_INFO:
            content = a.content if isinstance(a.content, dict) else {}
            url = content.get("downloadUrl")
            if not url:
                raise BadActivity(f"The file {a.name or ''} came without a download link; please send it again.")
            out.append((a.name or "file", str(url)))
    return out


# --- the bot -------------------------------------------------------------------------------
@dataclass
class _Seen:
    key: tuple[Any, ...]
    at: float


@dataclass
class TeamsBot:
    """One turn per activity: save the reference, translate, ask the conversation, render."""

    engine: Engine
    conversation: Handles
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    http: Callable[[], aiohttp.ClientSession] | None = None  # for file downloads (tests give their own)
    chart_images: bool = True
    _refs: dict[str, _Seen] = field(default_factory=dict)
    _emails: dict[str, str | None] = field(default_factory=dict)
    _rosters: set[str] = field(default_factory=set)  # teams whose roster this process has read

    async def on_turn(self, turn: TurnContext) -> None:
        a = turn.activity
        try:
            await self._remember(a)
        except Exception:
            log.exception("saving the Teams conversation reference failed")
        if a.type == ActivityTypes.invoke:
            await self._on_invoke(turn)
        elif a.type == ActivityTypes.message:
            await self._on_message(turn)
        elif a.type == ActivityTypes.conversation_update:
            await self._on_conversation_update(turn)
        elif a.type == ActivityTypes.installation_update:
            await self._on_installation_update(turn)

    # references -------------------------------------------------------------------------------
    async def _remember(self, a: Activity, *, installed: bool = True) -> None:
        conv = a.conversation
        if conv is None or not conv.id or not a.service_url:
            return
        kind = kind_of(a)
        user = a.from_property
        data = a.channel_data if isinstance(a.channel_data, dict) else {}
        values = {
            "kind": kind, "service_url": a.service_url, "tenant_id": tenant_of(a),
            "bot_id": a.recipient.id if a.recipient else "",
            "team_id": (data.get("team") or {}).get("id") if kind == "channel" else None,
            "channel_name": str((data.get("channel") or {}).get("name") or "") if kind == "channel" else "",
        }
        if kind == "personal" and user is not None and user.id and user.id != values["bot_id"]:
            values |= {"user_id": user.id, "aad_object_id": user.aad_object_id, "user_name": user.name or "", "timezone": timezone_of(a)}
        key = (tuple(sorted((k, str(v)) for k, v in values.items() if v)), installed)
        seen = self._refs.get(conv.id)
        if seen is not None and seen.key == key and time.monotonic() - seen.at < REFRESH_EVERY:
            return  # nothing changed since this process last wrote it

        def save() -> None:
            with session_scope(self.engine) as s:
                refs.save_reference(s, conversation_id=conv.id, now=self.clock(), installed=installed, **values)

        await asyncio.to_thread(save)
        self._refs[conv.id] = _Seen(key, time.monotonic())

    async def _forget(self, a: Activity) -> None:
        conv_id = a.conversation.id if a.conversation else None
        if not conv_id:
            return

        def save() -> None:
            with session_scope(self.engine) as s:
                refs.mark_uninstalled(s, conversation_id=conv_id, now=self.clock())

        await asyncio.to_thread(save)
        self._refs.pop(conv_id, None)

    # who ------------------------------------------------------------------------------------
    async def _who(self, turn: TurnContext) -> Who:
        a = turn.activity
        user = a.from_property
        uid = user.id if user else ""
        return Who(platform="teams", user_id=uid, workspace=tenant_of(a) or None, email=await self._email(turn, uid),
                   name=(user.name if user else None) or None, timezone=timezone_of(a))

    async def _email(self, turn: TurnContext, user_id: str) -> str | None:
        """The user's e-mail from the roster (once per user per process): the conversation links
        an unmapped user whose e-mail matches a person's."""
        if not user_id:
            return None
        if user_id in self._emails:
            return self._emails[user_id]
        email = None
        try:
            client = turn.turn_state.get(turn.adapter.BOT_CONNECTOR_CLIENT_KEY)
            conv_id = turn.activity.conversation.id
            member = await client.conversations.get_conversation_member(conv_id, user_id)
            props = member.additional_properties or {}
            email = props.get("email") or props.get("userPrincipalName") or None
        except Exception as e:
            log.info("no Teams roster entry for %s: %s", user_id, e)
        self._emails[user_id] = email
        return email

    def _incoming(self, who: Who, body: Any, a: Activity, *, event_id: str | None = None) -> Incoming:
        extra = {}
        if "where" in {f.name for f in fields(Incoming)} and a.conversation is not None:
            extra["where"] = a.conversation.id  # "set PLAN channel here" names this conversation
        return Incoming(who=who, body=body, event_id=event_id or a.id or None, **extra)

    async def _ask(self, event: Incoming) -> Reply:
        return await asyncio.to_thread(self.conversation.handle, event, now=self.clock())

    # messages --------------------------------------------------------------------------------
    async def _on_message(self, turn: TurnContext) -> None:
        a = turn.activity
        who = await self._who(turn)
        try:
            if isinstance(a.value, dict) and a.value:
                body: Any = press_of(a.value)  # an Action.Submit fallback from an older client
            elif files := file_infos(a):
                name, url = files[0]
                data = await self._download(url)
                body = FileIn(name=name, data=data, text=said_of(a).text)
            else:
                body = said_of(a)
        except BadActivity as e:
            await self._send_cards(turn, [notice_card(str(e))])
            return
        except DownloadFailed as e:
            await self._send_cards(turn, [notice_card(str(e))])
            return
        reply = await self._ask(self._incoming(who, body, a))
        if reply.replace is not None and a.reply_to_id:  # the Submit fallback: update the card it came from
            await self._update_card(turn, a.reply_to_id, reply.replace)
        await self._send_reply(turn, reply, with_replace=not a.reply_to_id)
        if kind_of(a) != "personal":  # a team the bot joined before it kept rosters: read it once per process
            await self._learn_roster(turn)

    async def _send_reply(self, turn: TurnContext, reply: Reply, *, with_replace: bool) -> None:
        cards = ([reply.replace] if with_replace and reply.replace is not None else []) + _others(reply)
        await self._send_cards(turn, cards)
        if reply.form is not None:
            await turn.send_activity(_message([adaptive.attachment(adaptive.render_form(reply.form, errors=reply.errors))], summary=reply.form.title))
        for f in reply.files:
            await self._send_file(turn, f.name, f.data, f.mime)

    async def _send_cards(self, turn: TurnContext, cards: list[Card]) -> None:
        for card in cards:
            await turn.send_activity(card_activity(card, chart_images=self.chart_images))

    async def _update_card(self, turn: TurnContext, activity_id: str, card: Card) -> None:
        act = card_activity(card, chart_images=False)
        act.id = activity_id
        try:
            await turn.update_activity(act)
        except Exception as e:
            log.warning("could not update Teams message %s: %s", activity_id, e)

    async def _send_file(self, turn: TurnContext, name: str, data: bytes, mime: str) -> None:
        """Files for the sender (exports), the way Teams bots hand files over: a file consent
        card in the 1:1 chat; the bytes wait in the database until the person presses Allow
        (they then go to the person's OneDrive) or Decline. Teams offers this in 1:1 chats only."""
        a = turn.activity
        if kind_of(a) != "personal":
            await self._send_cards(turn, [notice_card(f"I can only send files in our 1:1 chat: ask me for {name} there.")])
            return
        if len(data) > MAX_UPLOAD_BYTES:
            await self._send_cards(turn, [notice_card(f"{name} is too large to send in Teams; use `actionbot export` instead.")])
            return
        user_id = a.from_property.id if a.from_property else ""

        def offer() -> str:
            with session_scope(self.engine) as s:
                return refs.offer_upload(s, conversation_id=a.conversation.id, user_id=user_id or "", file_name=name, mime=mime,
                                         data=data, now=self.clock()).token

        token = await asyncio.to_thread(offer)
        context = {UPLOAD_KEY: token}
        consent = {"description": f"{name}, as you asked. Allow puts it in your OneDrive.", "sizeInBytes": len(data),
                   "acceptContext": context, "declineContext": context}
        await turn.send_activity(Activity(type=ActivityTypes.message, summary=name,
                                          attachments=[Attachment(content_type=FILE_CONSENT, name=name, content=consent)]))

    async def _on_file_consent(self, turn: TurnContext) -> None:
        """The person pressed Allow or Decline on a file consent card. Allow: PUT the bytes to the
        upload URL Teams gave (one request, with Content-Range), then post the file's card and
        answer the invoke 200. Decline: say so. Either way the bytes are dropped."""
        a = turn.activity
        value: dict[str, Any] = a.value if isinstance(a.value, dict) else {}
        context: dict[str, Any] = value["context"] if isinstance(value.get("context"), dict) else {}
        token = str(context.get(UPLOAD_KEY) or "")
        action = value.get("action")
        if action not in ("accept", "decline") or not token:
            await _invoke_reply(turn, 400, {"error": "not an answer to one of my file consent cards"})
            return
        if action == "decline":
            row = await self._in_db(lambda s: refs.resolve_upload(s, token, "declined", now=self.clock()))
            name = row.file_name if row is not None else "the file"
            await self._send_cards(turn, [notice_card(f"Not sent: you declined {name}. Ask me for the export again whenever you want it.")])
            await _invoke_reply(turn, 200, None)
            return
        info: dict[str, Any] = value["uploadInfo"] if isinstance(value.get("uploadInfo"), dict) else {}
        upload_url = str(info.get("uploadUrl") or "")
        if not upload_url:
            await _invoke_reply(turn, 400, {"error": "no uploadUrl"})
            return
        claimed = await self._in_db(lambda s: refs.claim_upload(s, token, now=self.clock()))
        row, why = claimed
        if row is None:
            text = ("That file was already put in your OneDrive." if why == "uploaded" else
                    "That file is on its way to your OneDrive already." if why == "uploading" else
                    "That file is no longer here (files wait 24 hours, and a declined or failed one is dropped): ask me for the export again.")
            await self._send_cards(turn, [notice_card(text)])
            await _invoke_reply(turn, 200, None)
            return
        failure = await self._upload(upload_url, row.data)
        await self._in_db(lambda s: refs.resolve_upload(s, token, "failed" if failure else "uploaded", now=self.clock()))
        if failure:
            await self._send_cards(turn, [notice_card(f"I could not put {row.file_name} in your OneDrive ({failure}). Nothing else "
                                                      f"changed: ask me for the export again to retry.")])
        else:
            card = {"uniqueId": str(info.get("uniqueId") or ""), "fileType": str(info.get("fileType") or Path(row.file_name).suffix.lstrip("."))}
            await turn.send_activity(Activity(type=ActivityTypes.message, summary=row.file_name, attachments=[Attachment(
                content_type=FILE_INFO, content_url=str(info.get("contentUrl") or ""), name=str(info.get("name") or row.file_name),
                content=card)]))
        await _invoke_reply(turn, 200, None)

    async def _upload(self, url: str, data: bytes) -> str:
        """PUT the whole file to a OneDrive upload session in one request; '' when it was
        stored, else what went wrong."""
        headers = {"Content-Length": str(len(data)), "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
        own = self.http is None
        session = aiohttp.ClientSession() if own else self.http()  # type: ignore[misc]
        try:
            async with session.put(url, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=INVOKE_DEADLINE)) as r:
                return "" if r.status in (200, 201) else f"OneDrive answered HTTP {r.status}"
        except (aiohttp.ClientError, TimeoutError) as e:
            return f"{type(e).__name__} talking to OneDrive"
        finally:
            if own:
                await session.close()

    async def _in_db(self, work: Callable[[Any], Any]) -> Any:
        def run() -> Any:
            with session_scope(self.engine) as s:
                return work(s)

        return await asyncio.to_thread(run)

    async def _download(self, url: str) -> bytes:
        own = self.http is None
        session = aiohttp.ClientSession() if own else self.http()  # type: ignore[misc]
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=60)) as r:
                if r.status != 200:
                    raise DownloadFailed(f"Teams would not give me the file (HTTP {r.status}); please send it again.")
                data = await r.content.read(MAX_FILE_BYTES + 1)
                return data
        except aiohttp.ClientError as e:
            raise DownloadFailed(f"I could not download the file from Teams ({type(e).__name__}); please send it again.") from e
        finally:
            if own:
                await session.close()

    # invokes -------------------------------------------------------------------------------
    async def _on_invoke(self, turn: TurnContext) -> None:
        a = turn.activity
        if a.name == "fileConsent/invoke":
            await self._on_file_consent(turn)
            return
        if a.name != "adaptiveCard/action":
            await _invoke_reply(turn, 200, {})  # other invokes (e.g. a sign-in check): nothing to do
            return
        value = a.value if isinstance(a.value, dict) else None
        action = (value or {}).get("action")
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            await _invoke_reply(turn, 200, adaptive.invoke_error_response(400, "BadRequest", "This card action is malformed."))
            return
        try:
            body = press_of(action.get("data"), verb=str(action.get("verb") or ""))
        except BadActivity as e:
            await _invoke_reply(turn, 200, adaptive.invoke_error_response(400, "BadRequest", str(e)))
            return
        who = await self._who(turn)
        try:
            reply = await asyncio.wait_for(self._ask(self._incoming(who, body, a)), INVOKE_DEADLINE)
        except TimeoutError:
            await _invoke_reply(turn, 200, adaptive.invoke_error_response(503, "Timeout", "That took too long; please try again in a moment."))
            return
        refreshing = isinstance(body, Press) and body.verb == Verb.REFRESH  # one person's view of a card; nothing changes
        if reply.form is not None:
            card_json = adaptive.render_form(reply.form, errors=reply.errors)
            await _invoke_reply(turn, 200, adaptive.invoke_card_response(card_json))
            await self._send_cards(turn, _others(reply))
        elif reply.replace is not None:
            card_json = adaptive.render_card(reply.replace, refresh=refresh_of(reply.replace))
            await _invoke_reply(turn, 200, adaptive.invoke_card_response(card_json))
            if kind_of(a) != "personal" and a.reply_to_id and not refreshing:  # everyone else in a group or channel sees it too
                await self._update_card(turn, a.reply_to_id, reply.replace)
            await self._send_cards(turn, _others(reply))
        else:  # the first card's words as the invoke's message (a notice's title is only "actionbot")
            first = " ".join(render_text(reply.cards[0]).split()) if reply.cards else "Done."
            await _invoke_reply(turn, 200, adaptive.invoke_message_response(first or "Done."))
            if not refreshing:  # a refresh is automatic: nothing is posted for it
                await self._send_cards(turn, _others(reply))
        for f in reply.files:
            await self._send_file(turn, f.name, f.data, f.mime)

    # installs ------------------------------------------------------------------------------
    async def _on_installation_update(self, turn: TurnContext) -> None:
        a = turn.activity
        if (a.action or "").startswith("remove"):
            await self._forget(a)
        elif kind_of(a) == "personal":  # Teams also sends conversationUpdate: greet once, here
            await self._welcome(turn)

    async def _on_conversation_update(self, turn: TurnContext) -> None:
        a = turn.activity
        bot_id = a.recipient.id if a.recipient else None
        if any(m.id == bot_id for m in a.members_removed or []):
            await self._forget(a)
        elif any(m.id == bot_id for m in a.members_added or []) and kind_of(a) != "personal":
            await self._welcome(turn)  # added to a team or group chat (a 1:1 install is greeted on installationUpdate)
            await self._learn_roster(turn)
        if kind_of(a) != "personal":
            added = [m for m in a.members_added or [] if m.id and m.id != bot_id]
            removed = [m for m in a.members_removed or [] if m.id and m.id != bot_id]
            if added or removed:
                await self._learn_members(a, [_member_of(m) for m in added], [m.id for m in removed])

    async def _learn_roster(self, turn: TurnContext) -> None:
        """Added to a team (or group chat): remember everyone in it, so the bot can later start
        a 1:1 chat with a lead officer who never opened one (the roster: GET
        /v3/conversations/{team}/members)."""
        a = turn.activity
        data = a.channel_data if isinstance(a.channel_data, dict) else {}
        roster_of = str((data.get("team") or {}).get("id") or a.conversation.id)
        if roster_of in self._rosters:
            return
        self._rosters.add(roster_of)
        try:
            client = turn.turn_state.get(turn.adapter.BOT_CONNECTOR_CLIENT_KEY)
            members = await client.conversations.get_conversation_members(roster_of)
        except Exception as e:
            log.warning("could not read the members of Teams conversation %s: %s", roster_of, e)
            return
        await self._learn_members(a, [_member_of(m) for m in members or []], [])

    async def _learn_members(self, a: Activity, added: list[dict[str, Any]], removed: list[str]) -> None:
        tenant, bot_id = tenant_of(a), (a.recipient.id if a.recipient else "")
        data = a.channel_data if isinstance(a.channel_data, dict) else {}
        team_id = (data.get("team") or {}).get("id") or None
        if not tenant:
            return

        def save() -> None:
            with session_scope(self.engine) as s:
                for m in added:
                    refs.save_member(s, tenant_id=tenant, now=self.clock(), service_url=a.service_url, bot_id=bot_id, team_id=team_id, **m)
                for uid in removed:
                    refs.forget_member(s, tenant_id=tenant, user_id=uid)

        await asyncio.to_thread(save)

    async def _welcome(self, turn: TurnContext) -> None:
        """Installed: in a 1:1 chat the person gets what they may do (the conversation's help);
        in a channel, how to send a plan's digest here."""
        a = turn.activity
        if kind_of(a) == "personal":
            if a.from_property is None or a.from_property.id == (a.recipient.id if a.recipient else None):
                return
            who = await self._who(turn)
            event = self._incoming(who, Said(text="help", command=True), a, event_id=f"install:{a.conversation.id}")
            reply = await self._ask(event)
            if not reply.replayed:
                await self._send_reply(turn, reply, with_replace=True)
        else:
            conv_id = a.conversation.id if a.conversation else ""
            await self._send_cards(turn, [notice_card(
                f"Hello. To post a plan's weekly digest here, an administrator types "
                f"\"set PLAN channel here\" in this channel (or sets the channel teams:{conv_id}).", title="actionbot")])


class DownloadFailed(Exception):
    pass


def _member_of(account: Any) -> dict[str, Any]:
    """A roster entry or an added member (a ChannelAccount) as the fields a member row keeps."""
    props = getattr(account, "additional_properties", None) or {}
    email = props.get("email") or props.get("userPrincipalName") or None
    return {"user_id": str(account.id), "aad_object_id": getattr(account, "aad_object_id", None) or props.get("objectId") or None,
            "name": (account.name or "")[:200], "email": str(email)[:320] if email else None}


def _others(reply: Reply) -> list[Card]:
    """The reply's cards besides the replacement (shown in place, so not posted again)."""
    return [c for c in reply.cards if c != reply.replace]


async def _invoke_reply(turn: TurnContext, status: int, body: Any) -> None:
    await turn.send_activity(Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=status, body=body)))


def _message(attachments: list[dict[str, Any]], *, summary: str = "", text: str | None = None) -> Activity:
    return Activity(type=ActivityTypes.message, attachment_layout="list", summary=summary[:200] or None, text=text,
                    attachments=[Attachment(content_type=x["contentType"], content=x["content"]) for x in attachments])


CHART_IN_CARD = 20 * 1024  # a chart this small (as base64) goes inside the card; larger ones ride along
CHART_ATTACHED = 60 * 1024  # above this the chart is left out: the message would pass Teams' size limit


def chart_png(path: str) -> bytes | None:
    """The digest chart made small enough for a Teams message: at most 800 px wide, 32 colours
    (a chart has a handful); None when there is no such file."""
    import io

    from PIL import Image

    p = Path(path)
    if not p.is_file():
        return None
    try:
        with Image.open(p) as im:
            im.thumbnail((800, 800))
            small = im.convert("RGB").quantize(colors=32)
            out = io.BytesIO()
            small.save(out, "PNG", optimize=True)
            return out.getvalue()
    except OSError as e:
        log.warning("chart %s could not be read: %s", path, e)
        return None


MAX_REFRESH_USERS = 60  # Teams refreshes a card automatically for at most 60 listed users


def refresh_of(card: Card) -> adaptive.Refresh | None:
    """Universal Actions' refresh for a card that shows an action: the clients of the people
    on the action ask for its current face whenever they show the card."""
    if card.live is None or not card.live.user_ids:
        return None
    return adaptive.Refresh(verb=Verb.REFRESH, value={"action_id": card.live.action_id}, user_ids=card.live.user_ids[:MAX_REFRESH_USERS])


def card_activity(card: Card, *, chart_images: bool = True) -> Activity:
    """One message carrying the card. A digest's chart goes inside the card as a data URI when
    small, else as an inline image beside it, so the message stays under Teams' size limit."""
    image_url, extra = None, []
    if chart_images and card.chart_path:
        png = chart_png(card.chart_path)
        b64 = base64.b64encode(png).decode("ascii") if png else ""
        if b64 and len(b64) <= CHART_IN_CARD:
            image_url = f"data:image/png;base64,{b64}"
        elif b64 and len(b64) <= CHART_ATTACHED:
            extra.append(Attachment(content_type="image/png", content_url=f"data:image/png;base64,{b64}", name=Path(card.chart_path).name))
    act = _message([adaptive.attachment(adaptive.render_card(card, image_url=image_url, refresh=refresh_of(card)))], summary=card.title.plain)
    act.attachments += extra
    return act


# --- the HTTP endpoint ---------------------------------------------------------------------
def messages_handler(adapter: CloudAdapter, bot: TeamsBot) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body.get("type"):
            return web.json_response({"error": "not a Bot Framework activity"}, status=400)
        try:
            activity = Activity().deserialize(body)
        except Exception:
            return web.json_response({"error": "not a Bot Framework activity"}, status=400)
        try:
            invoke = await adapter.process_activity(request.headers.get("Authorization", ""), activity, bot.on_turn)
        except PermissionError:
            return web.json_response({"error": "unauthorized"}, status=401)
        if invoke is None:
            return web.Response(status=201)
        body_out = invoke.body
        if body_out is not None and not isinstance(body_out, (dict, list, str, int, float)):
            body_out = serializer_helper(body_out)
        return web.json_response(body_out, status=invoke.status or 200)

    return handle


# --- proactive sends ------------------------------------------------------------------------
class Pacer:
    """Sliding-window limits: every key has its own windows (a conversation: 7 a second and 60
    in 30 seconds), and one shared app-wide window. ``wait(key)`` returns once a send may go."""

    def __init__(self, *, per_conversation: tuple[tuple[int, float], ...] = ((7, 1.0), (60, 30.0)),
                 per_app: tuple[tuple[int, float], ...] = ((30, 1.0),), clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, slack: float = 0.02) -> None:
        # ``slack``: each window is kept this much longer than the platform's, since requests
        # reach it a little later than we send them and not all equally late
        self.clock, self.sleep = clock, sleep
        self.per_conversation = tuple((n, w + slack) for n, w in per_conversation)
        self.per_app = tuple((n, w + slack) for n, w in per_app)
        self._sent: dict[str, deque[float]] = {}
        self._app: deque[float] = deque()
        # The slot each stream's last send was given: the even spacing counts from there, not
        # from when a late-woken send actually left, so lateness does not add up send by send.
        self._slots: dict[str, float] = {}
        self._app_slot = float("-inf")
        self._locks: dict[str, asyncio.Lock] = {}
        self._app_lock = asyncio.Lock()
        self._paused_until = 0.0

    @staticmethod
    def _spacing(limits: tuple[tuple[int, float], ...]) -> float:
        if not limits:
            return 0.0
        count, window = min(limits, key=lambda lw: lw[1])
        return window / count

    @staticmethod
    def _delay(history: deque[float], limits: tuple[tuple[int, float], ...], now: float, slot: float) -> float:
        """How long until one more send fits every window: when the count-th latest send is
        still inside a window, wait until it leaves it. Sends are also spread evenly over the
        shortest window (7 a second: one every 1/7 s, counted from the last send's slot) rather
        than sent in bursts, whose tails would reach the platform late and overlap the next
        window."""
        if not limits:
            return 0.0
        longest = max(w for _, w in limits)
        while history and history[0] <= now - longest:
            history.popleft()
        delay = 0.0
        for count, window in limits:
            if len(history) >= count and history[-count] > now - window:
                delay = max(delay, history[-count] + window - now)
        if history:
            delay = max(delay, slot + Pacer._spacing(limits) - now)
        return delay

    @staticmethod
    def _next_slot(last: float, spacing: float, now: float) -> float:
        """The slot a send leaving ``now`` takes: one spacing after the last one's slot when it
        woke up a little late for it (at most half a spacing), else now (the stream was idle,
        or held back by a longer window)."""
        due = last + spacing
        return due if spacing and due <= now <= due + spacing / 2 else now

    def pause(self, seconds: float) -> None:
        """The platform said 429: nobody sends for a while."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def wait(self, key: str) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            history = self._sent.setdefault(key, deque())
            while (d := self._delay(history, self.per_conversation, self.clock(), self._slots.get(key, float("-inf")))) > 0:
                await self.sleep(d)
            async with self._app_lock:
                while True:
                    now = self.clock()
                    d = max(self._delay(self._app, self.per_app, now, self._app_slot), self._paused_until - now)
                    if d <= 0:
                        break
                    await self.sleep(d)
                now = self.clock()
                self._app.append(now)
                history.append(now)
                self._app_slot = self._next_slot(self._app_slot, self._spacing(self.per_app), now)
                self._slots[key] = self._next_slot(self._slots.get(key, float("-inf")), self._spacing(self.per_conversation), now)


RETRY_STATUSES = {429, 412, 502, 503, 504}
PERMANENT_STATUSES = {403, 404}


class TeamsPort:
    """The ChatPort for Teams: proactive messages through stored conversation references."""

    platform = "teams"

    def __init__(self, engine: Engine, auth: TeamsAuth, *, pacer: Pacer | None = None, tries: int = 4,
                 backoff: Callable[[int], float] = lambda n: min(0.5 * 2 ** n, 8.0), max_wait: float = 10.0,
                 chart_images: bool = True, in_flight: int = 4) -> None:
        self.engine, self.auth, self.pacer, self.tries, self.backoff, self.max_wait = engine, auth, pacer or Pacer(), tries, backoff, max_wait
        self.chart_images = chart_images
        # Few requests in flight: a send paced now must leave now, not queue behind others in
        # the connector's thread pool and arrive in a bunch (which Teams would answer with 429).
        self._in_flight = asyncio.Semaphore(in_flight)
        self._bfa = CachingAuthentication(auth)
        self._creds: dict[str, Any] = {}
        self._refs: dict[str, tuple[str, str, str, bool]] = {}
        self._refs_at = -1e9
        self._refs_lock = asyncio.Lock()
        self._token: tuple[str, float] = ("", 0.0)
        self._http: aiohttp.ClientSession | None = None

    async def _credentials(self, service_url: str) -> Any:
        creds = self._creds.get(service_url)
        if creds is None:
            claims = ClaimsIdentity({AuthenticationConstants.AUDIENCE_CLAIM: self.auth.APP_ID,
                                     AuthenticationConstants.APP_ID_CLAIM: self.auth.APP_ID}, True)
            made = await self._bfa.create_connector_factory(claims).create(service_url, None)
            creds = self._creds[service_url] = made.config.credentials  # botbuilder's, for this cloud and app
        return creds

    async def _headers(self, service_url: str) -> dict[str, str]:
        """JSON, and the bot's token (botbuilder's credentials; fetched again every 20 minutes)."""
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "actionbot (BotBuilder Python 4.17.1)"}
        creds = await self._credentials(service_url)
        if getattr(creds, "microsoft_app_id", None):
            token, at = self._token
            if not token or time.monotonic() - at > 1200:
                token = await asyncio.to_thread(creds.get_access_token)
                self._token = (token, time.monotonic())
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def _request(self, method: str, service_url: str, path: str, activity: Activity | dict[str, Any]) -> dict[str, Any]:
        """One call to the Bot Connector REST API with aiohttp on this event loop (not requests
        in a thread pool): a send leaves the moment it is paced."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        url = service_url.rstrip("/") + path
        body = activity.serialize() if isinstance(activity, Activity) else activity
        async with self._http.request(method, url, json=body, headers=await self._headers(service_url)) as r:
            text = await r.text()
            if r.status in (200, 201, 202):
                try:
                    body = json.loads(text) if text else {}
                except ValueError:
                    body = {}
                return body if isinstance(body, dict) else {}
            raise ConnectorError(r.status, _retry_after(r.headers), text[:300])

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    def _load_references(self) -> dict[str, tuple[str, str, str, bool]]:
        """Every conversation reference, keyed by conversation id, Teams user id and Entra object
        id (a person's installed and most recent 1:1 chat winning), in one query."""
        from sqlmodel import col, select

        from storage.tables import TeamsConversation

        out: dict[str, tuple[str, str, str, bool]] = {}
        with session_scope(self.engine) as s:
            rows = s.exec(select(TeamsConversation).order_by(col(TeamsConversation.installed), col(TeamsConversation.updated_at))).all()
            for r in rows:
                if r.kind == "personal":
                    for key in (r.user_id, r.aad_object_id):
                        if key:
                            out[key] = (r.conversation_id, r.service_url, r.tenant_id, r.installed)
            for r in rows:
                out[r.conversation_id] = (r.conversation_id, r.service_url, r.tenant_id, r.installed)
        return out

    def _find_one(self, target: str) -> tuple[str, str, str, bool] | None:
        with session_scope(self.engine) as s:
            r = refs.find_reference(s, target)
            return (r.conversation_id, r.service_url, r.tenant_id, r.installed) if r is not None else None

    async def _reference(self, target: str) -> tuple[str, str, str]:
        """Where ``target`` is reached. References are read in bulk and kept for a minute (a
        thousand nudges cost one query); a target not among them is looked up on its own."""
        if time.monotonic() - self._refs_at > REFERENCES_FOR:
            async with self._refs_lock:
                if time.monotonic() - self._refs_at > REFERENCES_FOR:
                    self._refs = await asyncio.to_thread(self._load_references)
                    self._refs_at = time.monotonic()
        found = self._refs.get(target)
        if found is None or not found[3]:  # unknown, or uninstalled when last read: ask the database itself
            found = await asyncio.to_thread(self._find_one, target)
            if found is not None:
                self._refs[target] = found
        if found is None:  # never chatted with the bot: start a 1:1 chat if a team's roster knows them
            found = await self._start_chat(target)
        if found is None or not found[3]:
            raise DeliveryError(f"{target} is {NOT_REACHABLE}", permanent=True)
        return found[0], found[1], found[2]

    def _member(self, target: str) -> tuple[str, str | None, str, str, str, str] | None:
        with session_scope(self.engine) as s:
            m = refs.find_member(s, target)
            return (m.user_id, m.aad_object_id, m.name, m.tenant_id, m.service_url, m.bot_id) if m is not None else None

    async def _start_chat(self, target: str) -> tuple[str, str, str, bool] | None:
        """Create the 1:1 conversation with a team member who has none with the bot
        (POST /v3/conversations, isGroup false, in their tenant) and keep its reference. Teams
        refuses (403/404) when the app is not installed for them: then they are not reachable."""
        member = await asyncio.to_thread(self._member, target)
        if member is None:
            return None
        user_id, aad, name, tenant, service_url, bot_id = member
        bot_id = bot_id or f"28:{self.auth.APP_ID}"
        body = {"bot": {"id": bot_id}, "members": [{"id": user_id}], "isGroup": False, "tenantId": tenant,
                "channelData": {"tenant": {"id": tenant}}}
        try:
            result = await self._call(f"new:{user_id}", lambda: self._request("POST", service_url, "/v3/conversations", body))
        except DeliveryError as e:
            if e.permanent:
                raise DeliveryError(f"{target} is {NOT_REACHABLE} (Teams would not start a 1:1 chat with them: {e})", permanent=True) from e
            raise
        conversation_id = str(result.get("id") or "")
        if not conversation_id:
            raise DeliveryError(f"{target}: Teams started a chat but gave no conversation id")
        service_url = str(result.get("serviceUrl") or service_url)

        def save() -> None:
            with session_scope(self.engine) as s:
                refs.save_reference(s, conversation_id=conversation_id, now=datetime.now(UTC), kind="personal", service_url=service_url,
                                    tenant_id=tenant, user_id=user_id, aad_object_id=aad, user_name=name, bot_id=bot_id)

        await asyncio.to_thread(save)
        log.info("started a Teams 1:1 chat with %s (%s)", name or user_id, conversation_id)
        found = (conversation_id, service_url, tenant, True)
        for key in {target, user_id, aad}:
            if key:
                self._refs[key] = found
        return found

    async def _call(self, conversation_id: str, send: Callable[[], Awaitable[Any]]) -> Any:
        last: Exception | None = None
        for attempt in range(self.tries):
            try:
                async with self._in_flight:
                    await self.pacer.wait(conversation_id)
                    return await send()
            except ConnectorError as e:
                status = e.status
                if status in PERMANENT_STATUSES:
                    raise DeliveryError(f"{conversation_id}: HTTP {status}: {NOT_REACHABLE}", permanent=True) from e
                if status not in RETRY_STATUSES:
                    raise DeliveryError(f"{conversation_id}: HTTP {status}: {e.body}", permanent=400 <= status < 500) from e
                wait = e.retry_after or self.backoff(attempt)
                if status == 429:
                    self.pacer.pause(min(wait, self.max_wait))
                last = DeliveryError(f"{conversation_id}: HTTP {status}", retry_after=wait)
                if wait > self.max_wait:
                    break
                if status != 429:
                    await asyncio.sleep(wait)
            except (aiohttp.ClientError, OSError) as e:
                last = DeliveryError(f"{conversation_id}: {type(e).__name__}: {e}")
                await asyncio.sleep(self.backoff(attempt))
        raise last if last is not None else DeliveryError(f"{conversation_id}: not sent")

    async def send(self, target: str, card: Card) -> Sent:
        conversation_id, service_url, tenant = await self._reference(target)
        act = card_activity(card, chart_images=self.chart_images)
        act.conversation = ConversationAccount(id=conversation_id, tenant_id=tenant or None)
        act.channel_data = {"tenant": {"id": tenant}} if tenant else None
        path = f"/v3/conversations/{quote(conversation_id, safe='')}/activities"
        result = await self._call(conversation_id, lambda: self._request("POST", service_url, path, act))
        return Sent(ref=str(result.get("id") or ""))

    async def update(self, target: str, ref: str, card: Card) -> Sent:
        conversation_id, service_url, tenant = await self._reference(target)
        act = card_activity(card, chart_images=False)
        act.id = ref
        act.conversation = ConversationAccount(id=conversation_id, tenant_id=tenant or None)
        path = f"/v3/conversations/{quote(conversation_id, safe='')}/activities/{quote(ref, safe='')}"
        await self._call(conversation_id, lambda: self._request("PUT", service_url, path, act))
        return Sent(ref=ref)


class ConnectorError(Exception):
    def __init__(self, status: int, retry_after: float | None, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.retry_after, self.body = status, retry_after, body


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class TeamsDirectory:
    """The conversation's directory for Teams (``map "LEAD" person@council.example``): the
    Teams user id for an e-mail address, from the rosters of the teams the bot is in."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lookup_email(self, email: str) -> str | None:
        with session_scope(self.engine, read_only=True) as s:
            m = refs.member_by_email(s, email)
            return m.user_id if m is not None else None


# --- wiring ---------------------------------------------------------------------------------
def check_auth(settings: Any) -> TeamsAuth:
    """The Teams credentials, checked: production refuses to run Teams unauthenticated."""
    from bot.domain.model import InvalidValue

    auth = auth_from(settings)
    if auth.local:
        if (settings.env or "").strip().lower() == "production":
            raise InvalidValue("ACTIONBOT_ENV=production needs MicrosoftAppId and MicrosoftAppPassword: "
                               "Teams requests would otherwise be accepted without checking who sent them")
        log.warning("Teams runs in local mode (no MicrosoftAppId): requests are NOT authenticated — for the Agents Playground only")
    elif not auth.APP_PASSWORD:
        raise InvalidValue("MicrosoftAppId is set but MicrosoftAppPassword is not")
    return auth


def mount(app: web.Application, settings: Any, engine: Engine, conversation: Handles, *, path: str = "/api/messages") -> TeamsBot:
    auth = check_auth(settings)
    adapter = make_adapter(auth)
    bot = TeamsBot(engine=engine, conversation=conversation)

    async def on_error(turn: TurnContext, error: Exception) -> None:
        log.exception("Teams turn failed", exc_info=error)
        if turn.activity.type == ActivityTypes.invoke:
            await _invoke_reply(turn, 200, adaptive.invoke_error_response(500, "InternalError", "Something went wrong on our side; nothing was changed."))
        else:
            try:
                await turn.send_activity(card_activity(notice_card("Something went wrong on our side; nothing was changed. Please try again."),
                                                       chart_images=False))
            except Exception:
                pass

    adapter.on_turn_error = on_error
    app.router.add_post(path, messages_handler(adapter, bot))

    async def close_clients(_app: web.Application) -> None:
        kept = adapter.bot_framework_authentication
        if isinstance(kept, CachingAuthentication):
            await kept.close()

    app.on_cleanup.append(close_clients)
    return bot


__all__ = ["Pacer", "TeamsBot", "TeamsDirectory", "TeamsPort", "card_activity", "check_auth", "mount", "press_of", "said_of"]
