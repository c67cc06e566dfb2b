"""Inbound dedup: a platform's retry, or a replay, of a request has no second effect."""

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from incidents.actors import Actor
from incidents.database import Database
from incidents.tables import ProcessedEvent

log = logging.getLogger(__name__)


class DuplicateEvent(Exception):
    """The platform delivered this event before; it has had its effect already."""


def remember(session: Session, dedupe_key: str | None, actor: Actor) -> None:
    """Record an inbound event id in the caller's transaction; a repeat raises DuplicateEvent.

    Two concurrent deliveries of the same id both pass the check; the primary key then makes
    the second transaction fail with IntegrityError, which callers treat as a duplicate too.
    """
    if not dedupe_key:
        return
    if session.get(ProcessedEvent, dedupe_key) is not None:
        raise DuplicateEvent(dedupe_key)
    session.add(ProcessedEvent(dedupe_key=dedupe_key, platform=actor.platform or "api"))
    session.flush()


def claim(db: Database, dedupe_key: str, *, platform: str) -> bool:
    """Record an inbound request by its platform identity, committed before it acts; False when seen before.

    The identity is the platform's own (Slack ``event_id`` or the signed request's digest, Telegram
    ``update_id`` per bot, WeCom ``MsgId``…), so a retry or a replay finds the row and acts not again.
    A request interrupted by a crash after this point is not acted on when redelivered (at most once).
    """
    try:
        with db.unit_of_work() as session:
            if session.get(ProcessedEvent, dedupe_key) is not None:
                return False
            session.add(ProcessedEvent(dedupe_key=dedupe_key, platform=platform))
    except IntegrityError:  # the same request, delivered twice at once: the other delivery acts
        return False
    return True


def release(db: Database, dedupe_key: str) -> None:
    """Forget a claimed request whose handling failed before any effect, so that the platform's retry acts."""
    with db.unit_of_work() as session:
        row = session.get(ProcessedEvent, dedupe_key)
        if row is not None:
            session.delete(row)
