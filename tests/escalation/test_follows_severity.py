"""Escalation follows the incident (issue 11, item 1), on SQLite and the real PostgreSQL: a severity change
re-plans the chain, acknowledging stops it, un-acknowledging and a re-trigger restart it, and the acknowledge
reminder repeats on every platform until someone acknowledges."""

from datetime import timedelta

from sqlmodel import col, select

from handlers.ports import CommandInvoked, UserRef
from incidents import directory, service
from incidents.actors import SYSTEM, Actor
from incidents.database import Database
from incidents.lifecycle import Transition
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import AuditEvent, Incident, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import Core, make_core, make_signal, seed_people

PLATFORMS = ("webchat", "slack", "telegram", "wecom")


def _warning() -> AlertSignal:
    return make_signal(kind=SignalKind.WARNING, rule_id="cold-room-rising", severity=Severity.SEV3,
                       fingerprint="cold-room-rising:d1-probe-1", playbook=None, title_en="D1 rising")


def _escalations(database: Database) -> list[dict[str, object] | None]:
    with database.reader() as session:
        return [e.after for e in session.exec(select(AuditEvent).where(AuditEvent.action == "incident.escalated")
                                              .order_by(col(AuditEvent.id)))]


def _incident(database: Database, incident_id: int) -> Incident:
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident


def _posts(database: Database, words: str) -> list[str]:
    with database.reader() as session:
        return [o.platform for o in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
                if o.op == "post" and words in o.payload["message"]["title"] + o.payload["message"]["body"]]


def _fire_due_escalation(core: Core, incident_id: int) -> bool:
    token, _ = core.timers.armed[incident_id]
    return core.flow.escalation_due(incident_id=incident_id, token=token)


def test_a_raised_incident_escalates_on_the_new_timetable(database: Database, clock: FakeClock) -> None:
    core = make_core(database, now=clock)
    opened = clock.now
    incident_id = core.flow.on_signal(_warning())
    assert incident_id is not None
    old_token, due = core.timers.armed[incident_id]
    assert due == opened + timedelta(hours=1)  # SEV3: the warehouse manager after an hour
    clock.advance(minutes=2)
    core.flow.on_signal(make_signal(at=clock.now))  # the SEV2 alarm joins and raises it
    incident = _incident(database, incident_id)
    assert incident.severity == "SEV2"
    new_token, due = core.timers.armed[incident_id]
    assert new_token != old_token and due == opened + timedelta(minutes=10)  # SEV2's timetable, from opening
    assert core.flow.escalation_due(incident_id=incident_id, token=old_token) is False  # the old plan is void
    clock.advance(minutes=8)
    assert _fire_due_escalation(core, incident_id) is True
    assert core.timers.armed[incident_id][1] == opened + timedelta(minutes=30)  # then the operations director
    clock.advance(minutes=20)
    assert _fire_due_escalation(core, incident_id) is True
    assert _escalations(database) == [{"level": 1, "role": "WM"}, {"level": 2, "role": "OD"}]


def test_a_raise_past_the_new_level_pages_at_once_and_a_lowering_waits_longer(database: Database,
                                                                                clock: FakeClock) -> None:
    core = make_core(database, now=clock)
    opened = clock.now
    incident_id = core.flow.on_signal(_warning())
    assert incident_id is not None
    clock.advance(minutes=15)
    core.flow.on_signal(make_signal(at=clock.now))
    _, due = core.timers.armed[incident_id]
    assert due <= clock.now  # SEV2 pages the manager at 10 min: already past, so at once
    assert _fire_due_escalation(core, incident_id) is True
    # lowered back to SEV4 by a person: no further level
    with database.unit_of_work() as session:
        incident = service.get_incident(session, incident_id=incident_id, for_update=True)
        service.set_severity(session, incident=incident, severity=Severity.SEV4, actor=SYSTEM, reason="false alarm",
                             now=clock.now, policy=core.ctx.escalation.for_severity(Severity.SEV4))
    core.playbooks.arm(incident_id)
    assert service.pending_escalation(_incident(database, incident_id)) is None
    assert opened < clock.now


