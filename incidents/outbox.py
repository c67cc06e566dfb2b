"""The transactional outbox: chat effects are rows written with the change, delivered after commit.

A row is ``pending`` until its turn, ``sending`` while (or, after a crash, *maybe*) at the platform,
then ``sent``; a row the platform refused, or that failed more often than the retry budget allows,
is parked as ``dead`` (a dead letter an admin can send again). Rate-limit waits are not failures.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from incidents import appends, audit
from incidents.actors import Actor
from incidents.clock import utcnow
from incidents.tables import ChatBinding, OutboxMessage

OP_OPEN_THREAD = "open_thread"
OP_POST = "post"
OP_UPDATE_HEADER = "update_header"
OP_EDIT = "edit"
# The key suffix of a post that is never edited later (the notifier's default); with header updates
# and edits, such rows are never looked up again once delivered, so retention may delete them.
ONE_OFF_POST = "post:"

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"
_LIVE = (PENDING, SENDING)


PLATFORMS_WRITTEN = "wareroom.outbox_platforms"  # session.info key: platforms of kept rows (integrations.outbox_wake)


def enqueue(
    session: Session, *, incident_id: int, platform: str, op: str, payload: dict[str, Any], key: str
) -> OutboxMessage:
    """Add one delivery for one platform, after those ``append`` kept; ``key`` makes the same effect impossible
    to enqueue twice."""
    if appends.waiting(session, OutboxMessage):
        appends.write(session, OutboxMessage)
    row = OutboxMessage(incident_id=incident_id, platform=platform, op=op, payload=payload, idempotency_key=key)
    session.add(row)
    return row


def append(session: Session, *, incident_id: int, platform: str, op: str, payload: dict[str, Any], key: str,
           now: datetime | None = None) -> None:
    """``enqueue`` without an ORM object: the row is kept and inserted with the transaction's other kept rows
    (``incidents.appends``: one INSERT for all of them), in order; due at ``now`` (default: the clock)."""
    at = now or utcnow()
    session.info.setdefault(PLATFORMS_WRITTEN, set()).add(platform)
    appends.add(session, OutboxMessage, {
        "incident_id": incident_id, "platform": platform, "op": op, "payload": payload, "idempotency_key": key,
        "status": PENDING, "attempts": 0, "next_attempt_at": at, "last_error": None, "created_at": at,
        "sent_at": None, "message_native": None})


class Lane(StrEnum):
    """The two delivery lanes of a platform, each with its own order.

    ``THREAD``: the thread's messages (opening, posts, edits of posted cards), one at a time in the order
    written. ``HEADER``: edits of the thread's header (the incident card): only the newest is sent, as soon
    as the thread is open, without waiting behind the thread's posts (an acknowledgement shows at once
    even where a rate limit holds the posts back).
    """

    THREAD = "thread"
    HEADER = "header"


def _candidates(platform: str, lane: Lane) -> SelectOfScalar[OutboxMessage]:
    """The rows that may go next in ``lane``, whatever their time: the head of each thread, or the newest
    header update of each thread whose opening is no longer live."""
    live = (OutboxMessage.platform == platform, col(OutboxMessage.status).in_(_LIVE))
    if lane is Lane.THREAD:
        heads = (select(func.min(OutboxMessage.id)).where(*live, OutboxMessage.op != OP_UPDATE_HEADER)
                 .group_by(col(OutboxMessage.incident_id)))
        return select(OutboxMessage).where(col(OutboxMessage.id).in_(heads))
    newest = (select(func.max(OutboxMessage.id)).where(*live, OutboxMessage.op == OP_UPDATE_HEADER)
              .group_by(col(OutboxMessage.incident_id)))
    opening = aliased(OutboxMessage)
    still_opening = (select(opening.id).where(opening.incident_id == OutboxMessage.incident_id,
                                              opening.platform == platform, opening.op == OP_OPEN_THREAD,
                                              col(opening.status).in_(_LIVE)).exists())
    return select(OutboxMessage).where(col(OutboxMessage.id).in_(newest), ~still_opening)


def due(session: Session, *, now: datetime, platform: str, lane: Lane = Lane.THREAD,
        limit: int = 100) -> list[OutboxMessage]:
    """The rows of ``platform``'s ``lane`` whose time has come, oldest first (see ``Lane``).

    In the thread lane only the oldest live row of each (incident, platform) stream is due, so a thread
    never receives a message before the one written ahead of it; a row parked as dead no longer holds
    its stream. In the header lane, the newest header update of each stream whose thread is open.
    """
    return list(session.exec(_candidates(platform, lane).where(OutboxMessage.next_attempt_at <= now)
                             .order_by(col(OutboxMessage.id)).limit(limit)).all())


def next_due(session: Session, *, platform: str, lane: Lane) -> datetime | None:
    """When the next row of ``platform``'s ``lane`` becomes due (maybe already past); None: nothing live."""
    rows = _candidates(platform, lane).subquery()
    return session.exec(select(func.min(rows.c.next_attempt_at))).first()


