"""The outbox through the Slack port against the fake Web API: a target Slack cannot reach is
given up on and reported to the plan owner; different targets go out concurrently, each
target's messages in order."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.services import engine as eng
from cards.view import Card, Line
from handlers.slack import SlackPort, build_client
from storage import schedule
from storage.db import session_scope
from storage.tables import Outbox
from tests.fakes.slack_api import TOKEN, FakeSlack
from tests.fakes.slack_requests import text_of
from tests.test_engine import MON, Reg


def outbox(engine) -> list[Outbox]:
    with session_scope(engine) as s:
        return list(s.exec(select(Outbox).order_by(Outbox.id)))


async def test_an_unreachable_lead_is_reported_to_the_plan_owner_once_and_not_retried(engine, session):
    reg = Reg(session)
    owner = reg.person("Olive Owner", slack_user_id="UOWNER")
    lead = reg.person("Lee Left", slack_user_id="ULEFT")
    plan = reg.plan("ILACS", slug="ilacs", owner_id=owner.id)
    reg.action(plan, "2.4", owner=lead)
    reg.commit()
    with session_scope(engine) as s:
        schedule.enqueue_message(s, org_id=reg.org.id, key="nudge:x", platform="slack", target="ULEFT", person_id=lead.id,
                                 screen="nudge", view=Card(screen="nudge", title=Line.of("Hello Lee")).to_dict(), now=MON)
    fake = FakeSlack()
    await fake.start()
    port = SlackPort(build_client(TOKEN, fake.api_url))
    try:
        fake.add_user("UOWNER", name="Olive")
        fake.add_user("ULEFT", name="Lee", deleted=True)  # left the council: account_inactive
        assert await eng.deliver(engine, {"slack": port}, now=MON, worker="w") == 0
        nudge, report = outbox(engine)
        assert nudge.status == "failed" and "account_inactive" in nudge.last_error
        assert (report.screen, report.platform, report.target, report.status) == ("undeliverable", "slack", "UOWNER", "pending")
        assert await eng.deliver(engine, {"slack": port}, now=MON, worker="w") == 1
        (posted,) = fake.posts("DUOWNER")
        assert "Lee Left" in text_of(posted["blocks"]) and "account_inactive" in text_of(posted["blocks"])
        assert len(outbox(engine)) == 2  # the failed nudge is not retried, nor reported twice
        assert fake.posts("DULEFT") == []
    finally:
        await port.close()
        await fake.stop()


async def test_a_failed_report_is_not_reported_again(engine, session):
    reg = Reg(session)
    owner = reg.person("Olive Owner", slack_user_id="UGONE")
    plan = reg.plan("ILACS", slug="ilacs", owner_id=owner.id, digest_channels=["slack:CARCHIVED"])
    reg.commit()
    with session_scope(engine) as s:
        schedule.enqueue_message(s, org_id=reg.org.id, key=f"digest:{plan.id}:2026-11-23:slack:CARCHIVED", platform="slack",
                                 target="CARCHIVED", screen="digest", view=Card(screen="digest", title=Line.of("Digest")).to_dict(), now=MON)
    fake = FakeSlack()
    await fake.start()
    port = SlackPort(build_client(TOKEN, fake.api_url))
    try:
        fake.channel_errors["CARCHIVED"] = "is_archived"
        await eng.deliver(engine, {"slack": port}, now=MON, worker="w")
        digest, report = outbox(engine)
        assert digest.status == "failed" and report.target == "UGONE" and report.screen == "undeliverable"
        await eng.deliver(engine, {"slack": port}, now=MON, worker="w")  # the owner is unknown to Slack too
        assert [m.status for m in outbox(engine)] == ["failed", "failed"]
    finally:
        await port.close()
        await fake.stop()


async def test_targets_go_out_concurrently_and_each_targets_messages_in_order(engine, session):
    reg = Reg(session)
    reg.commit()
    with session_scope(engine) as s:
        for i in range(6):
            schedule.enqueue_message(s, org_id=reg.org.id, key=f"m{i}", platform="slack", target=f"C{i % 3}", screen="notice",
                                     view=Card(screen="notice", title=Line.of(f"message {i}")).to_dict(), now=MON)
    fake = FakeSlack(per_channel_rate=1.0)
    await fake.start()
    port = SlackPort(build_client(TOKEN, fake.api_url), per_channel=1.0, workspace=50)
    try:
        assert await eng.deliver(engine, {"slack": port}, now=MON, worker="w") == 6
        for c in range(3):
            assert [m["text"] for m in fake.posts(f"C{c}")] == [f"message {c}", f"message {c + 3}"]
        assert fake.rejected_429 == 0
        assert {m.status for m in outbox(engine)} == {"sent"}
        first = {c.args["channel"]: c.at for c in fake.called("chat.postMessage")[:3]}
        assert len(first) == 3  # the first message of each channel went before any channel's second
    finally:
        await port.close()
        await fake.stop()


async def test_a_message_retaken_from_a_dead_worker_is_not_posted_twice(engine, session):
    """The first worker posted the message and died before recording it: the next worker finds
    the post by its outbox tag (message metadata) and records it instead of posting again."""
    from datetime import timedelta

    reg = Reg(session)
    reg.commit()
    card = Card(screen="notice", title=Line.of("once only"))
    with session_scope(engine) as s:
        schedule.enqueue_message(s, org_id=reg.org.id, key="nudge:7:2026-11-23", platform="slack", target="U1", screen="nudge",
                                 view=card.to_dict(), now=MON)
        (_claimed,) = schedule.claim_messages(s, worker="dead", now=MON, platforms=("slack",))
    fake = FakeSlack()
    await fake.start()
    port = SlackPort(build_client(TOKEN, fake.api_url))
    try:
        fake.add_user("U1")
        first = await port.send_once("U1", card, key="nudge:7:2026-11-23")  # what the dead worker got through
        assert await eng.deliver(engine, {"slack": port}, now=MON + timedelta(minutes=1), worker="w2") == 0  # its lease holds
        assert await eng.deliver(engine, {"slack": port}, now=MON + timedelta(minutes=3), worker="w2") == 1
        (row,) = outbox(engine)
        assert row.status == "sent" and row.platform_ref == first.ref and row.attempts == 2
        assert len(fake.posts("DU1")) == 1
        # a message that never got through is posted on its retry
        again = await port.send_once("U1", Card(screen="notice", title=Line.of("other")), key="other", again=True)
        assert len(fake.posts("DU1")) == 2 and again.ref != first.ref
    finally:
        await port.close()
        await fake.stop()


def test_the_lease_is_a_setting():
    from datetime import timedelta

    from bot.config import Settings

    assert Settings().engine_config().lease == timedelta(minutes=2)
    assert Settings(ACTIONBOT_LEASE_SECONDS=20).engine_config().lease == timedelta(seconds=20)


@pytest.mark.parametrize("history_scope", [True, False])
async def test_a_channel_digest_retaken_from_a_dead_worker_is_posted_once(engine, session, tmp_path, caplog, history_scope):
    """The weekly digest's worker posted it to the leadership channel and died before recording
    it. The next worker, once the lease has run out, looks for it in the channel's history by
    its outbox tag (channels:history, in the manifest; 250 messages of chatter since, so a page
    further back) and records it: the channel holds one digest. Installed without that scope,
    the app says so and posts (at least once, never lost)."""
    import logging
    from datetime import UTC, datetime, timedelta

    from tests.fakes.slack_api import manifest_scopes

    reg = Reg(session)
    owner = reg.person("Olive Owner", slack_user_id="UOWNER")
    lead = reg.person("Sam Stale")
    plan = reg.plan("ILACS", slug="ilacs", digest_channels=["slack:C0LEAD"], owner_id=owner.id)
    for i in range(12):
        reg.action(plan, f"1.{i}", owner=lead, text=f"Action {i}")
    reg.commit()
    cfg = eng.EngineConfig(chart_dir=tmp_path / "charts")
    digest_at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 09:00 in London
    with session_scope(engine) as s:
        eng.plan_jobs(s, now=digest_at, cfg=cfg)
    eng.run_due_jobs(engine, now=digest_at, worker="w", cfg=cfg)
    with session_scope(engine) as s:
        claimed = schedule.claim_messages(s, worker="dead", now=digest_at, platforms=("slack",))
        (row,) = [m for m in claimed if m.target == "C0LEAD"]
        key, view = row.key, row.view
    assert key.startswith("digest:") and len(claimed) == 2  # the channel's digest and the owner's private copy

    scopes = set(manifest_scopes()) if history_scope else set(manifest_scopes()) - {"channels:history"}
    fake = FakeSlack(scopes=scopes)
    await fake.start()
    port = SlackPort(build_client(TOKEN, fake.api_url))
    try:
        fake.add_user("UOWNER", name="Olive")
        first = await port.send_once("C0LEAD", Card.from_dict(view), key=key)  # what the dead worker got through
        for i in range(250):
            fake.m_chat_postMessage({"channel": "C0LEAD", "text": f"chatter {i}"})
        with caplog.at_level(logging.WARNING, logger="actionbot.slack"):
            assert await eng.deliver(engine, {"slack": port}, now=digest_at + timedelta(minutes=1), worker="w2") == 0  # the lease holds
            assert await eng.deliver(engine, {"slack": port}, now=digest_at + schedule.LEASE + timedelta(seconds=1), worker="w2") == 2
        digests = [m for m in fake.posts("C0LEAD") if not m.get("thread_ts") and (m.get("metadata") or {}).get("event_payload", {}).get("key") == key]
        (channel_row,) = [m for m in outbox(engine) if m.target == "C0LEAD"]
        assert channel_row.status == "sent" and channel_row.attempts == 2
        assert len(fake.posts("DUOWNER")) >= 1  # the owner's copy, never sent before, went once looked for
        if history_scope:
            assert len(digests) == 1 and channel_row.platform_ref == first.ref
            assert not [r for r in caplog.records if "history" in r.getMessage()]
        else:
            assert len(digests) == 2 and channel_row.platform_ref != first.ref
            (warning,) = [r for r in caplog.records if "cannot read C0LEAD's history" in r.getMessage()]
            assert "missing_scope" in warning.getMessage() and "channels:history" in warning.getMessage()
    finally:
        await port.close()
        await fake.stop()