def test_reminders_repeat_on_every_platform_until_acknowledged(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, platforms=PLATFORMS, now=clock)
    opened = clock.now
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    token, due = core.timers.reminders[(incident_id, "ack")]
    assert due == opened + timedelta(minutes=5)  # SEV2: every 5 minutes
    clock.advance(minutes=5)
    assert core.flow.reminders.due(incident_id=incident_id, kind="ack", token=token) is True
    assert core.flow.reminders.due(incident_id=incident_id, kind="ack", token=token) is False  # once per due time
    token, due = core.timers.reminders[(incident_id, "ack")]
    assert due == opened + timedelta(minutes=10)
    clock.advance(minutes=5)
    assert core.flow.reminders.due(incident_id=incident_id, kind="ack", token=token) is True
    assert _posts(database, "Still not acknowledged") == list(PLATFORMS) * 2
    token, _ = core.timers.reminders[(incident_id, "ack")]
    reply = core.router.handle(CommandInvoked(platform="telegram", dedupe_key="t-ack",
                                              actor=UserRef("telegram", "1001"), thread=None,
                                              received_at=clock.now, incident_id=incident_id, name="ack"))
    assert reply.ok, reply.text
    clock.advance(minutes=5)
    assert core.flow.reminders.due(incident_id=incident_id, kind="ack", token=token) is False  # acknowledged
    assert _posts(database, "Still not acknowledged") == list(PLATFORMS) * 2
    assert incident_id not in core.timers.armed  # and escalation stopped


def test_unacknowledge_and_a_retrigger_restart_the_escalation(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, now=clock)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    clock.advance(minutes=3)
    ack = core.router.handle(CommandInvoked(platform="webchat", dedupe_key="a1", actor=UserRef("webchat", "wangwei"),
                                            thread=None, received_at=clock.now, incident_id=incident_id, name="ack"))
    assert ack.ok and incident_id not in core.timers.armed
    clock.advance(minutes=20)
    unack = core.router.handle(CommandInvoked(platform="webchat", dedupe_key="a2",
                                              actor=UserRef("webchat", "wangwei"), thread=None,
                                              received_at=clock.now, incident_id=incident_id, name="取消确认"))
    assert unack.ok, unack.text
    unacked = _incident(database, incident_id)
    assert (unacked.status, unacked.acknowledged_at, unacked.acknowledged_by) == ("triggered", None, None)
    assert core.timers.armed[incident_id][1] == clock.now + timedelta(minutes=10)  # counted from now
    assert core.timers.reminders[(incident_id, "ack")][1] == clock.now + timedelta(minutes=5)
    # acknowledged again; the alarm clears, then fires again: triggered again, the chain restarts
    core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE,
                     actor=core_actor(database), dedupe_key=None)
    core.flow.on_signal(make_signal(kind=SignalKind.RESOLVED, at=clock.now))
    clock.advance(minutes=7)
    core.flow.on_signal(make_signal(at=clock.now))
    incident = _incident(database, incident_id)
    assert incident.status == "triggered"
    assert core.timers.armed[incident_id][1] == clock.now + timedelta(minutes=10)
    assert _posts(database, "fired again") == ["webchat"]
    clock.advance(minutes=10)
    assert _fire_due_escalation(core, incident_id) is True
    assert _escalations(database) == [{"level": 1, "role": "WM"}]


def test_status_updates_are_asked_of_the_commander_until_resolved(database: Database, clock: FakeClock) -> None:
    people = seed_people(database)
    core = make_core(database, now=clock)
    incident_id = core.flow.on_signal(make_signal(playbook=None))
    assert incident_id is not None
    core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=core_actor(database),
                     dedupe_key=None)
    token, due = core.timers.reminders[(incident_id, "status")]
    assert due == clock.now + timedelta(minutes=30)  # SEV2: every 30 minutes
    clock.advance(minutes=30)
    assert core.flow.reminders.due(incident_id=incident_id, kind="status", token=token) is True
    assert len(_posts(database, "Wang Wei: a status update is due")) == 1
    token, _ = core.timers.reminders[(incident_id, "status")]
    core.flow.change(incident_id=incident_id, change=Transition.RESOLVE, actor=core_actor(database),
                     dedupe_key=None)
    assert _incident(database, incident_id).status == "resolved"
    clock.advance(minutes=30)
    assert core.flow.reminders.due(incident_id=incident_id, kind="status", token=token) is False
    assert people["wangwei"] > 0


def core_actor(database: Database) -> Actor:
    """Wang Wei (SL) as the core sees him on web chat."""
    with database.reader() as session:
        actor = directory.resolve(session, platform="webchat", platform_user_id="wangwei")
    assert actor is not None
    return actor

