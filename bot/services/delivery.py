"""Delivering the outbox through the chat ports.

Claims are short write transactions; sending happens outside any transaction; what happened
to each message is recorded afterwards, the results that came in meanwhile together in one
transaction. So a send never waits for the database's write lock and a claim never waits for
a send.

Two ways to use it:

- ``deliver``: one pass (claim up to `limit` messages, send them, record them), for a
  scheduler round, ``worker --once`` and tests;
- ``Deliverer.run``: a sender that keeps going, claiming more before it runs dry (so the
  ports' pacing, not the rounds, sets the pace), extending the leases of what it holds but has
  not sent yet, and waking when a job queues messages or a retry falls due.

Messages to different targets go out concurrently (each port paces itself under its
platform's limits); one target's messages go in order. A permanent failure (the person or
channel cannot be reached) is not retried: the plan owner is told instead.

Deliberately light to import (no planning, no cards but the view): ``actionbot worker``
starts sending while the rest of the engine is still being imported.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.ports import ChatPort, DeliveryError
from cards.view import Card
from storage import schedule
from storage.db import session_scope
from storage.tables import Outbox

log = logging.getLogger("actionbot.delivery")


@dataclass(frozen=True)
class Claimed:
    id: int
    platform: str
    target: str
    view: dict[str, Any]
    key: str
    attempts: int


@dataclass(frozen=True)
class Result:
    id: int
    ref: str | None = None  # sent: the platform's reference to it
    error: str = ""
    retry_after: float | None = None
    permanent: bool = False


class _Session:
    """The state shared by one pass or one long-running sender: per-target queues, the
    results waiting to be recorded."""

    def __init__(self, engine: Engine, ports: Mapping[str, ChatPort], *, worker: str, clock: Callable[[], datetime],
                 lease: timedelta) -> None:
        self.engine, self.ports, self.worker, self.clock, self.lease = engine, ports, worker, clock, lease
        self.queues: dict[tuple[str, str], deque[Claimed]] = {}
        self.runners: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.held: set[int] = set()  # claimed and not recorded yet
        self.sent = 0
        self.progress = asyncio.Event()  # a message was sent or failed
        self._results: list[tuple[Result, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    # --- the database -------------------------------------------------------------------------
    def _claim(self, limit: int) -> list[Claimed]:
        now = self.clock()
        with session_scope(self.engine) as s:
            if self.held:  # still ours and still to send: keep them ours
                schedule.extend_leases(s, list(self.held), worker=self.worker, until=now + self.lease)
            if limit <= 0:
                return []
            return [Claimed(m.id or 0, m.platform, m.target, m.view, m.key, m.attempts)
                    for m in schedule.claim_messages(s, worker=self.worker, now=now, platforms=tuple(self.ports), limit=limit,
                                                     lease=self.lease)]

    async def claim(self, limit: int) -> int:
        rows = await asyncio.to_thread(self._claim, limit)
        for r in rows:
            self.held.add(r.id)
            key = (r.platform, r.target)
            self.queues.setdefault(key, deque()).append(r)
            if key not in self.runners:
                self.runners[key] = asyncio.create_task(self._drain(key))
        return len(rows)

    def _write(self, results: list[Result]) -> None:
        from bot.services.engine import report_undeliverable

        now = self.clock()
        with session_scope(self.engine) as s:
            for r in results:
                m = s.get(Outbox, r.id)
                if m is None:
                    continue
                if r.ref is not None:
                    schedule.mark_sent(s, m, now=now, platform_ref=r.ref)
                else:
                    schedule.mark_retry(s, m, now=now, error=r.error, retry_after=r.retry_after, permanent=r.permanent)
                    if m.status == "failed":
                        report_undeliverable(s, m, now=now)

    async def record(self, result: Result) -> None:
        """Record one result; the results that arrive while a write is under way go together in
        the next one."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._results.append((result, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await fut

    async def _write_all(self) -> None:
        while self._results:
            batch, self._results = self._results, []
            try:
                await asyncio.to_thread(self._write, [r for r, _ in batch])
            except Exception as e:  # sent but not recorded: the lease runs out and the port is asked again (send_once)
                log.exception("recording %d delivery result(s) failed", len(batch))
                for _, f in batch:
                    if not f.done():
                        f.set_exception(e)
            else:
                for _, f in batch:
                    if not f.done():
                        f.set_result(None)

    # --- sending ------------------------------------------------------------------------------
    async def _send(self, m: Claimed) -> Result:
        port = self.ports[m.platform]
        try:
            send_once = getattr(port, "send_once", None)
            if send_once is not None:  # a port that can tell whether an earlier attempt got through
                sent = await send_once(m.target, Card.from_dict(m.view), key=m.key, again=m.attempts > 1)
            else:
                sent = await port.send(m.target, Card.from_dict(m.view))
        except DeliveryError as e:
            return Result(m.id, error=str(e), retry_after=e.retry_after, permanent=e.permanent)
        except Exception as e:  # not what a port should raise (a bug, a network error): retried with backoff
            log.exception("sending message %s through %s failed", m.id, m.platform)
            return Result(m.id, error=f"{type(e).__name__}: {e}")
        return Result(m.id, ref=sent.ref)

    async def _drain(self, key: tuple[str, str]) -> None:
        q = self.queues[key]
        try:
            while q:
                m = q[0]
                result = await self._send(m)
                try:
                    await self.record(result)
                except Exception:
                    pass  # logged by the writer; the message stays leased and is retaken later
                else:
                    self.sent += result.ref is not None
                finally:
                    q.popleft()
                    self.held.discard(m.id)
                    self.progress.set()
        finally:
            del self.runners[key]
            if not q:
                del self.queues[key]

    def outstanding(self) -> int:
        return len(self.held)

    async def finish(self) -> None:
        while self.runners:
            await asyncio.gather(*list(self.runners.values()), return_exceptions=True)


