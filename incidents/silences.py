"""Silences: mute the alerts of a zone, site, device or rule for a while. Stored, audited, self-expiring.

Life-safety (SEV1) alerts are never silenced.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel, col, select

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.severity import Severity
from incidents.signals import AlertSignal

MAX_SILENCE = timedelta(days=7)


class Silence(SQLModel, table=True):
    """Alerts whose zone, site, sensor or rule equals ``target`` are muted from ``starts_at`` to ``ends_at``."""

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(index=True)
    starts_at: datetime
    ends_at: datetime = Field(index=True)
    author_person_id: int | None = None
    author_name: str
    comment: str = Field(sa_column=Column(Text, nullable=False))
    ended_at: datetime | None = Field(default=None, index=True)
    ended_by: str | None = None


class SilenceNotFound(LookupError):
    """No silence with that id is in force."""


@dataclass(frozen=True, slots=True)
class ActiveSilence:
    """What the intake needs of a silence in force, kept in memory for the hot path."""

    id: int
    target: str
    ends_at: datetime

    def mutes(self, signal: AlertSignal) -> bool:
        """Whether this silence mutes ``signal`` (never a life-safety alert)."""
        return signal.severity is not Severity.SEV1 and self.target in (
            signal.zone, signal.site, signal.sensor, signal.rule_id)


def add_silence(session: Session, *, target: str, duration: timedelta, comment: str, actor: Actor,
                now: datetime) -> Silence:
    """Start a silence of ``target`` for ``duration`` and audit who set it and why."""
    if not comment.strip():
        raise ValueError("a silence needs a reason")
    if not timedelta(0) < duration <= MAX_SILENCE:
        raise ValueError(f"a silence lasts more than 0 and at most {MAX_SILENCE.days} days")
    silence = Silence(target=target, starts_at=now, ends_at=now + duration, author_person_id=actor.person_id,
                      author_name=actor.name, comment=comment.strip())
    session.add(silence)
    session.flush()
    audit.record(session, action="silence.created", actor=actor, object_type="silence", object_id=str(silence.id),
                 after={"target": target, "ends_at": silence.ends_at.isoformat()}, reason=silence.comment, at=now)
    return silence


def end_silence(session: Session, *, silence_id: int, actor: Actor, now: datetime) -> Silence:
    """End a silence before it expires; SilenceNotFound when it is not in force."""
    silence = session.get(Silence, silence_id)
    if silence is None or silence.ended_at is not None or silence.ends_at <= now:
        raise SilenceNotFound(silence_id)
    silence.ended_at, silence.ended_by = now, actor.name
    session.add(silence)
    audit.record(session, action="silence.ended", actor=actor, object_type="silence", object_id=str(silence_id),
                 before={"target": silence.target, "ends_at": silence.ends_at.isoformat()}, at=now)
    return silence


def expire_silences(session: Session, *, now: datetime) -> list[Silence]:
    """Close the silences whose time is up, each with an audit event; returns them."""
    due = list(session.exec(select(Silence).where(col(Silence.ended_at).is_(None), Silence.ends_at <= now)))
    for silence in due:
        silence.ended_at, silence.ended_by = silence.ends_at, SYSTEM.name
        session.add(silence)
        audit.record(session, action="silence.expired", actor=SYSTEM, object_type="silence",
                     object_id=str(silence.id), before={"target": silence.target}, at=now)
    return due


def active_silences(session: Session, *, now: datetime) -> list[Silence]:
    """The silences in force at ``now``, soonest to end first."""
    query = select(Silence).where(col(Silence.ended_at).is_(None), Silence.ends_at > now, Silence.starts_at <= now)
    return list(session.exec(query.order_by(col(Silence.ends_at))))
