"""``POST /api/v1/drills`` in the running app (issue 11, item 5): a drill now, and one scheduled in the real
persistent scheduler, as the token's person and with the same permission check as chat."""

from pathlib import Path

import pytest
from sqlmodel import select

from incidents.database import Database
from incidents.tables import AuditEvent, Incident
from tests.e2e.server import act_as, app_settings, running
from tests.factories import seed_people

pytestmark = pytest.mark.mosquitto


def test_the_api_starts_and_schedules_drills(tmp_path: Path, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with running(app_settings(tmp_path, sqlite_url)) as http:
        seed_people(database)
        headers = act_as(sqlite_url, "wangwei")
        now = http.post("/api/v1/drills", json={"playbook": "fire", "zone": "A1", "note": "quarterly"},
                        headers=headers).json()
        assert now["ok"] and "演练 DRILL" in now["text"], now
        later = http.post("/api/v1/drills", json={"playbook": "fire", "zone": "B2", "at": "23:59"},
                          headers=headers).json()
        assert later["ok"] and "Drill scheduled" in later["text"], later
        bad = http.post("/api/v1/drills", json={"playbook": "fire", "zone": "B2", "at": "2000-01-01T09:00"},
                        headers=headers).json()
        assert not bad["ok"] and "not a time in the future" in bad["text"]
        assert http.post("/api/v1/drills", json={"playbook": "fire", "zone": "A1; drop"},
                         headers=headers).status_code == 422
    with database.reader() as session:
        incident = session.exec(select(Incident)).one()
        scheduled = session.exec(select(AuditEvent).where(AuditEvent.action == "drill.scheduled")).one()
    assert incident.drill and incident.zone == "A1"
    assert scheduled.after is not None and scheduled.after["zone"] == "B2" and scheduled.platform == "api"
    database.dispose()
