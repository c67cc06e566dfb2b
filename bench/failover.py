"""Failover: SIGKILL the holder of the scheduler lease while an escalation waits, and the holder of the Slack
outbox lease in a burst of deliveries, ten times each.

Run: ``.venv/bin/python -m bench.failover [--kills 10] [--ttl 10] [--lease scheduler|outbox|both]``. Two
``wareroom serve`` processes on one PostgreSQL (a private schema), the local Mosquitto and the fake Slack.

Scheduler rounds: an incident is opened through the process *without* the lease (its escalation falls
due 2 s later), the holder is SIGKILLed half a second later, and the escalation is waited for; then a
replacement process starts. Measured from the SIGKILL: the takeover (the lease row's ``acquired_at``,
database clock) and the first action of the new holder (the escalation's audit row); every escalation
must happen once.

Outbox rounds: four alerts are posted through the process without the ``outbox:slack`` lease; the fake
Slack holds back the answer to the second of their posts, and the holder is SIGKILLed while it waits
for it (the post is at Slack, the row ``sending``). Measured from the SIGKILL: the takeover and the
first delivery by the new holder (its first ``chat.postMessage`` or ``chat.update``); every Slack row
must be at Slack once (a post in doubt is found by its metadata, not sent again).

Goal: takeover under 15 s at the default lease time to live (10 s); 0 lost, 0 twice.
"""

import argparse
import os
import signal
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col, select

from bench.common import percentile, report
from bot import db
from incidents.database import Database
from incidents.leases import PostgresLeases
from incidents.tables import AuditEvent, OutboxMessage
from integrations.slack.adapter import METADATA_EVENT
from tests.conftest import PG_SERVER
from tests.e2e.server import wait_for
from tests.factories import seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack
from tests.scale.serve import Replica, alert, holder_pid, start_replica

ESCALATE_AFTER_S = 2
BURST = 4  # alerts per outbox round: an opening post each on Slack


def _escalated_at(database: Database, incident_id: int) -> list[datetime]:
    with database.reader() as session:
        return list(session.exec(select(AuditEvent.at).where(AuditEvent.action == "incident.escalated",
                                                             AuditEvent.incident_id == incident_id)
                                 .order_by(col(AuditEvent.id))))


class Site:
    """The schema, the fake Slack and the running replicas of one benchmark run."""

    def __init__(self, url: str, tmp: Path, ttl: float, slack: FakeSlack, slack_url: str) -> None:
        self.url, self.tmp, self.ttl, self.slack = url, tmp, ttl, slack
        self.database, self.leases = Database(url), PostgresLeases(url)
        self.env = {"WAREROOM_SLACK_BOT_TOKEN": "xoxb-bench", "WAREROOM_SLACK_CHANNEL": "C-OPS",
                    "WAREROOM_SLACK_SIGNING_SECRET": "bench-signing-secret",
                    "WAREROOM_SLACK_API_URL": f"{slack_url}/api/",
                    "WAREROOM_MQTT_CLIENT_ID": f"wareroom-bench-failover-{uuid.uuid4().hex[:8]}"}
        self.started: list[Replica] = []

    def replica(self) -> Replica:
        made = start_replica(self.tmp, self.url, escalate_after_s=ESCALATE_AFTER_S, ttl_s=self.ttl, **self.env)
        self.started.append(made)
        made.wait_ready(timeout=120)
        return made

    def holder_and_standby(self, lease: str, running: list[Replica]) -> tuple[Replica, Replica]:
        wait_for(lambda: holder_pid(self.leases, lease) in {r.pid for r in running}, timeout=4 * self.ttl)
        holder = next(r for r in running if r.pid == holder_pid(self.leases, lease))
        return holder, next(r for r in running if r is not holder)

    def kill(self, replica: Replica) -> float:
        killed_at = time.time()
        os.kill(replica.pid, signal.SIGKILL)
        replica.process.popen.wait()
        return killed_at


def scheduler_rounds(site: Site, kills: int) -> None:
    running = [site.replica(), site.replica()]
    takeovers, first_actions, incidents = [], [], []
    for round_no in range(kills):
        holder, standby = site.holder_and_standby("scheduler", running)
        answer = standby.http.post("/api/v1/alerts", json=alert(f"F{round_no}"))
        [incident_id] = answer.json()["incidents"]
        incidents.append(incident_id)
        time.sleep(0.5)
        killed_at = site.kill(holder)
        wait_for(lambda: _escalated_at(site.database, incident_id), timeout=6 * site.ttl)  # noqa: B023
        state = site.leases.state("scheduler")
        assert state is not None and holder_pid(site.leases) == standby.pid
        takeovers.append(state.acquired_at.timestamp() - killed_at)
        first_actions.append(_escalated_at(site.database, incident_id)[0].timestamp() - killed_at)
        report(f"failover_round_{round_no + 1}",
               f"takeover {takeovers[-1]:.2f} s, first action {first_actions[-1]:.2f} s")
        running = [standby, site.replica()]
    time.sleep(site.ttl)  # time for a late second firing to show
    counts = [len(_escalated_at(site.database, i)) for i in incidents]
    report("failover_kills", kills)
    report("failover_takeover_p50_s", round(percentile(takeovers, 0.5), 2))
    report("failover_takeover_max_s", round(max(takeovers), 2))
    report("failover_first_action_p50_s", round(percentile(first_actions, 0.5), 2))
    report("failover_first_action_max_s", round(max(first_actions), 2))
    report("failover_escalations_lost", sum(c == 0 for c in counts))
    report("failover_escalations_duplicated", sum(c > 1 for c in counts))
    _report_slack(site, "failover_scheduler")
    for replica in running:
        site.kill(replica)


