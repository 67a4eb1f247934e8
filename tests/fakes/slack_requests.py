"""Requests as Slack sends them to /slack/events: signed (v0 HMAC-SHA256 of
``v0:{timestamp}:{body}``), slash commands and interactivity form-encoded, events as JSON."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

SECRET = "test-signing-secret"
TEAM = "T0TEAM"
_n = itertools.count(1)


def sign(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def form(fields: dict[str, str], **kw: Any) -> tuple[str, dict[str, str]]:
    body = urlencode(fields)
    return body, {"Content-Type": "application/x-www-form-urlencoded", **sign(body, **kw)}


def event(ev: dict[str, Any], *, event_id: str | None = None, **kw: Any) -> tuple[str, dict[str, str]]:
    body = json.dumps({"token": "legacy", "team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback",
                       "event_id": event_id or f"Ev{next(_n):08d}", "event_time": int(time.time()), "event": ev})
    return body, {"Content-Type": "application/json", **sign(body, **kw)}


def command(text: str, *, user: str, channel: str = "C0GENERAL", response_url: str = "", trigger_id: str | None = None,
            **kw: Any) -> tuple[str, dict[str, str]]:
    return form({"token": "legacy", "team_id": TEAM, "team_domain": "fake", "channel_id": channel, "channel_name": "general",
                 "user_id": user, "user_name": user.lower(), "command": "/actions", "text": text, "api_app_id": "A0APP",
                 "response_url": response_url, "trigger_id": trigger_id or f"tr{next(_n)}"}, **kw)


def interaction(payload: dict[str, Any], **kw: Any) -> tuple[str, dict[str, str]]:
    return form({"payload": json.dumps(payload)}, **kw)


def block_action(*, user: str, button: dict[str, Any], channel: str, message_ts: str, response_url: str = "",
                 ephemeral: bool = False, trigger_id: str | None = None) -> tuple[str, dict[str, str]]:
    return interaction({
        "type": "block_actions", "team": {"id": TEAM, "domain": "fake"}, "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0APP", "trigger_id": trigger_id or f"tr{next(_n)}", "response_url": response_url,
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": ephemeral},
        "channel": {"id": channel}, "message": {"ts": message_ts},
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "buttons:0", "value": button["value"],
                     "action_ts": f"{time.time():.6f}"}],
    })


def view_submission(*, user: str, view: dict[str, Any], values: dict[str, dict[str, Any]], trigger_id: str | None = None) -> tuple[str, dict[str, str]]:
    """``values``: block id -> the element's state (e.g. {"type": "plain_text_input", "value": "x"})."""
    v = {**view, "state": {"values": {b: {b: st} for b, st in values.items()}}}
    v.setdefault("id", f"V{next(_n)}")
    v.setdefault("hash", "h1")
    return interaction({"type": "view_submission", "team": {"id": TEAM}, "user": {"id": user, "team_id": TEAM},
                        "api_app_id": "A0APP", "trigger_id": trigger_id or f"tr{next(_n)}", "view": v})


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b.get("type") == "actions" for e in b["elements"]]


def button(message: dict[str, Any], verb: str, nth: int = 0) -> dict[str, Any]:
    found = [b for b in buttons_of(message) if json.loads(b["value"])["verb"] == verb]
    assert found, f"no {verb} button in {[b['text']['text'] for b in buttons_of(message)]}"
    return found[nth]


def text_of(blocks: list[dict[str, Any]]) -> str:
    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if x.get("type") in ("mrkdwn", "plain_text") and isinstance(x.get("text"), str):
                out.append(x["text"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(blocks)
    return "\n".join(out)
