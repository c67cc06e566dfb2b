"""Alerts about the monitoring itself: a gateway offline is one incident and mutes the offline alerts of the
devices behind it; the intake's dead-man; the broker's dropped messages; calibration dates; registry units;
unregistered devices listed, not dead-lettered."""

from sqlmodel import col, select

from handlers.intake import Intake
from incidents.database import Database
from incidents.inventory.tables import SensorSample
from incidents.readings import GatewayState, Reading
from incidents.rules.config import parse_registry, parse_rules_file
from incidents.rules.engine import RuleEngine
from incidents.tables import Alert, DeadLetter
from tests.conftest import FakeClock
from tests.factories import make_core
from tests.intake.factories import RULES, Bench

REGISTRY = """
zones:
  D1: {site: SH-01, name_zh: 冷库 D1, name_en: Cold room D1, class: cold-room}
  DOCK: {site: SH-01, name_zh: 月台, name_en: Loading docks, class: ambient}
devices:
  rack-1: {site: SH-01, zone: D1, kind: temperature-probe, hardware_id: "1wire:01144A0CB2AA", name_en: Rack probe 1}
  rack-2: {site: SH-01, zone: D1, kind: temperature-probe, hardware_id: "1wire:0316A27962FF", name_en: Rack probe 2}
  dock-smoke-1: {site: SH-01, zone: DOCK, kind: smoke-detector}
"""
CALIBRATED = """
  old-probe: {site: SH-01, zone: D1, kind: temperature-probe, units: {temperature: °F}, calibration_due: 2026-11-01}
  soon-probe: {site: SH-01, zone: D1, kind: temperature-probe, calibration_due: 2026-12-10}
"""


def make(db: Database, clock: FakeClock, devices: str = "") -> Bench:
    core = make_core(db, platforms=("webchat", "slack"), now=clock)
    registry = parse_registry(REGISTRY + devices, source="devices.yaml")
    rules = parse_rules_file(RULES, source="rules.yaml", registry=registry)
    intake = Intake(db, RuleEngine(rules.rules, registry), core.flow, grouping=rules.grouping,
                    inhibit=rules.inhibit, system=rules.system)
    return Bench(intake, core, db, clock)


def probe(bench: Bench, position: str, serial: str, value: float) -> Reading:
    return Reading(sensor=f"rack/{position}", metric="temperature", value=value, ts=bench.clock.now,
                   source="tasmota", hardware_id=f"1wire:{serial}", gateway="tasmota:rack")


def gateway(bench: Bench, online: bool) -> list[int]:
    return bench.intake.gateway(GatewayState(gateway="tasmota:rack", online=online, ts=bench.clock.now,
                                             source="tasmota", name="rack"))


def rules_of(bench: Bench) -> list[list[str]]:
    return [[a.rule_id for a in bench.alerts(i.id or 0)] for i in bench.incidents()]


def test_gateway_offline_is_one_incident_and_mutes_the_probes_behind_it(database: Database,
                                                                        clock: FakeClock) -> None:
    bench = make(database, clock)
    bench.intake.readings([probe(bench, "DS18B20-1", "01144A0CB2AA", 4.5),
                           probe(bench, "DS18B20-2", "0316A27962FF", 5)])
    gateway(bench, False)
    for _ in range(8):
        bench.wait(60)  # the probes' heartbeats run out (5 min) while the gateway is offline
    (incident,) = bench.incidents()
    assert incident.title_en == "Gateway rack offline: 2 devices behind it report nothing (Rack probe 1, Rack probe 2)"
    assert bench.intake.stats.gateway_muted == 2
    assert bench.intake.warnings() == ["gateway rack is offline"]
    gateway(bench, True)
    bench.wait(30)  # back: its probes get the grace period to report, and do
    for _ in range(6):
        bench.intake.readings([probe(bench, "DS18B20-1", "01144A0CB2AA", 4.6),
                               probe(bench, "DS18B20-2", "0316A27962FF", 5)])
        bench.wait(60)
    assert rules_of(bench) == [["gateway-offline", "gateway-offline"]]  # fired, then back online; no probe incident
    assert bench.intake.warnings() == []


