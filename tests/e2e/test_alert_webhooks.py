"""Alertmanager and PagerDuty Events v2 through the running app: 202s, one incident per key, clear 400s."""

import json
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from incidents.database import Database
from incidents.tables import AuditEvent, DeadLetter
from tests.e2e.server import app_settings, running

pytestmark = pytest.mark.mosquitto
PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "webhooks"


def _body(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def test_alertmanager_and_pagerduty_events(tmp_path: Path, sqlite_url: str) -> None:
    with running(app_settings(tmp_path, sqlite_url)) as http:
        group = http.post("/api/v1/alerts/alertmanager", content=_body("alertmanager_group"))
        assert group.status_code == 202 and group.json()["status"] == "accepted"
        again = http.post("/api/v1/alerts/alertmanager", content=_body("alertmanager_group"))
        assert again.json()["incidents"] == group.json()["incidents"]  # Alertmanager re-sends: no new incident
        trigger = http.post("/api/v1/alerts/events", content=_body("pagerduty_trigger"))
        assert (trigger.status_code, trigger.json()) == (202, {"status": "success", "message": "Event processed",
                                                               "dedup_key": "reefer-2-door"})
        assert http.post("/api/v1/alerts/events", content=_body("pagerduty_acknowledge")).status_code == 202
        assert http.post("/api/v1/alerts/events", content=_body("pagerduty_resolve")).status_code == 202
        incidents = http.get("/api/v1/incidents").json()
        reefer = next(i for i in incidents if i["title_en"].startswith("Reefer unit 2 door open"))
        assert (reefer["status"], reefer["severity"]) == ("acknowledged", "SEV2")
        assert reefer["cleared_at"] is not None
        broken = http.post("/api/v1/alerts/events", content=b'{"event_action": "trigger"')
        assert (broken.status_code, broken.json()) == (400, {  # the answer PagerDuty gives
            "status": "invalid event", "message": "Event object is invalid",
            "errors": ["PagerDuty event is not valid JSON"]})
        wrong = http.post("/api/v1/alerts/alertmanager", content=json.dumps({"version": "4"}).encode())
        assert wrong.status_code == 400
    database = Database(sqlite_url)
    with database.reader() as session:
        letters = session.exec(select(DeadLetter).where(DeadLetter.topic == "http")).all()
        acked = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).one()
    database.dispose()
    assert sorted(d.source for d in letters) == ["alertmanager", "pagerduty"]
    assert acked.actor_name == "pagerduty (external)"


def test_case_12_a_group_of_300_grafana_and_pagerduty_limits(tmp_path: Path, sqlite_url: str) -> None:
    """Case 12 as its README says (POST /api/v1/alerts/alertmanager): one incident with its 300 alerts."""
    real = PAYLOADS.parent / "real"
    quiet = {"zigbee2mqtt_base_topics": [f"z2m-{uuid.uuid4().hex[:8]}"]}  # no other test run's readings here
    with running(app_settings(tmp_path, sqlite_url, **quiet)) as http:
        first = http.post("/api/v1/alerts/alertmanager",
                          content=(real / "alertmanager" / "case-12-300-alert-group.json").read_bytes())
        assert first.status_code == 202 and len(first.json()["incidents"]) == 1
        (incident_id,) = first.json()["incidents"]
        detail = http.get(f"/api/v1/incidents/{incident_id}").json()
        assert len(detail["alerts"]) == 300 and len(http.get("/api/v1/incidents").json()) == 1
        grafana = http.post("/api/v1/alerts/grafana",
                            content=(real / "grafana" / "webhook-notifier-example.json").read_bytes())
        assert grafana.status_code == 202 and len(grafana.json()["incidents"]) == 1
        summary = http.post("/api/v1/alerts/events",
                            content=(real / "pagerduty" / "case-14-1024-char-summary.json").read_bytes())
        assert summary.status_code == 202
        over = http.post("/api/v1/alerts/events", content=(real / "pagerduty" / "summary-1025-chars.json").read_bytes())
        assert (over.status_code, over.json()["errors"]) == (
            400, ["PagerDuty payload.summary is 1,025 characters, over the limit of 1,024"])
