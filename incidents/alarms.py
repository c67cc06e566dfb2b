"""Alarm states (ISA-18.2, OPC UA Part 9 "Alarms & Conditions"): is the condition still there, and has a
person seen it? One row per alert fingerprint keeps both answers, so an alert that returned to normal
before anyone looked at it stays in view until someone acknowledges it.

States (``AlarmState``): normal, unacknowledged alarm, acknowledged alarm, returned-to-normal
unacknowledged, latched (a ``latching`` rule: stays until a person holding one of the rule's
``reset_by`` roles resets it), shelved and out of service (``incidents.shelving``).
"""

from collections.abc import Collection, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, bindparam, insert
from sqlmodel import Field, Session, SQLModel, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.signals import AlertSignal, SignalKind


class AlarmState(StrEnum):
    """The ISA-18.2 state names."""

    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged alarm"
    ACKNOWLEDGED = "acknowledged alarm"
    RETURNED_UNACKNOWLEDGED = "returned-to-normal unacknowledged"
    LATCHED = "latched"
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out of service"


STATE_TEXT: dict[AlarmState, str] = {
    AlarmState.NORMAL: "正常",
    AlarmState.UNACKNOWLEDGED: "报警未确认",
    AlarmState.ACKNOWLEDGED: "报警已确认",
    AlarmState.RETURNED_UNACKNOWLEDGED: "已恢复未确认",
    AlarmState.LATCHED: "已锁存",
    AlarmState.SHELVED: "已搁置",
    AlarmState.OUT_OF_SERVICE: "停用维护中",
}
"""The Chinese name of each state (the English name is the state's value)."""


class AlarmCondition(SQLModel, table=True):
    """The condition of one alert (``fingerprint``) as people must see it; ``incident_id`` is its latest incident."""

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(unique=True)
    incident_id: int = Field(index=True)
    rule_id: str
    severity: str
    sensor: str | None = None
    active: bool = True
    acknowledged: bool = False
    latched: bool = False
    reset_by: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    changed_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None


class AlarmRefused(ValueError):
    """An alarm operation the alarm's state or the person's roles do not allow; the message is bilingual."""


def state_of(condition: AlarmCondition, *, shelved: bool = False, out_of_service: bool = False) -> AlarmState:
    """The ISA-18.2 state of ``condition``; shelving and out of service hide every other state."""
    if out_of_service:
        return AlarmState.OUT_OF_SERVICE
    if shelved:
        return AlarmState.SHELVED
    if condition.active:
        return AlarmState.ACKNOWLEDGED if condition.acknowledged else AlarmState.UNACKNOWLEDGED
    if condition.latched:
        return AlarmState.LATCHED
    return AlarmState.NORMAL if condition.acknowledged else AlarmState.RETURNED_UNACKNOWLEDGED


# Built once, reused with their cache keys (incidents.service._FIND_OPEN): both run when an incident opens.
_FIND = select(AlarmCondition).where(AlarmCondition.fingerprint == bindparam("fingerprint"))
_OF_INCIDENT = select(AlarmCondition).where(AlarmCondition.incident_id == bindparam("incident_id")) \
    .order_by(col(AlarmCondition.id))


_INSERT = insert(AlarmCondition)  # on a Connection: a plain Core INSERT of the table, compiled once


def find(session: Session, fingerprint: str) -> AlarmCondition | None:
    """The condition of the alert ``fingerprint``, if it ever fired."""
    return session.exec(_FIND, params={"fingerprint": fingerprint}).first()


def fired(session: Session, *, signal: AlertSignal, incident_id: int, now: datetime) -> None:
    """A firing signal joined ``incident_id``: the condition is active; a new activation (it was clear, or it
    belonged to another incident) needs a new acknowledgement. Warnings are not alarms and change nothing."""
    if signal.kind is not SignalKind.FIRING:
        return
    row = find(session, signal.fingerprint)
    if row is None:
        row = AlarmCondition(**_new_condition(signal, incident_id, now))
    else:
        _activate(row, signal, incident_id, now)
    session.add(row)


def fired_all(session: Session, *, signals: Sequence[AlertSignal], incident_id: int, now: datetime) -> None:
    """``fired`` for each of ``signals`` in turn (a group's alerts joining ``incident_id``), with one query for
    their conditions and one batched INSERT for the new ones."""
    firing = [s for s in signals if s.kind is SignalKind.FIRING]
    known = _of_fingerprints(session, [s.fingerprint for s in firing])
    new: dict[str, dict[str, Any]] = {}
    for signal in firing:
        row = known.get(signal.fingerprint)
        if row is not None:
            _activate(row, signal, incident_id, now)
            session.add(row)
        else:  # a fingerprint twice in the group: the later signal's severity, as ``fired`` twice gives
            new[signal.fingerprint] = _new_condition(signal, incident_id, now)
    if new:  # Core executemany of plain dicts: no ORM bulk path, the statement compiled once
        session.connection().execute(_INSERT, list(new.values()))


def _new_condition(signal: AlertSignal, incident_id: int, now: datetime) -> dict[str, Any]:
    return {"fingerprint": signal.fingerprint, "incident_id": incident_id, "rule_id": signal.rule_id,
            "severity": signal.severity.value, "sensor": signal.sensor, "active": True, "acknowledged": False,
            "latched": False, "reset_by": [], "changed_at": now, "acknowledged_at": None, "acknowledged_by": None}


def _activate(row: AlarmCondition, signal: AlertSignal, incident_id: int, now: datetime) -> None:
    if not row.active or row.incident_id != incident_id:
        row.acknowledged, row.acknowledged_at, row.acknowledged_by = False, None, None
    row.active, row.incident_id, row.severity, row.changed_at = True, incident_id, signal.severity.value, now


