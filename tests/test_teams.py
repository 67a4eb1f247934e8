"""The Teams adapter through the real /api/messages: Bot Framework activities in, the
conversation's inputs out, its replies rendered as Adaptive Cards and posted to a local fake
Bot Connector; conversation references saved; the TeamsPort's pacing, backoff and permanent
failures. The conversation here is a stand-in that records what it was given."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, select

from bot.app import build_app
from bot.config import Settings
from bot.conversation.events import FileIn, Incoming, OutFile, Press, Reply, Said, Submit
from bot.domain.model import InvalidValue
from bot.ports import DeliveryError
from cards.adaptive import form_submit_data
from cards.form import Form, Input
from cards.ids import Verb
from cards.nudge import notice_card
from handlers.teams import Pacer, TeamsPort, auth_from, check_auth
from storage import teams as refs
from storage.db import session_scope
from storage.tables import TeamsConversation
from tests import teams_fakes as tf

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FORM = Form(id=Verb.SUBMIT_UPDATE, title="Update 2.4", value={"action_id": 1, "version": 2},
            inputs=(Input("progress", "multiline", "Progress", required=True), Input("revised_target", "date", "Revised target")))


class FakeConversation:
    def __init__(self) -> None:
        self.events: list[Incoming] = []
        self.answer: Callable[[Incoming], Reply] = lambda e: Reply(cards=(notice_card(f"got {type(e.body).__name__}"),))

    def handle(self, event: Incoming, *, now: datetime) -> Reply:
        self.events.append(event)
        return self.answer(event)


@pytest.fixture
async def connector() -> AsyncIterator[tf.FakeConnector]:
    c = await tf.FakeConnector(members={"29:ann": {"id": "29:ann", "name": "Ann Lead", "email": "ann@kent.example"}}).start()
    yield c
    await c.close()


@pytest.fixture
def conv() -> FakeConversation:
    return FakeConversation()


@pytest.fixture
async def client(engine, conv, monkeypatch) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    for var in ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppTenantId", "ACTIONBOT_ENV"):
        monkeypatch.delenv(var, raising=False)
    async with TestClient(TestServer(build_app(Settings(), engine, conversation=conv))) as c:
        yield c


async def post(client: TestClient, body: Any, *, status: int | None = None) -> Any:
    resp = await client.post("/api/messages", json=body)
    if status is not None:
        assert resp.status == status, await resp.text()
    return (await resp.json()) if resp.content_type == "application/json" else None


async def test_a_message_reaches_the_conversation_and_the_reply_comes_back_as_a_card(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    await post(client, tf.message(connector.url, "<p>2.4 done, evidence at <a href=\"https://intranet.example/ev/1\">the intranet</a></p>"), status=201)
    (event,) = conv.events
    assert isinstance(event.body, Said) and 'href="https://intranet.example/ev/1"' in event.body.text
    assert (event.who.platform, event.who.user_id, event.who.workspace) == ("teams", "29:ann", tf.TENANT)
    assert (event.who.email, event.who.name, event.who.timezone) == ("ann@kent.example", "Ann Lead", "Europe/London")
    assert event.event_id and event.event_id.startswith("f:")
    (sent,) = connector.sent
    assert sent.conversation == "a:ann" and sent.activity_id == event.event_id  # a reply to the message
    (card,) = connector.cards()
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5" and "got Said" in card["fallbackText"]
    with Session(engine) as s:
        ref = s.exec(select(TeamsConversation)).one()
    assert (ref.conversation_id, ref.kind, ref.service_url, ref.tenant_id) == ("a:ann", "personal", connector.url, tf.TENANT)
    assert (ref.user_id, ref.aad_object_id, ref.timezone) == ("29:ann", "aad-ann", "Europe/London")


async def test_the_bots_own_mention_is_dropped_and_other_mentions_listed(client, connector, conv):  # type: ignore[no-untyped-def]
    act = tf.message(connector.url, "<at>actionbot</at> map \"HoS First Response\" <at>Priya Shah</at>", conversation="19:c@thread.tacv2",
                     conversation_type="channel")
    act["entities"] = [
        {"type": "mention", "text": "<at>actionbot</at>", "mentioned": dict(tf.BOT)},
        {"type": "mention", "text": "<at>Priya Shah</at>", "mentioned": {"id": "29:priya", "name": "Priya Shah"}},
    ]
    await post(client, act, status=201)
    said = conv.events[0].body
    assert isinstance(said, Said)
    assert said.text == "map \"HoS First Response\" <at>Priya Shah</at>"
    assert said.mentions == (("Priya Shah", "29:priya"),)


async def test_an_execute_press_is_answered_with_the_replacement_card(client, connector, conv):  # type: ignore[no-untyped-def]
    conv.answer = lambda e: Reply(replace=notice_card("2.4 recorded as on track by Ann Lead"))
    body = await post(client, tf.execute(connector.url, {"ab_verb": "on_track", "ab_value": {"action_id": 1, "version": 2}}), status=200)
    (event,) = conv.events
    assert event.body == Press(verb="on_track", value={"action_id": 1, "version": 2})
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "recorded as on track" in body["value"]["fallbackText"]
    assert connector.sent == []  # in a 1:1 chat the invoke answer replaces the card; nothing else is posted


async def test_update_opens_the_form_in_place_and_a_refused_submit_shows_the_errors(client, connector, conv):  # type: ignore[no-untyped-def]
    conv.answer = lambda e: Reply(form=FORM)
    body = await post(client, tf.execute(connector.url, {"ab_verb": "open_update", "ab_value": {"action_id": 1}}), status=200)
    inputs = [b for b in body["value"]["body"] if b.get("id")]
    assert [i["id"] for i in inputs] == ["progress", "revised_target"]
    submit = body["value"]["actions"][0]

    conv.answer = lambda e: Reply(form=FORM, errors={"revised_target": "A date in the past cannot be a target."})
    data = submit["data"] | {"progress": "Sessions delivered", "revised_target": "2020-01-01"}
    body = await post(client, tf.execute(connector.url, data, verb=submit["verb"]), status=200)
    assert conv.events[-1].body == Submit(form="submit_update", value={"action_id": 1, "version": 2},
                                          fields={"progress": "Sessions delivered", "revised_target": "2020-01-01"})
    warnings = [b["text"] for b in body["value"]["body"] if b.get("color") == "attention"]
    assert warnings == ["A date in the past cannot be a target\\."]


async def test_a_submitted_input_left_empty_arrives_as_empty(client, connector, conv):  # type: ignore[no-untyped-def]
    await post(client, tf.execute(connector.url, form_submit_data(FORM) | {"progress": "x"}), status=200)
    assert conv.events[0].body.fields == {"progress": "x", "revised_target": ""}  # type: ignore[union-attr]


@pytest.mark.parametrize("data", [
    {"ab_verb": "launch_missiles", "ab_value": {}},
    {"something": "else"},
    "not even an object",
    {"ab_verb": "on_track", "ab_value": "a string"},
    {"ab_verb": "submit_update", "ab_form": "submit_update", "ab_value": {}, "ab_inputs": "progress"},
    {"ab_verb": "submit_update", "ab_form": "submit_update", "ab_value": {}, "ab_inputs": ["progress"], "progress": {"nested": 1}},
])
async def test_unknown_or_malformed_button_data_gets_a_4xx_invoke_answer_not_a_500(client, connector, conv, data):  # type: ignore[no-untyped-def]
    body = await post(client, tf.execute(connector.url, data, verb="x"), status=200)
    assert body["statusCode"] == 400 and body["type"] == "application/vnd.microsoft.error" and body["value"]["message"]
    assert conv.events == []


async def test_an_invoke_without_an_action_is_refused_politely(client, connector, conv):  # type: ignore[no-untyped-def]
    act = tf.activity("invoke", connector.url, value={"nothing": True})
    act["name"] = "adaptiveCard/action"
    body = await post(client, act, status=200)
    assert body["statusCode"] == 400 and conv.events == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"{\"text\": \"no type\"}", b"\xff\xfe"])
async def test_a_malformed_request_body_gets_400(client, raw):  # type: ignore[no-untyped-def]
    resp = await client.post("/api/messages", data=raw, headers={"Content-Type": "application/json"})
    assert resp.status == 400


async def test_the_submit_fallback_updates_the_card_it_came_from(client, connector, conv):  # type: ignore[no-untyped-def]
    conv.answer = lambda e: Reply(replace=notice_card("2.4 recorded"), cards=(notice_card("Anything else?"),))
    act = tf.message(connector.url, "", value={"ab_verb": "mark_done", "ab_value": {"action_id": 1}}, replyToId="act-77")
    await post(client, act, status=201)
    assert conv.events[0].body == Press(verb="mark_done", value={"action_id": 1})
    put = [s for s in connector.sent if s.method == "put"]
    assert len(put) == 1 and put[0].activity_id == "act-77" and "2.4 recorded" in str(put[0].activity)
    assert ["Anything else?" in c["fallbackText"] for c in connector.cards()] == [True]


async def test_a_file_is_downloaded_and_handed_over(client, connector, conv):  # type: ignore[no-untyped-def]
    connector.files["plan.xlsx"] = b"PK\x03\x04 spreadsheet bytes"
    await post(client, tf.file_message(connector.url, "ILACS plan.xlsx", connector.url + "files/plan.xlsx"), status=201)
    body = conv.events[0].body
    assert isinstance(body, FileIn) and body.name == "ILACS plan.xlsx" and body.data == b"PK\x03\x04 spreadsheet bytes"


async def test_a_file_that_cannot_be_downloaded_gets_a_clear_message(client, connector, conv):  # type: ignore[no-untyped-def]
    await post(client, tf.file_message(connector.url, "plan.xlsx", connector.url + "files/gone.xlsx"), status=201)
    assert conv.events == []
    assert "would not give me the file" in connector.cards()[0]["fallbackText"]


CSV = b"ref,action\n2.4,Deliver reflective practice sessions\n"


async def offer_export(client, connector, conv) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Ask for an export in the 1:1 chat: the answer is a file consent card."""
    conv.answer = lambda e: Reply(cards=(notice_card("Here is cs as csv."),), files=(OutFile("cs.csv", CSV, "text/csv"),))
    await post(client, tf.message(connector.url, "export cs csv"), status=201)
    return [a for s in connector.sent for a in s.activity.get("attachments") or []
            if a["contentType"] == "application/vnd.microsoft.teams.card.file.consent"][-1]


