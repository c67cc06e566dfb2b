"""Server-side web sessions: idle and absolute timeouts, a CSRF token each, ended on sign-out."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.clock import as_utc
from incidents.directory import actor_for
from incidents.identity.tables import WebSession
from incidents.tables import Person


def digest(secret: str) -> str:
    """sha256 of a random secret (session ids, API tokens, one-time codes), hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Idle: no request for this long ends the session. Absolute: it ends this long after sign-in."""

    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True, slots=True)
class Live:
    """A valid session: its row, its person and the Actor it acts as."""

    row: WebSession
    person: Person
    actor: Actor


def start(session: Session, *, person: Person, method: str, timeouts: Timeouts, now: datetime,
          client: str) -> tuple[str, WebSession]:
    """Open a session for a person who has just proved who they are; returns the cookie value and the row."""
    assert person.id is not None
    token = secrets.token_urlsafe(32)
    row = WebSession(token_hash=digest(token), person_id=person.id, csrf_token=secrets.token_urlsafe(32),
                     method=method, created_at=now, last_seen_at=now, expires_at=now + timeouts.absolute,
                     client=client[:200])
    session.add(row)
    session.flush()
    audit.record(session, action="auth.signin", actor=actor_for(person, platform="web"), object_type="session",
                 object_id=str(row.id), after={"method": method, "client": client[:200]}, at=now)
    return token, row


TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often (reads stay reads)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a cookie value stands for: a live session, one that has just timed out, or nothing."""

    live: Live | None = None
    expired: WebSession | None = None
    expired_reason: str = ""


def lookup(session: Session, token: str | None, *, timeouts: Timeouts, now: datetime) -> Lookup:
    """Read-only: the session of a cookie value, checked against both timeouts and the person's state."""
    if not token:
        return Lookup()
    row = session.exec(select(WebSession).where(WebSession.token_hash == digest(token))).first()
    if row is None or row.ended_at is not None:
        return Lookup()
    person = session.get(Person, row.person_id)
    if person is None or not person.active:
        return Lookup(expired=row, expired_reason="person deactivated")
    if now >= as_utc(row.expires_at):
        return Lookup(expired=row, expired_reason="absolute timeout")
    if now >= as_utc(row.last_seen_at) + timeouts.idle:
        return Lookup(expired=row, expired_reason="idle timeout")
    return Lookup(live=Live(row, person, actor_for(person, platform="web")))


def needs_touch(row: WebSession, now: datetime) -> bool:
    """True when ``last_seen_at`` is old enough to be worth writing."""
    return now - as_utc(row.last_seen_at) >= TOUCH_EVERY


def touch(session: Session, *, session_id: int, now: datetime) -> None:
    """Note that a session was used now (its idle timeout starts again)."""
    row = session.get(WebSession, session_id)
    if row is not None and row.ended_at is None:
        row.last_seen_at = now
        session.add(row)


def end(session: Session, row: WebSession, *, reason: str, by: Actor | None, now: datetime) -> None:
    """End a session (sign-out, timeout, revoked by an admin); audited."""
    row = session.get(WebSession, row.id) or row  # the caller's copy may come from a read-only session
    if row.ended_at is not None:
        return
    row.ended_at, row.ended_reason = now, reason
    session.add(row)
    person = session.get(Person, row.person_id)
    who = by or (actor_for(person, platform="web") if person is not None else
                 Actor(person_id=None, name="unknown", platform="web"))
    audit.record(session, action="auth.session_ended", actor=who, object_type="session", object_id=str(row.id),
                 after={"person_id": row.person_id}, reason=reason, at=now)


def end_all(session: Session, *, person_id: int, reason: str, by: Actor, now: datetime) -> int:
    """End every open session of a person (deactivated, password reset); returns how many."""
    rows = session.exec(select(WebSession).where(WebSession.person_id == person_id,
                                                 col(WebSession.ended_at).is_(None))).all()
    for row in rows:
        end(session, row, reason=reason, by=by, now=now)
    return len(rows)


def open_sessions(session: Session, *, now: datetime) -> list[WebSession]:
    """Sessions not ended and not past their absolute timeout, newest first (idle ones end on next use)."""
    rows = session.exec(select(WebSession).where(col(WebSession.ended_at).is_(None))
                        .order_by(col(WebSession.id).desc())).all()
    return [r for r in rows if as_utc(r.expires_at) > now]
