"""Milestones from chat and the API: ``/milestones [id]`` lists them (edited ones with who and why),
``/milestone [id] <key> <time> <reason>`` corrects one. A time is ``HH:MM`` in the site's timezone on the
day of the milestone it corrects (or of detection), ``MM-DD HH:MM``, or an ISO 8601 date and time."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers import messages
from handlers.context import CoreContext
from handlers.incident_flow import IncidentFlow
from handlers.ports import ChatEvent, Reply
from handlers.text import local_time, say
from incidents import milestones, service
from incidents.actors import Actor
from incidents.milestones import MilestoneValue

ALIASES = {"impact": "impact_started", "影响开始": "impact_started", "detected": "detected", "发现": "detected",
           "ack": "acknowledged", "确认": "acknowledged", "mitigated": "mitigated", "处置": "mitigated",
           "resolved": "resolved", "解决": "resolved", "closed": "closed", "关闭": "closed"}
"""Short and Chinese names of the milestones (the full keys of ``incidents.milestones.KEYS`` work too)."""


class MilestoneDesk:
    def __init__(self, ctx: CoreContext, flow: IncidentFlow) -> None:
        self.ctx = ctx
        self.flow = flow

    def list_command(self, _actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/milestones [id]``: each milestone with its time, marked when a person edited it."""
        incident_id = _incident(event, args)
        if incident_id is None:
            return Reply(say("no_incident"), ok=False)
        with self.ctx.db.reader() as session:
            try:
                incident = service.get_incident(session, incident_id=incident_id)
            except service.IncidentNotFound as exc:
                return Reply(str(exc), ok=False)
            values = milestones.effective(session, incident)
        return Reply("\n".join([say("milestones_title", id=incident_id),
                                *(self.line(value) for value in values.values())]))

    def line(self, value: MilestoneValue) -> str:
        """``确认 Acknowledged: 11-25 10:05 CST (edited by 李娜 Li Na: …; system 10:13)``."""
        zh, en = _NAMES[value.key]
        when = local_time(value.at, self.ctx.timezone) if value.at else "-"
        if not value.edited:
            return f"{zh} {en}: {when}"
        system = local_time(value.system_at, self.ctx.timezone) if value.system_at else "-"
        return f"{zh} {en}: {when} " + say("milestone_edited_note", who=value.edited_by, reason=value.reason,
                                            system=system).replace("\n", " ")

    def edit_command(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/milestone [id] <key> <time> <reason>``: correct a milestone; before and after are audited."""
        incident_id = _incident(event, args)
        rest = list(args[1:] if args and args[0].lstrip("#").isdigit() else args)
        if incident_id is None or len(rest) < 3:
            return Reply(say("milestone_usage"), ok=False)
        key = ALIASES.get(rest[0].lower(), rest[0].lower())
        dated = len(rest) >= 4 and "-" in rest[1] and ":" not in rest[1] and ":" in rest[2]  # MM-DD HH:MM
        time_words = 2 if dated else 1
        when_text, reason = " ".join(rest[1:1 + time_words]), " ".join(rest[1 + time_words:])
        now = self.ctx.now()
        try:
            with self.ctx.db.unit_of_work() as session:
                incident = service.get_incident(session, incident_id=incident_id, for_update=True)
                current = milestones.effective(session, incident).get(key)
                day = (current.at if current and current.at else incident.opened_at)
                at = parse_time(when_text, day=day, timezone=self.ctx.timezone)
                value = milestones.edit(session, incident=incident, key=key, at=at, actor=actor, reason=reason,
                                        now=now)
                text = say("milestone_edited_msg", who=actor.name, line=self.line(value))
                self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text))
        except service.IncidentNotFound as exc:
            return Reply(str(exc), ok=False)
        except ValueError as exc:  # MilestoneRefused, or a time that does not parse
            return Reply(str(exc) if isinstance(exc, milestones.MilestoneRefused)
                         else say("milestone_bad_time", value=when_text), ok=False)
        self.ctx.wake_outbox()
        return Reply(text)


def parse_time(text: str, *, day: datetime, timezone: str) -> datetime:
    """``HH:MM`` on ``day``'s date, ``MM-DD HH:MM`` in ``day``'s year (both in ``timezone``), or ISO 8601 (a
    naive one in ``timezone``); aware UTC. ValueError when it is none of them."""
    zone = ZoneInfo(timezone)
    local_day = day.astimezone(zone)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        if " " in text:
            date_part, clock = text.split(" ", 1)
            month, dom = (int(x) for x in date_part.split("-"))
        else:
            clock, month, dom = text, local_day.month, local_day.day
        hour, minute = (int(x) for x in clock.split(":"))
        parsed = datetime(local_day.year, month, dom, hour, minute, tzinfo=zone)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


_NAMES = {"impact_started": ("影响开始", "Impact started"), "detected": ("发现", "Detected"),
          "acknowledged": ("确认", "Acknowledged"), "mitigated": ("处置", "Mitigated"),
          "resolved": ("解决", "Resolved"), "closed": ("关闭", "Closed")}


def _incident(event: ChatEvent, args: tuple[str, ...]) -> int | None:
    if args and args[0].lstrip("#").isdigit():
        return int(args[0].lstrip("#"))
    return event.incident_id
