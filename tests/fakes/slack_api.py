"""A local fake of the Slack Web API (aiohttp), for tests and benchmarks.

It records every call, keeps the messages each channel holds (with their ts, so chat.update
works), answers the methods the Slack adapter uses, can refuse with Slack's errors, answers
429 with Retry-After when a channel or the workspace goes over its rate, and serves the
three steps of ``files_upload_v2`` and the download of a file's ``url_private_download``.

    fake = FakeSlack(per_channel_rate=1.0, workspace_rate=20)
    base_url = await fake.start()          # http://127.0.0.1:PORT/api/
    ...
    await fake.stop()
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web

TOKEN = "xoxb-test-token"
TEAM = "T0TEAM"
BOT_USER = "U0BOT"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    error: str = ""
    peer: str = ""  # the client's end of the connection the call came on (kept-alive connections repeat it)


@dataclass
class User:
    id: str
    email: str = ""
    name: str = ""
    tz: str = "Europe/London"
    deleted: bool = False


@dataclass
class StoredFile:
    id: str
    name: str
    data: bytes = b""
    title: str = ""
    channels: list[str] = field(default_factory=list)
    user: str = ""


MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yml"


@cache
def manifest_scopes() -> frozenset[str]:
    """The bot scopes slack/manifest.yml asks for: what an installed app's token holds."""
    scopes, inside = set(), False
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped == "bot:":
            inside = True
        elif inside and stripped.startswith("- "):
            scopes.add(stripped[2:].strip())
        elif inside and stripped:
            break
    return frozenset(scopes)


