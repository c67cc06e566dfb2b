"""Reminders that repeat until someone acts (issue 11, items 1 and 8; as PagerDuty and Grafana OnCall do).

- ``ack``: while an incident is triggered, every ``remind_every_seconds`` of its severity's policy,
  the thread asks again for an acknowledgement;
- ``status``: while an incident is open, every ``status_update_seconds`` of its severity's policy
  (SEV1 and SEV2 in the shipped policies), the incident commander is asked for a status update.

The next due time lives on the incident (``ack_reminder_at``, ``status_reminder_at``): the timer job
carries it as its token, so a job that fires late or twice, or after the incident changed, does nothing.
"""

from datetime import UTC, datetime

from sqlmodel import Session

from incidents import audit
from incidents.actors import SYSTEM
from incidents.escalation import SeverityPolicy
from incidents.escalation_plan import next_reminder
from incidents.lifecycle import OPEN_STATUSES, Status
from incidents.tables import Incident

ACK = "ack"
STATUS = "status"
KINDS = (ACK, STATUS)


def token(due: datetime) -> str:
    """The token of a reminder due at ``due``: its UTC ISO-8601 time."""
    return due.astimezone(UTC).isoformat()


def due_at(incident: Incident, kind: str) -> datetime | None:
    """When the incident's ``kind`` reminder falls due, or None when none is pending in its current status."""
    status = Status(incident.status)
    if kind == ACK:
        return incident.ack_reminder_at if status is Status.TRIGGERED else None
    if kind == STATUS:
        return incident.status_reminder_at if status in OPEN_STATUSES else None
    raise ValueError(f"unknown reminder kind {kind!r}")


def take(session: Session, *, incident: Incident, kind: str, due_token: str, policy: SeverityPolicy,
         now: datetime) -> bool:
    """Use the reminder the token names: True (next one planned from ``policy``, audited) when it is still
    the pending one; False, changing nothing, when it is stale. ``incident`` is locked by the caller."""
    due = due_at(incident, kind)
    if due is None or token(due) != due_token:
        return False
    every = policy.remind_every_seconds if kind == ACK else policy.status_update_seconds
    following = next_reminder(every, now=now)
    if kind == ACK:
        incident.ack_reminder_at = following
    else:
        incident.status_reminder_at = following
    session.add(incident)
    audit.record(session, action="incident.reminded", actor=SYSTEM, incident_id=incident.id, at=now,
                 after={"kind": kind, "next": following.isoformat() if following else None})
    return True
