"""Scheduler failover: SIGKILL the holder of the scheduler lease while an escalation waits, ten times.

Run: ``.venv/bin/python -m bench.failover [--kills 10] [--ttl 10]``. Two ``wareroom serve`` processes
on one PostgreSQL (a private schema) and the local Mosquitto. Each round opens an incident through
the process *without* the lease (its escalation falls due 2 s later), SIGKILLs the holder half a
second later, and waits for the escalation; then starts a replacement process. Measured from the
SIGKILL: the takeover (the lease row's ``acquired_at``, database clock) and the first action of the
new holder (the escalation's audit row); every escalation must happen once (goal: 0 lost, 0 twice).
Goal: takeover under 15 s at the default lease time to live (10 s).
"""

import argparse
import os
import signal
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col, select

from bench.common import percentile, report
from bot import db
from incidents.database import Database
from incidents.leases import PostgresLeases
from incidents.tables import AuditEvent
from tests.conftest import PG_SERVER
from tests.e2e.server import wait_for
from tests.factories import seed_people
from tests.scale.serve import Replica, alert, holder_pid, start_replica

ESCALATE_AFTER_S = 2


def _escalated_at(database: Database, incident_id: int) -> list[datetime]:
    with database.reader() as session:
        return list(session.exec(select(AuditEvent.at).where(AuditEvent.action == "incident.escalated",
                                                             AuditEvent.incident_id == incident_id)
                                 .order_by(col(AuditEvent.id))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--ttl", type=float, default=10.0, help="WAREROOM_LEASE_TTL_SECONDS")
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL (a private schema is made and dropped)")
    args = parser.parse_args()
    schema = f"bench_failover_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.server)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.server}?options=-csearch_path%3D{schema}"
    replicas: list[Replica] = []
    try:
        db.upgrade(url)
        database, leases = Database(url), PostgresLeases(url)
        seed_people(database)
        with tempfile.TemporaryDirectory() as tmp:
            def replica() -> Replica:
                made = start_replica(Path(tmp), url, escalate_after_s=ESCALATE_AFTER_S, ttl_s=args.ttl)
                replicas.append(made)
                made.wait_ready(timeout=120)
                return made

            running = [replica(), replica()]
            takeovers, first_actions, incidents = [], [], []
            for round_no in range(args.kills):
                wait_for(lambda: holder_pid(leases) in {r.pid for r in running}, timeout=4 * args.ttl)  # noqa: B023
                holder = next(r for r in running if r.pid == holder_pid(leases))
                standby = next(r for r in running if r is not holder)
                answer = standby.http.post("/api/v1/alerts", json=alert(f"F{round_no}"))
                [incident_id] = answer.json()["incidents"]
                incidents.append(incident_id)
                time.sleep(0.5)
                killed_at = time.time()
                os.kill(holder.pid, signal.SIGKILL)
                holder.process.popen.wait()
                wait_for(lambda: _escalated_at(database, incident_id), timeout=6 * args.ttl)  # noqa: B023
                state = leases.state("scheduler")
                assert state is not None and holder_pid(leases) == standby.pid
                takeovers.append(state.acquired_at.timestamp() - killed_at)
                first_actions.append(_escalated_at(database, incident_id)[0].timestamp() - killed_at)
                report(f"failover_round_{round_no + 1}", f"takeover {takeovers[-1]:.2f} s, "
                                                        f"first action {first_actions[-1]:.2f} s")
                running = [standby, replica()]
            time.sleep(args.ttl)  # time for a late second firing to show
            counts = [len(_escalated_at(database, i)) for i in incidents]
        report("failover_kills", args.kills)
        report("failover_lease_ttl_s", args.ttl)
        report("failover_takeover_p50_s", round(percentile(takeovers, 0.5), 2))
        report("failover_takeover_max_s", round(max(takeovers), 2))
        report("failover_first_action_p50_s", round(percentile(first_actions, 0.5), 2))
        report("failover_first_action_max_s", round(max(first_actions), 2))
        report("failover_escalations_lost", sum(c == 0 for c in counts))
        report("failover_escalations_duplicated", sum(c > 1 for c in counts))
        leases.dispose()
        database.dispose()
    finally:
        for made in replicas:
            made.process.stop()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
