"""End to end in the Microsoft 365 Agents Playground (run by hand, not by the test suite).

A lead officer types "mine" in the Playground's Teams chat, gets the card, presses Update,
fills and submits the form, sees the card replaced with what was recorded, and the register
shows the update with channel teams.

Needs (once): Debian's chromium, the playwright Python package, and the Playground from npm:

    apt-get install -y chromium
    .venv/bin/pip install playwright
    (cd /tmp/playground && npm install @microsoft/m365agentsplayground)

Run from the repository root:

    .venv/bin/python tests/e2e/playground_e2e.py [--playground /tmp/playground/node_modules/.bin/agentsplayground]

It starts `actionbot serve` on port 3978 with a fresh SQLite file (no MicrosoftAppId: local mode,
as the Playground sends unauthenticated requests), the Playground on 56150 pointed at it (a no-op
xdg-open first on PATH, so it does not look for a desktop browser), and headless Chromium on the
Playground's page. Screenshots go to --shots (default /tmp/actionbot-e2e). Exit status 0 when
every step was seen.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACTIONBOT = str(Path(sys.executable).with_name("actionbot"))


def run(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run([ACTIONBOT, *args], env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"actionbot {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def wait_http(url: str, seconds: float = 60) -> None:
    import urllib.request

    end = time.time() + seconds
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:  # not up yet
            time.sleep(0.5)
    raise SystemExit(f"{url} did not come up")


def teams_user(db: Path, seconds: float = 60) -> str:
    """The Playground user's Teams id, from the reference the bot saved on install."""
    import sqlite3

    end = time.time() + seconds
    while time.time() < end:
        with sqlite3.connect(db) as c:
            row = c.execute("SELECT user_id FROM teams_conversation WHERE kind = 'personal' AND user_id IS NOT NULL").fetchone()
        if row:
            return str(row[0])
        time.sleep(0.5)
    raise SystemExit("the Playground never installed the app (no conversation reference saved)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--playground", default="/tmp/playground/node_modules/.bin/agentsplayground")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--shots", default="/tmp/actionbot-e2e")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="actionbot-e2e-"))
    db = work / "actionbot.db"
    bin_dir = work / "bin"
    bin_dir.mkdir()
    (bin_dir / "xdg-open").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "xdg-open").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("Microsoft")}
    env |= {"DATABASE_URL": f"sqlite:///{db}", "ACTIONBOT_CHART_DIR": str(work / "charts"), "PATH": f"{bin_dir}:{env.get('PATH', '')}"}

    run("import", str(ROOT / "bot" / "samples" / "sample_plan.md"), "--plan-name", "anytown", env=env)
    server = subprocess.Popen([ACTIONBOT, "serve", "--no-scheduler", "--port", "3978"], env=env, cwd=work,
                              stdout=open(work / "serve.log", "w"), stderr=subprocess.STDOUT)
    playground = subprocess.Popen([args.playground, "-e", "http://localhost:3978/api/messages", "-c", "msteams", "--dt"], env=env, cwd=work,
                                  stdout=open(work / "playground.log", "w"), stderr=subprocess.STDOUT)
    seen: list[str] = []
    try:
        wait_http("http://127.0.0.1:3978/healthz")
        wait_http("http://127.0.0.1:56150/")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto("http://127.0.0.1:56150/")
            user = teams_user(db)
            seen.append(f"installed: the bot saved a reference for Playground user {user}")
            run("person", "set", "Priya Shah", "--teams", user, env=env)
            page.screenshot(path=str(shots / "1-open.png"))

            box = page.locator("[data-lexical-editor=true]")
            box.click()
            page.keyboard.type("mine")
            page.keyboard.press("Enter")
            page.get_by_text("Update 1.1").first.wait_for(timeout=30000)
            page.screenshot(path=str(shots / "2-mine.png"))
            seen.append("typed 'mine': the card with Update buttons came back")

            page.get_by_role("button", name="Update 1.1").first.click()
            progress = page.locator("textarea").last
            progress.wait_for(timeout=30000)
            page.screenshot(path=str(shots / "3-form.png"))
            seen.append("pressed Update 1.1: the form replaced the card")
            progress.fill("Dip sampling running weekly since 2 November (typed in the Playground)")
            page.get_by_role("button", name="Save").last.click()
            page.get_by_text("Recorded").first.wait_for(timeout=30000)
            page.screenshot(path=str(shots / "4-recorded.png"))
            seen.append("submitted: the card was replaced by what was recorded")
            browser.close()

        shown = json.loads(run("action", "show", "anytown", "1.1", "--json", env=env))
        history = shown.get("updates") or shown.get("history") or []
        mine = [u for u in history if u.get("channel") == "teams" and "Playground" in (u.get("text") or "")]
        if not mine:
            raise SystemExit(f"the register has no teams update for 1.1: {json.dumps(shown)[:800]}")
        seen.append(f"register: 1.1 has the update from teams by {mine[-1].get('author') or mine[-1].get('author_name')}")
    finally:
        for proc in (playground, server):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        print("\n".join(seen))
        print(f"logs and database in {work}; screenshots in {shots}")
    shutil.rmtree(work / "bin", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