def test_a_probe_still_silent_after_its_gateway_is_back_is_raised_after_the_grace(database: Database,
                                                                                  clock: FakeClock) -> None:
    bench = make(database, clock)
    bench.intake.readings([probe(bench, "DS18B20-1", "01144A0CB2AA", 4.5),
                           probe(bench, "DS18B20-2", "0316A27962FF", 5)])
    gateway(bench, False)
    bench.wait(360)
    gateway(bench, True)
    for minute in range(7):  # probe 1 reports every minute, probe 2 stays silent
        bench.intake.readings([probe(bench, "DS18B20-1", "01144A0CB2AA", 4.6)])
        bench.wait(60)
        if minute < 4:
            assert [r for rules in rules_of(bench) for r in rules] == ["gateway-offline", "gateway-offline"]
    incidents = bench.incidents()  # the grace is over, and the offline group's 30 s
    assert [i.dedup_key for i in incidents] == ["gateway-offline:tasmota:rack", "group:probes-offline:SH-01"]
    assert [a.sensor for a in bench.alerts(incidents[1].id or 0)] == ["rack-2"]


def test_dead_man_when_nothing_is_read_or_the_broker_is_gone(database: Database, clock: FakeClock) -> None:
    bench = make(database, clock)

    def dead_man() -> list[str]:
        return [a.title_en for i in bench.incidents() if i.dedup_key == "system:intake"
                for a in bench.alerts(i.id or 0)]

    bench.wait(3600)
    assert dead_man() == []  # not armed: this intake has no broker connection to watch
    bench.intake.connection(True)
    bench.send("dock-smoke-1", "smoke", False)
    bench.wait(300)
    assert dead_man() == []
    bench.wait(300)  # ten minutes without a reading from anywhere
    assert dead_man() == ["No reading from any sensor for 10 min"]
    bench.send("dock-smoke-1", "smoke", False)
    bench.wait(5)
    assert dead_man()[-1] == "Sensor data is arriving again"
    bench.intake.connection(False)
    bench.wait(59)
    assert len(dead_man()) == 2
    bench.wait(1)
    assert dead_man()[-1] == "Connection to the MQTT broker lost for 1 min: no sensor data arrives"


def test_broker_drops_open_a_system_incident_and_warn(database: Database, clock: FakeClock) -> None:
    bench = make(database, clock)
    assert bench.intake.broker_dropped(0) == [] and bench.intake.warnings() == []
    (incident_id,) = bench.intake.broker_dropped(12)
    assert bench.intake.broker_dropped(12) == []
    assert bench.intake.broker_dropped(20) == [incident_id]
    assert [a.title_en for a in bench.alerts(incident_id)] == [
        "The MQTT broker dropped 12 more messages (12 in all): readings may be missing",
        "The MQTT broker dropped 8 more messages (20 in all): readings may be missing",
    ]
    assert bench.intake.warnings() == ["the MQTT broker reports 20 dropped messages"]
    restarted = make(database, clock)  # what was reported before a restart is not reported again
    assert restarted.intake.broker_dropped(20) == []
    assert restarted.intake.broker_dropped(21) == [incident_id]
    assert make(database, clock).intake.broker_dropped(3) == [incident_id]  # a smaller count: the broker restarted


def test_registry_units_calibration_and_unknown_devices(database: Database, clock: FakeClock) -> None:
    bench = make(database, clock, CALIBRATED)  # the clock reads 2026-11-25: old-probe's calibration ran out on 11-01
    bench.intake.readings([
        Reading(sensor="old-probe", metric="temperature", value=41.0, ts=clock.now),
        Reading(sensor="mystery", metric="temperature", value=4.0, ts=clock.now, source="zigbee2mqtt"),
        Reading(sensor="mystery", metric="humidity", value=40.0, ts=clock.now, source="zigbee2mqtt"),
    ])
    bench.wait(5)
    with database.reader() as session:
        (sample,) = session.exec(select(SensorSample)).all()
        letters = session.exec(select(DeadLetter)).all()
        warnings = session.exec(select(Alert).order_by(col(Alert.id))).all()
    assert (sample.sensor, sample.value, sample.unit, sample.raw_value, sample.raw_unit, sample.out_of_calibration) \
        == ("old-probe", 5.0, "°C", 41.0, "°F", True)
    assert letters == []  # an unregistered device is listed, not dead-lettered
    (mystery,) = bench.intake.unknown.listed()
    assert (mystery.name, mystery.readings, sorted(mystery.metrics)) == ("mystery", 2, ["humidity", "temperature"])
    assert sorted(a.title_en for a in warnings) == [
        "old-probe calibration ran out on 2026-11-01: its readings are not GSP evidence",
        "soon-probe calibration due on 2026-12-10",
    ]
    bench.wait(86_400)
    with database.reader() as session:
        assert len(session.exec(select(Alert)).all()) == 2  # each said once
