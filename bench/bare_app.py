"""The floor of GET /healthz: a bare aiohttp app answering the same JSON from a trivial query
(SELECT 1 on the same SQLite file, in a worker thread as the product does).

    python bench/bare_app.py PORT DB.sqlite
"""

import asyncio
import sqlite3
import sys

from aiohttp import web

port, db = int(sys.argv[1]), sys.argv[2]


async def healthz(request: web.Request) -> web.Response:
    def probe() -> dict:
        con = sqlite3.connect(db)
        con.execute("SELECT 1").fetchone()
        con.close()
        return {"status": "ok", "database": "sqlite", "revision": "head"}

    return web.json_response(await asyncio.to_thread(probe))


app = web.Application()
app.router.add_get("/healthz", healthz)
web.run_app(app, host="127.0.0.1", port=port, print=None)
