"""Scans and attendance on the real Mosquitto and over HTTP: a mis-scan burst and an absent shift lead each open
their incident in the running app; unusable input is answered 400 with the reason; the alarm list answers."""

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from incidents import directory
from incidents.clock import utcnow
from incidents.database import Database
from tests.e2e.server import RULES, app_settings, running, wait_for

pytestmark = pytest.mark.mosquitto

RUN = uuid.uuid4().hex[:8]  # other runs share the broker: our stations, people and topics carry this run's id
SCAN_RULE = """rules:
  - id: scan-mismatch-burst
    title: {zh: 频繁错扫, en: Frequent mis-scans}
    type: scan_anomaly
    per: station
    count: 5
    window: 10m
    severity: SEV3
    playbook: mis-shipment
"""


def _publish(topic: str, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()


def test_scans_and_attendance_open_their_incidents(tmp_path: Path, sqlite_url: str) -> None:
    rules = tmp_path / "scan-rules.yaml"
    rules.write_text(RULES.replace("rules:\n", SCAN_RULE, 1), encoding="utf-8")
    staffing = tmp_path / "staffing.yaml"
    staffing.write_text("key_roles:\n  SL: {qualification: shift-lead}\ncheck_in_grace: 15m\n", encoding="utf-8")
    database = Database(sqlite_url)
    settings = app_settings(tmp_path, sqlite_url, rules_file=rules, staffing_file=staffing)
    with running(settings) as http:
        now = utcnow()
        with database.unit_of_work() as session:
            lead = directory.add_person(session, name_zh="甲", name_en=f"Lead {RUN}", roles=["SL"],
                                        login=f"lead-{RUN}", qualifications=["shift-lead"])
            cover = directory.add_person(session, name_zh="乙", name_en=f"Cover {RUN}", roles=["SL"],
                                         login=f"cover-{RUN}", qualifications=["shift-lead:2099-12-31"])
            for person in (lead, cover):
                directory.add_shift(session, person_id=person.id or 0, starts_at=now - timedelta(minutes=5),
                                    ends_at=now + timedelta(hours=7))
        time.sleep(0.5)  # the subscriptions are in place
        station = f"PACK-{RUN}"
        burst = [{"station": station, "operator": "op-1", "order": f"SO-{n}", "result": "mismatch"} for n in range(5)]
        _publish(f"wareroom/scans/{RUN}/{station}", json.dumps(burst).encode())
        _publish(f"wareroom/attendance/{RUN}", json.dumps({"person": f"lead-{RUN}", "event": "absent"}).encode())

        def by_source(source: str) -> list[dict[str, object]]:
            return [i for i in http.get("/api/v1/incidents").json() if i["source"] == source]

        (scans,) = wait_for(lambda: by_source("scans"))
        assert scans["playbook_id"] == "mis-shipment" and station in str(scans["title_en"])
        (shortage,) = wait_for(lambda: by_source("staffing"))
        assert shortage["playbook_id"] == "staff-shortage"
        thread = wait_for(lambda: [m for m in http.get(f"/webchat/incidents/{shortage['id']}/messages").json()
                                   if m["title"].startswith("📣")])
        assert f"Cover {RUN}" in thread[0]["body"]

        refused = http.post("/api/v1/scans", content=b'{"station": "P", "operator": "o", "order": "1", "result": "?"}')
        assert refused.status_code == 400 and "Unknown scan result" in refused.json()["message"]
        assert http.post("/api/v1/attendance", content=b'{"person": "nobody", "event": "absent"}').status_code == 400
        alarms = http.get("/api/v1/alarms").json()
        assert sorted((a["incident_id"], a["state"]) for a in alarms["alarms"]) == [
            (scans["id"], "unacknowledged alarm"), (shortage["id"], "unacknowledged alarm")]
        assert scans["alarms_returned_unacknowledged"] == 0
    database.dispose()
