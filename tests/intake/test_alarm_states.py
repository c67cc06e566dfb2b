"""Alarm states (ISA-18.2): returned-to-normal unacknowledged stays in view until acknowledged; latching;
shelving and out of service, self-ending, audited, never for life-safety alarms."""

import uuid
from typing import Any

from sqlmodel import col, select

from handlers.ports import CommandInvoked, Reply, UserRef
from incidents.alarms import AlarmCondition, AlarmState, state_of
from incidents.database import Database
from incidents.lifecycle import Status
from incidents.tables import AuditEvent, Incident, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import seed_people
from tests.intake.factories import RULES, Bench, make_bench

FINGERPRINT = "cold-room-high-temp:d1-probe-1"


def chat(bench: Bench, name: str, *args: str, user: str = "wangwei", incident_id: int | None = None) -> Reply:
    event = CommandInvoked(platform="webchat", dedupe_key=uuid.uuid4().hex,
                           actor=UserRef("webchat", user), thread=None, received_at=bench.clock.now,
                           incident_id=incident_id, name=name, args=args)
    return bench.core.router.handle(event)


def condition(database: Database, fingerprint: str = FINGERPRINT) -> AlarmCondition:
    with database.reader() as session:
        row = session.exec(select(AlarmCondition).where(AlarmCondition.fingerprint == fingerprint)).one()
    return row


def header_fields(database: Database, incident_id: int) -> dict[str, Any]:
    """The fields of the latest header edit of an incident on web chat."""
    with database.reader() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id,
                                                       OutboxMessage.platform == "webchat",
                                                       OutboxMessage.op == "update_header")
                           .order_by(col(OutboxMessage.id).desc())).first()
    assert row is not None
    return {name: value for name, value in row.payload["message"]["fields"]}


def alarm_audit(database: Database) -> list[tuple[str, str | None, str, str | None]]:
    with database.reader() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.object_type == "alarm")
                            .order_by(col(AuditEvent.id))).all()
    return [(e.action, e.object_id, e.actor_name, e.reason) for e in rows]


def excursion_that_recovers(bench: Bench) -> int:
    (incident_id,) = bench.send("d1-probe-1", "temperature", 9.0)
    bench.wait(30)
    bench.send("d1-probe-1", "temperature", 7.0)
    bench.wait(150)  # clear: below 7.5 °C for 2 min
    return incident_id


