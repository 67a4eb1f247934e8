"""The floor for bench_slack_ack: a minimal bolt AsyncApp that only acknowledges `/actions`,
on an aiohttp server set up like actionbot's (same request conversion, same signing check,
the same Web API client pointed at the same fake).

    python bench/bare_slack_app.py PORT SIGNING_SECRET TOKEN API_URL
"""

from __future__ import annotations

import sys
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def main() -> None:
    port, secret, token, api_url = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    bolt = AsyncApp(client=AsyncWebClient(token=token, base_url=api_url), signing_secret=secret, process_before_response=False,
                    raise_error_for_unhandled_request=False)

    @bolt.command("/actions")
    async def only_ack(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
