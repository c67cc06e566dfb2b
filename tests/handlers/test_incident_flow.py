"""Alerts to incidents to acknowledgements, through the real database (SQLite and PostgreSQL)."""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from handlers.ports import ButtonClicked, CommandInvoked, UserRef
from incidents import audit, directory
from incidents.actors import Actor
from incidents.database import Database
from incidents.lifecycle import Transition
from incidents.severity import Severity
from incidents.signals import SignalKind
from incidents.tables import Alert, AuditEvent, Incident, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import make_core, make_signal, seed_people

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _click(user: str, token: str, key: str, platform: str = "webchat") -> ButtonClicked:
    return ButtonClicked(platform=platform, dedupe_key=key, actor=UserRef(platform, user), thread=None,
                         received_at=NOW, token=token)


def _actions(database: Database, incident_id: int) -> list[str]:
    with database.reader() as session:
        return [e.action for e in audit.trail(session, incident_id=incident_id)]


def test_an_alarm_opens_one_incident_and_a_repeat_joins_it(database: Database, clock: FakeClock) -> None:
    core = make_core(database, platforms=("webchat", "slack"), now=clock)
    first = core.flow.on_signal(make_signal())
    second = core.flow.on_signal(make_signal(fingerprint="cold-room-high-temp:d1-probe-2", sensor="d1-probe-2"))
    assert first is not None and first == second
    with database.reader() as session:
        incidents = session.exec(select(Incident)).all()
        alerts = session.exec(select(Alert)).all()
        outbox = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert len(incidents) == 1 and len(alerts) == 2
    incident = incidents[0]
    assert (incident.status, incident.severity, incident.playbook_id, incident.playbook_version) == (
        "triggered", "SEV2", "cold-chain-excursion", 1)
    assert incident.playbook_sha256 is not None and len(incident.playbook_sha256) == 64
    # one thread per platform, opened first in each stream
    assert [(o.platform, o.op) for o in outbox if o.op == "open_thread"] == [("webchat", "open_thread"),
                                                                           ("slack", "open_thread")]
    assert _actions(database, first)[:3] == ["incident.opened", "step.active", "alert.joined"]
    # the escalation to the warehouse manager is armed for 10 minutes after opening
    token, due = core.timers.armed[first]
    assert token == incident.escalation_token and due == clock.now + timedelta(minutes=10)


def test_a_warning_then_the_alarm_raise_one_incident_and_start_its_playbook(database: Database) -> None:
    core = make_core(database)
    warning = make_signal(kind=SignalKind.WARNING, rule_id="cold-room-rising", severity=Severity.SEV3,
                          fingerprint="cold-room-rising:d1-probe-1", playbook=None, title_en="D1 rising")
    incident_id = core.flow.on_signal(warning)
    assert incident_id is not None
    with database.reader() as session:
        before = session.get(Incident, incident_id)
        assert before is not None and (before.severity, before.playbook_id) == ("SEV3", None)
    assert core.flow.on_signal(make_signal()) == incident_id
    with database.reader() as session:
        after = session.get(Incident, incident_id)
        assert after is not None
        assert (after.severity, after.playbook_id, after.title_en) == ("SEV2", "cold-chain-excursion",
                                                                      "Cold room D1 at 8.6 °C")
    assert "incident.severity_changed" in _actions(database, incident_id)
    assert "playbook.started" in _actions(database, incident_id)


def test_the_clear_is_recorded_only_when_every_alarm_has_cleared(database: Database) -> None:
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal())
    core.flow.on_signal(make_signal(fingerprint="cold-room-high-temp:d1-probe-2", sensor="d1-probe-2"))
    core.flow.on_signal(make_signal(kind=SignalKind.RESOLVED, value=7.2))
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.cleared_at is None
    core.flow.on_signal(make_signal(kind=SignalKind.RESOLVED, value=7.1, fingerprint="cold-room-high-temp:d1-probe-2",
                                    sensor="d1-probe-2"))
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.cleared_at is not None and incident.status == "triggered"


