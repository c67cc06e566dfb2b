"""Inbound dedup: a platform's retry of an event has no second effect."""

from sqlmodel import Session

from incidents.actors import Actor
from incidents.tables import ProcessedEvent


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
