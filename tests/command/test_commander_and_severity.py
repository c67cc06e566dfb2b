"""Commander and severity from chat (issue 11, item 7), on every platform, SQLite and PostgreSQL:
``/severity``, ``/assign``, ``/handover`` with the permission checks of incidents/permissions.py."""

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from handlers.ports import CommandInvoked, Reply, UserRef
from incidents import directory
from incidents.database import Database
from incidents.tables import AuditEvent, Incident, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import Core, make_core, make_signal, seed_people

PLATFORMS = ("webchat", "slack", "telegram", "wecom")


class Chat:
    def __init__(self, core: Core, clock: FakeClock, incident_id: int) -> None:
        self.core, self.clock, self.incident_id, self.count = core, clock, incident_id, 0

    def say(self, platform: str, user: str, text: str) -> Reply:
        self.count += 1
        name, *args = text.lstrip("/").split()
        return self.core.router.handle(CommandInvoked(
            platform=platform, dedupe_key=f"{platform}-{self.count}", actor=UserRef(platform, user), thread=None,
            received_at=self.clock.now, incident_id=self.incident_id, name=name, args=tuple(args)))


def _setup(database: Database, clock: FakeClock) -> tuple[Core, Chat, int]:
    seed_people(database)
    with database.unit_of_work() as session:
        directory.add_person(session, name_zh="赵磊", name_en="Zhao Lei", roles=["FW"], login="zhaolei",
                             identities=[("webchat", "zhaolei"), ("slack", "U-zhaolei"), ("wecom", "zhaolei"),
                                         ("telegram", "1004")])
    core = make_core(database, platforms=PLATFORMS, now=clock)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    return core, Chat(core, clock, incident_id), incident_id


def _incident(database: Database, incident_id: int) -> Incident:
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
    assert incident is not None
    return incident


def _last_header(database: Database, platform: str) -> dict[str, Any]:
    with database.reader() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.op == "update_header",
                                                        OutboxMessage.platform == platform)
                            .order_by(col(OutboxMessage.id).desc())).first()
    assert rows is not None
    message: dict[str, Any] = rows.payload["message"]
    return message


def test_severity_from_chat_needs_the_permission_and_a_reason(database: Database, clock: FakeClock) -> None:
    core, chat, incident_id = _setup(database, clock)
    opened = clock.now
    clock.advance(minutes=1)
    assert not chat.say("slack", "U-wangwei", "/severity SEV1").ok  # no reason
    assert not chat.say("slack", "U-wangwei", "/severity SEV9 because").ok
    refused = chat.say("telegram", "1004", "/severity SEV1 smoke seen")  # a fire warden may not
    assert not refused.ok and "change_severity" not in refused.text and "SL" in refused.text
    raised = chat.say("slack", "U-wangwei", "/severity SEV1 smoke seen near D1")
    assert raised.ok, raised.text
    assert _incident(database, incident_id).severity == "SEV1"
    assert core.timers.armed[incident_id][1] == opened + timedelta(minutes=5)  # SEV1's timetable
    assert str(_last_header(database, "wecom")["title"]).startswith("🔴 SEV1")
    lowered = chat.say("wecom", "zhangmin", "/级别 SEV3 false alarm, probe fault")  # QA, in Chinese
    assert lowered.ok, lowered.text
    with database.reader() as session:
        changes = [(e.before, e.after and e.after["severity"], e.reason, e.platform) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "incident.severity_changed").order_by(col(AuditEvent.id)))]
    assert changes == [({"severity": "SEV2"}, "SEV1", "smoke seen near D1", "slack"),
                       ({"severity": "SEV1"}, "SEV3", "false alarm, probe fault", "wecom")]
    assert core.timers.armed[incident_id][1] == opened + timedelta(hours=1)  # SEV3: later, as lowered


def test_assign_and_handover_the_commander_on_every_platform(database: Database, clock: FakeClock) -> None:
    _core, chat, incident_id = _setup(database, clock)
    refused = chat.say("webchat", "zhaolei", "/assign @zhaolei")
    assert not refused.ok  # a fire warden may not appoint
    assert not chat.say("webchat", "wangwei", "/assign @nobody").ok
    assigned = chat.say("slack", "U-wangwei", "/assign <@U-zhaolei>")
    assert assigned.ok, assigned.text
    assert _incident(database, incident_id).commander_id is not None
    for platform in PLATFORMS:
        assert ("事件指挥 Commander", "赵磊 Zhao Lei") in [tuple(f) for f in _last_header(database, platform)["fields"]]
    assert not chat.say("telegram", "1003", "/handover @lina").ok  # QA is not the commander and may not assign
    handed = chat.say("telegram", "1004", "/handover @lina")  # the commander hands over himself
    assert handed.ok, handed.text
    again = chat.say("wecom", "lina", "/移交 王伟")  # by name, in Chinese
    assert again.ok, again.text
    with database.reader() as session:
        trail = [(e.action, e.platform, (e.after or {}).get("name")) for e in session.exec(
            select(AuditEvent).where(col(AuditEvent.action).in_(["incident.assigned", "incident.handover"]))
            .order_by(col(AuditEvent.id)))]
        refusals = session.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).all()
        commander = session.get(Incident, incident_id)
        assert commander is not None
        names = directory.names(session, [commander.commander_id or 0])
    assert trail == [("incident.assigned", "slack", "赵磊 Zhao Lei"), ("incident.handover", "telegram", "李娜 Li Na"),
                     ("incident.handover", "wecom", "王伟 Wang Wei")]
    assert len(refusals) == 2
    assert list(names.values()) == ["王伟 Wang Wei"]
