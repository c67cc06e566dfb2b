"""An unacknowledged incident escalates once, even when the app is down when the timer falls due."""

import time
from pathlib import Path

import pytest
from sqlmodel import select

from incidents.database import Database
from incidents.tables import AuditEvent
from tests.e2e.server import app_settings, running, wait_for
from tests.factories import seed_people

pytestmark = pytest.mark.mosquitto

ESCALATION = """
policies:
  SEV2:
    first: [SL]
    levels:
      - {after_seconds: 3, role: WM}
      - {after_seconds: 600, role: OD}
"""
ALERT = {"title": {"zh": "冷库 D2 压缩机故障", "en": "Cold room D2 compressor failure"}, "severity": "SEV2",
         "dedup_key": "d2-compressor", "labels": {"site": "SH-01", "zone": "D2", "alertname": "cold-room-high-temp"}}


def _escalations(database: Database) -> list[AuditEvent]:
    with database.reader() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == "incident.escalated")))


def test_escalation_survives_a_restart_and_happens_once(tmp_path: Path, database_url: str) -> None:
    database = Database(database_url)
    escalation = tmp_path / "escalation.yaml"
    escalation.write_text(ESCALATION, encoding="utf-8")
    settings = app_settings(tmp_path, database_url, escalation_file=escalation)
    with running(settings) as http:
        seed_people(database)
        answer = http.post("/api/v1/alerts", json=ALERT)
        assert answer.status_code == 202, answer.text
        [incident_id] = answer.json()["incidents"]
        opened = time.monotonic()
    # the app is down when the escalation falls due three seconds after opening
    assert _escalations(database) == []
    time.sleep(max(0.0, 4.0 - (time.monotonic() - opened)))
    with running(settings) as http:
        [event] = wait_for(lambda: _escalations(database))
        assert (event.incident_id, event.after) == (incident_id, {"level": 1, "role": "WM"})
        thread = wait_for(lambda: [m for m in http.get(f"/webchat/incidents/{incident_id}/messages").json()
                                   if "escalated to" in m["body"]])
        assert "李娜 Li Na" in thread[0]["body"] and "仓库经理 Warehouse manager (WM)" in thread[0]["body"]
        time.sleep(1.5)
        metrics = http.get("/metrics").text
    assert len(_escalations(database)) == 1
    assert 'wareroom_open_incidents{severity="SEV2"} 1.0' in metrics
    database.dispose()