def _of_fingerprints(session: Session, fingerprints: Sequence[str]) -> dict[str, AlarmCondition]:
    """The conditions of the alerts ``fingerprints`` that ever fired, by fingerprint, in one query."""
    if not fingerprints:
        return {}
    query = select(AlarmCondition).where(col(AlarmCondition.fingerprint).in_(sorted(set(fingerprints))))
    return {row.fingerprint: row for row in session.exec(query)}


def cleared(session: Session, *, signal: AlertSignal, now: datetime) -> None:
    """The alert returned to normal: still unacknowledged (and shown) until a person acknowledges it."""
    row = find(session, signal.fingerprint)
    if row is not None and row.active:
        row.active, row.changed_at = False, now
        session.add(row)


def cleared_all(session: Session, *, signals: Sequence[AlertSignal], now: datetime) -> None:
    """``cleared`` for each of ``signals`` (a group's resolved alerts), with one query for their conditions."""
    for row in _of_fingerprints(session, [s.fingerprint for s in signals]).values():
        if row.active:
            row.active, row.changed_at = False, now
            session.add(row)


def latch(session: Session, *, fingerprint: str, reset_by: list[str]) -> None:
    """Mark an active alarm of a ``latching`` rule as latched: it stays until reset by one of ``reset_by``."""
    row = find(session, fingerprint)
    if row is not None and row.active and not row.latched:
        row.latched, row.reset_by = True, list(reset_by)
        session.add(row)


def of_incident(session: Session, *, incident_id: int) -> list[AlarmCondition]:
    """The alarm conditions whose latest incident is ``incident_id``, oldest first."""
    return list(session.exec(_OF_INCIDENT, params={"incident_id": incident_id}))


def to_mention(session: Session, *, incident_id: int, acknowledged: bool, fingerprints: Collection[str] = (),
               sensors: Collection[str] = ()) -> list[AlarmCondition]:
    """The conditions of ``incident_id`` whose state its status may not already say, oldest first: returned to
    normal unacknowledged or latched; active unacknowledged when the incident is ``acknowledged``; and those whose
    fingerprint or sensor is in ``fingerprints`` or ``sensors`` (shelved or out of service: the caller knows).
    Only those rows are read, so an incident of thousands of plain alarms (a large Alertmanager group) costs
    none of them."""
    mention = ~col(AlarmCondition.active) & (col(AlarmCondition.latched) | ~col(AlarmCondition.acknowledged))
    if acknowledged:
        mention |= col(AlarmCondition.active) & ~col(AlarmCondition.acknowledged)
    if fingerprints:
        mention |= col(AlarmCondition.fingerprint).in_(sorted(fingerprints))
    if sensors:
        mention |= col(AlarmCondition.sensor).in_(sorted(sensors))
    query = select(AlarmCondition).where(AlarmCondition.incident_id == incident_id, mention)
    return list(session.exec(query.order_by(col(AlarmCondition.id))))


def needing_attention(session: Session, *, incident_id: int | None = None) -> list[AlarmCondition]:
    """Conditions a person must still look at: unacknowledged (active or returned to normal) or latched."""
    query = select(AlarmCondition).where((AlarmCondition.acknowledged == False)  # noqa: E712
                                         | (AlarmCondition.latched == True))  # noqa: E712
    if incident_id is not None:
        query = query.where(AlarmCondition.incident_id == incident_id)
    return list(session.exec(query.order_by(col(AlarmCondition.id))))


def acknowledge(session: Session, *, incident_id: int, actor: Actor, now: datetime,
                comment: str | None = None, audited: bool = True) -> list[AlarmCondition]:
    """Acknowledge every unacknowledged alarm of an incident; returns them. One audit event each unless
    ``audited`` is False (acknowledging the incident itself: its own audit event says who and why)."""
    done = [row for row in of_incident(session, incident_id=incident_id) if not row.acknowledged]
    for row in done:
        before = state_of(row)
        row.acknowledged, row.acknowledged_at, row.acknowledged_by = True, now, actor.person_id
        session.add(row)
        if audited:
            audit.record(session, action="alarm.acknowledged", actor=actor, incident_id=incident_id,
                         object_type="alarm", object_id=row.fingerprint, before={"state": before.value},
                         after={"state": state_of(row).value}, reason=comment, at=now)
    return done


def reset(session: Session, *, fingerprint: str, actor: Actor, now: datetime) -> AlarmCondition:
    """Reset a latched alarm that has returned to normal (it is acknowledged too); audited.

    AlarmRefused when it is not latched, still active, or ``actor`` holds none of its ``reset_by`` roles.
    """
    row = find(session, fingerprint)
    if row is None or not row.latched:
        raise AlarmRefused(f"告警 {fingerprint} 未锁存 / Alarm {fingerprint} is not latched")
    if row.active:
        raise AlarmRefused(f"告警 {fingerprint} 仍在报警，恢复正常后才能复位 / Alarm {fingerprint} is still active: "
                           "it can be reset once it has returned to normal")
    if not actor.has_any_role(row.reset_by):
        roles = ", ".join(row.reset_by)
        raise AlarmRefused(f"只有 {roles} 可以复位告警 {fingerprint} / Only {roles} may reset alarm {fingerprint}")
    before = state_of(row)
    row.latched, row.changed_at = False, now
    if not row.acknowledged:
        row.acknowledged, row.acknowledged_at, row.acknowledged_by = True, now, actor.person_id
    session.add(row)
    audit.record(session, action="alarm.reset", actor=actor, incident_id=row.incident_id, object_type="alarm",
                 object_id=fingerprint, before={"state": before.value}, after={"state": state_of(row).value}, at=now)
    return row