def test_acknowledge_by_button_names_the_person_platform_and_user(database: Database) -> None:
    people = seed_people(database)
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    reply = core.router.handle(_click("U-lina", f"v1:ack:{incident_id}", "slack:Ev1", platform="slack"))
    assert reply.ok and reply.text.startswith("李娜 Li Na 已确认事件。")
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).one()
    assert incident is not None and (incident.status, incident.acknowledged_by) == ("acknowledged", people["lina"])
    assert (event.actor_person_id, event.platform, event.platform_user_id, event.actor_roles) == (
        people["lina"], "slack", "U-lina", ["WM"])
    assert incident_id not in core.timers.armed  # escalation disarmed


def test_a_retried_click_has_no_second_effect(database: Database) -> None:
    seed_people(database)
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal())
    first = core.router.handle(_click("wangwei", f"v1:ack:{incident_id}", "webchat:e1"))
    again = core.router.handle(_click("wangwei", f"v1:ack:{incident_id}", "webchat:e1"))
    assert first.ok and again.text.startswith("该操作已处理。")
    assert _actions(database, incident_id or 0).count("incident.acknowledge") == 1


def test_an_unknown_user_is_refused_politely_and_audited(database: Database) -> None:
    seed_people(database)
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal())
    reply = core.router.handle(_click("stranger", f"v1:ack:{incident_id}", "webchat:e2"))
    assert not reply.ok and "尚未关联" in reply.text and "not linked to a person in WareRoom" in reply.text
    assert "/link" in reply.text
    with database.reader() as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).one()
        incident = session.get(Incident, incident_id)
    assert (refused.platform, refused.platform_user_id) == ("webchat", "stranger")
    assert incident is not None and incident.status == "triggered"


def test_commands_ack_status_and_help_with_chinese_aliases(database: Database) -> None:
    seed_people(database)
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal())

    def command(name: str, *args: str, key: str) -> CommandInvoked:
        return CommandInvoked(platform="webchat", dedupe_key=key, actor=UserRef("webchat", "wangwei"), thread=None,
                              received_at=NOW, incident_id=incident_id, name=name, args=args)

    assert "Commands:" in core.router.handle(command("帮助", key="k1")).text
    assert core.router.handle(command("确认", key="k2")).ok
    status = core.router.handle(command("status", key="k3")).text
    assert "已确认 Acknowledged" in status and "王伟 Wang Wei" in status
    refused = core.router.handle(command("ack", key="k4"))
    assert not refused.ok and "cannot acknowledge" in refused.text
    assert "Unknown command" in core.router.handle(command("fly", key="k5")).text


def test_escalation_runs_once_and_a_stale_token_changes_nothing(database: Database, clock: FakeClock) -> None:
    people = seed_people(database)
    core = make_core(database, now=clock)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    token, _ = core.timers.armed[incident_id]
    clock.advance(minutes=10)
    assert core.flow.escalation_due(incident_id=incident_id, token=token) is True
    assert core.flow.escalation_due(incident_id=incident_id, token=token) is False  # already used
    next_token, due = core.timers.armed[incident_id]
    assert next_token != token and due == datetime(2026, 11, 25, 2, 30, tzinfo=UTC)  # OD at 30 min
    with database.reader() as session:
        escalated = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.escalated")).all()
        posts = session.exec(select(OutboxMessage).where(OutboxMessage.op == "post")).all()
    assert [e.after for e in escalated] == [{"level": 1, "role": "WM"}]
    assert any("李娜 Li Na" in p.payload["message"]["title"] for p in posts), people
    # acknowledged before the next level: the pending token no longer escalates
    core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=_actor(database, "wangwei"))
    clock.advance(minutes=20)
    assert core.flow.escalation_due(incident_id=incident_id, token=next_token) is False


