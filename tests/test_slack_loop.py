"""The whole loop in a (fake) Slack workspace, through the real HTTP endpoint with signed
requests and the real conversation, register and engine: an administrator imports a plan by
dropping the file in the bot's DM, maps a lead officer, the worker sends the nudge, the lead
presses Update, fills the modal and submits, the register shows the update (channel slack),
the nudge is updated in place, and the weekly digest posts with its chart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.config import Settings
from bot.conversation.core import Conversation
from bot.domain.model import Role
from bot.services import engine as eng
from bot.services import register
from cards.ids import Verb
from handlers.console import ConsolePort
from handlers.slack import SlackAdapter, SlackDirectory, SlackPort, build_client
from storage.db import session_scope
from storage.tables import Action, Person, Plan, Update
from tests.fakes import slack_requests as rq
from tests.fakes.slack_api import TOKEN, FakeSlack
from tests.test_engine import Reg

SAMPLE = Path(__file__).resolve().parents[1] / "bot" / "samples" / "sample_plan.md"
MON = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, in working hours in London
DEC1 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday: the plan's monthly update is due


class Loop:
    def __init__(self, engine, fake: FakeSlack, adapter: SlackAdapter, client: TestClient, clock: list[datetime]) -> None:
        self.engine, self.fake, self.adapter, self.client, self.clock = engine, fake, adapter, client, clock

    async def send(self, req: tuple[str, dict[str, str]]) -> tuple[int, str]:
        body, headers = req
        resp = await self.client.post("/slack/events", data=body.encode(), headers=headers)
        text = await resp.text()
        await self.adapter.drain()
        return resp.status, text

    def last(self, channel: str) -> dict:
        return self.fake.posts(channel)[-1]


@pytest.fixture
async def loop(engine, session):
    reg = Reg(session, org="default")
    admin = reg.person("Ada Admin", email="ada@council.example")
    reg.grant(admin, Role.ADMIN)
    reg.commit()
    fake = FakeSlack()
    await fake.start()
    fake.add_user("UADMIN", email="ada@council.example", name="Ada Admin")
    fake.add_user("UPRIYA", email="priya.shah@council.example", name="Priya Shah", tz="Europe/London")
    clock = [MON]
    conversation = Conversation(engine, org="default", cfg=eng.EngineConfig(), clock=lambda: clock[0],
                                directories={"slack": SlackDirectory(TOKEN, base_url=fake.api_url)})
    adapter = SlackAdapter(conversation, token=TOKEN, signing_secret=rq.SECRET, api_url=fake.api_url, clock=lambda: clock[0])
    app = web.Application()
    adapter.mount(app)
    async with TestClient(TestServer(app)) as client:
        yield Loop(engine, fake, adapter, client, clock)
    await fake.stop()


async def test_the_whole_loop(loop, tmp_path):
    fake = loop.fake
    # 1. The administrator drops the plan file in the bot's DM; the preview comes back.
    f = fake.add_file("ILACS plan.md", SAMPLE.read_bytes(), user="UADMIN")
    await loop.send(rq.event({"type": "message", "subtype": "file_share", "channel": "DUADMIN", "channel_type": "im",
                              "user": "UADMIN", "text": "", "ts": "100.1", "files": [fake.file_json(f)]}))
    preview = loop.last("DUADMIN")
    assert fake.called("download")
    await loop.send(rq.block_action(user="UADMIN", button=rq.button(preview, Verb.CONFIRM_IMPORT), channel="DUADMIN",
                                    message_ts=preview["ts"]))
    with session_scope(loop.engine) as s:
        plan = s.exec(select(Plan)).one()
        action = s.exec(select(Action).where(Action.plan_id == plan.id, Action.ref == "1.1")).one()
        plan_id, action_id = plan.id, action.id
        admin = s.exec(select(Person).where(Person.display_name == "Ada Admin")).one()
        assert admin.slack_user_id == "UADMIN"  # linked on first contact by e-mail
    # the preview message now says what was imported (updated in place); what to do next follows
    assert fake.posts("DUADMIN")[0]["updates"] == 1 and len(fake.posts("DUADMIN")) == 2
    assert "map" in rq.text_of(fake.posts("DUADMIN")[1]["blocks"])
    assert "imported ILACS plan.md" in rq.text_of(fake.posts("DUADMIN")[0]["blocks"])

    # 2. The administrator maps the lead officer by @mention (Slack escapes it to the user id).
    await loop.send(rq.command('map "Priya Shah" <@UPRIYA|priya>', user="UADMIN", channel="DUADMIN"))
    with session_scope(loop.engine) as s:
        assert s.exec(select(Person).where(Person.display_name == "Priya Shah")).one().slack_user_id == "UPRIYA"

    # 3. The worker sends the nudge to Priya's DM.
    port = SlackPort(build_client(TOKEN, fake.api_url))
    ports = {"slack": port, "console": ConsolePort(path=tmp_path / "console.jsonl")}
    cfg = eng.EngineConfig(chart_dir=tmp_path / "charts")
    # Nothing is due the day of the import (the file's progress is a fresh update); the monthly
    # cadence comes round on 1 December.
    assert (await eng.tick(loop.engine, ports, now=MON, worker="w1", cfg=cfg))["sent"] == 0
    loop.clock[0] = DEC1
    for _ in range(2):
        await eng.tick(loop.engine, ports, now=DEC1, worker="w1", cfg=cfg)
    nudge = loop.last("DUPRIYA")
    assert "1.1" in rq.text_of(nudge["blocks"])

    # 4. Update -> a modal opens at once and is filled with the form -> submit.
    update = next(b for b in rq.buttons_of(nudge) if json.loads(b["value"])["value"].get("action_id") == action_id
                  and json.loads(b["value"])["verb"] == Verb.OPEN_UPDATE)
    await loop.send(rq.block_action(user="UPRIYA", button=update, channel="DUPRIYA", message_ts=nudge["ts"]))
    assert fake.called("views.open")[-1].args["view"]["callback_id"] == "loading"
    modal = fake.called("views.update")[-1].args["view"]
    assert modal["callback_id"] == Verb.SUBMIT_UPDATE
    inputs = {b["block_id"] for b in modal["blocks"] if b["type"] == "input"}
    assert {"status", "rag", "progress", "revised_target", "reason", "evidence"} <= inputs

    # A revised target without a reason is refused inside the modal; nothing is recorded.
    values = {
        "status": {"type": "static_select", "selected_option": {"value": "in_progress"}},
        "rag": {"type": "static_select", "selected_option": {"value": "G"}},
        "progress": {"type": "plain_text_input", "value": "Dip sampling runs weekly <!channel>"},
        "revised_target": {"type": "datepicker", "selected_date": "2027-01-31"},
        "reason": {"type": "plain_text_input", "value": None},
        "evidence": {"type": "url_text_input", "value": "https://intranet.example/ev/1"},
    }
    status, text = await loop.send(rq.view_submission(user="UPRIYA", view=modal, values=values))
    assert status == 200 and json.loads(text)["response_action"] == "errors" and "reason" in json.loads(text)["errors"]
    with session_scope(loop.engine) as s:
        assert s.exec(select(Update).where(Update.action_id == action_id, Update.channel == "slack")).all() == []

    values["reason"] = {"type": "plain_text_input", "value": "staff training moved"}
    status, text = await loop.send(rq.view_submission(user="UPRIYA", view=modal, values=values))
    assert status == 200 and text == ""

    # 5. The register shows the update, from Slack; the nudge was updated in place.
    with session_scope(loop.engine) as s:
        (upd,) = s.exec(select(Update).where(Update.action_id == action_id, Update.channel == "slack")).all()
        assert "Dip sampling runs weekly" in upd.text and upd.author_id is not None
        assert s.get(Action, action_id).revised_target.isoformat() == "2027-01-31"
    same = next(m for m in fake.posts("DUPRIYA") if m["ts"] == nudge["ts"])
    assert same["updates"] == 1
    face = rq.text_of(same["blocks"])
    assert "Recorded on 1.1" in face and "Priya Shah" in face and "31 Jan 2027 (staff training moved)" in face
    assert "Dip sampling runs weekly &lt;!channel&gt;" in face  # shown as typed, pings nobody
    assert "<!channel>" not in json.dumps(fake.messages)

    # 6. The weekly digest posts in the leadership channel with its chart.
    with session_scope(loop.engine) as s:
        plan = s.get(Plan, plan_id)
        op = __import__("storage.repo", fromlist=["actor_for"]).actor_for(s, None, operator=True)
        register.configure_plan(s, org=__import__("storage.repo", fromlist=["get_org"]).get_org(s, "default"), plan=plan, actor=op,
                                changes={"digest_channels": ["slack:CLEAD"]}, now=DEC1)
    await eng.tick(loop.engine, ports, now=DEC1, worker="w1", cfg=cfg)  # plans next Monday's digest
    next_mon = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    for _ in range(2):
        await eng.tick(loop.engine, ports, now=next_mon + timedelta(minutes=1), worker="w1", cfg=cfg)
    digest = [m for m in fake.posts("CLEAD") if not m.get("thread_ts") and m.get("blocks")]
    assert len(digest) == 1
    text = rq.text_of(digest[0]["blocks"])
    assert "weekly digest" in text and "Re-baselined:" in text and "*1.1*" in text
    charts = [fl for fl in fake.files.values() if fl.name.endswith(".png") and "CLEAD" in fl.channels]
    assert charts and charts[0].data.startswith(b"\x89PNG")
    await port.close()  # its kept-alive HTTP session must not outlive the test


async def test_the_server_mounts_slack_only_when_configured(engine):
    from bot.app import SLACK, build_app

    off = build_app(Settings(), engine)
    assert SLACK not in off and not any(r.resource.canonical == "/slack/events" for r in off.router.routes() if r.resource)
    fake = FakeSlack()
    await fake.start()
    try:
        s = Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=rq.SECRET, SLACK_API_URL=fake.api_url)
        app = build_app(s, engine)
        async with TestClient(TestServer(app)) as client:
            body, headers = rq.command("help", user="USTRANGER", response_url=fake.response_url())
            resp = await client.post("/slack/events", data=body.encode(), headers=headers)
            assert resp.status == 200
            await app[SLACK].drain()
            bad = await client.post("/slack/events", data=body.encode(), headers=dict(headers, **{"X-Slack-Signature": "v0=00"}))
            assert bad.status == 401
        # a stranger (no person, no matching e-mail) is told politely who to ask
        assert fake.responses and "not set up" in rq.text_of(fake.responses[0]["blocks"]).lower()
    finally:
        await fake.stop()
