"""Alertmanager and PagerDuty Events v2 through the running app: 202s, one incident per key, clear 400s."""

import json
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
            "status": "invalid event", "message": "Event object is invalid", "errors": ["PagerDuty event is not valid JSON"]})
        wrong = http.post("/api/v1/alerts/alertmanager", content=json.dumps({"version": "4"}).encode())
        assert wrong.status_code == 400
    database = Database(sqlite_url)
    with database.reader() as session:
        letters = session.exec(select(DeadLetter).where(DeadLetter.topic == "http")).all()
        acked = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).one()
    database.dispose()
    assert sorted(d.source for d in letters) == ["alertmanager", "pagerduty"]
    assert acked.actor_name == "pagerduty (external)"
