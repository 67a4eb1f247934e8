"""The fake Slack Web API (tests/fakes/slack_api.py) as a process of its own, for benchmarks:

    python bench/slack_fake_server.py PORT USER_ID[,USER_ID...] [--channel-rate R] [--workspace-rate W]

Prints "ready URL" once it listens; GET /stats answers the count of posted messages."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from tests.fakes.slack_api import FakeSlack  # noqa: E402


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("users")
    p.add_argument("--channel-rate", type=float, default=None)
    p.add_argument("--workspace-rate", type=float, default=None)
    a = p.parse_args()
    fake = FakeSlack(per_channel_rate=a.channel_rate, workspace_rate=a.workspace_rate)
    for i, uid in enumerate(a.users.split(",")):
        fake.add_user(uid, email=f"user{i}@bench.example", name=f"User {i}")
    await fake.start(port=a.port)
    print("ready", fake.api_url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    _ = web  # the fake is an aiohttp app
