"""Two ``wareroom serve`` processes on one PostgreSQL: the scheduler runs once, and moves when its holder dies."""

import os
import signal
import time
from pathlib import Path

import pytest
from sqlmodel import col, select

from incidents.database import Database
from incidents.leases import PostgresLeases
from incidents.tables import AuditEvent, OutboxMessage
from tests.e2e.server import wait_for
from tests.factories import seed_people
from tests.scale.processes import Process
from tests.scale.serve import alert, holder_pid, start_replica

pytestmark = [pytest.mark.postgres, pytest.mark.mosquitto]
TTL = 3.0


def _escalations(database: Database) -> list[int]:
    with database.reader() as session:
        return [e.incident_id or 0 for e in session.exec(select(AuditEvent).where(
            AuditEvent.action == "incident.escalated").order_by(col(AuditEvent.id)))]


def _escalation_notices(database: Database, incident_id: int) -> int:
    with database.reader() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id)).all()
    return sum("escalated to" in str(row.payload) for row in rows)


def test_an_escalation_fires_once_across_processes_and_a_holder_kill(
        tmp_path: Path, pg_url: str, processes: list[Process]) -> None:
    database, leases = Database(pg_url), PostgresLeases(pg_url)
    seed_people(database)
    first = start_replica(tmp_path, pg_url, escalate_after_s=4, ttl_s=TTL)
    processes.append(first.process)
    first.wait_ready()
    wait_for(lambda: holder_pid(leases) == first.pid, timeout=20)
    second = start_replica(tmp_path, pg_url, escalate_after_s=4, ttl_s=TTL)
    processes.append(second.process)
    second.wait_ready()
    assert second.http.get("/livez").json()["scheduler_lease"]["held"] is False

    # armed by the process without the lease (the shared job store), run by the holder, once
    answer = second.http.post("/api/v1/alerts", json=alert("D2"))
    assert answer.status_code == 202, answer.text
    [armed_elsewhere] = answer.json()["incidents"]
    wait_for(lambda: armed_elsewhere in _escalations(database), timeout=20)

    # the holder dies while the next escalation waits: the other process takes over and fires it
    answer = first.http.post("/api/v1/alerts", json=alert("D3"))
    assert answer.status_code == 202, answer.text
    [orphaned] = answer.json()["incidents"]
    os.kill(first.pid, signal.SIGKILL)
    wait_for(lambda: orphaned in _escalations(database), timeout=6 * TTL)
    assert holder_pid(leases) == second.pid
    assert second.http.get("/livez").json()["scheduler_lease"]["held"] is True
    wait_for(lambda: _escalation_notices(database, orphaned) >= 1)
    time.sleep(TTL)  # give a second firing (a re-armed job, a stale token) every chance to show
    assert sorted(_escalations(database)) == sorted([armed_elsewhere, orphaned])
    assert (_escalation_notices(database, armed_elsewhere), _escalation_notices(database, orphaned)) == (1, 1)
    leases.dispose()
    database.dispose()
