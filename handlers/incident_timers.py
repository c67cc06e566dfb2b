"""Arming an incident's own timers (escalation, acknowledge and status-update reminders) from its state.

Called after the transaction that changed the incident commits, and at boot by ``IncidentFlow.rearm_all``:
the database is the source of truth, and every job is replaced in place (one job id per incident and kind).
"""

from handlers.context import TimerPort
from incidents import reminders, service
from incidents.tables import Incident


def arm_incident(timers: TimerPort, incident: Incident) -> int:
    """Arm the pending escalation and reminders of ``incident``; returns how many timers were armed."""
    assert incident.id is not None
    armed = 0
    pending = service.pending_escalation(incident)
    if pending is not None and incident.escalation_token is not None:
        timers.arm_escalation(incident_id=incident.id, token=incident.escalation_token, run_at=pending.due_at)
        armed += 1
    for kind in reminders.KINDS:
        due = reminders.due_at(incident, kind)
        if due is not None:
            timers.arm_reminder(incident_id=incident.id, kind=kind, token=reminders.token(due), run_at=due)
            armed += 1
    return armed
