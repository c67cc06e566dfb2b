"""Drills (issue 11, item 5): started now or scheduled, by chat (``/incident fire A1 --drill [--at 14:30]``,
``演练``) or the API (``POST /api/v1/drills``).

A drill is an incident marked ``drill``: DRILL on every message, card and review
(``handlers.drill_mark``), actuations simulated (``integrations.action_executor``), audited like any
incident, and counted apart from real incidents in the statistics (``handlers.drill_stats``).
A scheduled drill is a persistent timer job (``integrations.scheduler``) that declares it when due,
on behalf of the person who scheduled it.
"""

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.context import CoreContext
from handlers.drill_mark import DRILL_WORDS
from handlers.incident_flow import IncidentFlow
from handlers.playbook_flow import PlaybookFlow
from handlers.ports import Reply
from handlers.text import local_time, say
from incidents import audit, directory
from incidents.actors import Actor

AT_WORDS = ("--at", "于")


def parse_drill(args: tuple[str, ...]) -> tuple[bool, str | None, tuple[str, ...]]:
    """Split ``/incident`` arguments into (drill?, the ``--at`` time if any, the rest)."""
    drill, at, rest = False, None, []
    words = iter(args)
    for word in words:
        if word.lower() in DRILL_WORDS:
            drill = True
        elif word.lower() in AT_WORDS:
            at = next(words, "")
        else:
            rest.append(word)
    return drill, at, tuple(rest)


HORIZON = timedelta(days=366)  # a drill is planned at most a year ahead


def parse_at(text: str, *, now: datetime, timezone: str) -> datetime | None:
    """``14:30`` (the next such time at the site) or ``2026-12-01T14:30`` (site time unless it has an offset);
    None when it is neither, or not within the next ``HORIZON``."""
    zone = ZoneInfo(timezone)
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        clock = None
    if clock is not None:
        local_now = now.astimezone(zone)
        moment = datetime.combine(local_now.date(), clock, tzinfo=zone)
        return moment if moment > local_now else moment + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    try:
        return moment if now < moment <= now + HORIZON else None
    except OverflowError:  # an offset that pushes the time beyond year 9999
        return None


class DrillDesk:
    def __init__(self, ctx: CoreContext, flow: IncidentFlow, playbooks: PlaybookFlow) -> None:
        self.ctx = ctx
        self.flow = flow
        self.playbooks = playbooks

    def schedule_text(self, args: tuple[str, ...], *, at: str, actor: Actor) -> Reply:
        """``/incident fire A1 --drill --at 14:30``: check the playbook and the time, then schedule."""
        playbook_id = self.playbooks.for_command(args[0]) if args else None
        if playbook_id is None:
            return Reply(say("drill_usage"), ok=False)
        moment = parse_at(at, now=self.ctx.now(), timezone=self.ctx.timezone)
        if moment is None:
            return Reply(say("drill_bad_time", value=at), ok=False)
        return self.schedule(playbook_id=playbook_id, zone=args[1] if len(args) > 1 else None,
                             note=" ".join(args[2:]), at=moment, actor=actor)

    def schedule(self, *, playbook_id: str, zone: str | None, note: str, at: datetime, actor: Actor) -> Reply:
        """Schedule a drill of ``playbook_id`` at ``at``, audited; it starts on behalf of ``actor``."""
        job = f"drill-{uuid.uuid4().hex[:12]}"
        with self.ctx.db.unit_of_work() as session:
            audit.record(session, action="drill.scheduled", actor=actor, object_type="drill", object_id=job,
                         after={"playbook": playbook_id, "zone": zone, "note": note or None, "at": at.isoformat()})
        self.ctx.timers.arm_drill(job_id=job, run_at=at, playbook_id=playbook_id, zone=zone, note=note,
                                  person_id=actor.person_id)
        return Reply(say("drill_scheduled", playbook=playbook_id, zone=zone or "-",
                         at=local_time(at, self.ctx.timezone)))

    def due(self, *, playbook_id: str, zone: str | None, note: str, person_id: int | None) -> bool:
        """The scheduled drill's timer: declare it now. False when the playbook or the person is gone."""
        with self.ctx.db.reader() as session:
            actor = directory.actor_by_id(session, person_id, platform="scheduler") if person_id else None
        if actor is None or playbook_id not in self.playbooks.library:
            return False
        reply = self.flow.declare(playbook_id=playbook_id, zone=zone, note=note, actor=actor, dedupe_key=None,
                                  drill=True)
        return reply.ok