def _parse(value: Any) -> Any:
    """Form-encoded arguments that hold JSON (blocks, view, files) as their Python value."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeSlack:
    def __init__(self, *, token: str = TOKEN, per_channel_rate: float | None = None, workspace_rate: float | None = None,
                 latency: float = 0.0, scopes: set[str] | None = None) -> None:
        self.token = token
        self.scopes = set(manifest_scopes() if scopes is None else scopes)  # what the token was granted: by default the manifest's
        self.private_channels: set[str] = set()  # reading these needs groups:history
        self.per_channel_rate, self.workspace_rate, self.latency = per_channel_rate, workspace_rate, latency
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)  # channel -> messages in order
        self.users: dict[str, User] = {}
        self.files: dict[str, StoredFile] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home: dict[str, dict[str, Any]] = {}  # user -> published Home view
        self.responses: list[dict[str, Any]] = []  # what was posted to response_urls
        self.channel_errors: dict[str, str] = {}  # channel or user id -> error every call about it gets
        self.method_errors: dict[str, str] = {}  # method -> error it answers once (then works)
        self.force_429: dict[str, int] = {}  # method -> how many 429s to answer before working
        self.retry_after = 1
        self.rejected_429 = 0
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._last_post: dict[str, float] = {}
        self._window: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- set-up -----------------------------------------------------------------------------
    def add_user(self, uid: str, *, email: str = "", name: str = "", tz: str = "Europe/London", deleted: bool = False) -> User:
        u = User(uid, email, name or uid, tz, deleted)
        self.users[uid] = u
        return u

    def add_file(self, name: str, data: bytes, *, user: str = "") -> StoredFile:
        f = StoredFile(f"F{next(self._ids):06d}", name, data, name, user=user)
        self.files[f.id] = f
        return f

    def file_url(self, file_id: str) -> str:
        return f"{self.url}files/{file_id}"

    def file_json(self, f: StoredFile) -> dict[str, Any]:
        return {"id": f.id, "name": f.name, "title": f.title or f.name, "size": len(f.data), "user": f.user,
                "filetype": f.name.rsplit(".", 1)[-1] if "." in f.name else "", "mode": "hosted",
                "url_private": self.file_url(f.id), "url_private_download": self.file_url(f.id) + "/download", "channels": f.channels}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files/{file_id}/download", self._download)
        app.router.add_get("/files/{file_id}", self._download)
        app.router.add_post("/respond/{rid}", self._respond)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        real_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{host}:{real_port}/"
        return self.api_url

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def response_url(self, rid: str = "r1") -> str:
        return f"{self.url}respond/{rid}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests read --------------------------------------------------------------------
    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200 and not c.error]

    def dm_channel(self, user: str) -> str:
        return f"D{user}"

    def posts(self, channel: str) -> list[dict[str, Any]]:
        return self.messages.get(channel, [])

    # --- the API ----------------------------------------------------------------------------
    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            ctype = request.content_type
            if ctype == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        return {k: _parse(v) for k, v in args.items()}

    def _authorised(self, request: web.Request, args: dict[str, Any]) -> bool:
        auth = request.headers.get("Authorization", "")
        return auth == f"Bearer {self.token}" or args.get("token") == self.token

    def _rate_limited(self, channel: str) -> float | None:
        """Seconds to wait if this post goes over the channel's or the workspace's rate."""
        now = time.monotonic()
        wait = 0.0
        if self.per_channel_rate and channel in self._last_post:
            gap = 1.0 / self.per_channel_rate - (now - self._last_post[channel])
            wait = max(wait, gap)
        if self.workspace_rate:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.workspace_rate:
                wait = max(wait, 1.0 - (now - self._window[0]))
        if wait > 1e-3:
            return wait
        self._last_post[channel] = now
        self._window.append(now)
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        peername = request.transport.get_extra_info("peername") if request.transport is not None else None
        call = Call(method, args, time.monotonic(), peer=f"{peername[0]}:{peername[1]}" if peername else "")
        self.calls.append(call)
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self._authorised(request, args):
            call.error = "invalid_auth"
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.force_429.get(method, 0) > 0:
            self.force_429[method] -= 1
            return self._too_many(call, self.retry_after)
        if method in self.method_errors:
            call.error = self.method_errors.pop(method)
            return web.json_response({"ok": False, "error": call.error})
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            call.error = "unknown_method"
            return web.json_response({"ok": False, "error": "unknown_method"})
        about = str(args.get("channel") or args.get("channel_id") or args.get("users") or args.get("user") or "")
        if about in self.channel_errors:
            call.error = self.channel_errors[about]
            return web.json_response({"ok": False, "error": call.error})
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            wait = self._rate_limited(str(args.get("channel", "")))
            if wait is not None:
                return self._too_many(call, math.ceil(wait))
        result = handler(args)
        if not result.get("ok", True):
            call.error = result["error"]
            return web.json_response(result)
        return web.json_response({"ok": True, **result})

    def _too_many(self, call: Call, retry_after: int) -> web.Response:
        call.status = 429
        self.rejected_429 += 1
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(max(1, retry_after))})

    def _err(self, error: str) -> dict[str, Any]:
        return {"ok": False, "error": error}

    def _channel(self, ch: str) -> str:
        """Posting to a user id posts in the app's DM with them (as Slack does)."""
        if ch.startswith(("U", "W")):
            u = self.users.get(ch)
            if u is None:
                return ""
            return self.dm_channel(ch)
        return ch

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://fake.slack.com/", "team": "Fake", "user": "actionbot", "team_id": TEAM, "user_id": BOT_USER, "bot_id": "B0BOT"}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel(str(args.get("channel", "")))
        if not ch:
            return self._err("channel_not_found")
        if ch.startswith("D") and (u := self.users.get(ch[1:])) is not None and u.deleted:
            return self._err("account_inactive")
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        msg = {"ts": ts, "channel": ch, "text": args.get("text", ""), "blocks": args.get("blocks") or [],
               "thread_ts": args.get("thread_ts"), "metadata": args.get("metadata"), "user": BOT_USER, "updates": 0}
        self.messages[ch].append(msg)
        return {"channel": ch, "ts": ts, "message": msg}

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ch, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        for m in self.messages.get(ch, []):
            if m["ts"] == ts:
                m.update(text=args.get("text", m["text"]), blocks=args.get("blocks") or m["blocks"], updates=m["updates"] + 1)
                return {"channel": ch, "ts": ts}
        return self._err("message_not_found")

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.responses.append({"ephemeral": True, **args})
        return {"message_ts": f"{int(time.time())}.{next(self._ts):06d}"}

    def m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = str(args.get("users", "")).split(",")[0]
        u = self.users.get(uid)
        if u is None:
            return self._err("user_not_found")
        if u.deleted:
            return self._err("account_inactive")
        return {"channel": {"id": self.dm_channel(uid)}}

    def history_scope(self, channel: str) -> str:
        """The scope Slack wants for reading a conversation's history."""
        if channel.startswith("D"):
            return "im:history"
        if channel in self.private_channels or channel.startswith("G"):
            return "groups:history"
        return "channels:history"

    def m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """As Slack answers it: the scope for the kind of conversation or `missing_scope`; the
        conversation's top-level messages newest first, within `oldest`/`latest` (exclusive
        unless `inclusive`), `limit` at a time (at most 999) with a cursor for the next page;
        message metadata only with `include_all_metadata`."""
        ch = str(args.get("channel", ""))
        need = self.history_scope(ch)
        if need not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": need, "provided": ",".join(sorted(self.scopes))}
        def flag(name: str) -> bool:
            return str(args.get(name, "")).lower() in ("1", "true")
        inclusive = flag("inclusive")
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or 0) or math.inf
        msgs = [m for m in reversed(self.messages.get(ch, [])) if not m.get("thread_ts")
                and (oldest <= float(m["ts"]) <= latest if inclusive else oldest < float(m["ts"]) < latest)]
        limit = max(1, min(999, int(args.get("limit") or 100)))
        start = int(str(args.get("cursor") or "0").removeprefix("next:") or 0)
        page = msgs[start:start + limit]
        more = start + limit < len(msgs)
        out = []
        for m in page:
            shown = {"type": "message", "user": m.get("user"), "bot_id": "B0BOT", "text": m.get("text", ""), "ts": m["ts"],
                     "blocks": m.get("blocks") or []}
            if m.get("files"):
                shown["files"] = [{"id": f} for f in m["files"]]
            if flag("include_all_metadata") and m.get("metadata"):
                shown["metadata"] = m["metadata"]
            out.append(shown)
        return {"messages": out, "has_more": more, "response_metadata": {"next_cursor": f"next:{start + limit}" if more else ""}}

    def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return self._err("invalid_trigger_id")
        view = dict(args.get("view") or {})
        vid = f"V{next(self._ids):06d}"
        view.update(id=vid, hash=f"h{next(self._ids)}")
        self.views[vid] = view
        return {"view": view}

    def m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        vid = str(args.get("view_id", ""))
        if vid not in self.views:
            return self._err("not_found")
        view = dict(args.get("view") or {})
        view.update(id=vid, hash=f"h{next(self._ids)}")
        self.views[vid] = view
        return {"view": view}

    def m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = dict(args.get("view") or {})
        self.home[str(args.get("user_id", ""))] = view
        return {"view": view}

    def _user_json(self, u: User) -> dict[str, Any]:
        return {"id": u.id, "team_id": TEAM, "name": u.name, "real_name": u.name, "deleted": u.deleted, "tz": u.tz,
                "profile": {"email": u.email, "real_name": u.name, "display_name": u.name}}

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        u = self.users.get(str(args.get("user", "")))
        return {"user": self._user_json(u)} if u else self._err("user_not_found")

    def m_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        u = next((u for u in self.users.values() if u.email.lower() == email and not u.deleted), None)
        return {"user": self._user_json(u)} if u else self._err("users_not_found")

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        f = StoredFile(f"F{next(self._ids):06d}", str(args.get("filename", "")))
        self.files[f.id] = f
        return {"upload_url": f"{self.url}upload/{f.id}", "file_id": f.id}

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        out = []
        ch = str(args.get("channel_id") or "")
        for item in args.get("files") or []:
            f = self.files.get(item.get("id", ""))
            if f is None:
                return self._err("file_not_found")
            f.title = item.get("title") or f.name
            if ch:
                f.channels.append(ch)
                self.messages[ch].append({"ts": f"{int(time.time())}.{next(self._ts):06d}", "channel": ch, "text": args.get("initial_comment") or "",
                                          "files": [f.id], "thread_ts": args.get("thread_ts"), "user": BOT_USER, "blocks": [], "updates": 0})
            out.append({"id": f.id, "title": f.title, "name": f.name})
        return {"files": out}

    def m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        f = self.files.get(str(args.get("file", "")))
        return {"file": self.file_json(f)} if f else self._err("file_not_found")

    async def _upload(self, request: web.Request) -> web.Response:
        f = self.files.get(request.match_info["file_id"])
        self.calls.append(Call("upload", {"file_id": request.match_info["file_id"]}, time.monotonic()))
        if f is None:
            return web.Response(status=404, text="not found")
        f.data = await request.read()
        return web.Response(text=f"OK - {len(f.data)}")

    async def _download(self, request: web.Request) -> web.Response:
        f = self.files.get(request.match_info["file_id"])
        self.calls.append(Call("download", {"file_id": request.match_info["file_id"]}, time.monotonic()))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=200, text="<html>sign in</html>", content_type="text/html")  # what Slack does
        if f is None:
            return web.Response(status=404)
        return web.Response(body=f.data, content_type="application/octet-stream")

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append({"response_url": request.match_info["rid"], **body})
        return web.Response(text="ok")