def test_done_advances_the_playbook_and_refuses_the_wrong_role(database: Database) -> None:
    seed_people(database)
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        first = core.playbooks.current_ids(incident)
    assert first == ["verify"]
    refused = core.router.handle(_click("zhangmin", f"v1:done:{incident_id}:verify", "d1"))
    assert not refused.ok and refused.text == "只有 SL/MT 可以完成此步骤 / only SL/MT may complete this step"
    needs_answer = core.router.handle(_click("wangwei", f"v1:done:{incident_id}:verify", "d2"))
    assert not needs_answer.ok
    assert needs_answer.text == "请填写：手持温度计读数 / an answer is required: Handheld reading"
    done = core.router.handle(CommandInvoked(platform="webchat", dedupe_key="d3", actor=UserRef("webchat", "wangwei"),
                                             thread=None, received_at=NOW, incident_id=incident_id, name="完成",
                                             args=("8.4",)))
    assert done.ok, done.text
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert "verify" not in core.playbooks.current_ids(incident)
        edits = session.exec(select(OutboxMessage).where(OutboxMessage.op == "edit")).all()
    # the step card is edited through the key it was posted with
    assert [e.payload["ref_key"] for e in edits] == [f"i{incident_id}:webchat:step:verify:1"]
    with database.reader() as session:
        step_done = session.exec(select(AuditEvent).where(AuditEvent.action == "step.done")).one()
    assert (step_done.object_id, step_done.after) == ("verify", {"status": "done", "answer": 8.4})
    with database.reader() as session:
        assert audit.verify_chain(session).ok


def _actor(database: Database, user: str) -> Actor:
    with database.reader() as session:
        actor = directory.resolve(session, platform="webchat", platform_user_id=user)
    assert actor is not None
    return actor


def test_resolve_close_and_reopen_with_a_reason(database: Database) -> None:
    seed_people(database)
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal(playbook=None))  # no steps to finish first

    def command(name: str, *args: str) -> str:
        event = CommandInvoked(platform="webchat", dedupe_key=f"{name}{args}", actor=UserRef("webchat", "lina"),
                               thread=None, received_at=NOW, incident_id=incident_id, name=name, args=args)
        reply = core.router.handle(event)
        return ("ok " if reply.ok else "refused ") + reply.text.splitlines()[-1]

    assert command("resolve") == "ok 李娜 Li Na resolved the incident."
    assert command("关闭") == "ok 李娜 Li Na closed the incident."
    assert command("reopen") == "refused 重开事件需要填写原因 / A reason is required to reopen"
    reopened_text = command("重开", "probe", "still", "reads", "high")
    assert reopened_text == "ok 李娜 Li Na reopened the incident: probe still reads high"
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        reopened = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.reopen")).one()
    assert incident is not None
    assert (incident.status, incident.open_dedup_key) == ("triggered", "SH-01/D1/temperature")
    assert reopened.reason == "probe still reads high"
    # a second alarm for the same room joins the reopened incident instead of opening another
    assert core.flow.on_signal(make_signal(value=9.1)) == incident_id


def test_escalation_pages_the_manager_on_shift(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    with database.unit_of_work() as session:
        night = directory.add_person(session, name_zh="赵强", name_en="Zhao Qiang", roles=["WM"])
        assert night.id is not None
        directory.add_shift(session, person_id=night.id, starts_at=clock.now - timedelta(hours=2),
                            ends_at=clock.now + timedelta(hours=6))
    core = make_core(database, now=clock)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    token, _ = core.timers.armed[incident_id]
    clock.advance(minutes=10)
    assert core.flow.escalation_due(incident_id=incident_id, token=token)
    with database.reader() as session:
        escalated = [p.payload["message"]["body"] for p in session.exec(select(OutboxMessage))
                     if "escalated to" in p.payload["message"]["body"]]
        # Li Na (WM, not on the roster tonight) is not paged while a WM is on shift
        assert [who for who in ("赵强 Zhao Qiang", "李娜 Li Na") if who in escalated[0]] == ["赵强 Zhao Qiang"]
        assert [p.name_en for p in directory.with_role(session, role="WM", at=clock.now + timedelta(hours=9))] == [
            "Li Na", "Zhao Qiang"]  # nobody on shift: everyone holding the role
