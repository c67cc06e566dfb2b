"""Nothing lost, nothing stuck, on a real Mosquitto of the test's own and on both databases: poison messages
never stall the intake; a backlog queued while WareRoom restarts is read in full; a smoke detector still on is
read from its retained state at start-up; the broker's dropped messages open a system incident."""

import json
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bench.common import client, mosquitto
from incidents.database import Database
from incidents.tables import DeadLetter
from tests.decode.corpus import DEVICES
from tests.e2e.server import app_settings, running, wait_for
from tests.factories import ROOT

pytestmark = pytest.mark.mosquitto
SHIPPED_RULES = ROOT / "config" / "rules.yaml"
# Mosquitto's own defaults: 20 unacknowledged QoS 1 messages in flight, 1,000 queued
DEFAULTS = {"max_inflight_messages": "20", "max_queued_messages": "1000", "max_queued_bytes": "0"}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


POISON: list[tuple[str, bytes]] = [
    ("tele/rack/SENSOR", b'{"DS18B20":{"Temperature":' + nested(1000) + b"}}"),  # the Tasmota payload of issue 16
    ("tele/rack/SENSOR", b'{"DS18B20":' + nested(5000) + b"}"),
    ("zigbee2mqtt/d1-probe-1", b'{"temperature": 5.1\x00, "battery": 90}'),
    ("zigbee2mqtt/d1-probe-1", b"\x00\x00\x00\x00"),
    ("zigbee2mqtt/d1-probe-1", b'{"temperature": "\xff\xfe\xfd"}'),
    ("zigbee2mqtt/d1-probe-1", b'{"temperature": NaN}'),
    ("zigbee2mqtt/d1-probe-1", b"[1, 2, 3]"),
    ("zigbee2mqtt/d1-probe-1/availability", b'{"state": "asleep\x00"}'),
    ("zigbee2mqtt/bridge/devices", b'[{"friendly_name": "x", "definition": {"exposes": [' + nested(900) + b"]}}]" * 2),
    ("zigbee2mqtt/bridge/state", b"maybe"),
    ("tele/rack/LWT", b"Zombie\x00\xff"),
    ("tele/rack/SENSOR", b'{"DS18B20":{"Id":"01144A0CB2AA","Temperature":5},"TempUnit":"Q"}'),
    ("tele/rack/SENSOR", b'{"X":{"T":[' + b",".join([b"1"] * 10_001) + b"]}}"),
    ("tele/rack/STATE", b"\xc3\x28"),
    ("wareroom/sensors/a", b'{"sensor": "d1-probe-1", "metric": "temperature", "value": "hot"}'),
    ("wareroom/sensors/a", b'{"sensor": "d1\x00probe", "metric": "temperature", "value": 1e999}'),
    ("wareroom/sensors/a", b'{"sensor": "d1-probe-1", "metric": "temperature", "value": 5, "unit": "parsecs"}'),
    ("wareroom/sensors/a", b'{"sensor": "d1-probe-1", "metric": "temperature", "value": 5, "ts": "yesterday"}'),
    ("wareroom/sensors/a", b" " * (2 << 20) + b"{}"),
    ("wareroom/sensors/a", nested(1020)),
    ("wareroom/stock/a", b'{"sku": ' + nested(3000) + b"}"),
    ("wareroom/stock/a", b"\xff\xfe\x00 not a stock event"),
    ("zigbee2mqtt/d1-probe-1/availability", b"\xf0\x9f\x98"),
    ("tele/rack/5ADF/SENSOR", b'{"ZbReceived":' + nested(2000) + b"}"),
    ("zigbee2mqtt/d1-probe-1", b'{"temperature": 5.1, "humidity": 4' + b"\xe2\x82" + b"}"),
]
SMOKE = ("zigbee2mqtt/dock-smoke-1", json.dumps({"smoke": True, "battery": 100}).encode())


