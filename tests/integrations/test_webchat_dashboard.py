"""The dashboard's content from real tables and a real rules engine snapshot, the web chat's replies kept for
one viewer, and the evidence digests of a step's answer."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from incidents import alarms, audit, shelving, silences
from incidents.actors import SYSTEM
from incidents.alarms import AlarmState
from incidents.database import Database
from incidents.inventory.tables import SensorSample
from incidents.readings import Reading
from incidents.rules.config import load_registry, load_rules
from incidents.rules.engine import RuleEngine
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Incident
from integrations.webchat import dashboard
from integrations.webchat.adapter import Broadcaster, WebChat, viewer_key
from integrations.webchat.steps import evidence_digests

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def test_zones_sensors_incidents_and_silences(database_url: str) -> None:
    registry = load_registry(ROOT / "config" / "devices.yaml")
    engine = RuleEngine(load_rules(ROOT / "config" / "rules.yaml", registry), registry)
    for seconds, value in ((-300, 7.1), (-20, 9.4), (-10, 9.6)):  # the last two: above 8 °C past its `for`
        engine.observe(Reading(sensor="d1-probe-1", metric="temperature", value=value,
                               ts=NOW + timedelta(seconds=seconds)))
    engine.tick(NOW + timedelta(minutes=10))
    database = Database(database_url)
    with database.unit_of_work() as session:
        session.add(SensorSample(sensor="d1-probe-1", metric="temperature", value=7.1, unit="°C",
                                 at=NOW - timedelta(minutes=5)))
        session.add(SensorSample(sensor="d1-probe-1", metric="temperature", value=9.6, unit="°C",
                                 at=NOW - timedelta(seconds=10)))
        session.add(SensorSample(sensor="a1-probe-1", metric="temperature", value=21.0, unit="°C",
                                 at=NOW - timedelta(hours=30)))  # older than RECENT: not a current value
        session.add(Incident(title_zh="冷库 D1 温度过高", title_en="Cold room D1 too warm", severity="SEV2",
                             status="triggered", dedup_key="d1", site="SH-01", zone="D1"))
        session.add(Incident(title_zh="消息代理断开", title_en="Broker lost", severity="SEV2", status="acknowledged",
                             dedup_key="broker"))
        session.add(Incident(title_zh="旧事件", title_en="Old one", severity="SEV3", status="closed",
                             dedup_key="old", zone="D2"))
        silences.add_silence(session, target="D2", duration=timedelta(minutes=30), comment="除霜 defrost",
                             actor=SYSTEM, now=NOW - timedelta(minutes=1))
    snapshot = engine.snapshot()
    with database.reader() as session:
        board = dashboard.build(session, registry, snapshot, now=NOW + timedelta(minutes=10),
                                timezone="Asia/Shanghai", metrics=dashboard.rule_metrics(snapshot, engine.rule))
    database.dispose()
    zones = board.sites["SH-01"]
    assert zones[0].zone == "D1" and zones[0].alarmed  # the zone needing attention comes first
    assert [i.title_en for i in zones[0].incidents] == ["Cold room D1 too warm"]
    probe = next(s for s in zones[0].sensors if s.device == "d1-probe-1")
    assert (probe.value_text(), probe.phase, probe.metric) == ("9.6 °C", "firing", "temperature")
    assert probe.age_s == 610 and probe.age_text() == "10 min 10 s" and probe.stale  # quiet for over 10 min
    a1 = next(z for z in zones if z.zone == "A1")
    assert a1.limits == "temperature 0 – 30 °C"
    assert next(s for s in a1.sensors if s.device == "a1-probe-1").value_text() == "-"
    assert [i.title_en for i in board.unzoned] == ["Broker lost"] and board.open_count == 2
    panel = next(p for p in board.panels if p.key == "silences")
    [row] = panel.rows
    assert row[1:] == ("D2", "11-30 10:29 CST", "WareRoom", "除霜 defrost")  # site time


def _signal(rule: str, sensor: str, kind: SignalKind) -> AlertSignal:
    return AlertSignal(rule_id=rule, sensor=sensor, kind=kind, severity=Severity.SEV2, fingerprint=f"{rule}:{sensor}",
                       title_zh="告警", title_en="Alarm", zone="D1", site="SH-01", at=NOW)


def test_alarm_states_holds_and_drills_panels(database_url: str) -> None:
    registry = load_registry(ROOT / "config" / "devices.yaml")
    database = Database(database_url)
    with database.unit_of_work() as session:
        real = Incident(title_zh="冷库 D1 温度过高", title_en="Cold room D1 too warm", severity="SEV2",
                        status="acknowledged", dedup_key="d1", site="SH-01", zone="D1")
        drill = Incident(title_zh="演练 A1 火警", title_en="Drill A1 fire", severity="SEV1", status="triggered",
                         dedup_key="drill", site="SH-01", zone="A1", drill=True, opened_at=NOW - timedelta(minutes=5))
        done = Incident(title_zh="旧演练", title_en="Old drill", severity="SEV3", status="closed", dedup_key="old",
                        drill=True)
        session.add_all([real, drill, done])
        session.flush()
        assert real.id is not None
        # d1-probe-1: fired then returned to normal, nobody acknowledged; d2-probe-1: acknowledged, still active
        alarms.fired(session, signal=_signal("cold-high", "d1-probe-1", SignalKind.FIRING), incident_id=real.id,
                     now=NOW - timedelta(minutes=20))
        alarms.cleared(session, signal=_signal("cold-high", "d1-probe-1", SignalKind.RESOLVED),
                       now=NOW - timedelta(minutes=3))
        alarms.fired(session, signal=_signal("cold-high", "d2-probe-1", SignalKind.FIRING), incident_id=real.id,
                     now=NOW - timedelta(minutes=10))
        alarms.fired(session, signal=_signal("door-open", "d1-door", SignalKind.FIRING), incident_id=real.id,
                     now=NOW - timedelta(minutes=8))
        session.flush()
        alarms.latch(session, fingerprint="door-open:d1-door", reset_by=["SL"])
        alarms.cleared(session, signal=_signal("door-open", "d1-door", SignalKind.RESOLVED), now=NOW)
        for row in alarms.of_incident(session, incident_id=real.id):
            if row.sensor != "d1-probe-1":
                row.acknowledged = True
                session.add(row)
        shelving.shelve(session, fingerprint="cold-high:d2-probe-1", severity=Severity.SEV2,
                        max_shelve=timedelta(hours=8), duration=timedelta(hours=2), reason="除霜 defrost",
                        actor=SYSTEM, now=NOW - timedelta(minutes=1))
        shelving.remove_from_service(session, sensor="a1-probe-1", life_safety=False, duration=timedelta(days=2),
                                     reason="校准 calibration", actor=SYSTEM, now=NOW - timedelta(hours=1))
        for job, at in (("drill-later", NOW + timedelta(days=1)), ("drill-past", NOW - timedelta(hours=2))):
            audit.record(session, action="drill.scheduled", actor=SYSTEM, object_type="drill", object_id=job,
                         after={"playbook": "fire", "zone": "B1", "note": None, "at": at.isoformat()})
    with database.reader() as session:
        board = dashboard.build(session, registry, {"states": {}}, now=NOW, timezone="Asia/Shanghai", metrics={})
    database.dispose()
    panels = {p.key: p for p in board.panels}
    assert [p.key for p in board.panels] == ["alarms", "holds", "silences", "drills"]
    assert panels["alarms"].rows == [  # latched before returned-to-normal unacknowledged; the shelved one is not here
        (f"#{real.id}", "d1-door", "已锁存 latched", "SEV2", "11-30 10:00 CST"),
        (f"#{real.id}", "d1-probe-1", "已恢复未确认 returned-to-normal unacknowledged", "SEV2", "11-30 09:57 CST")]
    assert panels["holds"].rows == [
        ("已搁置 Shelved", "cold-high:d2-probe-1", "11-30 11:59 CST", "WareRoom", "除霜 defrost"),
        ("停用维护中 Out of service", "a1-probe-1", "12-02 09:00 CST", "WareRoom", "校准 calibration")]
    assert panels["drills"].rows == [
        (f"#{drill.id}", "演练 A1 火警 Drill A1 fire", "A1", "待确认 Triggered", "11-30 09:55 CST"),
        ("-", "fire", "B1", "已计划 Scheduled", "12-01 10:00 CST")]  # the one already due is not listed
    sensors = {s.device: s for views in board.sites.values() for z in views for s in z.sensors}
    assert sensors["d1-probe-1"].alarm_state is AlarmState.RETURNED_UNACKNOWLEDGED
    assert sensors["d1-probe-1"].state_text() == "已恢复未确认 returned-to-normal unacknowledged"
    assert sensors["d2-probe-1"].alarm_state is AlarmState.SHELVED
    assert sensors["a1-probe-1"].alarm_state is AlarmState.OUT_OF_SERVICE
    assert sensors["d1-door"].alarm_state is AlarmState.LATCHED
    d1 = next(z for views in board.sites.values() for z in views if z.zone == "D1")
    assert d1.alarmed and board.sites["SH-01"][0].alarmed


def test_a_row_shows_the_alarm_of_its_own_metric(database_url: str) -> None:
    """A probe whose temperature alarms: its temperature row is firing, its battery and humidity rows are not."""
    registry = load_registry(ROOT / "config" / "devices.yaml")
    engine = RuleEngine(load_rules(ROOT / "config" / "rules.yaml", registry), registry)
    for minute in range(-7, 1):  # above 8 °C past the rule's `for`, reporting all along: not offline
        for metric, reading in (("temperature", 9.6), ("humidity", 45.0), ("battery", 96.0)):
            engine.observe(Reading(sensor="d1-probe-1", metric=metric, value=reading,
                                   ts=NOW + timedelta(minutes=minute)))
    engine.tick(NOW)
    database = Database(database_url)
    with database.unit_of_work() as session:
        for metric, value, unit in (("temperature", 9.6, "°C"), ("humidity", 45.0, "%RH"), ("battery", 96.0, "%")):
            session.add(SensorSample(sensor="d1-probe-1", metric=metric, value=value, unit=unit,
                                     at=NOW - timedelta(seconds=10)))
    snapshot = engine.snapshot()
    with database.reader() as session:
        board = dashboard.build(session, registry, snapshot, now=NOW,
                                timezone="Asia/Shanghai", metrics=dashboard.rule_metrics(snapshot, engine.rule))
    database.dispose()
    rows = {s.metric: s.phase for s in board.sites["SH-01"][0].sensors if s.device == "d1-probe-1"}
    assert rows["temperature"] == "firing"
    assert (rows["battery"], rows["humidity"]) == ("ok", "ok")
    names = [s.metric_text() for s in board.sites["SH-01"][0].sensors if s.device == "d1-probe-1"]
    assert names == ["电量 Battery", "湿度 Humidity", "温度 Temperature"]  # in the catalogues' words, not the keys
    assert board.sites["SH-01"][0].alarmed


def test_a_reply_is_kept_for_its_viewer_only(database_url: str) -> None:
    database = Database(database_url)
    chat = WebChat(database, Broadcaster())
    wang, li = viewer_key(person_id=1, user=None), viewer_key(person_id=None, user="lina")
    assert (wang, li, viewer_key(person_id=None, user=None)) == ("person:1", "user:lina", None)
    assert wang is not None and li is not None
    kept = chat.reply(5, viewer=wang, command="/status", text="状态\nStatus", ok=True, key="reply:e1")
    again = chat.reply(5, viewer=wang, command="/status", text="状态\nStatus", ok=True, key="reply:e1")
    assert kept == again and (kept["title"], kept["body"], kept["reply"]) == ("状态", "Status", True)
    chat.reply(None, viewer=li, command="/help", text="帮助", ok=False, key="reply:e2")
    assert [m["command"] for m in chat.thread(5, viewer=wang)] == ["/status"]
    assert chat.thread(5, viewer=li) == [] and chat.thread(5) == []
    assert [m["tone"] for m in chat.thread(0, viewer=li)] == ["alert"]  # outside any incident: their own thread
    database.dispose()


def test_evidence_digests_of_an_answer() -> None:
    digest = "ab" * 32
    assert evidence_digests(digest) == [digest]
    assert evidence_digests([digest, "q1.jpg", {"sha256": "cd" * 32}]) == [digest, "cd" * 32]
    assert evidence_digests(f"sha256:{digest}") == [digest]  # as a photo step records it
    assert evidence_digests([f"sha256:{digest}", "sha256:short"]) == [digest]
    assert evidence_digests(7.9) == [] and evidence_digests(None) == [] and evidence_digests("AB" * 32) == []
