"""Slack acknowledgement latency of `/actions mine`: `actionbot serve` (the whole app: bolt,
the adapter, the conversation reading the register after the ack) against a minimal bolt app
that only acks (bench/bare_slack_app.py), each its own process on the same kind of aiohttp
server, both talking to one fake Slack Web API process. One client sends correctly signed
slash commands one after another (a short pause between, as people type), alternating the two
servers in rounds (1,000 requests each; 200 with --quick).

    .venv/bin/python bench/bench_slack_ack.py [--quick] [--requests N] [--gap-ms 100,20]

Runs once per spacing (default 100 ms and 20 ms: ten and fifty commands a second). Prints, per
spacing, each side's median, p99 and worst time to the HTTP answer (Slack's 3-second clock) and
the ratios, and checks the full app really answered each command (messages reached the fake).
The last line is the worst p99 ratio full/bare over the spacings (target: under 1.5).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench_healthz import free_port, pct, wait_up
from common import ROOT, parser

BENCH = Path(__file__).resolve().parent
ACTIONBOT = str(Path(sys.executable).with_name("actionbot"))
SECRET, TOKEN, USER = "bench-signing-secret", "xoxb-test-token", "U00001"


def signed(n: int) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"token": "x", "team_id": "T0TEAM", "team_domain": "bench", "channel_id": f"D{USER}", "channel_name": "directmessage",
                      "user_id": USER, "user_name": "priya", "command": "/actions", "text": "mine", "api_app_id": "A0APP",
                      "response_url": "", "trigger_id": f"bench-{os.getpid()}-{n}"})
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return body.encode(), {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


async def hammer(urls: dict[str, str], total: int, gap: float, rounds: int = 10) -> dict[str, list[float]]:
    import aiohttp

    lat: dict[str, list[float]] = {k: [] for k in urls}
    per = max(total // rounds, 1)
    conns = {k: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for k in urls}
    n = 0
    try:
        for k, url in urls.items():  # warm-up (auth.test, users.info, first queries)
            for _ in range(20):
                n += 1
                body, headers = signed(n)
                async with conns[k].post(url, data=body, headers=headers) as r:
                    await r.read()
                await asyncio.sleep(gap)
        for _ in range(rounds):
            for k, url in urls.items():
                http, out, clock = conns[k], lat[k], time.perf_counter
                for _ in range(per):
                    n += 1
                    body, headers = signed(n)
                    t = clock()
                    async with http.post(url, data=body, headers=headers) as r:
                        await r.read()
                        if r.status != 200:
                            raise RuntimeError(f"{url}: {r.status}")
                    out.append(clock() - t)
                    await asyncio.sleep(gap)
    finally:
        for c in conns.values():
            await c.close()
    return lat


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=None, help="requests to each server (default 1,000; 200 with --quick)")
    p.add_argument("--gap-ms", default="100,20",
                   help="pauses between requests to run, comma-separated (default 100,20: ten and fifty commands a second)")
    args = p.parse_args()
    total = args.requests or (200 if args.quick else 1_000)
    with tempfile.TemporaryDirectory(prefix="actionbot-bench-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'slack.db'}"
        env = os.environ | {"LOG_LEVEL": "WARNING", "ACTIONBOT_CHART_DIR": str(Path(tmp) / "charts")}
        env.pop("DATABASE_URL", None)
        run([ACTIONBOT, "--db", db, "import", str(ROOT / "bot" / "samples" / "sample_plan.md"), "--plan-name", "ILACS"], env)
        run([ACTIONBOT, "--db", db, "person", "set", "Priya Shah", "--slack", USER], env)
        ports = {"fake": free_port(), "bare": free_port(), "serve": free_port()}
        fake = subprocess.Popen([sys.executable, str(BENCH / "slack_fake_server.py"), str(ports["fake"]), USER],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        line = fake.stdout.readline().decode().split() if fake.stdout else []
        if not line or line[0] != "ready":
            raise RuntimeError(f"fake Slack did not start: {fake.stderr.read().decode() if fake.stderr else ''}")
        api = line[1]
        slack_env = env | {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api}
        procs = {
            "bare": subprocess.Popen([sys.executable, str(BENCH / "bare_slack_app.py"), str(ports["bare"]), SECRET, TOKEN, api],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env),
            "serve": subprocess.Popen([ACTIONBOT, "--db", db, "serve", "--no-scheduler", "--port", str(ports["serve"])],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=slack_env),
        }
        urls = {k: f"http://127.0.0.1:{ports[k]}/slack/events" for k in procs}
        try:
            for k in urls:
                asyncio.run(wait_up(f"http://127.0.0.1:{ports[k]}/healthz", procs[k]))
            gaps = [float(g) for g in str(args.gap_ms).split(",") if g.strip()]
            lats = {}
            for gap in gaps:
                lats[gap] = asyncio.run(hammer(urls, total, gap / 1000))
                time.sleep(1.0)  # let the last answers reach the fake
            answered = asyncio.run(posted(api))
        finally:
            for proc in [*procs.values(), fake]:
                proc.terminate()
                proc.wait(10)
        labels = {"bare": "floor: bolt app that only acks", "serve": "actionbot serve, /actions mine"}
        worst = 0.0
        for gap, lat in lats.items():
            for k, xs in lat.items():
                print(f"{gap:g} ms apart: {labels[k]:<34} {len(xs):,} requests: median {pct(xs, 0.5) * 1000:6.2f} ms, "
                      f"p99 {pct(xs, 0.99) * 1000:6.2f} ms, worst {max(xs) * 1000:7.1f} ms, over 3 s: {sum(x > 3 for x in xs)}")
            p99 = pct(lat["serve"], 0.99) / pct(lat["bare"], 0.99)
            worst = max(worst, p99)
            print(f"{gap:g} ms apart: median ratio {pct(lat['serve'], 0.5) / pct(lat['bare'], 0.5):.2f}, p99 ratio {p99:.2f}")
        expected = (total + 20) * len(lats)
        print(f"answers the full app posted to the DM: {answered} (of {expected} commands)")
        print(f"ratio {worst:.2f}")
        if answered != expected:
            sys.exit(f"the full app answered {answered} of {expected} commands")


async def posted(api: str) -> int:
    """Messages the fake holds in the user's DM: the full app's answers (every page of the
    history: Slack, and the fake, give at most 999 messages a call)."""
    import aiohttp

    count, cursor = 0, ""
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.post(api + "conversations.history", data={"channel": f"D{USER}", "limit": 999, "cursor": cursor},
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                page = await r.json()
            count += len(page.get("messages", []))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not page.get("has_more") or not cursor:
                return count

if __name__ == "__main__":
    main()
