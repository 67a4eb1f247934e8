"""A local fake Bot Connector (the service a Teams bot posts its replies and proactive messages
to) and builders for the Bot Framework activities Teams sends. Used by the Teams tests and the
Teams benchmark; only loopback addresses."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TENANT = "tenant-kent"
BOT = {"id": "28:actionbot", "name": "actionbot"}


@dataclass
class Sent:
    method: str
    conversation: str
    activity: dict[str, Any]
    activity_id: str | None = None  # the replied-to or updated activity
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class FakeConnector:
    """Records what the bot sends. ``fail[conversation]`` is a list of HTTP statuses to answer
    the next sends with (429 comes with Retry-After); ``limits`` (count, seconds) per
    conversation and ``app_limit`` per second make it answer 429 like Teams when exceeded."""

    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)  # OneDrive upload sessions: name -> (bytes, headers)
    upload_fail: list[int] = field(default_factory=list)  # statuses to answer the next uploads with
    rosters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # team (or chat) id -> its members
    chats_for: set[str] = field(default_factory=set)  # users the app is installed for: a 1:1 chat can be started with them
    created: list[dict[str, Any]] = field(default_factory=list)  # POST /v3/conversations bodies that started a chat
    roster_reads: list[str] = field(default_factory=list)  # the conversations whose members were asked for
    fail: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    retry_after: float = 0.05
    limits: tuple[tuple[int, float], ...] = ()
    app_limit: int = 0
    sent: list[Sent] = field(default_factory=list)
    throttled: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _times: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _app_times: deque[float] = field(default_factory=deque)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/")).rstrip("/") + "/"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_get("/v3/conversations/{cid}/members", self._roster)
        app.router.add_post("/v3/conversations/{cid}/activities", self._post)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._post)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._put)
        app.router.add_get("/v3/conversations/{cid}/members/{uid}", self._member)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_put("/upload/{name}", self._upload)
        return app

    async def start(self) -> FakeConnector:
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def _refuse(self, cid: str) -> web.Response | None:
        if self.fail.get(cid):
            status = self.fail[cid].pop(0)
            headers = {"Retry-After": str(self.retry_after)} if status == 429 else {}
            return web.json_response({"error": {"code": str(status), "message": "as scripted"}}, status=status, headers=headers)
        now = time.monotonic()
        times = self._times[cid]
        for count, window in self.limits:
            recent = sum(1 for t in times if t > now - window)
            if recent >= count:
                self.throttled += 1
                return web.json_response({"error": {"code": "429"}}, status=429, headers={"Retry-After": "0.2"})
        if self.app_limit:
            while self._app_times and self._app_times[0] <= now - 1.0:
                self._app_times.popleft()
            if len(self._app_times) >= self.app_limit:
                self.throttled += 1
                return web.json_response({"error": {"code": "429"}}, status=429, headers={"Retry-After": "0.2"})
            self._app_times.append(now)
        times.append(now)
        while len(times) > 200:
            times.popleft()
        return None

    async def _post(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        refused = self._refuse(cid)
        if refused is not None:
            return refused
        self.sent.append(Sent("post", cid, await request.json(), request.match_info.get("aid")))
        return web.json_response({"id": f"act-{next(self._ids)}"})

    async def _put(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        refused = self._refuse(cid)
        if refused is not None:
            return refused
        self.sent.append(Sent("put", cid, await request.json(), request.match_info["aid"]))
        return web.json_response({"id": request.match_info["aid"]})

    async def _create(self, request: web.Request) -> web.Response:
        """Start a conversation. Like Teams: a 1:1 chat needs exactly one member, the bot, the
        tenant, and the app installed for that user (else 403)."""
        body = await request.json()
        members = body.get("members") or []
        tenant = body.get("tenantId") or ((body.get("channelData") or {}).get("tenant") or {}).get("id")
        if body.get("isGroup") or len(members) != 1 or not (body.get("bot") or {}).get("id") or not tenant:
            return web.json_response({"error": {"code": "BadArgument", "message": "one member, a bot and a tenant"}}, status=400)
        uid = members[0].get("id", "")
        refused = self._refuse(f"create:{uid}")
        if refused is not None:
            return refused
        if uid not in self.chats_for:
            return web.json_response({"error": {"code": "Forbidden", "message": "The bot is not installed for this user"}}, status=403)
        self.created.append(body)
        return web.json_response({"id": f"a:{uid}"}, status=201)

    async def _roster(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        self.roster_reads.append(cid)
        if cid not in self.rosters:
            return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        return web.json_response(self.rosters[cid])

    async def _member(self, request: web.Request) -> web.Response:
        m = self.members.get(request.match_info["uid"])
        if m is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)
        return web.json_response(m)

    async def _file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    async def _upload(self, request: web.Request) -> web.Response:
        """A OneDrive upload session's URL, as Teams hands it over on Allow: the whole file in
        one PUT whose Content-Range must cover exactly the bytes sent."""
        if self.upload_fail:
            return web.json_response({"error": {"code": "generalException"}}, status=self.upload_fail.pop(0))
        data = await request.read()
        expected = f"bytes 0-{len(data) - 1}/{len(data)}"
        if request.headers.get("Content-Range") != expected:
            return web.json_response({"error": {"code": "invalidRange", "message": f"want {expected}"}}, status=416)
        name = request.match_info["name"]
        self.uploads[name] = (data, dict(request.headers))
        return web.json_response({"id": f"drive-item-{name}", "name": name, "size": len(data)}, status=201)

    # what was sent ---------------------------------------------------------------------------
    def cards(self, conversation: str | None = None) -> list[dict[str, Any]]:
        """The Adaptive Cards posted (not updates), oldest first."""
        out = []
        for s in self.sent:
            if s.method == "post" and (conversation is None or s.conversation == conversation):
                out += [a["content"] for a in s.activity.get("attachments") or [] if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]
        return out


_ids = itertools.count(1)


def activity(kind: str, service_url: str, *, user: str = "29:ann", aad: str = "aad-ann", name: str = "Ann Lead",
             conversation: str = "a:ann", conversation_type: str = "personal", **extra: Any) -> dict[str, Any]:
    act = {
        "type": kind, "id": f"f:{next(_ids)}", "channelId": "msteams", "serviceUrl": service_url,
        "timestamp": "2026-11-23T10:00:00.000Z", "localTimezone": "Europe/London",
        "from": {"id": user, "name": name, "aadObjectId": aad},
        "recipient": dict(BOT),
        "conversation": {"id": conversation, "conversationType": conversation_type, "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
        "entities": [{"type": "clientInfo", "locale": "en-GB", "country": "GB", "platform": "Web", "timezone": "Europe/London"}],
    }
    act.update(extra)
    return act


def message(service_url: str, text: str, **kw: Any) -> dict[str, Any]:
    return activity("message", service_url, text=text, textFormat="plain", **kw)


def execute(service_url: str, data: dict[str, Any], *, verb: str | None = None, reply_to: str = "act-1", **kw: Any) -> dict[str, Any]:
    action = {"type": "Action.Execute", "verb": verb if verb is not None else data.get("ab_verb", ""), "data": data}
    act = activity("invoke", service_url, replyToId=reply_to, value={"action": action, "trigger": "manual"}, **kw)
    act["name"] = "adaptiveCard/action"
    return act


def installation(service_url: str, action: str = "add", **kw: Any) -> dict[str, Any]:
    return activity("installationUpdate", service_url, action=action, **kw)


def members_added(service_url: str, *, conversation: str = "19:leaders@thread.tacv2", **kw: Any) -> dict[str, Any]:
    kw.setdefault("conversation_type", "channel")
    act = activity("conversationUpdate", service_url, conversation=conversation, membersAdded=[dict(BOT)], **kw)
    act["channelData"] |= {"team": {"id": "19:team@thread.tacv2", "name": "Leadership"}, "channel": {"id": conversation, "name": "General"},
                           "eventType": "teamMemberAdded"}
    return act


def file_message(service_url: str, file_name: str, download_url: str, **kw: Any) -> dict[str, Any]:
    return activity("message", service_url, text="", attachments=[{
        "contentType": "application/vnd.microsoft.teams.file.download.info", "name": file_name,
        "content": {"downloadUrl": download_url, "uniqueId": "u1", "fileType": file_name.rsplit(".", 1)[-1]}}], **kw)


def file_consent(service_url: str, action: str, context: dict[str, Any], *, upload_url: str = "", name: str = "cs.xlsx",
                 **kw: Any) -> dict[str, Any]:
    """The invoke Teams sends when Allow or Decline is pressed on a file consent card."""
    value: dict[str, Any] = {"type": "fileUpload", "action": action, "context": context}
    if action == "accept":
        value["uploadInfo"] = {"name": name, "uploadUrl": upload_url, "contentUrl": f"https://contoso-my.sharepoint.example/personal/ann/Documents/Applications/{name}",
                               "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C9D", "fileType": name.rsplit(".", 1)[-1]}
    act = activity("invoke", service_url, value=value, replyToId="act-consent", **kw)
    act["name"] = "fileConsent/invoke"
    return act
