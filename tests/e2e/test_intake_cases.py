"""The intake cases of ../shared/cases/intake/ sent as their README says (mosquitto_pub at QoS 1 to the real
Mosquitto) to the running app: Fahrenheit is read as Fahrenheit, Zigbee2MQTT attribute
output gives one reading per report, renumbered DS18B20 probes stay themselves. Case 12 (a group of 300 is one
incident) is in test_alert_webhooks.py, 14 in test_long_alert_text.py, 16 in test_replays.py."""

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from incidents.database import Database
from incidents.inventory.tables import SensorSample
from incidents.tables import DeadLetter
from tests.decode.corpus import DEVICES, REAL
from tests.e2e.server import app_settings, running, wait_for

pytestmark = pytest.mark.mosquitto

RULES = """
rules:
  - id: cold-room-high-temp
    title: {zh: 冷库温度过高, en: Cold room temperature high}
    match: {metric: temperature, zone_class: cold-room}
    type: threshold
    above: 8.0
    for: 2s
    severity: SEV2
  - id: cold-room-low-temp
    title: {zh: 冷库温度过低, en: Cold room temperature low}
    match: {metric: temperature, zone_class: cold-room}
    type: threshold
    below: 2.0
    for: 2s
    severity: SEV2
  - id: probe-offline
    title: {zh: 温度探头离线, en: Temperature probe offline}
    match: {kinds: temperature-probe}
    type: offline
    after: 300s
    severity: SEV3
system:
  broker_drops: {enabled: false}  # the shared test broker counts every test run's drops, not this app's
"""


def publish(topic: str, file: Path) -> None:
    """As the case README says: ``mosquitto_pub -q 1 -t TOPIC -f FILE``."""
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1", "-t", topic, "-f", str(file)],
                   check=True, timeout=10)


def readings(http: httpx.Client) -> int:
    count: int = http.get("/healthz").json()["readings"]
    return count


def samples(url: str, sensor: str) -> list[SensorSample]:
    database = Database(url)
    with database.reader() as session:
        rows = list(session.exec(select(SensorSample).where(SensorSample.sensor == sensor)
                                 .order_by(col(SensorSample.id))))
    database.dispose()
    return rows


def test_mqtt_cases_01_05_08(tmp_path: Path, sqlite_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    rules = tmp_path / "case-rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    settings = app_settings(tmp_path, sqlite_url, rules_file=rules, devices_file=DEVICES,
                            zigbee2mqtt_base_topics=[f"z2m-{run}"])
    with running(settings) as http:
        wait_for(lambda: http.get("/healthz").json()["mqtt_connected"])
        time.sleep(0.3)  # the subscription is in place

        # case 01: a BLE probe behind a Tasmota set to Fahrenheit; 41 °F is 5 °C, in range
        case_01 = REAL / "tasmota" / "case-01-ble-tempunit-f.json"
        publish(f"tele/{run}-d2/SENSOR", case_01)
        time.sleep(2.5)  # longer than the rule's "for 2s": read as 41 °C it would have opened a SEV2
        publish(f"tele/{run}-d2/SENSOR", case_01)
        wait_for(lambda: readings(http) >= 12)
        (kept, *_) = samples(sqlite_url, "d2-ble")
        assert (kept.metric, kept.value, kept.unit, kept.raw_value, kept.raw_unit) == ("temperature", 5.0, "°C", 41.0,
                                                                                        "°F")

        # case 05: Zigbee2MQTT attribute output is a reading; with attribute_and_json, one per report
        before = readings(http)
        publish(f"z2m-{run}/d1-probe-2/temperature", REAL / "zigbee2mqtt" / "case-05-attribute-temperature.txt")
        wait_for(lambda: readings(http) == before + 1)
        assert samples(sqlite_url, "d1-probe-2")[0].value == 5.87
        publish(f"z2m-{run}/d1-probe-2", REAL / "zigbee2mqtt" / "attribute-and-json-state.json")
        publish(f"z2m-{run}/d1-probe-2/temperature", REAL / "zigbee2mqtt" / "case-05-attribute-temperature.txt")
        publish(f"z2m-{run}/d1-probe-2/humidity", REAL / "zigbee2mqtt" / "attribute-humidity.txt")
        publish(f"z2m-{run}/d1-probe-2/availability", REAL / "zigbee2mqtt" / "availability-online-legacy.txt")
        wait_for(lambda: readings(http) == before + 4)  # JSON: 2, its attributes: 0, availability: 1
        time.sleep(0.5)
        assert readings(http) == before + 4

        # case 08: three DS18B20 probes in three rooms; the first drops off and Tasmota renumbers the rest
        publish(f"tele/{run}-rack/SENSOR", REAL / "tasmota" / "case-08-ds18b20-normal.json")
        publish(f"tele/{run}-rack/SENSOR", REAL / "tasmota" / "case-08-ds18b20-renumbered.json")
        time.sleep(2.5)
        publish(f"tele/{run}-rack/SENSOR", REAL / "tasmota" / "case-08-ds18b20-renumbered.json")
        incidents: list[dict[str, Any]] = wait_for(lambda: http.get("/api/v1/incidents").json())
        time.sleep(1.0)  # what else might open (a false cold-room alarm) has had its two seconds
        incidents = http.get("/api/v1/incidents").json()
        assert [i["title_en"] for i in incidents] == ["D1 rack probe offline: missing from its gateway's report"]
        assert [s.value for s in samples(sqlite_url, "rack-f1")][:1] == [-20.0]
        assert http.get("/api/v1/intake/unknown-devices").json() == []
    database = Database(sqlite_url)
    with database.reader() as session:
        letters = session.exec(select(DeadLetter).where(col(DeadLetter.topic).contains(run))).all()
    database.dispose()
    assert letters == []
