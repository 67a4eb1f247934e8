"""The Slack port delivering the outbox against the fake Web API: pacing, 429s, permanent
errors, threads for long lists, the digest chart."""

from __future__ import annotations

import itertools

import pytest

from bot.config import Settings
from bot.ports import DeliveryError
from bot.wiring import build_ports
from cards.view import Card, Line, Section
from handlers.slack import Pacer, SlackPort, build_client
from tests.fakes.slack_api import TOKEN, FakeSlack
from tests.fakes.slack_requests import text_of


@pytest.fixture
async def fake():
    f = FakeSlack()
    await f.start()
    f.add_user("U1", name="Priya")
    f.ports = []  # the ports made on it: closed before it stops, so no HTTP session outlives the test
    yield f
    for made in f.ports:
        await made.close()
    await f.stop()


def port(fake: FakeSlack, **kw) -> SlackPort:
    made = SlackPort(build_client(TOKEN, fake.api_url), **kw)
    fake.ports.append(made)  # type: ignore[attr-defined]
    return made


def card(n: int = 1, screen: str = "nudge", chart: str | None = None) -> Card:
    return Card(screen=screen, title=Line.of("Hello"), sections=(Section("a", "Overdue", tuple(Line.of(f"line {i}") for i in range(n))),),
                chart_path=chart)


async def test_a_person_gets_a_dm_and_the_ref_updates_it_in_place(fake):
    p = port(fake)
    sent = await p.send("U1", card())
    ch, _, ts = sent.ref.partition(":")
    assert ch == "DU1" and fake.posts("DU1")[0]["ts"] == ts
    await p.update("U1", sent.ref, Card(screen="nudge", title=Line.of("Recorded")))
    assert fake.posts("DU1")[0]["updates"] == 1 and "Recorded" in text_of(fake.posts("DU1")[0]["blocks"])
    await p.send("U1", card())
    assert len(fake.called("conversations.open")) == 1  # the DM channel is remembered


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "account_inactive"])
async def test_unreachable_targets_are_permanent_failures(fake, error):
    fake.channel_errors["C0LEAD"] = error
    with pytest.raises(DeliveryError) as e:
        await port(fake).send("C0LEAD", card())
    assert e.value.permanent and error in str(e.value)


async def test_an_unknown_user_is_permanent_and_a_server_error_is_not(fake):
    with pytest.raises(DeliveryError) as e:
        await port(fake).send("U404", card())
    assert e.value.permanent and "user_not_found" in str(e.value)
    fake.method_errors["chat.postMessage"] = "internal_error"
    with pytest.raises(DeliveryError) as e2:
        await port(fake).send("C1", card())
    assert not e2.value.permanent


async def test_a_short_429_is_waited_out_and_sent_once(fake):
    fake.force_429["chat.postMessage"] = 1
    fake.retry_after = 1
    sent = await port(fake).send("C1", card())
    assert sent.ref and len(fake.posts("C1")) == 1 and fake.rejected_429 == 1


async def test_a_long_429_goes_back_to_the_outbox_with_its_retry_after(fake):
    fake.force_429["chat.postMessage"] = 1
    fake.retry_after = 30
    with pytest.raises(DeliveryError) as e:
        await port(fake, max_inline_wait=5).send("C1", card())
    assert e.value.retry_after == 30 and not e.value.permanent and fake.posts("C1") == []


async def test_long_digest_lists_go_to_the_thread_and_the_chart_is_uploaded(fake, tmp_path):
    png = tmp_path / "chart.png"
    png.write_bytes(b"\x89PNG fake")
    sent = await port(fake).send("C0LEAD", card(40, screen="digest", chart=str(png)))
    posts = fake.posts("C0LEAD")
    main, thread = posts[0], [m for m in posts if m.get("thread_ts")]
    assert "… and 32 more in the thread" in text_of(main["blocks"])
    assert thread and all(m["thread_ts"] == main["ts"] for m in thread)
    assert "line 39" in text_of(thread[-1]["blocks"])
    (chart,) = [f for f in fake.files.values() if f.name == "chart.png"]
    assert chart.data == b"\x89PNG fake" and chart.channels == ["C0LEAD"]
    assert sent.ref == f"C0LEAD:{main['ts']}"


