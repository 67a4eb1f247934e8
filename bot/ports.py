"""Ports: what the core needs from a chat platform. Slack, Teams and the console each provide
one; the core never imports a chat SDK."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cards.view import Card


@dataclass(frozen=True)
class Sent:
    ref: str = ""  # the platform's id of the message (Slack ts, Teams activity id), to update it later


class DeliveryError(Exception):
    """A send that failed. ``retry_after`` (seconds) when the platform said when to try again
    (HTTP 429); ``permanent`` when trying again cannot help (user not reachable, 403/404)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class ChatPort(Protocol):
    platform: str  # "slack" | "teams" | "console"

    async def send(self, target: str, card: Card) -> Sent:
        """Send `card` to a person (their user id) or a channel (its id). Raise DeliveryError."""
        ...

    async def update(self, target: str, ref: str, card: Card) -> Sent:
        """Replace an earlier message (`ref` from its Sent) with `card`."""
        ...
