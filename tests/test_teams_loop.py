"""The whole loop in Teams, through the real /api/messages, the real conversation and the real
engine, against the fake Bot Connector: the administrator installs the app and imports a plan
by sending the file, maps a lead officer to a Teams user; the worker nudges the lead
proactively; Update opens the form in place, submitting it replaces the card with what was
recorded; the register holds the update with channel teams; the digest posts to a channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, select

from bot.config import Settings
from bot.conversation.core import Conversation
from bot.domain.model import Role
from bot.services import engine as eng
from handlers import teams
from storage.tables import Action, Person, Plan, Update
from tests import teams_fakes as tf
from tests.test_adaptive import check
from tests.test_engine import Reg, plan_and_run

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 10:00 in London
LATER = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday: 1.1's target (November 2026) has passed
SAMPLE = Path(__file__).resolve().parents[1] / "bot" / "samples" / "sample_plan.md"
LEADERS = "19:leaders@thread.tacv2"


@pytest.fixture
async def connector() -> AsyncIterator[tf.FakeConnector]:
    c = await tf.FakeConnector(members={
        "29:dana": {"id": "29:dana", "name": "Dana Reed", "email": "dana@anytown.example"},
        "29:priya": {"id": "29:priya", "name": "Priya Shah", "email": "priya.shah@anytown.example"},
    }).start()
    yield c
    await c.close()


def find_action(card: dict[str, Any], verb: str) -> dict[str, Any]:
    for a in card.get("actions", []):
        if a.get("verb") == verb:
            return a
    raise AssertionError(f"no {verb} button on {card.get('fallbackText', '')[:300]}")


async def test_the_whole_loop_in_teams(engine, session: Session, connector, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    for var in ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppTenantId", "ACTIONBOT_ENV"):
        monkeypatch.delenv(var, raising=False)
    r = Reg(session, org="default")
    dana = r.person("Dana Reed", teams_user_id="29:dana")
    r.grant(dana, Role.ADMIN)
    r.commit()
    cfg = eng.EngineConfig(chart_dir=tmp_path / "charts")
    clock = [NOW]
    conv = Conversation(engine, org="default", cfg=cfg, clock=lambda: clock[0])
    app = web.Application()
    bot = teams.mount(app, Settings(), engine, conv)
    bot.clock = lambda: clock[0]
    url = connector.url
    dana_at = {"user": "29:dana", "aad": "aad-dana", "name": "Dana Reed", "conversation": "a:dana"}
    priya_at = {"user": "29:priya", "aad": "aad-priya", "name": "Priya Shah", "conversation": "a:priya"}

    async with TestClient(TestServer(app)) as client:
        async def post(body: dict[str, Any], status: int) -> Any:
            resp = await client.post("/api/messages", json=body)
            assert resp.status == status, await resp.text()
            return await resp.json() if resp.content_type == "application/json" else None

        # 1. Dana installs the app: her reference is saved and she is greeted with what she may do.
        await post(tf.installation(url, **dana_at), 201)
        assert "import" in connector.cards("a:dana")[-1]["fallbackText"]

        # 2. She sends the plan file in the 1:1 chat: a preview with Confirm; Confirm imports it.
        connector.files["plan.md"] = SAMPLE.read_bytes()
        await post(tf.file_message(url, "Anytown plan.md", url + "files/plan.md", **dana_at), 201)
        preview = connector.cards("a:dana")[-1]
        confirm = find_action(preview, "confirm_import")
        done = await post(tf.execute(url, confirm["data"], **dana_at), 200)
        assert done["statusCode"] == 200
        with Session(engine) as s:
            plan = s.exec(select(Plan)).one()
            priya = s.exec(select(Person).where(Person.display_name == "Priya Shah")).one()
            assert priya.teams_user_id is None

        # 3. Priya installs the app; Dana maps the lead officer "Priya Shah" to her Teams account.
        await post(tf.installation(url, **priya_at), 201)
        mapping = tf.message(url, 'map "Priya Shah" <at>Priya Shah</at>', **dana_at)
        mapping["entities"].append({"type": "mention", "text": "<at>Priya Shah</at>", "mentioned": {"id": "29:priya", "name": "Priya Shah"}})
        await post(mapping, 201)
        assert "linked to their chat account" in connector.cards("a:dana")[-1]["fallbackText"]
        with Session(engine) as s:
            assert s.get(Person, priya.id).teams_user_id == "29:priya"  # type: ignore[union-attr]

        # 4. The worker nudges Priya proactively through her stored conversation reference.
        clock[0] = LATER
        plan_and_run(engine, LATER, cfg)
        port = teams.TeamsPort(engine, teams.auth_from(Settings()))
        sent = await eng.deliver(engine, {"teams": port}, now=LATER, worker="w1")
        assert sent >= 1
        nudge = connector.cards("a:priya")[-1]
        assert "Priya" in nudge["fallbackText"]
        nudge_post = [s for s in connector.sent if s.conversation == "a:priya"][-1]
        assert nudge_post.activity_id is None  # proactive: a new message, not a reply

        # 5. Update opens the form in place; submitting it replaces the card with what was recorded.
        update = find_action(nudge, "open_update")
        form = (await post(tf.execute(url, update["data"], reply_to="act-nudge", **priya_at), 200))["value"]
        inputs = {b["id"]: b for b in form["body"] if b.get("id")}
        assert {"status", "rag", "progress", "revised_target", "evidence"} <= set(inputs)
        assert inputs["rag"].get("value")  # the suggested RAG is preselected
        submit = find_action(form, "submit_update")
        typed = {"status": "in_progress", "rag": "G", "progress": "Dip sampling running weekly since 2 Nov",
                 "revised_target": "", "reason": "", "evidence": "https://intranet.example/ev/11"}
        answer = await post(tf.execute(url, submit["data"] | typed, reply_to="act-nudge", **priya_at), 200)
        assert answer["type"] == "application/vnd.microsoft.card.adaptive"
        replaced = answer["value"]["fallbackText"]
        assert "Recorded" in replaced and "Priya Shah" in replaced
        assert not [c for c in connector.cards("a:priya") if "Recorded" in c["fallbackText"]]  # shown in place, not posted again

        # 6. The register has the update, from Teams.
        with Session(engine) as s:
            ups = s.exec(select(Update).join(Action, Action.id == Update.action_id)
                         .where(Action.plan_id == plan.id, Update.channel == "teams")).all()
            assert [(u.text, u.evidence) for u in ups] == [("Dip sampling running weekly since 2 Nov", ["https://intranet.example/ev/11"])]

        # 7. The bot is added to the leadership channel; Dana points the plan's digest there and sends it.
        await post(tf.members_added(url, conversation=LEADERS, user="29:dana", aad="aad-dana", name="Dana Reed"), 201)
        in_channel = {**dana_at, "conversation": LEADERS, "conversation_type": "channel"}
        await post(tf.message(url, f"set {plan.slug} channel here", **in_channel), 201)
        with Session(engine) as s:
            assert s.get(Plan, plan.id).digest_channels == [f"teams:{LEADERS}"]  # type: ignore[union-attr]
        await post(tf.message(url, f"digest {plan.slug} send", **in_channel), 201)
        await eng.deliver(engine, {"teams": port}, now=LATER, worker="w1")
        await port.close()  # it keeps an HTTP session
        (digest,) = [c for c in connector.cards(LEADERS) if "— weekly digest" in c["fallbackText"]]
        assert "Children's Services Improvement Plan" in digest["fallbackText"]
        (post_,) = [p for p in connector.sent if p.conversation == LEADERS and digest in [a["content"] for a in p.activity["attachments"]]]
        assert post_.activity_id is None  # posted proactively as a new message in the channel
        (chart,) = [n for n in digest["body"] if n["type"] == "Image"]  # the chart, shrunk to fit inside the card
        assert chart["url"].startswith("data:image/png;base64,")
        check(digest)
