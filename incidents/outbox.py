"""The transactional outbox: chat effects are rows written with the change, delivered after commit."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from incidents.clock import utcnow
from incidents.tables import ChatBinding, OutboxMessage

OP_OPEN_THREAD = "open_thread"
OP_POST = "post"
OP_UPDATE_HEADER = "update_header"
OP_EDIT = "edit"
# The key suffix of a post that is never edited later (the notifier's default); with header updates
# and edits, such rows are never looked up again once delivered, so retention may delete them.
ONE_OFF_POST = "post:"


def enqueue(
    session: Session, *, incident_id: int, platform: str, op: str, payload: dict[str, Any], key: str
) -> OutboxMessage:
    """Add one delivery for one platform; ``key`` makes the same effect impossible to enqueue twice."""
    row = OutboxMessage(incident_id=incident_id, platform=platform, op=op, payload=payload, idempotency_key=key)
    session.add(row)
    return row


def due(session: Session, *, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """Pending rows whose time has come, oldest first.

    Only the oldest pending row of each (incident, platform) stream is due, so a thread never
    receives a message before the one written ahead of it.
    """
    pending = session.exec(
        select(OutboxMessage).where(OutboxMessage.status == "pending").order_by(col(OutboxMessage.id)).limit(limit * 5)
    ).all()
    heads: dict[tuple[int, str], OutboxMessage] = {}
    for row in pending:
        heads.setdefault((row.incident_id, row.platform), row)
    return [row for row in heads.values() if row.next_attempt_at <= now][:limit]


def mark_sent(session: Session, row: OutboxMessage) -> None:
    row.status, row.sent_at, row.last_error = "sent", utcnow(), None
    session.add(row)


def mark_failed(session: Session, row: OutboxMessage, *, error: str, retry_in: float, max_attempts: int) -> None:
    """Back off and retry later; after ``max_attempts`` the row is parked as dead for an operator."""
    row.attempts += 1
    row.last_error = error[:2000]
    if row.attempts >= max_attempts:
        row.status = "dead"
    row.next_attempt_at = utcnow() + timedelta(seconds=retry_in)
    session.add(row)


def binding(session: Session, *, incident_id: int, platform: str) -> ChatBinding | None:
    return session.exec(
        select(ChatBinding).where(ChatBinding.incident_id == incident_id, ChatBinding.platform == platform)
    ).first()


def binding_for_thread(session: Session, *, platform: str, thread_native: str) -> ChatBinding | None:
    return session.exec(
        select(ChatBinding).where(ChatBinding.platform == platform, ChatBinding.thread_native == thread_native)
    ).first()


def sent_ref(session: Session, *, key: str) -> str | None:
    """The platform ref of a delivered outbox row, for edits."""
    row = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first()
    return row.message_native if row else None


def delivered_one_off(*, sent_before: datetime) -> ColumnElement[bool]:
    """Rows delivered before ``sent_before`` that nothing refers to any more: header updates, edits and
    one-off posts. Opened threads and posts that may be edited (step and action cards) are not among them."""
    one_off = or_(col(OutboxMessage.op).in_([OP_UPDATE_HEADER, OP_EDIT]),
                  and_(col(OutboxMessage.op) == OP_POST,
                       col(OutboxMessage.idempotency_key).contains(f":{ONE_OFF_POST}")))
    return and_(col(OutboxMessage.status) == "sent", col(OutboxMessage.sent_at) < sent_before, one_off)