async def deliver(engine: Engine, ports: Mapping[str, ChatPort], *, now: datetime, worker: str, limit: int = 50,
                  lease: timedelta = schedule.LEASE) -> int:
    """One pass: claim up to `limit` due messages, send them, record what happened. Returns how
    many were sent."""
    if not ports:
        return 0
    run = _Session(engine, ports, worker=worker, clock=lambda: now, lease=lease)
    await run.claim(limit)
    await run.finish()
    return run.sent


class Deliverer:
    """A sender that keeps going (``actionbot worker``, the server's scheduler).

    It holds up to `batch` claimed messages: when half have gone it claims more, so the ports
    never wait for a round. Every claim also extends the leases of the messages it still holds,
    and it claims at least every third of a lease, so a message waiting its turn behind the
    platform's rate limit stays its own; a dead sender's messages are free again once their
    lease runs out. With nothing to send it sleeps until woken (``wake``: a job queued
    messages) or for `idle` seconds (a retry falls due, another process queued something)."""

    def __init__(self, engine: Engine, ports: Mapping[str, ChatPort], *, worker: str, clock: Callable[[], datetime],
                 lease: timedelta = schedule.LEASE, batch: int = 50, idle: float = 1.0) -> None:
        self.batch, self.idle = max(1, batch), idle
        self._run = _Session(engine, ports, worker=worker, clock=clock, lease=lease)
        self._woken = asyncio.Event()
        self._renew = max(0.5, lease.total_seconds() / 3)

    @property
    def sent(self) -> int:
        return self._run.sent

    def wake(self) -> None:
        self._woken.set()

    async def run(self) -> None:
        run = self._run
        if not run.ports:
            return
        loop = asyncio.get_running_loop()
        last_claim = dry_until = float("-inf")
        try:
            while True:
                t = loop.time()
                low = run.outstanding() <= self.batch // 2
                if (low and (t >= dry_until or self._woken.is_set())) or t - last_claim >= self._renew:
                    self._woken.clear()
                    want = self.batch - run.outstanding() if low else 0
                    try:
                        got = await run.claim(want)
                    except Exception:
                        log.exception("claiming outbox messages failed")
                        got = 0
                    last_claim = loop.time()
                    if got < want:  # nothing more due now: look again when woken or after `idle`
                        dry_until = last_claim + self.idle
                run.progress.clear()
                wait = self._renew - (loop.time() - last_claim)
                if run.outstanding() <= self.batch // 2:
                    wait = min(wait, max(0.0, dry_until - loop.time()))
                waiters = [asyncio.ensure_future(run.progress.wait()), asyncio.ensure_future(self._woken.wait())]
                try:
                    await asyncio.wait(waiters, timeout=max(0.0, wait), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waiters:
                        w.cancel()
        finally:
            # Stopping: what was never tried goes back at once (the head of each target's queue
            # may be on its way: that one waits for its lease, and the port checks before resending).
            unsent = [m.id for q in run.queues.values() for m in list(q)[1:]]
            for task in list(run.runners.values()):
                task.cancel()
            if unsent:
                try:
                    with session_scope(run.engine) as s:
                        schedule.release(s, unsent, worker=run.worker)
                except Exception:
                    log.exception("giving back %d unsent outbox message(s) failed; their leases will run out", len(unsent))
