"""Platform text decoded to plain text before anything reads it.

Slack sends links as ``<https://x|label>`` or ``<https://x>``, mentions as ``<@U…>``, channels
as ``<#C…|name>`` and escapes ``& < >``; Teams sends HTML (``<p>``, ``<at>Name</at>``,
``<a href="…">label</a>``). Both come out as the words a person typed, with every link as a URL
(so evidence links survive) and mentions listed apart with their platform user ids.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Decoded:
    text: str
    mentions: tuple[tuple[str, str], ...] = ()  # (shown as, platform user id)
    channels: tuple[tuple[str, str], ...] = ()  # (shown as, platform channel id)


_SLACK_TOKEN = re.compile(r"<([^<>]{1,2000})>")


def _link(url: str, label: str) -> str:
    bare = re.sub(r"^(https?://|mailto:)", "", url).rstrip("/")
    if not label or label.rstrip("/") in (url, bare):
        return url
    return f"{label} ({url})"


def decode_slack(text: str) -> Decoded:
    mentions: list[tuple[str, str]] = []
    channels: list[tuple[str, str]] = []

    def token(m: re.Match[str]) -> str:
        body = m.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@"):  # a user: <@U123> or <@U123|name>
            uid = target[1:]
            shown = f"@{label or uid}"
            mentions.append((shown, uid))
            return shown
        if target.startswith("#"):  # a channel
            shown = f"#{label or target[1:]}"
            channels.append((shown, target[1:]))
            return shown
        if target.startswith("!"):  # <!channel>, <!here>, <!subteam^S…|@team>, <!date^…|text>
            special = target[1:].split("^", 1)[0]
            return label or f"@{special}"
        if target.startswith("mailto:"):
            return label or target[len("mailto:"):]
        return _link(target, label)

    out = _SLACK_TOKEN.sub(token, text)
    return Decoded(html.unescape(out), tuple(mentions), tuple(channels))


class _TeamsHTML(HTMLParser):
    BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: str | None = None
        self.label: list[str] = []
        self.in_at = False
        self.at: list[str] = []
        self.ats: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.href = dict(attrs).get("href") or ""
            self.label = []
        elif tag == "at":
            self.in_at, self.at = True, []
        elif tag in self.BLOCK and self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")
        elif tag == "li":
            self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.href is not None:
            self.out.append(_link(self.href, "".join(self.label).strip()) if self.href else "".join(self.label))
            self.href = None
        elif tag == "at":
            name = "".join(self.at).strip()
            self.ats.append(name)
            self.out.append(f"@{name}")
            self.in_at = False
        elif tag in self.BLOCK and self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.href is not None:
            self.label.append(data)
        elif self.in_at:
            self.at.append(data)
        else:
            self.out.append(data)


def decode_teams(text: str, mentions: tuple[tuple[str, str], ...] = ()) -> Decoded:
    if "<" not in text and "&" not in text:
        return Decoded(text, tuple(mentions))
    p = _TeamsHTML()
    p.feed(text)
    p.close()
    out = "".join(p.out)
    out = re.sub(r"[ \t]*\n[ \t\n]*", "\n", out).strip()
    return Decoded(out.replace("\xa0", " "), tuple(mentions))


def decode(platform: str, text: str, mentions: tuple[tuple[str, str], ...] = ()) -> Decoded:
    # NUL and lone surrogates never reach the reader or the database.
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if platform == "slack":
        d = decode_slack(text)
        return Decoded(d.text.strip(), d.mentions + tuple(mentions), d.channels)
    if platform == "teams":
        return decode_teams(text, mentions)
    return Decoded(text.strip(), tuple(mentions))
