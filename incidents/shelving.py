"""Shelving (OPC UA timed shelve) and out of service (ISA-18.2 "removed from service"): a person hides one
alarm, or every alarm of a sensor under maintenance, for a limited time with a reason. Stored, audited,
ending by themselves (``expire``). Life-safety (SEV1) alarms can be neither shelved nor put out of service.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel, col, select

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.alarms import AlarmRefused
from incidents.severity import Severity

MAX_OUT_OF_SERVICE = timedelta(days=30)
"""The longest maintenance window one removal from service may ask for (renewable by a person)."""

SHELF = "shelf"
OUT_OF_SERVICE = "out_of_service"


class AlarmHold(SQLModel, table=True):
    """One shelving (``kind = "shelf"``, ``target`` = alert fingerprint ``rule:sensor``) or removal from service
    (``kind = "out_of_service"``, ``target`` = sensor id), from ``starts_at`` to ``ends_at``."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    target: str = Field(index=True)
    starts_at: datetime
    ends_at: datetime = Field(index=True)
    author_person_id: int | None = None
    author_name: str
    reason: str = Field(sa_column=Column(Text, nullable=False))
    ended_at: datetime | None = Field(default=None, index=True)
    ended_by: str | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """What the intake's hot path needs of a hold in force."""

    kind: str
    target: str
    ends_at: datetime


def _refuse_life_safety(severity: Severity, what: str) -> None:
    if severity is Severity.SEV1:
        raise AlarmRefused(f"紧急（SEV1）生命安全告警不能{'搁置' if what == SHELF else '停用'} / Life-safety (SEV1) "
                           f"alarms can be neither shelved nor put out of service")


def _hold(session: Session, *, kind: str, target: str, duration: timedelta, longest: timedelta, reason: str,
          actor: Actor, now: datetime, incident_id: int | None) -> AlarmHold:
    if not reason.strip():
        raise AlarmRefused("需要填写原因 / A reason is required")
    if not timedelta(0) < duration <= longest:
        hours = longest.total_seconds() / 3600
        raise AlarmRefused(f"时长须大于 0 且不超过 {hours:g} 小时 / The duration must be more than 0 and at most "
                           f"{hours:g} h")
    current = in_force(session, now=now, kind=kind, target=target)
    for old in current:  # a new hold replaces the one in force: one line in the record
        old.ended_at, old.ended_by = now, actor.name
        session.add(old)
    hold = AlarmHold(kind=kind, target=target, starts_at=now, ends_at=now + duration, author_person_id=actor.person_id,
                     author_name=actor.name, reason=reason.strip())
    session.add(hold)
    session.flush()
    audit.record(session, action=f"alarm.{'shelved' if kind == SHELF else 'out_of_service'}", actor=actor,
                 incident_id=incident_id, object_type="alarm", object_id=target, at=now,
                 before={"ends_at": current[0].ends_at.isoformat()} if current else None,
                 after={"hold": hold.id, "ends_at": hold.ends_at.isoformat()}, reason=hold.reason)
    return hold


def shelve(session: Session, *, fingerprint: str, severity: Severity, max_shelve: timedelta, duration: timedelta,
           reason: str, actor: Actor, now: datetime, incident_id: int | None = None) -> AlarmHold:
    """Shelve one alarm for ``duration`` (at most the rule's ``max_shelve``); AlarmRefused for SEV1, no reason or a
    duration out of range."""
    _refuse_life_safety(severity, SHELF)
    return _hold(session, kind=SHELF, target=fingerprint, duration=duration, longest=max_shelve, reason=reason,
                 actor=actor, now=now, incident_id=incident_id)


def remove_from_service(session: Session, *, sensor: str, life_safety: bool, duration: timedelta, reason: str,
                        actor: Actor, now: datetime) -> AlarmHold:
    """Put a sensor's alarms out of service for ``duration`` (at most ``MAX_OUT_OF_SERVICE``); AlarmRefused when
    a SEV1 rule reads the sensor (``life_safety``), without a reason, or a duration out of range."""
    _refuse_life_safety(Severity.SEV1 if life_safety else Severity.SEV4, OUT_OF_SERVICE)
    return _hold(session, kind=OUT_OF_SERVICE, target=sensor, duration=duration, longest=MAX_OUT_OF_SERVICE,
                 reason=reason, actor=actor, now=now, incident_id=None)


def end(session: Session, *, kind: str, target: str, actor: Actor, now: datetime) -> AlarmHold:
    """Unshelve an alarm or return a sensor to service before the hold expires; AlarmRefused when none is in force."""
    current = in_force(session, now=now, kind=kind, target=target)
    if not current:
        raise AlarmRefused(f"{target} 没有生效中的搁置或停用 / {target} is neither shelved nor out of service")
    hold = current[0]
    hold.ended_at, hold.ended_by = now, actor.name
    session.add(hold)
    audit.record(session, action=f"alarm.{'unshelved' if kind == SHELF else 'in_service'}", actor=actor,
                 object_type="alarm", object_id=target, before={"hold": hold.id, "ends_at": hold.ends_at.isoformat()},
                 at=now)
    return hold


def expire(session: Session, *, now: datetime) -> list[AlarmHold]:
    """End the holds whose time is up (un-shelve, back in service), one audit event each; returns them."""
    due = list(session.exec(select(AlarmHold).where(col(AlarmHold.ended_at).is_(None), AlarmHold.ends_at <= now)))
    for hold in due:
        hold.ended_at, hold.ended_by = hold.ends_at, SYSTEM.name
        session.add(hold)
        audit.record(session, action=f"alarm.{'unshelved' if hold.kind == SHELF else 'in_service'}", actor=SYSTEM,
                     object_type="alarm", object_id=hold.target, before={"hold": hold.id}, reason="expired", at=now)
    return due


def in_force(session: Session, *, now: datetime, kind: str | None = None, target: str | None = None
             ) -> list[AlarmHold]:
    """Holds in force at ``now``, soonest to end first; of one kind and target when given."""
    query = select(AlarmHold).where(col(AlarmHold.ended_at).is_(None), AlarmHold.ends_at > now,
                                    AlarmHold.starts_at <= now)
    if kind is not None:
        query = query.where(AlarmHold.kind == kind)
    if target is not None:
        query = query.where(AlarmHold.target == target)
    return list(session.exec(query.order_by(col(AlarmHold.ends_at))))
