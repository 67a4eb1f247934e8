"""The Slack adapter through its real HTTP endpoint: correctly signed requests in, Web API calls
out to a local fake. The conversation here is a stand-in that records what it was given and
answers what the test tells it to (the real one has its own tests; the whole loop is in
test_slack_loop.py)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.conversation.events import FileIn, Incoming, OutFile, Press, Reply, Said, Submit
from cards.form import Form, Input
from cards.ids import Field, Verb
from cards.view import Button, Card, Line, Section, Text
from handlers.slack import SlackAdapter
from tests.fakes import slack_requests as rq
from tests.fakes.slack_api import TOKEN, FakeSlack


@dataclass
class StandIn:
    """Records events; answers with queued replies (else a notice); replays a seen event id."""

    events: list[Incoming] = field(default_factory=list)
    queue: list[Reply] = field(default_factory=list)
    seen: dict[str, Reply] = field(default_factory=dict)

    def handle(self, event: Incoming, *, now) -> Reply:
        if event.event_id and event.event_id in self.seen:
            r = self.seen[event.event_id]
            return Reply(cards=r.cards, replace=r.replace, form=r.form, errors=r.errors, replayed=True)
        self.events.append(event)
        reply = self.queue.pop(0) if self.queue else Reply(cards=(Card(screen="notice", title=Line.of("ok")),))
        if event.event_id:
            self.seen[event.event_id] = reply
        return reply


@dataclass
class Env:
    fake: FakeSlack
    conv: StandIn
    adapter: SlackAdapter
    client: TestClient

    async def send(self, req: tuple[str, dict[str, str]]):
        body, headers = req
        resp = await self.client.post("/slack/events", data=body.encode(), headers=headers)
        text = await resp.text()
        await self.adapter.drain()
        return resp.status, text


@pytest.fixture
async def env():
    fake = FakeSlack()
    await fake.start()
    fake.add_user("U1", email="priya@council.example", name="Priya Shah", tz="Europe/London")
    conv = StandIn()
    adapter = SlackAdapter(conv, token=TOKEN, signing_secret=rq.SECRET, api_url=fake.api_url)
    app = web.Application()
    adapter.mount(app)
    async with TestClient(TestServer(app)) as client:
        yield Env(fake, conv, adapter, client)
    await fake.stop()


def nudge(action_id: int = 7) -> Card:
    return Card(screen="nudge", title=Line.of("Hello Priya: 1 action due an update"),
                sections=(Section("due", "Due", (Line((Text("2.4", user=True, strong=True), Text(" Deliver training", user=True))),)),),
                buttons=(Button("Update 2.4", Verb.OPEN_UPDATE, {"action_id": action_id, "version": 3}, "primary"),
                         Button("Still on track", Verb.ON_TRACK, {"action_id": action_id})))


def update_form() -> Form:
    return Form(id=Verb.SUBMIT_UPDATE, title="Update 2.4", value={"action_id": 7, "version": 3},
                inputs=(Input(Field.TEXT, "multiline", "Progress", required=True), Input(Field.REASON, "text", "Reason")))


async def test_a_bad_signature_or_an_old_timestamp_gets_401_and_changes_nothing(env):
    body, headers = rq.command("mine", user="U1")
    bad = dict(headers, **{"X-Slack-Signature": "v0=" + "0" * 64})
    assert (await env.send((body, bad)))[0] == 401
    old = rq.command("mine", user="U1", timestamp=int(time.time()) - 6 * 60)
    assert (await env.send(old))[0] == 401
    wrong_secret = rq.command("mine", user="U1", secret="not-the-secret")
    assert (await env.send(wrong_secret))[0] == 401
    assert env.conv.events == [] and env.fake.calls == []


async def test_slash_command_in_a_channel_answers_privately_with_the_persons_profile(env):
    env.conv.queue.append(Reply(cards=(Card(screen="notice", title=Line.of("Your actions"), subtitle="<!channel> 2 due"),)))
    status, text = await env.send(rq.command("mine", user="U1", channel="C0GENERAL", response_url=env.fake.response_url("r1")))
    assert status == 200 and text == ""
    (ev,) = env.conv.events
    assert ev.body == Said("mine", command=True)
    assert (ev.who.platform, ev.who.user_id, ev.who.workspace) == ("slack", "U1", rq.TEAM)
    assert (ev.who.email, ev.who.name, ev.who.timezone) == ("priya@council.example", "Priya Shah", "Europe/London")
    assert ev.event_id and ev.event_id.startswith("slack:")
    (r,) = env.fake.responses
    assert r["response_type"] == "ephemeral" and "Your actions" in rq.text_of(r["blocks"])
    assert "<!channel>" not in json.dumps(r) and "&lt;!channel&gt;" in rq.text_of(r["blocks"])
    assert env.fake.called("chat.postMessage") == []


async def test_slash_command_in_the_bots_dm_answers_in_the_dm(env):
    await env.send(rq.command("help", user="U1", channel="DU1", response_url=env.fake.response_url()))
    assert len(env.fake.posts("DU1")) == 1 and env.fake.responses == []


async def test_users_info_is_cached_and_asked_again_when_stale(env):
    await env.send(rq.command("mine", user="U1"))
    await env.send(rq.command("due", user="U1"))
    assert len(env.fake.called("users.info")) == 1
    env.adapter.users.ttl = 0
    env.fake.users["U1"].tz = "America/New_York"
    await env.send(rq.command("mine", user="U1"))
    assert len(env.fake.called("users.info")) == 2 and env.conv.events[-1].who.timezone == "America/New_York"


async def test_update_button_opens_a_modal_at_once_then_fills_it_and_a_submit_updates_the_nudge(env):
    posted = await env.adapter.post("DU1", nudge())
    msg = env.fake.posts("DU1")[0]
    env.conv.queue.append(Reply(form=update_form()))
    status, _ = await env.send(rq.block_action(user="U1", button=rq.button(msg, Verb.OPEN_UPDATE), channel="DU1", message_ts=posted))
    assert status == 200
    assert env.conv.events[-1].body == Press("open_update", {"action_id": 7, "version": 3})
    opened = env.fake.called("views.open")[0].args["view"]
    assert opened["callback_id"] == "loading"
    (upd,) = env.fake.called("views.update")
    modal = upd.args["view"]
    assert modal["callback_id"] == "submit_update"
    meta = json.loads(modal["private_metadata"])
    assert meta["reply_to"] == {"channel": "DU1", "ts": posted} and meta["value"] == {"action_id": 7, "version": 3}

    # refused in the modal: the errors come back in the acknowledgement, nothing else happens
    env.conv.queue.append(Reply(errors={Field.REASON: "A revised target needs a reason"}))
    values = {"progress": {"type": "plain_text_input", "value": "Slipping"}, "reason": {"type": "plain_text_input", "value": None}}
    status, text = await env.send(rq.view_submission(user="U1", view=modal, values=values))
    assert status == 200 and json.loads(text) == {"response_action": "errors", "errors": {"reason": "A revised target needs a reason"}}
    sub = env.conv.events[-1].body
    assert sub == Submit("submit_update", {"action_id": 7, "version": 3}, {"progress": "Slipping", "reason": ""})
    assert env.fake.called("chat.update") == []

    # accepted: the modal closes and the nudge is updated in place
    recorded = Card(screen="confirmation", title=Line.of("Recorded 2.4: in progress, by Priya Shah"))
    env.conv.queue.append(Reply(replace=recorded))
    values["reason"] = {"type": "plain_text_input", "value": "staffing"}
    status, text = await env.send(rq.view_submission(user="U1", view=modal, values=values))
    assert status == 200 and text == ""
    (u,) = env.fake.called("chat.update")
    assert u.args["channel"] == "DU1" and u.args["ts"] == posted
    assert env.fake.posts("DU1")[0]["updates"] == 1 and "Recorded 2.4" in rq.text_of(env.fake.posts("DU1")[0]["blocks"])


async def test_a_press_that_gets_no_form_shows_the_answer_in_the_opened_modal_and_the_dm(env):
    posted = await env.adapter.post("DU1", nudge())
    env.conv.queue.append(Reply(cards=(Card(screen="notice", title=Line.of("2.4 changed since this card was sent")),)))
    await env.send(rq.block_action(user="U1", button=rq.button(env.fake.posts("DU1")[0], Verb.OPEN_UPDATE), channel="DU1", message_ts=posted))
    (upd,) = env.fake.called("views.update")
    assert "2.4 changed" in rq.text_of(upd.args["view"]["blocks"])
    assert "2.4 changed" in rq.text_of(env.fake.posts("DU1")[-1]["blocks"])


async def test_one_click_button_replaces_the_message_in_place(env):
    posted = await env.adapter.post("DU1", nudge())
    env.conv.queue.append(Reply(replace=Card(screen="confirmation", title=Line.of("2.4 still on track — recorded"))))
    await env.send(rq.block_action(user="U1", button=rq.button(env.fake.posts("DU1")[0], Verb.ON_TRACK), channel="DU1", message_ts=posted))
    assert env.fake.called("views.open") == []
    assert env.fake.called("chat.update")[0].args["ts"] == posted
    assert len(env.fake.posts("DU1")) == 1


async def test_an_ephemeral_message_is_replaced_through_its_response_url(env):
    env.conv.queue.append(Reply(replace=Card(screen="confirmation", title=Line.of("Done"))))
    btn = {"action_id": "on_track:0", "value": json.dumps({"verb": "on_track", "value": {"action_id": 7}})}
    await env.send(rq.block_action(user="U1", button=btn, channel="C0GENERAL", message_ts="1.1", ephemeral=True,
                                   response_url=env.fake.response_url("e1")))
    assert env.fake.responses[0]["replace_original"] is True and env.fake.called("chat.update") == []


async def test_the_same_interaction_twice_acts_once(env):
    posted = await env.adapter.post("DU1", nudge())
    req = rq.block_action(user="U1", button=rq.button(env.fake.posts("DU1")[0], Verb.ON_TRACK), channel="DU1",
                          message_ts=posted, trigger_id="tr-same")
    env.conv.queue.append(Reply(replace=Card(screen="confirmation", title=Line.of("recorded"))))
    await env.send(req)
    await env.send(req)  # Slack's retry, or the same payload again
    assert len(env.conv.events) == 1


async def test_a_dm_message_is_passed_on_as_slack_sent_it(env):
    text = "2.4 done, evidence at <https://intranet.example/ev/1|the intranet> cc <@U9>"
    await env.send(rq.event({"type": "message", "channel": "DU1", "channel_type": "im", "user": "U1", "text": text, "ts": "5.1"}))
    assert env.conv.events[-1].body == Said(text)
    assert len(env.fake.posts("DU1")) == 1


async def test_messages_from_bots_edits_and_channels_are_not_read(env):
    for ev in (
        {"type": "message", "channel": "DU1", "channel_type": "im", "bot_id": "B0BOT", "user": "U0BOT", "text": "hi", "ts": "1"},
        {"type": "message", "subtype": "message_changed", "channel": "DU1", "channel_type": "im", "ts": "2"},
        {"type": "message", "channel": "C1", "channel_type": "channel", "user": "U1", "text": "2.4 done", "ts": "3"},
    ):
        status, _ = await env.send(rq.event(ev))
        assert status == 200
    assert env.conv.events == []


async def test_a_retried_event_acts_once(env):
    ev = {"type": "message", "channel": "DU1", "channel_type": "im", "user": "U1", "text": "on track", "ts": "5.1"}
    body, headers = rq.event(ev, event_id="EvSAME")
    await env.send((body, headers))
    await env.send((body, dict(headers, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})))
    assert len(env.conv.events) == 1 and len(env.fake.posts("DU1")) == 1


async def test_a_file_dropped_in_the_dm_is_downloaded_with_the_token_and_handed_over_once(env):
    f = env.fake.add_file("ILACS plan.xlsx", b"PK\x03\x04 bytes", user="U1")
    msg = {"type": "message", "subtype": "file_share", "channel": "DU1", "channel_type": "im", "user": "U1", "text": "new plan",
           "ts": "6.1", "files": [env.fake.file_json(f)]}
    await env.send(rq.event(msg))
    await env.send(rq.event({"type": "file_shared", "file_id": f.id, "user_id": "U1", "channel_id": "DU1", "file": {"id": f.id}}))
    (ev,) = env.conv.events
    assert ev.body == FileIn("ILACS plan.xlsx", b"PK\x03\x04 bytes", "new plan")
    assert env.fake.called("download")
    assert len(env.fake.posts("DU1")) == 1


async def test_file_shared_alone_fetches_the_file_info_first(env):
    f = env.fake.add_file("plan.csv", b"Ref,Action\n1.1,x\n", user="U1")
    await env.send(rq.event({"type": "file_shared", "file_id": f.id, "user_id": "U1", "channel_id": "DU1", "file": {"id": f.id}}))
    assert env.fake.called("files.info") and env.conv.events[-1].body == FileIn("plan.csv", b"Ref,Action\n1.1,x\n", "")


async def test_files_shared_in_channels_or_by_the_bot_are_ignored(env):
    f = env.fake.add_file("x.csv", b"a")
    await env.send(rq.event({"type": "file_shared", "file_id": f.id, "user_id": "U1", "channel_id": "C0GENERAL"}))
    await env.send(rq.event({"type": "file_shared", "file_id": f.id, "user_id": "U0BOT", "channel_id": "DU1"}))
    assert env.conv.events == []


async def test_import_command_opens_a_file_modal_and_its_submit_imports_the_file(env):
    status, _ = await env.send(rq.command("import", user="U1", channel="C0GENERAL"))
    assert status == 200 and env.conv.events == []
    view = env.fake.called("views.open")[0].args["view"]
    assert view["callback_id"] == "import_file"
    f = env.fake.add_file("plan.docx", b"docx bytes", user="U1")
    env.conv.queue.append(Reply(cards=(Card(screen="notice", title=Line.of("Preview: 12 actions")),)))
    status, text = await env.send(rq.view_submission(user="U1", view={**view, "id": "V9"}, values={
        "file": {"type": "file_input", "files": [env.fake.file_json(f)]}}))
    assert status == 200 and text == ""
    assert env.conv.events[-1].body == FileIn("plan.docx", b"docx bytes", "")
    assert "Preview: 12 actions" in rq.text_of(env.fake.posts("DU1")[-1]["blocks"])


async def test_export_files_are_uploaded_to_the_dm_with_files_upload_v2(env):
    env.conv.queue.append(Reply(files=(OutFile("ILACS.xlsx", b"xlsx-bytes"),)))
    await env.send(rq.command("export ilacs xlsx", user="U1", channel="C0GENERAL"))
    assert [c.method for c in env.fake.calls if c.method.startswith(("files.", "upload"))] == [
        "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    (stored,) = [f for f in env.fake.files.values() if f.name == "ILACS.xlsx"]
    assert stored.data == b"xlsx-bytes" and stored.channels == ["DU1"]


async def test_app_home_shows_my_actions(env):
    env.conv.queue.append(Reply(cards=(nudge(),)))
    await env.send(rq.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"}))
    assert env.conv.events[-1].body == Press(Verb.SHOW_ACTIONS.value, {})
    home = env.fake.home["U1"]
    assert home["type"] == "home" and "Hello Priya" in rq.text_of(home["blocks"])
    await env.send(rq.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "messages"}))
    assert len(env.conv.events) == 1


async def test_acknowledgement_comes_before_slow_work(env):
    import threading

    gate = threading.Event()
    slow = env.conv.handle

    def held(event, *, now):
        gate.wait(5)
        return slow(event, now=now)

    env.conv.handle = held  # type: ignore[method-assign]
    body, headers = rq.command("mine", user="U1", response_url=env.fake.response_url())
    resp = await env.client.post("/slack/events", data=body.encode(), headers=headers)
    assert resp.status == 200  # answered while the conversation is still held
    assert env.conv.events == []
    gate.set()
    await env.adapter.drain()
    assert len(env.conv.events) == 1 and env.fake.responses


async def test_web_api_calls_share_kept_alive_connections(env):
    """One HTTP session for the adapter's Web API calls: a connection is not opened per call."""
    for _ in range(5):
        await env.send(rq.command("help", user="U1", channel="DU1"))
    calls = [c for c in env.fake.calls if c.peer]
    assert len(calls) >= 6 and len({c.peer for c in calls}) <= 2


async def test_conversation_steps_run_two_at_a_time_at_most(env):
    """Commands arriving together are all acknowledged and answered, but their conversation
    steps take turns two at a time (more threads would only take the interpreter from the event
    loop that acknowledges the next request)."""
    import asyncio
    import threading

    lock, running, most = threading.Lock(), [0], [0]
    stand_in = env.conv

    class Slow:
        def handle(self, event: Incoming, *, now) -> Reply:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            return stand_in.handle(event, now=now)

    env.adapter.conversation = Slow()
    answers = await asyncio.gather(*(env.client.post("/slack/events", data=b.encode(), headers=h)
                                     for b, h in (rq.command(f"help {i}", user="U1", channel="DU1") for i in range(6))))
    assert [a.status for a in answers] == [200] * 6
    await env.adapter.drain()
    assert len(stand_in.events) == 6 and len(env.fake.posts("DU1")) == 6
    assert most[0] == 2
