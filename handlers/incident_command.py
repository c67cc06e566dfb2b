"""Commander and severity from chat (issue 11, item 7), the same on every platform.

- ``/severity SEV1 reason`` (级别): the ``change_severity`` permission, a reason required; the escalation is
  re-planned from the new severity's policy (``incidents.escalation_plan``);
- ``/assign @person`` (指派): the ``assign_commander`` permission makes someone the incident commander;
- ``/handover @person`` (移交): the current commander, or someone who may assign, hands command over.

Every change is audited with before and after and posted in the thread; the header card shows the commander.
"""

from collections.abc import Callable

from sqlmodel import Session

from handlers import messages
from handlers.authz import authorize_text
from handlers.context import CoreContext
from handlers.dedupe import DuplicateEvent, remember
from handlers.incident_flow import IncidentFlow
from handlers.mentions import find_person
from handlers.ports import ChatEvent, Reply
from handlers.text import say
from incidents import audit, directory, service
from incidents.actors import Actor
from incidents.permissions import Permission, may
from incidents.severity import Severity
from incidents.tables import Incident

Command = Callable[[Actor, ChatEvent, tuple[str, ...]], Reply]


class IncidentCommandDesk:
    def __init__(self, ctx: CoreContext, flow: IncidentFlow) -> None:
        self.ctx = ctx
        self.flow = flow

    def commands(self) -> dict[str, Command]:
        """The chat commands this desk serves (registered on ``handlers.commands.ChatRouter``)."""
        return {"severity": self.severity, "assign": self.assign, "handover": self.handover}

    def severity(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/severity SEV1 reason``: change the severity of the thread's incident, with a reason."""
        if event.incident_id is None:
            return Reply(say("no_incident"), ok=False)
        level = args[0].upper() if args else ""
        if level not in Severity.__members__:
            return Reply(say("severity_usage"), ok=False)
        reason = " ".join(args[1:]).strip()
        if not reason:
            return Reply(say("severity_needs_reason"), ok=False)
        severity = Severity(level)
        with self.ctx.db.unit_of_work() as session:
            try:
                remember(session, event.dedupe_key or None, actor)
                incident = service.get_incident(session, incident_id=event.incident_id, for_update=True)
            except DuplicateEvent:
                return Reply(say("duplicate"))
            except service.IncidentNotFound as exc:
                return Reply(str(exc), ok=False)
            before = incident.severity
            service.set_severity(session, incident=incident, severity=severity, actor=actor, reason=reason,
                                 now=self.ctx.now(), policy=self.ctx.escalation.for_severity(severity))
            text = say("severity_msg", who=actor.name, before=before, after=severity.value, reason=reason)
            self._announce(session, incident, text)
        self.flow.playbooks.arm(event.incident_id)  # the re-planned escalation and reminders
        self.ctx.wake_outbox()
        return Reply(text)

    def assign(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/assign @person``: make someone the incident commander."""
        return self._command(actor, event, args, handover=False)

    def handover(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/handover @person``: the commander (or someone who may assign) hands command over."""
        return self._command(actor, event, args, handover=True)

    def _command(self, actor: Actor, event: ChatEvent, args: tuple[str, ...], *, handover: bool) -> Reply:
        if event.incident_id is None:
            return Reply(say("no_incident"), ok=False)
        if not args:
            return Reply(say("handover_usage") if handover else say("assign_usage"), ok=False)
        now = self.ctx.now()
        with self.ctx.db.unit_of_work() as session:
            try:
                remember(session, event.dedupe_key or None, actor)
                incident = service.get_incident(session, incident_id=event.incident_id, for_update=True)
            except DuplicateEvent:
                return Reply(say("duplicate"))
            except service.IncidentNotFound as exc:
                return Reply(str(exc), ok=False)
            person = find_person(session, platform=event.platform, text=args[0])
            if person is None or person.id is None:
                return Reply(say("person_unknown", who=args[0]), ok=False)
            is_commander = incident.commander_id is not None and incident.commander_id == actor.person_id
            if not may(actor, Permission.ASSIGN_COMMANDER) and not (handover and is_commander):
                refusal = authorize_text(actor, Permission.ASSIGN_COMMANDER)
                audit.record(session, action="access.refused", actor=actor, incident_id=incident.id, at=now,
                             object_type="permission", object_id=Permission.ASSIGN_COMMANDER.value,
                             reason=refusal.replace("\n", " / "))
                return Reply(refusal, ok=False)
            before = incident.commander_id
            incident.commander_id = person.id
            session.add(incident)
            audit.record(session, action="incident.handover" if handover else "incident.assigned", actor=actor,
                         incident_id=incident.id, at=now, before={"commander": before},
                         after={"commander": person.id, "name": f"{person.name_zh} {person.name_en}"})
            names = directory.names(session, [p for p in (before,) if p is not None])
            values = {"who": actor.name, "commander": f"{person.name_zh} {person.name_en}",
                      "before": names.get(before, "-") if before is not None else "-"}
            text = say("handover_msg", **values) if handover else say("assigned_msg", **values)
            self._announce(session, incident, text)
        self.ctx.wake_outbox()
        return Reply(text)

    def _announce(self, session: Session, incident: Incident, text: str) -> None:
        assert incident.id is not None
        self.ctx.notifier.post(session, incident.id, messages.notice(incident.id, text, tone="warn"))
        self.ctx.notifier.update_header(session, incident.id, self.flow.header(session, incident))