def uploads(engine) -> list[Any]:  # type: ignore[no-untyped-def]
    from storage.tables import TeamsUpload

    with Session(engine) as s:
        return list(s.exec(select(TeamsUpload)))


async def test_an_export_is_offered_with_a_file_consent_card_and_kept_until_answered(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    consent = await offer_export(client, connector, conv)
    assert consent["name"] == "cs.csv" and consent["content"]["sizeInBytes"] == len(CSV)
    assert consent["content"]["acceptContext"] == consent["content"]["declineContext"]
    assert not [a for s in connector.sent for a in s.activity.get("attachments") or [] if str(a.get("contentUrl", "")).startswith("data:")]
    (row,) = uploads(engine)
    assert (row.status, row.data, row.conversation_id, row.user_id) == ("offered", CSV, "a:ann", "29:ann")


async def test_allow_uploads_the_bytes_then_shows_the_file_card(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    consent = await offer_export(client, connector, conv)
    accept = tf.file_consent(connector.url, "accept", consent["content"]["acceptContext"], upload_url=connector.url + "upload/cs.csv", name="cs.csv")
    resp = await client.post("/api/messages", json=accept)
    assert resp.status == 200
    data, headers = connector.uploads["cs.csv"]
    assert data == CSV and headers["Content-Range"] == f"bytes 0-{len(CSV) - 1}/{len(CSV)}" and headers["Content-Length"] == str(len(CSV))
    (info,) = [a for s in connector.sent for a in s.activity.get("attachments") or []
               if a["contentType"] == "application/vnd.microsoft.teams.card.file.info"]
    assert info["name"] == "cs.csv" and info["contentUrl"].endswith("/cs.csv")
    assert info["content"] == {"uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C9D", "fileType": "csv"}
    (row,) = uploads(engine)
    assert (row.status, row.data) == ("uploaded", b"")  # the bytes are gone once delivered
    # pressed again (or retried by Teams): not uploaded twice
    connector.uploads.clear()
    assert (await client.post("/api/messages", json=accept)).status == 200
    assert connector.uploads == {} and "already put in your OneDrive" in connector.cards()[-1]["fallbackText"]


async def test_decline_says_so_and_drops_the_bytes(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    consent = await offer_export(client, connector, conv)
    resp = await client.post("/api/messages", json=tf.file_consent(connector.url, "decline", consent["content"]["declineContext"]))
    assert resp.status == 200
    assert "you declined cs.csv" in connector.cards()[-1]["fallbackText"] and connector.uploads == {}
    (row,) = uploads(engine)
    assert (row.status, row.data) == ("declined", b"")


async def test_a_failed_upload_is_reported_and_no_file_card_is_shown(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    consent = await offer_export(client, connector, conv)
    connector.upload_fail.append(503)
    accept = tf.file_consent(connector.url, "accept", consent["content"]["acceptContext"], upload_url=connector.url + "upload/cs.csv", name="cs.csv")
    assert (await client.post("/api/messages", json=accept)).status == 200
    assert "could not put cs.csv in your OneDrive (OneDrive answered HTTP 503)" in connector.cards()[-1]["fallbackText"]
    assert not [a for s in connector.sent for a in s.activity.get("attachments") or [] if a["contentType"].endswith("file.info")]
    (row,) = uploads(engine)
    assert row.status == "failed" and row.data == b""


async def test_an_expired_or_unknown_offer_and_a_malformed_answer(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from storage.tables import TeamsUpload

    consent = await offer_export(client, connector, conv)
    with session_scope(engine) as s:
        row = s.exec(select(TeamsUpload)).one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.add(row)
    accept = tf.file_consent(connector.url, "accept", consent["content"]["acceptContext"], upload_url=connector.url + "upload/cs.csv")
    assert (await client.post("/api/messages", json=accept)).status == 200
    assert "no longer here" in connector.cards()[-1]["fallbackText"] and connector.uploads == {}
    await offer_export(client, connector, conv)  # a new offer deletes the expired one
    assert [r.status for r in uploads(engine)] == ["offered"]
    assert (await client.post("/api/messages", json=tf.file_consent(connector.url, "maybe", {"ab_upload": "x"}))).status == 400
    assert (await client.post("/api/messages", json=tf.file_consent(connector.url, "accept", {}))).status == 400


async def test_in_a_channel_a_file_is_not_offered(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    conv.answer = lambda e: Reply(files=(OutFile("cs.csv", CSV, "text/csv"),))
    await post(client, tf.message(connector.url, "export cs csv", conversation="19:c@thread.tacv2", conversation_type="channel"), status=201)
    assert "only send files in our 1:1 chat" in connector.cards()[-1]["fallbackText"]
    assert uploads(engine) == []


async def test_installing_saves_the_reference_and_greets_with_help(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    await post(client, tf.installation(connector.url, conversation="a:bo", user="29:bo", aad="aad-bo", name="Bo"), status=201)
    (event,) = conv.events
    assert event.body == Said("help", command=True) and event.event_id == "install:a:bo"
    personal_add = tf.activity("conversationUpdate", connector.url, conversation="a:bo", user="29:bo", membersAdded=[dict(tf.BOT)])
    await post(client, personal_add, status=201)
    assert len(conv.events) == 1  # Teams sends both on a 1:1 install: one greeting
    with session_scope(engine) as s:
        assert refs.find_reference(s, "29:bo").conversation_id == "a:bo"  # type: ignore[union-attr]
    await post(client, tf.installation(connector.url, action="remove", conversation="a:bo", user="29:bo"), status=201)
    with session_scope(engine) as s:
        assert refs.find_reference(s, "29:bo").installed is False  # type: ignore[union-attr]


async def test_added_to_a_channel_it_says_how_to_send_a_digest_there(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    await post(client, tf.members_added(connector.url), status=201)
    assert conv.events == []
    assert "teams:19:leaders@thread.tacv2" in connector.cards("19:leaders@thread.tacv2")[0]["fallbackText"]
    with session_scope(engine) as s:
        ref = refs.find_reference(s, "19:leaders@thread.tacv2")
        assert ref is not None and ref.kind == "channel" and ref.team_id == "19:team@thread.tacv2" and ref.user_id is None


async def test_a_conversation_failure_is_answered_not_crashed(client, connector, conv):  # type: ignore[no-untyped-def]
    def boom(e: Incoming) -> Reply:
        raise RuntimeError("bug")
    conv.answer = boom
    body = await post(client, tf.execute(connector.url, {"ab_verb": "on_track", "ab_value": {}}), status=200)
    assert body["statusCode"] == 500 and "nothing was changed" in body["value"]["message"]
    await post(client, tf.message(connector.url, "mine"))
    assert "nothing was changed" in connector.cards()[-1]["fallbackText"]


async def test_with_an_app_id_unsigned_requests_are_refused(engine, conv, connector, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MicrosoftAppId", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("MicrosoftAppPassword", "secret")
    async with TestClient(TestServer(build_app(Settings(), engine, conversation=conv))) as c:
        resp = await c.post("/api/messages", json=tf.message(connector.url, "mine"))
        assert resp.status == 401
    assert conv.events == []


async def test_the_adapter_keeps_one_connector_client_per_service_url():
    from botbuilder.schema import Activity

    from handlers.teams import CachingAuthentication, TeamsAuth

    auth = CachingAuthentication(TeamsAuth())
    act = Activity().deserialize(tf.message("https://smba.example/uk/", "mine"))
    first, second = await auth.authenticate_request(act, ""), await auth.authenticate_request(act, "")
    uk = await first.connector_factory.create("https://smba.example/uk/", first.audience)
    assert await second.connector_factory.create("https://smba.example/uk/", second.audience) is uk  # made once, reused
    emea = await second.connector_factory.create("https://smba.example/emea/", second.audience)
    assert emea is not uk and emea.config.base_url == "https://smba.example/emea/"
    assert await auth.create_user_token_client(first.claims_identity) is await auth.create_user_token_client(second.claims_identity)


def test_production_refuses_to_run_teams_without_credentials(monkeypatch):
    for var in ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppTenantId"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ACTIONBOT_ENV", "production")
    with pytest.raises(InvalidValue, match="production needs MicrosoftAppId"):
        check_auth(Settings())
    monkeypatch.setenv("MicrosoftAppId", "app")
    with pytest.raises(InvalidValue, match="MicrosoftAppPassword is not"):
        check_auth(Settings())
    monkeypatch.setenv("MicrosoftAppPassword", "pw")
    monkeypatch.setenv("MicrosoftAppTenantId", "t1")
    auth = check_auth(Settings())
    assert (auth.APP_ID, auth.APP_TYPE, auth.APP_TENANTID) == ("app", "SingleTenant", "t1")
    monkeypatch.setenv("ACTIONBOT_TEAMS", "false")
    from bot.wiring import build_ports
    assert "teams" not in build_ports(Settings())


# --- the port ----------------------------------------------------------------------------------
def save_ref(engine, connector, conversation: str = "a:ann", user: str = "29:ann") -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        refs.save_reference(s, conversation_id=conversation, kind="personal", service_url=connector.url, tenant_id=tf.TENANT,
                            user_id=user, now=NOW)


_PORTS: list[TeamsPort] = []


def port(engine, **kw: Any) -> TeamsPort:  # type: ignore[no-untyped-def]
    """A port on the test's database; closed when the test ends (it keeps an HTTP session)."""
    made = TeamsPort(engine, auth_from(Settings()), backoff=lambda n: 0.01, **kw)
    _PORTS.append(made)
    return made


@pytest.fixture(autouse=True)
async def _close_ports() -> AsyncIterator[None]:
    yield
    while _PORTS:
        await _PORTS.pop().close()


async def test_the_port_sends_proactively_through_the_reference_and_updates(engine, connector):  # type: ignore[no-untyped-def]
    save_ref(engine, connector)
    p = port(engine)
    sent = await p.send("29:ann", notice_card("You have 2 actions due"))
    assert sent.ref.startswith("act-")
    (s,) = connector.sent
    assert s.conversation == "a:ann" and s.activity_id is None and s.activity["channelData"]["tenant"]["id"] == tf.TENANT
    await p.update("29:ann", sent.ref, notice_card("Thanks"))
    assert connector.sent[-1].method == "put" and connector.sent[-1].activity_id == sent.ref


async def test_429_and_flaky_gateways_are_retried(engine, connector):  # type: ignore[no-untyped-def]
    save_ref(engine, connector)
    connector.fail["a:ann"] = [429, 502, 412, 504]
    p = port(engine, tries=5)
    await p.send("29:ann", notice_card("hi"))
    assert len(connector.sent) == 1 and connector.fail["a:ann"] == []


async def test_too_many_429s_leave_it_to_the_outbox_with_a_retry_after(engine, connector):  # type: ignore[no-untyped-def]
    save_ref(engine, connector)
    connector.fail["a:ann"] = [429] * 3
    with pytest.raises(DeliveryError) as e:
        await port(engine, tries=3).send("29:ann", notice_card("hi"))
    assert e.value.retry_after is not None and not e.value.permanent and connector.sent == []


@pytest.mark.parametrize("status", [403, 404])
async def test_403_and_404_are_permanent_and_say_install_the_app(engine, connector, status):  # type: ignore[no-untyped-def]
    save_ref(engine, connector)
    connector.fail["a:ann"] = [status, status]
    with pytest.raises(DeliveryError) as e:
        await port(engine).send("29:ann", notice_card("hi"))
    assert e.value.permanent and "install the app for them" in str(e.value)
    assert connector.fail["a:ann"] == [status]  # tried once, not retried


TEAM = "19:team@thread.tacv2"


def members(engine) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from storage.tables import TeamsMember

    with Session(engine) as s:
        return {m.user_id: m for m in s.exec(select(TeamsMember))}


async def test_added_to_a_team_it_remembers_who_is_in_it(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    connector.rosters[TEAM] = [
        {"id": "29:bo", "name": "Bo Lead", "aadObjectId": "aad-bo", "email": "bo@kent.example", "userPrincipalName": "bo@kent.example",
         "tenantId": tf.TENANT},
        {"id": "29:cy", "name": "Cy Lead", "aadObjectId": "aad-cy", "userPrincipalName": "cy@kent.example", "tenantId": tf.TENANT},
    ]
    await post(client, tf.members_added(connector.url), status=201)
    got = members(engine)
    assert set(got) == {"29:bo", "29:cy"}
    bo = got["29:bo"]
    assert (bo.aad_object_id, bo.name, bo.email, bo.tenant_id, bo.service_url, bo.bot_id, bo.team_id) == (
        "aad-bo", "Bo Lead", "bo@kent.example", tf.TENANT, connector.url, tf.BOT["id"], TEAM)
    assert got["29:cy"].email == "cy@kent.example"  # the sign-in name when no e-mail is given
    # later someone joins the team and someone leaves it
    joined = tf.members_added(connector.url)
    joined["membersAdded"] = [{"id": "29:di", "name": "Di Lead", "aadObjectId": "aad-di"}]
    await post(client, joined, status=201)
    left = tf.members_added(connector.url)
    left["membersAdded"], left["membersRemoved"] = [], [{"id": "29:cy"}]
    await post(client, left, status=201)
    assert set(members(engine)) == {"29:bo", "29:di"}


async def test_a_team_joined_before_rosters_were_kept_is_read_on_its_first_message(client, connector, conv, engine):  # type: ignore[no-untyped-def]
    connector.rosters[TEAM] = [{"id": "29:bo", "name": "Bo Lead", "aadObjectId": "aad-bo", "tenantId": tf.TENANT}]
    in_channel = {"conversation": "19:c@thread.tacv2", "conversation_type": "channel"}
    for _ in range(2):
        act = tf.message(connector.url, "digest cs preview", **in_channel)
        act["channelData"] |= {"team": {"id": TEAM}, "channel": {"id": "19:c@thread.tacv2"}}
        await post(client, act, status=201)
    assert set(members(engine)) == {"29:bo"}
    assert connector.roster_reads == [TEAM]  # once per process, not on every message
    await post(client, tf.message(connector.url, "mine"), status=201)  # a 1:1 chat has no roster to read
    assert connector.roster_reads == [TEAM]


def test_map_by_e_mail_in_teams_finds_the_teams_id_in_the_rosters(engine, monkeypatch):  # type: ignore[no-untyped-def]
    from bot.app import default_conversation
    from bot.conversation.events import Who
    from bot.domain.model import Role
    from storage.tables import Person
    from tests.test_engine import Reg

    with session_scope(engine) as s:
        refs.save_member(s, tenant_id=tf.TENANT, user_id="29:bo", name="Bo Lead", email="Bo.Lead@kent.example", service_url="https://s/", now=NOW)
    with Session(engine) as s:
        r = Reg(s, org="default")
        dana = r.person("Dana Reed", teams_user_id="29:dana")
        r.grant(dana, Role.ADMIN)
        plan = r.plan("Plan", slug="cs")
        r.action(plan, "1.1", owner=r.person("HoS First Response"), text="x")
        r.commit()
    monkeypatch.delenv("ACTIONBOT_TEAMS", raising=False)
    conv = default_conversation(Settings(), engine)
    reply = conv.handle(Incoming(Who("teams", "29:dana", workspace=tf.TENANT), Said('map "HoS First Response" bo.lead@kent.example')), now=NOW)
    assert "linked to their chat account" in reply.cards[0].title.plain + str(reply.cards[0].to_dict())
    with Session(engine) as s:
        lead = s.exec(select(Person).where(Person.display_name == "HoS First Response")).one()
        assert (lead.teams_user_id, lead.email) == ("29:bo", "bo.lead@kent.example")


def save_member(engine, connector, user: str = "29:bo", aad: str = "aad-bo") -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        refs.save_member(s, tenant_id=tf.TENANT, user_id=user, aad_object_id=aad, name="Bo Lead", service_url=connector.url,
                         bot_id=tf.BOT["id"], team_id=TEAM, now=NOW)


@pytest.mark.parametrize("target", ["29:bo", "aad-bo"])
async def test_a_team_member_with_no_chat_gets_one_started_then_the_message(engine, connector, target):  # type: ignore[no-untyped-def]
    save_member(engine, connector)
    connector.chats_for.add("29:bo")
    p = port(engine)
    await p.send(target, notice_card("You have 2 actions due"))
    await p.close()
    (created,) = connector.created
    assert created["isGroup"] is False and created["members"] == [{"id": "29:bo"}] and created["bot"]["id"] == tf.BOT["id"]
    assert created["tenantId"] == tf.TENANT and created["channelData"]["tenant"]["id"] == tf.TENANT
    assert [(x.method, x.conversation) for x in connector.sent] == [("post", "a:29:bo")]
    with session_scope(engine) as s:
        ref = refs.find_reference(s, target)
        assert ref is not None and (ref.conversation_id, ref.kind, ref.user_id, ref.installed) == ("a:29:bo", "personal", "29:bo", True)
    p2 = port(engine)
    await p2.send(target, notice_card("again"))  # a new port (another process) uses the stored reference
    await p2.close()
    assert len(connector.created) == 1 and len(connector.sent) == 2


async def test_when_teams_will_not_start_the_chat_the_person_is_not_reachable(engine, connector):  # type: ignore[no-untyped-def]
    save_member(engine, connector)  # the app is not installed for Bo: Teams answers 403
    p = port(engine)
    with pytest.raises(DeliveryError) as e:
        await p.send("29:bo", notice_card("hi"))
    await p.close()
    assert e.value.permanent and "install the app for them" in str(e.value) and "HTTP 403" in str(e.value)
    assert connector.created == [] and connector.sent == []
    with session_scope(engine) as s:
        assert refs.find_reference(s, "29:bo") is None


async def test_a_person_with_no_conversation_is_not_reachable(engine, connector):  # type: ignore[no-untyped-def]
    with pytest.raises(DeliveryError) as e:
        await port(engine).send("29:stranger", notice_card("hi"))
    assert e.value.permanent and "install the app for them" in str(e.value)


async def test_the_pacer_keeps_every_window():
    clock = [0.0]
    slept: list[float] = []

    async def sleep(d: float) -> None:
        slept.append(d)
        clock[0] += d

    pacer = Pacer(per_conversation=((7, 1.0), (60, 30.0)), per_app=((100, 1.0),), clock=lambda: clock[0], sleep=sleep)
    times = []
    for _ in range(70):
        await pacer.wait("a:ann")
        times.append(clock[0])
    for i in range(len(times)):
        assert sum(1 for t in times if times[i] <= t < times[i] + 1.0) <= 7
        assert sum(1 for t in times if times[i] <= t < times[i] + 30.0) <= 60
    assert times[60] >= 30.0  # the 61st waited for the 30-second window
    other = clock[0]
    await pacer.wait("a:bo")
    assert clock[0] - other < 0.05  # another conversation waits at most the app's spacing (1/100 s), not Ann's 1/7 s
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) >= 1 / 7  # spread evenly, never in bursts


async def test_late_wake_ups_do_not_add_up_and_no_window_is_overfilled():
    """The event loop wakes a send a little late (here 3 ms every time): the next send keeps
    to the schedule instead of counting its spacing from the late one, so 200 sends at 50 a
    second take (199 / 50) s plus slack, not 15% more; and no second holds more than 50."""
    clock = [0.0]

    async def late_sleep(d: float) -> None:
        clock[0] += d + 0.003

    pacer = Pacer(per_conversation=((7, 1.0),), per_app=((50, 1.0),), clock=lambda: clock[0], sleep=late_sleep)
    times = []
    for i in range(200):
        await pacer.wait(f"a:{i}")
        times.append(clock[0])
    assert times[-1] < 199 / 50 * 1.03 + 0.003  # the 2% slack and one wake-up's lateness, no more
    for i in range(len(times)):
        assert sum(1 for t in times if times[i] <= t < times[i] + 1.0) <= 50
    assert min(b - a for a, b in pairwise(times)) >= 1.02 / 50 / 2  # caught up by at most half a gap: no bursts



async def test_cards_about_an_action_refresh_themselves_for_the_others_on_it(engine, connector, monkeypatch):  # type: ignore[no-untyped-def]
    """In a channel Ann records an update: everyone sees the recorded card (PUT), and it carries
    Universal Actions' refresh for Bo, the action's delegate (not Ann, who sees the answer in
    place). Bo's client then asks for the current face: the action card as it is now, with
    Bo's Update button at the new version, and nothing is posted or changed for anyone else."""
    from datetime import date

    from bot.conversation.core import Conversation
    from bot.services import engine as eng
    from storage.tables import Action
    from tests.test_adaptive import check
    from tests.test_engine import Reg

    for var in ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppTenantId", "ACTIONBOT_ENV"):
        monkeypatch.delenv(var, raising=False)
    with Session(engine) as s:
        r = Reg(s, org="default")
        ann, bo = r.person("Ann Lead", teams_user_id="29:ann"), r.person("Bo Deputy", teams_user_id="29:bo")
        r.person("Carl Elsewhere", teams_user_id="29:carl")  # in the channel, not on the action
        plan = r.plan("Plan", slug="cs")
        a = r.action(plan, "2.4", owner=ann, delegate=bo, target=date(2027, 3, 31), text="Deliver sessions")
        r.commit()
        aid, version = a.id, a.version
    from aiohttp import web
    app = web.Application()
    teams_mount = __import__("handlers.teams", fromlist=["mount"]).mount
    teams_mount(app, Settings(), engine, Conversation(engine, org="default", cfg=eng.EngineConfig(), clock=lambda: NOW))
    chan = {"conversation": "19:c@thread.tacv2", "conversation_type": "channel"}
    async with TestClient(TestServer(app)) as c:
        data = form_submit_data(Form(id=Verb.SUBMIT_UPDATE, title="Update 2.4", value={"action_id": aid, "version": version},
                                     inputs=(Input("progress", "multiline", "Progress"),))) | {"progress": "Two sessions run"}
        answer = await (await c.post("/api/messages", json=tf.execute(connector.url, data, reply_to="act-9", **chan))).json()
        recorded = check(answer["value"])
        assert "Recorded" in recorded["fallbackText"]
        assert recorded["refresh"]["userIds"] == ["29:bo"] and recorded["refresh"]["action"]["verb"] == "refresh"
        (put,) = [x for x in connector.sent if x.method == "put"]
        assert put.activity["attachments"][0]["content"]["refresh"]["userIds"] == ["29:bo"]

        refresh = recorded["refresh"]["action"]["data"]
        auto = tf.execute(connector.url, refresh, reply_to="act-9", user="29:bo", aad="aad-bo", name="Bo Deputy", **chan)
        auto["value"]["trigger"] = "automatic"
        fresh = await (await c.post("/api/messages", json=auto)).json()
        card = check(fresh["value"])
        with Session(engine) as s:
            now_version = s.get(Action, aid).version  # type: ignore[union-attr]
        assert now_version == version + 1 and "Two sessions run" in card["fallbackText"]
        (update,) = [x for x in card["actions"] if x["verb"] == "open_update"]
        assert update["data"]["ab_value"] == {"action_id": aid, "version": now_version}
        assert card["refresh"]["userIds"] == ["29:ann", "29:bo"]
        assert len([x for x in connector.sent if x.method == "put"]) == 1  # a refresh changes no one else's card

        carls = tf.execute(connector.url, refresh, reply_to="act-9", user="29:carl", aad="aad-carl", name="Carl Elsewhere", **chan)
        refused = await (await c.post("/api/messages", json=carls)).json()
        assert "Only the people on 2.4" in str(refused)