async def test_a_missing_chart_does_not_stop_the_digest(fake, tmp_path):
    await port(fake).send("C0LEAD", card(2, screen="digest", chart=str(tmp_path / "gone.png")))
    assert len(fake.posts("C0LEAD")) == 1


class FakeTime:
    """A clock and a sleep that only move when slept on (plus any lateness we inject)."""

    def __init__(self) -> None:
        self.now, self.late = 100.0, 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds) + self.late


async def test_pacer_spaces_a_channel_and_the_workspace():
    t = FakeTime()
    p = Pacer(per_channel=1.0, workspace=4.0, clock=t.clock, sleep=t.sleep)
    went = []
    for ch in ("C1", "C1", "C2", "C1", "C2"):
        await p.wait(ch)
        went.append((ch, round(t.now - 100.0, 4)))
    # a channel a little over a second apart; C2 does not wait behind C1's turn, only half a
    # workspace beat (1.01/4 s) after the send before it (an idle gate makes up one beat at most)
    assert went == [("C1", 0.0), ("C1", 1.05), ("C2", 1.1762), ("C1", 2.1), ("C2", 2.2262)]
    p.hold(None, 10)
    await p.wait("C3")
    assert t.now == pytest.approx(112.2262)


async def test_pacer_sends_woken_late_never_bunch_and_never_pass_the_window():
    """Every sleep ends 30 ms late (a busy event loop): the beat is made up only so far, no two
    sends are less than half a beat apart, and no second holds more than the rate."""
    t = FakeTime()
    t.late = 0.03
    p = Pacer(per_channel=1.0, workspace=20.0, clock=t.clock, sleep=t.sleep)
    times = []
    for i in range(200):
        await p.wait(f"D{i}")
        times.append(t.now)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.01 / 20 / 2 - 1e-9
    assert max(sum(1 for x in times if s <= x < s + 1.0) for s in times) <= 20
    assert 200 / (times[-1] - times[0]) > 14  # late wake-ups cost pace, they do not make bursts


async def test_paced_sends_are_never_refused_by_a_rate_limited_slack(fake):
    fake.per_channel_rate, fake.workspace_rate = 1.0, 5
    p = port(fake, per_channel=1.0, workspace=5)
    import asyncio

    await asyncio.gather(*(p.send(f"C{i % 3}", card()) for i in range(8)))
    assert fake.rejected_429 == 0 and sum(len(fake.posts(f"C{i}")) for i in range(3)) == 8


def test_ports_include_slack_only_when_configured():
    assert "slack" not in build_ports(Settings())
    s = Settings(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", SLACK_API_URL="http://127.0.0.1:1/api/")
    assert isinstance(build_ports(s)["slack"], SlackPort)


def test_the_manifest_points_at_the_adapters_endpoint_and_events():
    from pathlib import Path

    from handlers.slack import COMMAND, PATH

    text = (Path(__file__).resolve().parents[1] / "slack" / "manifest.yml").read_text(encoding="utf-8")
    urls = [ln.split("url:")[1].strip() for ln in text.splitlines() if ln.strip().startswith(("url:", "request_url:"))]
    assert len(urls) == 3 and all(u.endswith(PATH) for u in urls)
    assert f"- command: {COMMAND}" in text
    events = text.split("bot_events:")[1].split("interactivity:")[0]
    assert {ln.strip("- ").strip() for ln in events.splitlines() if ln.strip()} == {"app_home_opened", "message.im", "file_shared"}
    scopes = text.split("bot:")[1].split("settings:")[0]
    names = {ln.strip().removeprefix("- ").split()[0] for ln in scopes.splitlines() if ln.strip().startswith("- ")}
    # least privilege: nothing that posts as people; channels' history only to find the app's own earlier post on a retry
    assert names == {"commands", "chat:write", "im:write", "im:history", "channels:history", "groups:history", "users:read",
                     "users:read.email", "files:read", "files:write"}