def _slack_rows(database: Database) -> list[OutboxMessage]:
    with database.reader() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.platform == "slack")
                                 .order_by(col(OutboxMessage.id))))


def _deliveries(slack: FakeSlack) -> int:
    return sum(call.method in ("chat.postMessage", "chat.update") for call in slack.calls)


def _first_after(count: Callable[[], int], before: int, timeout: float) -> float:
    """When ``count()`` first grows past ``before`` (polled every 10 ms)."""
    deadline = time.monotonic() + timeout
    while count() <= before:
        if time.monotonic() > deadline:
            raise AssertionError(f"no delivery within {timeout} s")
        time.sleep(0.01)
    return time.time()


def _report_slack(site: Site, prefix: str) -> None:
    """Slack posts so far: how many, and how many of them are missing or at Slack twice (by outbox key)."""
    wait_for(lambda: all(r.status == "sent" for r in _slack_rows(site.database)), timeout=120)
    posted = Counter(call.params["metadata"]["event_payload"]["key"] for call in site.slack.calls
                     if call.method == "chat.postMessage"
                     and call.params.get("metadata", {}).get("event_type") == METADATA_EVENT)
    expected = [r.idempotency_key for r in _slack_rows(site.database) if r.op in ("open_thread", "post")]
    report(f"{prefix}_slack_posts", len(expected))
    report(f"{prefix}_slack_lost", sum(posted[key] == 0 for key in expected))
    report(f"{prefix}_slack_duplicated", sum(posted[key] > 1 for key in expected))
    for key in (key for key in expected if posted[key] > 1):
        report(f"{prefix}_slack_sent_twice", key)


def outbox_rounds(site: Site, kills: int) -> None:
    running = [site.replica(), site.replica()]
    takeovers, first_deliveries = [], []
    for round_no in range(kills):
        wait_for(lambda: all(r.status == "sent" for r in _slack_rows(site.database)), timeout=60)
        holder, standby = site.holder_and_standby("outbox:slack", running)
        site.slack.slow_posts = {len(site.slack.called("chat.postMessage")) + 2}
        for n in range(BURST):
            answer = standby.http.post("/api/v1/alerts", json=alert(f"O{round_no}-{n}"))
            assert answer.status_code == 202, answer.text
        wait_for(lambda: site.slack.paused, timeout=30)
        before = _deliveries(site.slack)
        killed_at = site.kill(holder)
        site.slack.paused.clear()  # the answer goes to a dead process: the post is at Slack, the row in doubt
        first_deliveries.append(_first_after(lambda: _deliveries(site.slack), before, 6 * site.ttl) - killed_at)
        state = site.leases.state("outbox:slack")
        assert state is not None and holder_pid(site.leases, "outbox:slack") == standby.pid
        takeovers.append(state.acquired_at.timestamp() - killed_at)
        report(f"failover_outbox_round_{round_no + 1}",
               f"takeover {takeovers[-1]:.2f} s, first delivery {first_deliveries[-1]:.2f} s")
        running = [standby, site.replica()]
    time.sleep(site.ttl)  # time for a late second delivery to show
    report("failover_outbox_kills", kills)
    report("failover_outbox_takeover_p50_s", round(percentile(takeovers, 0.5), 2))
    report("failover_outbox_takeover_max_s", round(max(takeovers), 2))
    report("failover_outbox_first_delivery_p50_s", round(percentile(first_deliveries, 0.5), 2))
    report("failover_outbox_first_delivery_max_s", round(max(first_deliveries), 2))
    _report_slack(site, "failover_outbox")
    for replica in running:
        site.kill(replica)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--ttl", type=float, default=10.0, help="WAREROOM_LEASE_TTL_SECONDS")
    parser.add_argument("--lease", choices=("scheduler", "outbox", "both"), default="both")
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL (a private schema is made and dropped)")
    args = parser.parse_args()
    schema = f"bench_failover_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.server)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.server}?options=-csearch_path%3D{schema}"
    slack = FakeSlack()
    site: Site | None = None
    try:
        db.upgrade(url)
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            site = Site(url, tmp, args.ttl, slack, stack.enter_context(live_server(slack.app)))
            seed_people(site.database)
            report("failover_lease_ttl_s", args.ttl)
            if args.lease in ("scheduler", "both"):
                scheduler_rounds(site, args.kills)
            if args.lease in ("outbox", "both"):
                outbox_rounds(site, args.kills)
    finally:
        if site is not None:
            for made in site.started:
                made.process.stop()
            site.leases.dispose()
            site.database.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
