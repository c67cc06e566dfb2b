"""A cold room warming up on the real Mosquitto becomes an incident thread in the web chat."""

import json
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import select

from incidents.database import Database
from incidents.tables import DeadLetter
from tests.e2e.server import app_settings, running, wait_for

pytestmark = pytest.mark.mosquitto


def _publisher() -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    return client


def _send(client: mqtt.Client, topic: str, payload: bytes) -> None:
    client.publish(topic, payload, qos=1).wait_for_publish(5)


# a Zigbee2MQTT base topic of this run's own: other test runs share the broker and publish d1-probe-1 too
BASE = f"z2m-{uuid.uuid4().hex[:8]}"


def _reading(client: mqtt.Client, value: float) -> None:
    _send(client, f"{BASE}/d1-probe-1", json.dumps({"temperature": value, "battery": 90}).encode())


def test_excursion_opens_a_thread_and_the_clear_is_recorded(tmp_path: Path, sqlite_url: str) -> None:
    settings = app_settings(tmp_path, sqlite_url, zigbee2mqtt_base_topics=[BASE])
    publisher = _publisher()
    try:
        with running(settings) as http:
            time.sleep(0.5)  # the subscription is in place
            # a door opened for one second: shorter than "for 2s", so nothing opens
            _reading(publisher, 9.1)
            time.sleep(1.0)
            _reading(publisher, 5.0)
            time.sleep(2.5)
            assert http.get("/api/v1/incidents").json() == []
            # malformed input is kept with its reason and does not stop the next reading
            _send(publisher, f"{BASE}/d1-probe-1", b'{"temperature": ')
            for _ in range(8):
                _reading(publisher, 8.7)
                time.sleep(0.4)
            incidents = wait_for(lambda: http.get("/api/v1/incidents").json())
            assert len(incidents) == 1
            incident = incidents[0]
            assert (incident["severity"], incident["status"], incident["zone"]) == ("SEV2", "triggered", "D1")
            assert incident["playbook_id"] == "cold-chain-excursion"
            thread = wait_for(lambda: http.get(f"/webchat/incidents/{incident['id']}/messages").json())
            header = thread[0]
            assert header["header"] and "Cold room D1" in header["title"]
            assert [b["label"] for b in header["buttons"]] == ["确认 Acknowledge"]
            wait_for(lambda: any("Verify the reading" in m["title"]
                                 for m in http.get(f"/webchat/incidents/{incident['id']}/messages").json()))
            for _ in range(6):
                _reading(publisher, 5.2)
                time.sleep(0.4)
            detail = wait_for(lambda: (d := http.get(f"/api/v1/incidents/{incident['id']}").json())["cleared_at"]
                              and d)
            assert [a["kind"] for a in detail["alerts"]] == ["firing", "resolved"]
            actions = [e["action"] for e in detail["timeline"]]
            assert actions[0] == "incident.opened" and "alert.cleared" in actions
            wait_for(lambda: any("读数已恢复正常" in m["title"]
                                 for m in http.get(f"/webchat/incidents/{incident['id']}/messages").json()))
            # the readings around the incident were kept for the review's chart
            review = http.get(f"/api/v1/incidents/{incident['id']}/review.json").json()
            [series] = review["series"]
            values = [point[1] for point in series["points"]]
            assert series["sensor"] == "d1-probe-1" and 8.7 in values and 5.2 in values
    finally:
        publisher.loop_stop()
        publisher.disconnect()
    database = Database(sqlite_url)
    with database.reader() as session:
        # (other clients of the shared broker may add their own letters: look at this test's topic only)
        letters = session.exec(select(DeadLetter).where(DeadLetter.topic == f"{BASE}/d1-probe-1")).all()
    database.dispose()
    assert [(d.topic, d.source) for d in letters] == [(f"{BASE}/d1-probe-1", "mqtt")]
    assert "JSON" in letters[0].reason or "json" in letters[0].reason
