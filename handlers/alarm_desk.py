"""Alarm states from chat and the API: list them, acknowledge, reset a latched alarm, shelve an alarm, put a
sensor out of service, and the intake's check of what is hidden (``hides``).

Commands: ``/alarms [id]``, ``/ackalarm [id] [comment]``, ``/reset <rule:sensor>``, ``/shelve <rule:sensor>
<duration> <reason>``, ``/unshelve <rule:sensor>``, ``/oos <sensor> <duration> <reason>``, ``/inservice <sensor>``.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from handlers import alarm_view, messages
from handlers.drill_mark import drill_title
from handlers.incident_flow import IncidentFlow
from handlers.ports import ChatEvent, Reply
from handlers.text import local_time, say
from incidents import alarms, service, shelving
from incidents.actors import Actor
from incidents.rules.engine import RuleEngine
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Incident
from playbooks.durations import duration_seconds

Command = Callable[[Actor, ChatEvent, tuple[str, ...]], Reply]


class AlarmDesk:
    """The alarm commands over the rules of ``engine``; ``release`` raises held signals whose hold ended."""

    def __init__(self, flow: IncidentFlow, engine: RuleEngine, *, release: Callable[[datetime], list[int]]) -> None:
        self.flow = flow
        self.ctx = flow.ctx
        self.engine = engine
        self.release = release
        self._held: dict[tuple[str, str], datetime] | None = None

    def commands(self) -> dict[str, Command]:
        """The chat commands, by name, for ``ChatRouter.register``."""
        return {"alarms": self.alarms_command, "ackalarm": self.ack_command, "reset": self.reset_command,
                "shelve": self.shelve_command, "unshelve": self.unshelve_command, "oos": self.oos_command,
                "inservice": self.in_service_command}

    # -- the intake's hot path -------------------------------------------------------------------------

    def hides(self, signal: AlertSignal, now: datetime) -> bool:
        """Whether a shelving or removal from service hides ``signal`` now (never a life-safety alert)."""
        if signal.severity is Severity.SEV1:
            return False
        if self._held is None:
            self.refresh(now)
        held = self._held or {}
        for key in ((shelving.SHELF, signal.fingerprint), (shelving.OUT_OF_SERVICE, signal.sensor or "")):
            ends_at = held.get(key)
            if ends_at is not None and ends_at > now:
                return True
        return False

    def refresh(self, now: datetime) -> None:
        """End the holds whose time is up (audited: un-shelved, back in service) and cache the ones in force."""
        with self.ctx.db.unit_of_work() as session:
            shelving.expire(session, now=now)
            self._held = {(h.kind, h.target): h.ends_at for h in shelving.in_force(session, now=now)}

    def observe(self, signal: AlertSignal) -> None:
        """Latch the alarm of a ``latching`` rule that fired."""
        rule = self.engine.rule(signal.rule_id)
        if rule is None or not rule.latching or signal.kind is not SignalKind.FIRING:
            return
        with self.ctx.db.unit_of_work() as session:
            alarms.latch(session, fingerprint=signal.fingerprint, reset_by=list(rule.reset_by))

    # -- commands --------------------------------------------------------------------------------------

    def alarms_command(self, _actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/alarms [id]``: alarms a person must still look at, and the shelved and out-of-service ones."""
        incident_id = _incident(event, args)
        now = self.ctx.now()
        with self.ctx.db.reader() as session:
            rows = alarm_view.states(session, alarms.needing_attention(session, incident_id=incident_id), now=now)
            holds = shelving.in_force(session, now=now)
            drills = {i.id for i in session.exec(select(Incident).where(
                col(Incident.id).in_([c.incident_id for c, _ in rows]), col(Incident.drill))).all()}
        lines = [f"#{c.incident_id} {drill_title('') if c.incident_id in drills else ''}{c.fingerprint} · "
                 f"{alarm_view.state_text(s)}" for c, s in rows]
        lines += [f"{h.target} · {alarm_view.state_text(_hold_state(h.kind))} → "
                  f"{local_time(h.ends_at, self.ctx.timezone)} · {h.author_name}: {h.reason}" for h in holds]
        if not lines:
            return Reply(say("alarms_none"))
        return Reply("\n".join([say("alarms_title"), *lines]))

    def ack_command(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/ackalarm [id] [comment]``: acknowledge the alarms of an incident (also once it is acknowledged)."""
        incident_id = _incident(event, args)
        if incident_id is None:
            return Reply(say("no_incident"), ok=False)
        comment = " ".join(args[1:] if args and args[0].lstrip("#").isdigit() else args).strip() or None
        with self.ctx.db.unit_of_work() as session:
            try:
                incident = service.get_incident(session, incident_id=incident_id)
            except service.IncidentNotFound as exc:
                return Reply(str(exc), ok=False)
            done = alarms.acknowledge(session, incident_id=incident_id, actor=actor, now=self.ctx.now(),
                                      comment=comment)
            if not done:
                return Reply(say("alarms_nothing_to_ack", id=incident_id), ok=False)
            text = say("alarms_acked_msg", who=actor.name, count=len(done),
                       names=", ".join(c.sensor or c.fingerprint for c in done))
            self._tell(session, incident_id, text, incident)
        self.ctx.wake_outbox()
        return Reply(text)

    def reset_command(self, actor: Actor, _event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/reset <rule:sensor>``: reset a latched alarm that returned to normal."""
        if len(args) != 1:
            return Reply(say("reset_usage"), ok=False)
        try:
            with self.ctx.db.unit_of_work() as session:
                row = alarms.reset(session, fingerprint=args[0], actor=actor, now=self.ctx.now())
                text = say("alarm_reset_msg", who=actor.name, target=args[0])
                self._tell(session, row.incident_id, text, None)
        except alarms.AlarmRefused as exc:
            return Reply(str(exc), ok=False)
        self.ctx.wake_outbox()
        return Reply(text)

    def shelve_command(self, actor: Actor, _event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/shelve <rule:sensor> <duration> <reason>``: hide one alarm for at most the rule's ``max_shelve``."""
        if len(args) < 3:
            return Reply(say("shelve_usage"), ok=False)
        target, length, reason = args[0], args[1], " ".join(args[2:])
        rule = self.engine.rule(target.split(":", 1)[0])
        if rule is None or ":" not in target:
            return Reply(say("shelve_unknown", target=target), ok=False)
        now = self.ctx.now()
        try:
            duration = timedelta(seconds=duration_seconds(length))
            with self.ctx.db.unit_of_work() as session:
                condition = alarms.find(session, target)
                hold = shelving.shelve(session, fingerprint=target, severity=rule.severity, reason=reason,
                                       max_shelve=timedelta(seconds=rule.max_shelve), duration=duration, actor=actor,
                                       now=now, incident_id=condition.incident_id if condition else None)
                text = say("shelved_msg", who=actor.name, target=target, reason=hold.reason,
                           until=local_time(hold.ends_at, self.ctx.timezone))
                if condition is not None:  # its thread says so, and its header shows it shelved
                    self._tell(session, condition.incident_id, text, None)
        except ValueError as exc:  # AlarmRefused, or a duration that does not parse
            return Reply(str(exc) if isinstance(exc, alarms.AlarmRefused) else say("silence_bad_duration",
                                                                                   value=length), ok=False)
        self.refresh(now)
        self.ctx.wake_outbox()
        return Reply(text)

    def oos_command(self, actor: Actor, _event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/oos <sensor> <duration> <reason>``: a sensor under maintenance; refused when a SEV1 rule reads it."""
        if len(args) < 3:
            return Reply(say("oos_usage"), ok=False)
        sensor, length, reason = args[0], args[1], " ".join(args[2:])
        if not self.engine.has_device(sensor):
            return Reply(say("silence_unknown_target", target=sensor), ok=False)
        life_safety = any(rule.severity is Severity.SEV1 for rule in self.engine.rules_of(sensor))
        now = self.ctx.now()
        try:
            duration = timedelta(seconds=duration_seconds(length))
            with self.ctx.db.unit_of_work() as session:
                hold = shelving.remove_from_service(session, sensor=sensor, life_safety=life_safety, reason=reason,
                                                    duration=duration, actor=actor, now=now)
        except ValueError as exc:
            return Reply(str(exc) if isinstance(exc, alarms.AlarmRefused) else say("silence_bad_duration",
                                                                                   value=length), ok=False)
        self.refresh(now)
        return Reply(say("oos_msg", who=actor.name, target=sensor, reason=hold.reason,
                         until=local_time(hold.ends_at, self.ctx.timezone)))

    def unshelve_command(self, actor: Actor, _event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/unshelve <rule:sensor>``: the alarm is shown again (raised now if it still fires)."""
        return self._end(actor, args, shelving.SHELF, "unshelve_usage", "unshelved_msg")

    def in_service_command(self, actor: Actor, _event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/inservice <sensor>``: maintenance is over; its alarms count again."""
        return self._end(actor, args, shelving.OUT_OF_SERVICE, "inservice_usage", "in_service_msg")

    def _end(self, actor: Actor, args: tuple[str, ...], kind: str, usage: str, done: str) -> Reply:
        if len(args) != 1:
            return Reply(say(usage), ok=False)
        now = self.ctx.now()
        try:
            with self.ctx.db.unit_of_work() as session:
                shelving.end(session, kind=kind, target=args[0], actor=actor, now=now)
        except alarms.AlarmRefused as exc:
            return Reply(str(exc), ok=False)
        self.refresh(now)
        self.release(now)
        return Reply(say(done, who=actor.name, target=args[0]))

    def _tell(self, session: Session, incident_id: int, text: str, incident: Incident | None) -> None:
        """A notice in the incident's thread and its header redrawn, in the caller's transaction."""
        incident = incident or service.get_incident(session, incident_id=incident_id)
        self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text))
        self.ctx.notifier.update_header(session, incident_id, self.flow.header(session, incident))


def _incident(event: ChatEvent, args: tuple[str, ...]) -> int | None:
    if args and args[0].lstrip("#").isdigit():
        return int(args[0].lstrip("#"))
    return event.incident_id


def _hold_state(kind: str) -> alarms.AlarmState:
    return alarms.AlarmState.SHELVED if kind == shelving.SHELF else alarms.AlarmState.OUT_OF_SERVICE
