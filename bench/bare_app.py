"""The floor of GET /healthz: a bare aiohttp app answering the same JSON from a trivial query
(SELECT 1 on the same SQLite file, in a worker thread as the product does, on a connection
each worker thread keeps, as the product's pool keeps its connections).

    python bench/bare_app.py PORT DB.sqlite
"""

import asyncio
import sqlite3
import sys
import threading

from aiohttp import web

port, db = int(sys.argv[1]), sys.argv[2]


kept = threading.local()


async def healthz(request: web.Request) -> web.Response:
    def probe() -> dict:
        con = getattr(kept, "con", None)
        if con is None:
            con = kept.con = sqlite3.connect(db)
        con.execute("SELECT 1").fetchone()
        return {"status": "ok", "database": "sqlite", "revision": "head"}

    return web.json_response(await asyncio.to_thread(probe))


app = web.Application()
app.router.add_get("/healthz", healthz)
web.run_app(app, host="127.0.0.1", port=port, print=None)