def test_cleared_unacknowledged_alarm_stays_in_view_until_acknowledged(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    incident_id = excursion_that_recovers(bench)
    assert state_of(condition(database)) is AlarmState.RETURNED_UNACKNOWLEDGED
    assert header_fields(database, incident_id)["告警状态 Alarm states"] == \
        "d1-probe-1 · 已恢复未确认 returned-to-normal unacknowledged"
    # resolved without anyone acknowledging: still listed, and still needing an acknowledgement
    assert chat(bench, "resolve", str(incident_id), user="lina").ok
    status = chat(bench, "status").text
    assert f"#{incident_id} SEV2" in status and f"/ackalarm {incident_id}" in status
    listed = chat(bench, "alarms").text.splitlines()
    assert listed[2:] == [f"#{incident_id} {FINGERPRINT} · 已恢复未确认 returned-to-normal unacknowledged"]
    reply = chat(bench, "确认告警", str(incident_id), "checked the probe log", user="zhangmin")
    assert reply.ok, reply.text
    assert state_of(condition(database)) is AlarmState.NORMAL
    assert "告警状态 Alarm states" not in header_fields(database, incident_id)
    assert chat(bench, "status").text == "当前没有未解决的事件。\nNo open incidents."
    assert chat(bench, "alarms").text == "没有需要处理的告警。\nNo alarms need attention."
    assert alarm_audit(database) == [("alarm.acknowledged", FINGERPRINT, "张敏 Zhang Min", "checked the probe log")]


def test_an_alarm_that_fires_again_after_the_ack_needs_a_new_one(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    (incident_id,) = bench.send("d1-probe-1", "temperature", 9.0)
    assert chat(bench, "ack", str(incident_id)).ok
    assert state_of(condition(database)) is AlarmState.ACKNOWLEDGED
    bench.wait(30)
    bench.send("d1-probe-1", "temperature", 7.0)
    bench.wait(150)
    assert state_of(condition(database)) is AlarmState.NORMAL  # acknowledged, then cleared: nothing to do
    bench.wait(31 * 60)  # past the rule's flapping window
    bench.send("d1-probe-1", "temperature", 9.2)
    assert state_of(condition(database)) is AlarmState.UNACKNOWLEDGED
    with database.reader() as session:  # the incident is triggered again, its escalation restarted (item 1)
        assert session.get(Incident, incident_id).status == Status.TRIGGERED.value  # type: ignore[union-attr]
    bench.wait(30)
    bench.send("d1-probe-1", "temperature", 7.0)
    bench.wait(150)
    assert state_of(condition(database)) is AlarmState.RETURNED_UNACKNOWLEDGED
    assert header_fields(database, incident_id)["告警状态 Alarm states"] == \
        "d1-probe-1 · 已恢复未确认 returned-to-normal unacknowledged"
    assert chat(bench, "ack", str(incident_id)).ok  # acknowledging the incident acknowledges its alarms too
    assert state_of(condition(database)) is AlarmState.NORMAL
    assert not chat(bench, "ackalarm", incident_id=incident_id).ok


def test_a_latching_alarm_stays_until_a_person_with_the_role_resets_it(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    rules = RULES.replace("    match: {metric: on_battery, kinds: ups}\n",
                          "    match: {metric: on_battery, kinds: ups}\n    latching: true\n    reset_by: [QA]\n")
    bench = make_bench(database, clock, rules=rules, probes=1)
    (incident_id,) = bench.send("ups-main", "on_battery", True)
    assert chat(bench, "ack", str(incident_id)).ok
    bench.send("ups-main", "on_battery", False)
    assert state_of(condition(database, "power-loss:ups-main")) is AlarmState.LATCHED
    assert "已锁存 latched" in header_fields(database, incident_id)["告警状态 Alarm states"]
    refused = chat(bench, "reset", "power-loss:ups-main")
    assert not refused.ok and "Only QA may reset" in refused.text
    assert chat(bench, "复位", "power-loss:ups-main", user="zhangmin").ok
    assert state_of(condition(database, "power-loss:ups-main")) is AlarmState.NORMAL
    assert alarm_audit(database)[-1][:3] == ("alarm.reset", "power-loss:ups-main", "张敏 Zhang Min")


def test_shelving_ends_by_itself_and_refuses_life_safety(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    too_long = chat(bench, "shelve", FINGERPRINT, "9h", "defrost")
    assert not too_long.ok and "at most 8 h" in too_long.text
    assert not chat(bench, "shelve", FINGERPRINT, "30m").ok  # a reason is required
    sev1 = chat(bench, "shelve", "smoke-detected:dock-smoke-1", "10m", "welding")
    assert not sev1.ok and "Life-safety (SEV1) alarms can be neither shelved nor put out of service" in sev1.text
    assert not chat(bench, "oos", "dock-smoke-1", "1h", "detector swap").ok
    shelved = chat(bench, "搁置", FINGERPRINT, "30m", "defrost", "cycle")
    assert shelved.ok, shelved.text
    assert bench.send("d1-probe-1", "temperature", 9.0) == []
    assert bench.incidents() == []
    assert "已搁置 shelved" in chat(bench, "alarms").text
    assert bench.send("dock-smoke-1", "smoke", True)  # life safety always sounds
    bench.wait(29 * 60)
    assert "SH-01/D1/temperature" not in [i.dedup_key for i in bench.incidents()]
    raised = bench.wait(60)  # un-shelved by itself: the alarm still fires, so it is raised now
    assert [i.id for i in bench.incidents() if i.dedup_key == "SH-01/D1/temperature"] == raised[:1]
    assert alarm_audit(database) == [
        ("alarm.shelved", FINGERPRINT, "王伟 Wang Wei", "defrost cycle"),
        ("alarm.unshelved", FINGERPRINT, "WareRoom", "expired"),
    ]


def test_shelving_an_alarm_of_an_open_incident_shows_in_its_thread(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    (incident_id,) = bench.send("d1-probe-1", "temperature", 9.0)
    assert chat(bench, "ack", str(incident_id)).ok
    assert chat(bench, "shelve", FINGERPRINT, "1h", "probe", "being", "replaced").ok
    assert header_fields(database, incident_id)["告警状态 Alarm states"] == "d1-probe-1 · 已搁置 shelved"
    assert bench.posts(incident_id)[-1].startswith("王伟 Wang Wei 已搁置告警 cold-room-high-temp:d1-probe-1")
    assert alarm_audit(database)[-1][:2] == ("alarm.shelved", FINGERPRINT)


def test_out_of_service_hides_a_sensor_until_it_returns(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    assert chat(bench, "oos", "d1-probe-1", "4h", "calibration").ok
    assert bench.send("d1-probe-1", "temperature", 9.0) == []
    assert bench.incidents() == []
    reply = chat(bench, "恢复使用", "d1-probe-1")
    assert reply.ok, reply.text
    assert [i.dedup_key for i in bench.incidents()] == ["SH-01/D1/temperature"]
    assert [a[0] for a in alarm_audit(database)] == ["alarm.out_of_service", "alarm.in_service"]
    assert not chat(bench, "inservice", "d1-probe-1").ok


def test_a_drills_alarm_is_listed_as_a_drill(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    declared = chat(bench, "incident", "fire", "A1", "--drill")
    assert declared.ok, declared.text
    drill_id = int(declared.text.split()[0].lstrip("#"))
    (real_id,) = bench.send("d1-probe-1", "temperature", 9.0)
    listed = chat(bench, "alarms").text.splitlines()
    [drill_line] = [line for line in listed if line.startswith(f"#{drill_id} ")]
    [real_line] = [line for line in listed if line.startswith(f"#{real_id} ")]
    assert drill_line.startswith(f"#{drill_id} 【演练 DRILL】") and "DRILL" not in real_line
