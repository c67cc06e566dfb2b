"""Posting the reminders of ``incidents.reminders`` into the incident's thread on every platform."""

from sqlmodel import Session

from handlers import callbacks
from handlers.context import CoreContext
from handlers.incident_timers import arm_incident
from handlers.ports import Button, ButtonStyle, OutboundMessage
from handlers.text import label, roles_text, say
from incidents import directory, reminders, service
from incidents.severity import Severity
from incidents.tables import Incident


class ReminderFlow:
    def __init__(self, ctx: CoreContext) -> None:
        self.ctx = ctx

    def due(self, *, incident_id: int, kind: str, token: str) -> bool:
        """Called by the persistent timer: post the reminder and plan the next. A stale token does nothing.

        Returns True when a reminder was posted.
        """
        now = self.ctx.now()
        with self.ctx.db.unit_of_work() as session:
            incident = service.get_incident(session, incident_id=incident_id, for_update=True)
            policy = self.ctx.escalation.for_severity(Severity(incident.severity))
            if not reminders.take(session, incident=incident, kind=kind, due_token=token, policy=policy, now=now):
                return False
            minutes = max(0, round((now - incident.opened_at).total_seconds() / 60))
            if kind == reminders.ACK:
                message = self._ack_message(incident, minutes, policy.first)
            else:
                message = OutboundMessage(title=say("status_reminder_msg", who=self.commander(session, incident),
                                                    minutes=minutes).replace("\n", " / "),
                                          incident_id=incident_id, tone="warn")
            self.ctx.notifier.post(session, incident_id, message)
        arm_incident(self.ctx.timers, incident)
        self.ctx.wake_outbox()
        return True

    @staticmethod
    def _ack_message(incident: Incident, minutes: int, roles: list[str]) -> OutboundMessage:
        assert incident.id is not None
        text = say("ack_reminder_msg", minutes=minutes, roles_zh=roles_text(roles, 0), roles_en=roles_text(roles, 1))
        button = Button(label("btn_ack"), callbacks.encode("ack", incident.id), ButtonStyle.PRIMARY)
        return OutboundMessage(title=text.replace("\n", " / "), buttons=(button,), incident_id=incident.id,
                               tone="alert")

    def commander(self, session: Session, incident: Incident) -> str:
        """Who is asked for status: the incident commander, else whoever acknowledged, else the first roles."""
        person_id = incident.commander_id or incident.acknowledged_by
        if person_id is not None:
            return directory.names(session, [person_id]).get(person_id, str(person_id))
        return roles_text(self.ctx.escalation.for_severity(Severity(incident.severity)).first, 1)