def supersede(session: Session, newest: OutboxMessage) -> int:
    """Mark the live header updates of ``newest``'s stream written before it as sent: an edit replaces
    the whole header, so only the newest is sent. Returns how many were superseded."""
    older = list(session.exec(select(OutboxMessage).where(
        OutboxMessage.incident_id == newest.incident_id, OutboxMessage.platform == newest.platform,
        OutboxMessage.op == OP_UPDATE_HEADER, col(OutboxMessage.status).in_(_LIVE),
        col(OutboxMessage.id) < (newest.id or 0)).with_for_update(skip_locked=True)).all())
    for row in older:
        row.status, row.sent_at, row.last_error = SENT, utcnow(), f"superseded by row {newest.id}: not sent"
        session.add(row)
    return len(older)


def claim(session: Session, *, row_id: int) -> OutboxMessage | None:
    """Lock row ``row_id`` for this transaction if it is still live and no other transaction holds it
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite ignores the clause: it has one writer); else None."""
    return session.exec(select(OutboxMessage).where(OutboxMessage.id == row_id, col(OutboxMessage.status).in_(_LIVE))
                        .with_for_update(skip_locked=True)).first()


def mark_sending(session: Session, row: OutboxMessage) -> None:
    """Committed before the platform call: a row still ``sending`` after a crash may have been delivered."""
    row.status = SENDING
    session.add(row)


def mark_sent(session: Session, row: OutboxMessage, *, native: str, note: str | None = None) -> None:
    """Delivered; ``note`` says how, when it was not the plain way (an edit sent as a post, a recovery)."""
    row.status, row.sent_at, row.message_native, row.last_error = SENT, utcnow(), native, note
    session.add(row)


def mark_waiting(session: Session, row: OutboxMessage, *, reason: str, retry_in: float, now: datetime) -> None:
    """The platform asked to wait (a rate limit): retried then, without counting a failure."""
    row.status, row.last_error = PENDING, reason[:2000]
    row.next_attempt_at = now + timedelta(seconds=retry_in)
    session.add(row)


def mark_failed(
    session: Session, row: OutboxMessage, *, error: str, retry_in: float, max_attempts: int, now: datetime
) -> None:
    """Back off and retry later; after ``max_attempts`` failures the row is parked as dead for an operator."""
    row.attempts += 1
    row.last_error = error[:2000]
    row.status = DEAD if row.attempts >= max_attempts else PENDING
    row.next_attempt_at = now + timedelta(seconds=retry_in)
    session.add(row)


def park(session: Session, row: OutboxMessage, *, error: str) -> None:
    """The platform refused the row: retrying the same request cannot help, so later rows go on without it."""
    row.attempts += 1
    row.status, row.last_error = DEAD, error[:2000]
    session.add(row)


def dead_letters(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """Parked rows, newest first."""
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.status == DEAD)
                             .order_by(col(OutboxMessage.id).desc()).limit(limit)).all())


class NotParked(LookupError):
    """The row does not exist or is not a dead letter."""


def retry(session: Session, *, row_id: int, actor: Actor) -> OutboxMessage:
    """Send a dead letter again now, with a fresh retry budget; audited. Raises NotParked."""
    row = session.get(OutboxMessage, row_id)
    if row is None or row.status != DEAD:
        raise NotParked(f"outbox row {row_id} is not a dead letter")
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    row.status, row.attempts, row.next_attempt_at = PENDING, 0, utcnow()
    session.add(row)
    audit.record(session, action="outbox.retried", actor=actor, incident_id=row.incident_id, object_type="outbox",
                 object_id=str(row_id), before=before, after={"status": PENDING, "platform": row.platform})
    return row


def binding(session: Session, *, incident_id: int, platform: str) -> ChatBinding | None:
    return session.exec(
        select(ChatBinding).where(ChatBinding.incident_id == incident_id, ChatBinding.platform == platform)
    ).first()


def binding_for_thread(session: Session, *, platform: str, thread_native: str) -> ChatBinding | None:
    return session.exec(
        select(ChatBinding).where(ChatBinding.platform == platform, ChatBinding.thread_native == thread_native)
    ).first()


def delivered_one_off(*, sent_before: datetime) -> ColumnElement[bool]:
    """Rows delivered before ``sent_before`` that nothing refers to any more: header updates, edits and
    one-off posts. Opened threads and posts that may be edited (step and action cards) are not among them."""
    one_off = or_(col(OutboxMessage.op).in_([OP_UPDATE_HEADER, OP_EDIT]),
                  and_(col(OutboxMessage.op) == OP_POST,
                       col(OutboxMessage.idempotency_key).contains(f":{ONE_OFF_POST}")))
    return and_(col(OutboxMessage.status) == "sent", col(OutboxMessage.sent_at) < sent_before, one_off)


def by_message_native(session: Session, *, platform: str, native: str) -> OutboxMessage | None:
    """The delivered row whose message is ``native`` on ``platform`` (a reaction or pin names only that)."""
    return session.exec(select(OutboxMessage).where(OutboxMessage.platform == platform,
                                                    OutboxMessage.message_native == native)
                        .order_by(col(OutboxMessage.id))).first()


def by_key(session: Session, *, key: str) -> OutboxMessage | None:
    """The row enqueued with idempotency key ``key``."""
    return session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first()


def opening(session: Session, *, incident_id: int, platform: str) -> OutboxMessage | None:
    """The row that opens the incident's thread on ``platform``."""
    return session.exec(select(OutboxMessage).where(
        OutboxMessage.incident_id == incident_id, OutboxMessage.platform == platform,
        OutboxMessage.op == OP_OPEN_THREAD).order_by(col(OutboxMessage.id))).first()
