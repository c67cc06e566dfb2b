"""Paging people outside chat: their notification rules become outbox rows, one per channel step.

A step due later is a row whose ``next_attempt_at`` is its delay ahead: the delay survives a restart like any
outbox row, and at its time ``decide`` says whether it still goes out (the incident still unacknowledged,
not held back by quiet hours, within the rate limits). Row keys are ``i{incident}:{channel}:p{person}:{wave}:{n}``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from handlers.contact_ports import EMAIL, SMS, VOICE
from handlers.messages import incident_title
from handlers.ports import OutboundMessage
from incidents import directory, outbox
from incidents.clock import as_utc
from incidents.contacts import points, rules
from incidents.contacts.tables import ContactProfile
from incidents.lifecycle import Status
from incidents.tables import Incident, OutboxMessage, Person

OP_NOTIFY = "notify"
ADDRESS_KIND = {SMS: points.PHONE, VOICE: points.PHONE, EMAIL: points.EMAIL}
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Limits:
    """At most ``per_incident`` notices per channel per person per incident in an hour, and ``per_person`` per
    channel per person over all incidents in an hour (SMS and calls cost money; providers throttle)."""

    per_incident: int = 3
    per_person: int = 10


def key(incident_id: int, channel: str, person_id: int, wave: str, number: int) -> str:
    return f"i{incident_id}:{channel}:p{person_id}:{wave}:{number}"


def notice_message(incident: Incident, language: str) -> OutboundMessage:
    """What a person is told: the incident's title line, and where."""
    where = " / ".join(part for part in (incident.site, incident.zone) if part)
    title = incident_title(incident)
    if language == "en" and incident.title_en:
        title = title.replace(f"{incident.title_zh} / ", "")
    return OutboundMessage(title=title, body=where, incident_id=incident.id, tone="alert")


def page(session: Session, incident: Incident, people: Iterable[Person], *, wave: str, now: datetime,
         channels: Sequence[str]) -> int:
    """Enqueue each person's non-chat steps for the incident's severity on the enabled ``channels``; a step
    needs a verified address. Returns the number of rows enqueued (a wave already paged adds none)."""
    assert incident.id is not None
    added = 0
    if not channels:
        return added
    for person in people:
        assert person.id is not None
        known = session.get(ContactProfile, person.id)
        language = known.language if known else "zh"
        for number, step in enumerate(rules.steps_for(session, person_id=person.id, severity=incident.severity)):
            if step.channel not in channels or step.channel not in ADDRESS_KIND:
                continue
            address = points.verified_address(session, person_id=person.id, kind=ADDRESS_KIND[step.channel])
            row_key = key(incident.id, step.channel, person.id, wave, number)
            if address is None or outbox.by_key(session, key=row_key) is not None:
                continue
            row = outbox.enqueue(session, incident_id=incident.id, platform=step.channel, op=OP_NOTIFY, key=row_key,
                                 payload={"message": notice_message(incident, language).to_json(),
                                          "person_id": person.id, "address": address, "language": language,
                                          "severity": incident.severity})
            row.next_attempt_at = now + timedelta(seconds=step.after_seconds)
            added += 1
    return added


def page_roles(session: Session, incident: Incident, roles: Sequence[str], *, wave: str, now: datetime,
               channels: Sequence[str]) -> int:
    """``page`` the people on shift in ``roles`` (an escalation pages a role; each person's rules decide how).
    Without channels nothing is read: the directory is read once for all the roles otherwise."""
    if not channels:
        return 0
    active = directory.active_people(session)
    people: dict[int | None, Person] = {}
    for role in roles:
        people.update({p.id: p for p in directory.with_role(session, role=role, at=now, active=active)})
    return page(session, incident, people.values(), wave=wave, now=now, channels=channels)


HELD = "held: rate limit"


def _sent_times(session: Session, pattern: str, since: datetime) -> list[datetime]:
    """When the notices matching the key ``pattern`` really went out (skipped ones have no provider id)."""
    return sorted(as_utc(t) for t in session.exec(select(OutboxMessage.sent_at).where(
        col(OutboxMessage.idempotency_key).like(pattern), OutboxMessage.status == outbox.SENT,
        col(OutboxMessage.message_native) != "", col(OutboxMessage.sent_at) >= since)).all() if t is not None)


def _windows(row: OutboxMessage, limits: Limits) -> list[tuple[str, int]]:
    person_id = int(row.payload["person_id"])
    return [(f"i{row.incident_id}:{row.platform}:p{person_id}:%", limits.per_incident),
            (f"i%:{row.platform}:p{person_id}:%", limits.per_person)]


def frees_in(session: Session, row: OutboxMessage, *, now: datetime, limits: Limits) -> float:
    """Seconds until both of the row's hourly windows have room again (at least 1)."""
    wait = 1.0
    for pattern, limit in _windows(row, limits):
        times = _sent_times(session, pattern, now - HOUR)
        if len(times) >= limit:
            wait = max(wait, (times[len(times) - limit] + HOUR - now).total_seconds())
    return wait


def decide(session: Session, row: OutboxMessage, *, now: datetime, timezone: str, limits: Limits) -> str | None:
    """None when the notice is to go out now; else why not: ``acknowledged`` (or resolved) and ``quiet hours``
    close the notice unsent (marked sent without a provider id: a blank ``message_native``, not counted by the
    limits); ``rate limit`` holds it until the window frees (``frees_in``), when it goes out once for all the
    notices held for the same person, incident and channel (``grouped_with``)."""
    payload: dict[str, Any] = row.payload
    incident = session.get(Incident, row.incident_id)
    if incident is None or incident.status != Status.TRIGGERED.value:
        return "acknowledged"
    person_id = int(payload["person_id"])
    if rules.holds_back(session.get(ContactProfile, person_id), severity=incident.severity, moment=now,
                        timezone=timezone):
        return "quiet hours"
    for pattern, limit in _windows(row, limits):
        if len(_sent_times(session, pattern, now - HOUR)) >= limit:
            return "rate limit"
    return None


def grouped_with(session: Session, row: OutboxMessage) -> list[OutboxMessage]:
    """The other notices held by a rate limit for the same person, incident and channel: ``row`` going out
    says what they would have said."""
    prefix = row.idempotency_key.split(":", 3)
    return list(session.exec(select(OutboxMessage).where(
        col(OutboxMessage.idempotency_key).like(":".join(prefix[:3]) + ":%"), OutboxMessage.id != row.id,
        OutboxMessage.status == outbox.PENDING, col(OutboxMessage.last_error).like(f"{HELD}%"))).all())


def latest_paged(session: Session, *, person_id: int, channel: str) -> int | None:
    """The most recent still-unacknowledged incident the person was paged about on ``channel``."""
    rows = session.exec(select(OutboxMessage).where(
        OutboxMessage.platform == channel, OutboxMessage.status == outbox.SENT, col(OutboxMessage.message_native) != "",
        col(OutboxMessage.idempotency_key).like(f"i%:{channel}:p{person_id}:%"))
        .order_by(col(OutboxMessage.id).desc()).limit(20)).all()
    for row in rows:
        incident = session.get(Incident, row.incident_id)
        if incident is not None and incident.status == Status.TRIGGERED.value:
            return row.incident_id
    return None
