"""GET /healthz latency: `actionbot serve --no-scheduler` against a bare aiohttp app giving the
same JSON from a trivial query on the same SQLite file (bench/bare_app.py), each its own
process, one client sending requests one after another over a kept-alive connection,
alternating the two in rounds (50,000 requests each; 3,000 with --quick).

    .venv/bin/python bench/bench_healthz.py [--quick] [--requests N]

Prints each side's median, p99 and worst latency and how many requests took over 50 ms (a
stall). The last line is the p99 ratio serve/bare (target: 1.5, and no stall over 50 ms).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import parser

BENCH = Path(__file__).resolve().parent
ACTIONBOT = str(Path(sys.executable).with_name("actionbot"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_up(url: str, proc: subprocess.Popen) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                async with http.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


async def hammer(urls: dict[str, str], total: int, rounds: int = 10) -> dict[str, list[float]]:
    import aiohttp

    lat: dict[str, list[float]] = {k: [] for k in urls}
    per = max(total // rounds, 1)
    conns = {k: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for k in urls}
    try:
        for k, url in urls.items():  # warm-up
            for _ in range(200):
                async with conns[k].get(url) as r:
                    await r.read()
        for _ in range(rounds):
            for k, url in urls.items():
                http, out, clock = conns[k], lat[k], time.perf_counter
                for _ in range(per):
                    t = clock()
                    async with http.get(url) as r:
                        await r.read()
                        if r.status != 200:
                            raise RuntimeError(f"{url}: {r.status}")
                    out.append(clock() - t)
    finally:
        for c in conns.values():
            await c.close()
    return lat


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=None, help="requests to each server (default 50,000; 3,000 with --quick)")
    args = p.parse_args()
    total = args.requests or (3_000 if args.quick else 50_000)
    from storage.db import make_engine, upgrade

    with tempfile.TemporaryDirectory(prefix="actionbot-bench-") as tmp:
        db = Path(tmp) / "health.db"
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        engine.dispose()
        env = os.environ | {"LOG_LEVEL": "WARNING"}
        env.pop("DATABASE_URL", None)
        ports = {"bare": free_port(), "serve": free_port()}
        procs = {
            "bare": subprocess.Popen([sys.executable, str(BENCH / "bare_app.py"), str(ports["bare"]), str(db)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env),
            "serve": subprocess.Popen([ACTIONBOT, "--db", f"sqlite:///{db}", "serve", "--no-scheduler", "--port", str(ports["serve"])],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env),
        }
        urls = {k: f"http://127.0.0.1:{port}/healthz" for k, port in ports.items()}
        try:
            for k in urls:
                asyncio.run(wait_up(urls[k], procs[k]))
            lat = asyncio.run(hammer(urls, total))
        finally:
            for proc in procs.values():
                proc.terminate()
                proc.wait(10)
        labels = {"bare": "floor: bare aiohttp app, SELECT 1", "serve": "actionbot serve, GET /healthz"}
        for k, xs in lat.items():
            print(f"{labels[k]:<36} {len(xs):,} requests: median {pct(xs, 0.5) * 1000:6.2f} ms, p99 {pct(xs, 0.99) * 1000:6.2f} ms, "
                  f"worst {max(xs) * 1000:7.1f} ms, over 50 ms: {sum(x > 0.05 for x in xs)}")
        print(f"ratio {pct(lat['serve'], 0.99) / pct(lat['bare'], 0.99):.2f}")


if __name__ == "__main__":
    main()
