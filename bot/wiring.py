"""The chat ports, built in one place for `serve`, `worker` and `chat`.

Each platform whose credentials are configured gets its port; the console port is always there
(it writes to a stream or to a JSON-lines file). Slack and Teams adapters register their port
builders here, so the three commands never disagree about where a message can go.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

from bot.config import Settings
from bot.ports import ChatPort


def build_ports(settings: Settings, *, console_path: Path | None = None, console_stream: TextIO | None = None,
                engine: Engine | None = None) -> dict[str, ChatPort]:
    from handlers.console import ConsolePort

    ports: dict[str, ChatPort] = {
        "console": ConsolePort(path=console_path, stream=None if console_path else (console_stream or sys.stdout)),
    }
    if settings.slack_configured:
        from handlers.slack import build_port

        ports["slack"] = build_port(settings)
    if settings.teams and engine is not None:  # Teams sends through conversation references kept in the database
        from handlers.teams import Pacer, TeamsPort, check_auth

        ports["teams"] = TeamsPort(engine, check_auth(settings), pacer=Pacer(per_app=((max(1, int(settings.teams_app_rate)), 1.0),)))
    return ports


async def close_ports(ports: dict[str, ChatPort]) -> None:
    """Let go of what the ports hold open (HTTP sessions), at the end of a worker or server."""
    for port in ports.values():
        close = getattr(port, "close", None)
        if close is not None:
            await close()
