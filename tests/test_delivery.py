"""The continuous sender (bot.services.delivery.Deliverer): it keeps a platform busy without
rounds, keeps what it holds leased while it waits its turn, gives back what it never tried
when it stops, and wakes for new messages. SQLite by default, PostgreSQL when configured."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.ports import Sent
from bot.services import engine as eng
from bot.services.delivery import Deliverer
from cards.view import Card, Line
from storage import repo, schedule
from storage.db import session_scope
from storage.tables import Outbox
from tests.test_engine import rows

MON = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def queue(engine: Engine, keys: range, *, at: datetime = MON, target: str | None = None) -> None:
    with session_scope(engine) as s:
        org = repo.get_or_create_org(s, "leeds")
        for i in keys:
            schedule.enqueue_message(s, org_id=org.id or 0, key=f"m{i}", platform="slack", target=target or f"U{i}", screen="notice",
                                     view=Card(screen="notice", title=Line.of(f"message {i}")).to_dict(), now=at)


class SlowPort:
    """A platform that takes `each` seconds a message, one at a time (a rate limit)."""

    platform = "slack"

    def __init__(self, each: float = 0.0) -> None:
        self.each, self.sent, self.gate = each, [], asyncio.Lock()
        self.stop_after: int | None = None
        self.stopped = asyncio.Event()

    async def send(self, target: str, card: Card) -> Sent:
        async with self.gate:
            await asyncio.sleep(self.each)
            self.sent.append(target)
            if self.stop_after is not None and len(self.sent) >= self.stop_after:
                self.stopped.set()
                await asyncio.Event().wait()  # hangs: the sender is stopped while it waits here
            return Sent(ref=f"ts-{len(self.sent)}")

    async def update(self, target: str, ref: str, card: Card) -> Sent:
        return await self.send(target, card)


async def until(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


async def test_the_sender_claims_more_before_it_runs_dry_and_holds_no_more_than_its_batch(engine):
    queue(engine, range(30))
    port = SlowPort(each=0.005)
    held: list[int] = []
    sender = Deliverer(engine, {"slack": port}, worker="w", clock=lambda: MON, batch=8, idle=0.05)
    original = sender._run.claim

    async def claim(limit: int) -> int:
        held.append(sender._run.outstanding() + limit)
        return await original(limit)

    sender._run.claim = claim  # type: ignore[method-assign]
    task = asyncio.create_task(sender.run())
    try:
        await until(lambda: len(port.sent) == 30 and sender.sent == 30)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(port.sent) == sorted(f"U{i}" for i in range(30))  # each once
    assert max(held) <= 8 and len([h for h in held if h > 0]) >= 4  # several claims of at most the batch
    assert {m.status for m in rows(engine, Outbox)} == {"sent"}


async def test_held_messages_stay_leased_while_they_wait_and_the_unsent_go_back_when_it_stops(engine):
    """A 5 s lease, messages that take longer than that to reach their turn: the sender keeps
    them its own (another worker claiming meanwhile gets nothing); stopped, it gives back what
    it never tried (what waits behind a message to the same person), at once and with the
    attempt not counted."""
    queue(engine, range(6), target="U1")
    clock = [MON]
    port = SlowPort()
    port.stop_after = 2  # the second send hangs (Slack is slow): four to the same person wait behind it
    sender = Deliverer(engine, {"slack": port}, worker="w", clock=lambda: clock[0], lease=timedelta(seconds=5), batch=6, idle=0.05)
    task = asyncio.create_task(sender.run())
    try:
        await asyncio.wait_for(port.stopped.wait(), 10)
        for _ in range(3):  # 30 s pass in 10 s steps; the sender renews what it holds meanwhile
            clock[0] += timedelta(seconds=10)
            before = {m.id: m.lease_until for m in rows(engine, Outbox, Outbox.status == "sending")}
            await until(lambda b=before: any(m.lease_until != b[m.id] for m in rows(engine, Outbox, Outbox.status == "sending")))
            with session_scope(engine) as s:
                assert schedule.claim_messages(s, worker="other", now=clock[0], platforms=("slack",)) == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    by_status: dict[str, list[Outbox]] = {}
    for m in rows(engine, Outbox):
        by_status.setdefault(m.status, []).append(m)
    assert len(by_status["sent"]) == 1  # the first went and was recorded
    (on_its_way,) = by_status["sending"]  # the one hanging at Slack: it may have got through, so it waits for its lease
    assert on_its_way.claimed_by == "w"
    assert len(by_status["pending"]) == 4 and all(m.attempts == 0 and m.claimed_by == "" for m in by_status["pending"])


async def test_a_sleeping_sender_wakes_for_new_messages(engine):
    port = SlowPort()
    sender = Deliverer(engine, {"slack": port}, worker="w", clock=lambda: MON, batch=10, idle=3600)
    task = asyncio.create_task(sender.run())
    try:
        await asyncio.sleep(0.2)  # found nothing; now asleep for an hour unless woken
        queue(engine, range(3))
        sender.wake()
        await until(lambda: sender.sent == 3, timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(port.sent) == ["U0", "U1", "U2"]


async def test_results_that_arrive_together_are_recorded_in_one_transaction(engine, monkeypatch):
    queue(engine, range(12))
    writes: list[int] = []
    from bot.services import delivery

    original = delivery._Session._write

    def write(self, results):  # type: ignore[no-untyped-def]
        writes.append(len(results))
        return original(self, results)

    monkeypatch.setattr(delivery._Session, "_write", write)
    assert await eng.deliver(engine, {"slack": SlowPort()}, now=MON, worker="w", limit=12) == 12
    assert sum(writes) == 12 and len(writes) < 12  # batched, and every result written
    assert {m.status for m in rows(engine, Outbox)} == {"sent"}


def test_planning_reads_without_the_write_lock(engine):
    """plan_and_run reads the register in a read-only transaction: a delivery recording its
    results meanwhile does not wait for it (on SQLite a writer would hold the lock throughout)."""
    import threading

    from bot.services import engine as e

    entered, release = threading.Event(), threading.Event()
    original = e.jobs_wanted

    def slow(session, **kw):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(10)
        return original(session, **kw)

    queue(engine, range(1))
    e_jobs = e.jobs_wanted
    try:
        e.jobs_wanted = slow  # type: ignore[assignment]
        t = threading.Thread(target=e.plan_and_run, args=(engine,), kwargs={"now": MON, "worker": "w"})
        t.start()
        assert entered.wait(10)
        with session_scope(engine) as s:  # a writer, while the round is reading
            (m,) = schedule.claim_messages(s, worker="x", now=MON, platforms=("slack",))
            schedule.mark_sent(s, m, now=MON)
        release.set()
        t.join(10)
    finally:
        e.jobs_wanted = e_jobs  # type: ignore[assignment]
        release.set()
    assert [m.status for m in rows(engine, Outbox)] == ["sent"]


async def test_the_servers_scheduler_sends_between_its_rounds(engine, capsys):
    """`serve` with rounds an hour apart: a message queued after the first round (an answer's
    update, a report) still goes within about a second, not at the next round."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import build_app
    from bot.config import Settings

    with session_scope(engine) as s:
        org = repo.get_or_create_org(s, "leeds")
        org_id = org.id or 0
    settings = Settings(ACTIONBOT_TICK_SECONDS=3600, ACTIONBOT_TEAMS=False)
    async with TestClient(TestServer(build_app(settings, engine, scheduler=True))):
        await asyncio.sleep(0.3)  # the first round has run; the next is an hour away
        with session_scope(engine) as s:
            schedule.enqueue_message(s, org_id=org_id, key="late", platform="console", target="7", screen="notice",
                                     view=Card(screen="notice", title=Line.of("queued between rounds")).to_dict(), now=datetime.now(UTC))
        await until(lambda: [m.status for m in rows(engine, Outbox)] == ["sent"], timeout=5)
    assert "queued between rounds" in capsys.readouterr().out
