"""Fallback delivery: when a chat platform is degraded, the people of each incident waiting on it are reached
by their next channel (the first non-chat step of their rules for the incident's severity, else any verified
phone or email), once per outage; every thread is told, and told again when the platform recovers."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from handlers import messages, paging
from handlers.notify import Notifier
from handlers.text import say
from incidents import directory, outbox
from incidents.actors import SYSTEM
from incidents.contacts import points, rules
from incidents.contacts.tables import ContactProfile
from incidents.escalation import EscalationConfig
from incidents.lifecycle import Status
from incidents.severity import Severity
from incidents.tables import Incident, OutboxMessage, Person

ANY_CHANNEL_ORDER = ("sms", "email", "voice")


def waiting_on(session: Session, platform: str) -> list[Incident]:
    """Unacknowledged incidents with messages ``platform`` has not taken (pending, in doubt, or parked)."""
    ids = select(OutboxMessage.incident_id).where(
        OutboxMessage.platform == platform, col(OutboxMessage.status).in_([outbox.PENDING, outbox.SENDING,
                                                                            outbox.DEAD]))
    return list(session.exec(select(Incident).where(col(Incident.id).in_(ids),
                                                    Incident.status == Status.TRIGGERED.value)
                             .order_by(col(Incident.id))).all())


def next_channel(session: Session, person: Person, severity: str, channels: Sequence[str]) -> tuple[str, str] | None:
    """The person's next channel beyond chat and its verified address, or None when they have none."""
    assert person.id is not None
    wanted = [s.channel for s in rules.steps_for(session, person_id=person.id, severity=severity)]
    for channel in [*wanted, *ANY_CHANNEL_ORDER]:
        if channel in channels and channel in paging.ADDRESS_KIND:
            address = points.verified_address(session, person_id=person.id, kind=paging.ADDRESS_KIND[channel])
            if address is not None:
                return channel, address
    return None


def people_of(session: Session, incident: Incident, escalation: EscalationConfig, now: datetime) -> list[Person]:
    """Who the incident has paged so far: the first roles and every level it has escalated to."""
    policy = escalation.for_severity(Severity(incident.severity))
    roles = [*policy.first, *(level.role for level in policy.levels[:incident.escalation_level])]
    found: dict[int | None, Person] = {}
    for role in roles:
        found.update({p.id: p for p in directory.with_role(session, role=role, at=now)})
    return list(found.values())


def reach_during_outage(session: Session, incident: Incident, *, platform: str, outage: str, failing_seconds: int,
                        now: datetime, channels: Sequence[str], escalation: EscalationConfig,
                        notifier: Notifier) -> int:
    """Enqueue one notice per person by their next channel (keyed by ``outage``: never twice for one outage)
    and tell the incident's threads that ``platform`` has failed for ``failing_seconds``; returns how many
    notices were added."""
    assert incident.id is not None
    added = 0
    wave = f"fallback-{platform}-{outage}"
    for person in people_of(session, incident, escalation, now):
        assert person.id is not None
        reach = next_channel(session, person, incident.severity, channels)
        row_key = paging.key(incident.id, reach[0], person.id, wave, 0) if reach else ""
        if reach is None or outbox.by_key(session, key=row_key) is not None:
            continue
        known = session.get(ContactProfile, person.id)
        language = known.language if known else "zh"
        row = outbox.enqueue(session, incident_id=incident.id, platform=reach[0], op=paging.OP_NOTIFY, key=row_key,
                             payload={"message": paging.notice_message(incident, language).to_json(),
                                      "person_id": person.id, "address": reach[1], "language": language,
                                      "severity": incident.severity})
        row.next_attempt_at = now
        added += 1
    if added:
        notifier.post(session, incident.id, messages.notice(incident.id, say(
            "contact_fallback_msg", platform=platform, seconds=failing_seconds), tone="warn"))
    return added


def tell_recovered(session: Session, incident_ids: Sequence[int], *, platform: str, since: datetime,
                   notifier: Notifier) -> int:
    """Say in each thread that ``platform`` delivers again, and send again the messages parked during the
    outage for failing too often (not those the platform refused): the backlog follows, each message once.
    Returns how many parked messages were sent again."""
    for incident_id in incident_ids:
        notifier.post(session, incident_id, messages.notice(incident_id, say("contact_recovered_msg",
                                                                             platform=platform), tone="ok"))
    parked = session.exec(select(OutboxMessage).where(
        OutboxMessage.platform == platform, OutboxMessage.status == outbox.DEAD,
        col(OutboxMessage.next_attempt_at) >= since, col(OutboxMessage.last_error).not_like("refused:%"))).all()
    for row in parked:
        assert row.id is not None
        outbox.retry(session, row_id=row.id, actor=SYSTEM)
    return len(parked)