def write_rules(tmp: Path) -> Path:
    path = tmp / "shipped-rules.yaml"  # (app_settings writes its own rules.yaml)
    path.write_text(SHIPPED_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def open_incidents(http: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = http.get("/api/v1/incidents?open_only=true").json()
    return found


def test_25_poison_messages_then_a_smoke_alarm_opens_within_a_second(tmp_path: Path, database_url: str) -> None:
    assert len(POISON) == 25
    with mosquitto("", DEFAULTS) as url:
        settings = app_settings(tmp_path, database_url, mqtt_url=url, devices_file=DEVICES,
                                rules_file=write_rules(tmp_path))
        publisher = client(url)
        try:
            with running(settings) as http:
                wait_for(lambda: http.get("/healthz").json()["mqtt_connected"])
                time.sleep(0.3)
                for topic, payload in POISON:
                    publisher.publish(topic, payload, qos=1).wait_for_publish(5)
                sent = datetime.now(UTC)
                publisher.publish(*SMOKE, qos=1).wait_for_publish(5)
                (incident,) = wait_for(lambda: open_incidents(http))
                # the intake applied the alarm (the incident's opened_at) within a second of its publication
                opened = datetime.fromisoformat(incident["opened_at"]).replace(tzinfo=UTC)
                assert incident["severity"] == "SEV1" and (opened - sent).total_seconds() < 1.0
                wait_for(lambda: "wareroom_mqtt_poison_messages_total" in http.get("/metrics").text)
        finally:
            publisher.loop_stop()
            publisher.disconnect()
    db = Database(database_url)
    with db.reader() as session:
        letters = session.exec(select(DeadLetter)).all()
    db.dispose()
    assert sorted(d.topic for d in letters) == sorted(topic for topic, _ in POISON)
    assert all(d.reason for d in letters)
    assert all("\x00" not in d.payload for d in letters)  # NUL escaped, so PostgreSQL takes it


def _registry(tmp: Path, detectors: int, probes: int) -> Path:
    lines = ["zones:", "  D1: {site: SH-01, name_zh: 冷库 D1, name_en: Cold room D1, class: cold-room}"]
    lines += [f"  DOCK{n}: {{site: SH-01, name_zh: 月台 {n}, name_en: Dock {n}, class: ambient}}"
              for n in range(detectors)]
    lines.append("devices:")
    lines += [f"  probe-{n}: {{site: SH-01, zone: D1, kind: temperature-probe}}" for n in range(probes)]
    lines += [f"  smoke-{n}: {{site: SH-01, zone: DOCK{n}, kind: smoke-detector}}" for n in range(detectors)]
    path = tmp / "devices.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_1500_reading_backlog_across_a_restart_loses_no_alarm(tmp_path: Path, database_url: str) -> None:
    alarms, total = 20, 1500
    with mosquitto("") as url:  # the broker config WareRoom ships
        settings = app_settings(tmp_path, database_url, mqtt_url=url, devices_file=_registry(tmp_path, alarms, 50),
                                rules_file=write_rules(tmp_path), mqtt_client_id=f"wareroom-{uuid.uuid4().hex[:10]}")
        with running(settings) as http:  # the persistent session exists; then WareRoom stops
            wait_for(lambda: http.get("/healthz").json()["mqtt_connected"])
        publisher = client(url)
        try:
            for n in range(total):
                if n % (total // alarms) == total // alarms - 1:
                    body = {"sensor": f"smoke-{n // (total // alarms)}", "metric": "smoke", "value": True}
                else:
                    body = {"sensor": f"probe-{n % 50}", "metric": "temperature", "value": 5.0}
                publisher.publish(f"wareroom/sensors/{n}", json.dumps(body).encode(), qos=1).wait_for_publish(5)
        finally:
            publisher.loop_stop()
            publisher.disconnect()
        with running(settings) as http:  # back, with the same session
            wait_for(lambda: http.get("/healthz").json()["readings"] >= total, timeout=60)
            incidents = wait_for(lambda: len(found := open_incidents(http)) >= alarms and found, timeout=30)
            assert sorted(i["zone"] for i in incidents) == sorted(f"DOCK{n}" for n in range(alarms))
            assert http.get("/healthz").json()["readings"] == total
            assert http.get("/healthz").json()["warnings"] == []


def test_a_smoke_detector_still_on_is_read_from_retained_state_at_start_up(tmp_path: Path, sqlite_url: str) -> None:
    with mosquitto("") as url:
        publisher = client(url)
        publisher.publish(*SMOKE, qos=1, retain=True).wait_for_publish(5)  # Zigbee2MQTT device option retain
        publisher.loop_stop()
        publisher.disconnect()
        for _ in range(2):  # started twice, each time with an engine that remembers nothing
            settings = app_settings(tmp_path, sqlite_url, mqtt_url=url, devices_file=DEVICES,
                                    rules_file=write_rules(tmp_path))
            with running(settings) as http:
                (incident,) = wait_for(lambda: open_incidents(http))
                assert (incident["severity"], incident["zone"]) == ("SEV1", "DOCK")
                time.sleep(0.5)
                assert len(open_incidents(http)) == 1  # the second start joins it


def test_broker_dropped_messages_open_a_system_incident(tmp_path: Path, sqlite_url: str) -> None:
    with mosquitto("", {"max_queued_messages": "50", "sys_interval": "1"}) as url:
        settings = app_settings(tmp_path, sqlite_url, mqtt_url=url, devices_file=DEVICES,
                                rules_file=write_rules(tmp_path), mqtt_client_id=f"wareroom-{uuid.uuid4().hex[:10]}")
        with running(settings) as http:
            wait_for(lambda: http.get("/healthz").json()["mqtt_connected"])
        publisher = client(url)
        for n in range(200):
            body = {"sensor": "d2-probe-2", "metric": "temperature", "value": 5.0}
            publisher.publish(f"wareroom/sensors/{n}", json.dumps(body).encode(), qos=1).wait_for_publish(5)
        publisher.loop_stop()
        publisher.disconnect()
        with running(settings) as http:
            (incident,) = wait_for(lambda: open_incidents(http), timeout=10)
            # 150 of the 200 readings at least (the broker may count one of its own $SYS messages too); "since it
            # started" when the first count seen is that, "… more" when a stale retained 0 came first
            assert incident["dedup_key"] == "system:broker-drops"
            dropped = int(re.findall(r"\d+", incident["title_en"])[-1])
            assert dropped >= 150
            health = http.get("/healthz").json()
            (warning,) = health["warnings"]
            assert health["status"] == "warn"
            assert re.fullmatch(r"the MQTT broker reports \d+ dropped messages", warning)
            latest = re.search(r"wareroom_broker_dropped_messages (\d+)\.0", http.get("/metrics").text)
            assert latest is not None and int(latest.group(1)) >= dropped
