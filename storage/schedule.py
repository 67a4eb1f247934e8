"""The database is the schedule: jobs and outgoing messages as rows, claimed atomically.

- ``enqueue_job`` / ``enqueue_message`` insert with ON CONFLICT (key) DO NOTHING: planning the
  same nudge twice, from one process or two, leaves one row.
- ``claim_jobs`` / ``claim_messages`` take due rows with ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL (SQLite takes its write lock at BEGIN, so claims there are serial anyway) and
  lease them to a worker. A worker killed mid-run loses nothing: its lease expires and the
  next claimer takes the row again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from storage.tables import Job, Outbox

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8


def _insert_ignore(session: Session, table: type, values: dict[str, Any]) -> bool:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":  # imported here: the PostgreSQL dialect costs a SQLite command a third of a second
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        ins: Any = pg_insert(table).values(**values)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        ins = sqlite_insert(table).values(**values)
    # RETURNING, not rowcount: with implicit RETURNING psycopg reports rowcount -1 (truthy)
    # whether or not the row was inserted.
    result = session.execute(ins.on_conflict_do_nothing(index_elements=["key"]).returning(table.id))  # type: ignore[attr-defined]
    return result.first() is not None


def enqueue_job(session: Session, *, org_id: int, key: str, kind: str, due_at: datetime, payload: dict[str, Any], now: datetime) -> bool:
    """True if this call created the job (False: it was already planned)."""
    return _insert_ignore(session, Job, {"org_id": org_id, "key": key, "kind": kind, "due_at": due_at, "payload": payload,
                                         "status": "pending", "created_at": now, "last_error": "", "claimed_by": "", "attempts": 0})


def enqueue_message(
    session: Session, *, org_id: int, key: str, platform: str, target: str, screen: str, view: dict[str, Any],
    now: datetime, person_id: int | None = None,
) -> bool:
    """Queue a message in the caller's transaction; True if new (False: already queued)."""
    return _insert_ignore(session, Outbox, {"org_id": org_id, "key": key, "platform": platform, "target": target, "person_id": person_id,
                                            "screen": screen, "view": view, "status": "pending", "next_attempt_at": now, "created_at": now,
                                            "attempts": 0, "claimed_by": "", "platform_ref": "", "last_error": ""})


def _locking(session: Session, q: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return q.with_for_update(skip_locked=True)
    return q


def claim_jobs(session: Session, *, worker: str, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[Job]:
    """Due jobs, and jobs whose worker's lease ran out, leased to `worker` (in the caller's
    transaction: commit to make the claim visible)."""
    q = (
        select(Job)
        .where(or_(and_(col(Job.status) == "pending", col(Job.due_at) <= now), and_(col(Job.status) == "running", col(Job.lease_until) < now)))
        .order_by(col(Job.due_at), col(Job.id))
        .limit(limit)
    )
    rows = list(session.exec(_locking(session, q)))
    for j in rows:
        j.status, j.claimed_by, j.lease_until, j.attempts = "running", worker, now + lease, j.attempts + 1
        session.add(j)
    session.flush()
    return rows


def finish_job(session: Session, job: Job, *, now: datetime) -> None:
    job.status, job.done_at, job.lease_until = "done", now, None
    session.add(job)


def reschedule_job(session: Session, job: Job, *, due_at: datetime, note: str = "") -> None:
    job.status, job.due_at, job.lease_until, job.last_error = "pending", due_at, None, note
    session.add(job)


def fail_job(session: Session, job: Job, *, now: datetime, error: str) -> None:
    if job.attempts >= MAX_ATTEMPTS:
        job.status = "failed"
    else:
        job.status, job.due_at = "pending", now + backoff(job.attempts)
    job.last_error, job.lease_until = error[:2000], None
    session.add(job)


def claim_messages(
    session: Session, *, worker: str, now: datetime, platforms: tuple[str, ...], limit: int = 20, lease: timedelta = LEASE,
    person_id: int | None = None,
) -> list[Outbox]:
    q = select(Outbox).where(
        col(Outbox.platform).in_(platforms),
        or_(
            and_(col(Outbox.status) == "pending", col(Outbox.next_attempt_at) <= now),
            and_(col(Outbox.status) == "sending", col(Outbox.lease_until) < now),
        ),
    )
    if person_id is not None:
        q = q.where(Outbox.person_id == person_id)
    rows = list(session.exec(_locking(session, q.order_by(col(Outbox.id)).limit(limit))))
    for m in rows:
        m.status, m.claimed_by, m.lease_until, m.attempts = "sending", worker, now + lease, m.attempts + 1
        session.add(m)
    session.flush()
    return rows


def extend_leases(session: Session, ids: list[int], *, worker: str, until: datetime) -> int:
    """Keep messages `worker` claimed and still holds (waiting their turn to be sent) its own
    until `until`. Rows another worker has taken meanwhile are left alone."""
    from sqlalchemy import update

    result = session.execute(update(Outbox).where(col(Outbox.id).in_(ids), col(Outbox.claimed_by) == worker,
                                                  col(Outbox.status) == "sending").values(lease_until=until))
    return int(getattr(result, "rowcount", 0) or 0)


def release(session: Session, ids: list[int], *, worker: str) -> int:
    """Give back messages `worker` claimed but never tried to send (it is stopping): pending
    again at once, their attempt not counted."""
    from sqlalchemy import update

    result = session.execute(update(Outbox).where(col(Outbox.id).in_(ids), col(Outbox.claimed_by) == worker,
                                                  col(Outbox.status) == "sending")
                             .values(status="pending", lease_until=None, claimed_by="", attempts=col(Outbox.attempts) - 1))
    return int(getattr(result, "rowcount", 0) or 0)


def mark_sent(session: Session, msg: Outbox, *, now: datetime, platform_ref: str = "") -> None:
    msg.status, msg.sent_at, msg.platform_ref, msg.lease_until = "sent", now, platform_ref, None
    session.add(msg)


def mark_retry(session: Session, msg: Outbox, *, now: datetime, error: str, retry_after: float | None = None, permanent: bool = False) -> None:
    """A send that failed: retried later with backoff (or after the platform's Retry-After), or
    given up on when permanent (e.g. the user is not reachable) or after MAX_ATTEMPTS."""
    msg.last_error, msg.lease_until = error[:2000], None
    if permanent or msg.attempts >= MAX_ATTEMPTS:
        msg.status = "failed"
    else:
        msg.status = "pending"
        msg.next_attempt_at = now + (timedelta(seconds=retry_after) if retry_after else backoff(msg.attempts))
    session.add(msg)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


def waiting_by_platform(session: Session, *, except_platforms: tuple[str, ...]) -> dict[str, int]:
    """How many outbox messages are still to send, by platform, for platforms other than these."""
    q = (
        select(Outbox.platform, func.count())
        .where(col(Outbox.status).in_(("pending", "sending")), col(Outbox.platform).not_in(except_platforms))
        .group_by(col(Outbox.platform))
    )
    return {platform: n for platform, n in session.execute(q)}
