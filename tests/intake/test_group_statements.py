"""What an Alertmanager notification of new alerts costs in SQL statements (counted, not timed): a group's
alerts are written together, so 100 alerts in one group cost about what one alert costs, and 100 groups of one
alert cost about 100 times one. The rows and the audit chain are checked too."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from incidents import alert_audit, audit
from incidents.alarms import AlarmCondition
from incidents.database import Database
from incidents.tables import AuditEvent
from integrations.webhooks.parse import parse_alertmanager
from tests.conftest import FakeClock
from tests.intake.factories import Bench, make_bench

# Measured 2026-11-30: 100 new alerts in one group 31 statements on SQLite (its BEGINs are statements) and 24 on
# PostgreSQL, 100 more joining it 16 and 13 (before the group was written together: 524, about 5 an alert);
# 100 groups of one alert 2,100 and 1,600 (opening an incident: threads, pages, header, timers).
ONE_GROUP_MAX = 45
ONE_ALERT_GROUPS_MAX = 100 * 30


def notification(bench: Bench, group: str, hosts: range, *, severity: str = "warning", status: str = "firing") -> Any:
    """An Alertmanager (v4) notification of the group ``group``: one alert per host."""
    alerts = [{"status": status, "labels": {"alertname": "DiskFull", "site": "SH-01", "instance": f"host-{n}",
                                            "severity": severity},
               "annotations": {"summary": f"Disk full on host-{n}"}, "startsAt": "2026-11-25T01:00:00Z",
               "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-25T01:30:00Z",
               "fingerprint": f"{n:016x}"} for n in hosts]
    body = {"version": "4", "groupKey": f'{{}}:{{group="{group}"}}', "truncatedAlerts": 0, "status": "firing",
            "receiver": "wareroom", "groupLabels": {"group": group}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.local:9093", "alerts": alerts}
    return parse_alertmanager(json.dumps(body).encode(), now=bench.clock.now)


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements run on both of the database's engines meanwhile (an executemany counts once)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engines = {database.engine, database.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


def chain_ok(bench: Bench) -> bool:
    with bench.db.reader() as session:
        return audit.verify_chain(session).ok


def test_100_new_alerts_in_one_group(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    bench.intake.external_group(notification(bench, "warm-up", range(900, 902)))  # caches filled
    first = notification(bench, "disks", range(100))
    with statements(database) as run:
        (incident_id,) = bench.intake.external_group(first)
    assert len(run) <= ONE_GROUP_MAX, "\n".join(run)
    assert len(bench.alerts(incident_id)) == 100 and chain_ok(bench)
    with bench.db.reader() as session:
        joined = session.exec(select(AuditEvent.after).where(AuditEvent.incident_id == incident_id,
                                                             AuditEvent.action == alert_audit.ACTION)).all()
        conditions = session.exec(select(AlarmCondition).where(AlarmCondition.incident_id == incident_id)
                                  .order_by(col(AlarmCondition.id))).all()
    (listed,) = joined  # one audit event for the notification, each alert but the opener's listed in it
    assert listed is not None and listed["joined"] == 99 and len(listed["alerts"]) == 99
    assert len(conditions) == 100 and all(c.active for c in conditions)
    with statements(database) as again:
        assert bench.intake.external_group(first) == [incident_id]  # a re-send: read, nothing written
    assert len(again) <= 3, again
    more = notification(bench, "disks", range(200))  # 100 more join the open incident
    with statements(database) as joining:
        assert bench.intake.external_group(more) == [incident_id]
    assert len(joining) <= ONE_GROUP_MAX, "\n".join(joining)
    assert len(bench.alerts(incident_id)) == 200 and chain_ok(bench)


def test_100_alerts_in_100_groups(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    bench.intake.external_group(notification(bench, "warm-up", range(900, 902)))
    groups = [notification(bench, f"disk-{n}", range(n, n + 1)) for n in range(100)]
    with statements(database) as run:
        touched = [i for group in groups for i in bench.intake.external_group(group)]
    assert len(run) <= ONE_ALERT_GROUPS_MAX, len(run)
    assert len(set(touched)) == 100 and len(bench.incidents()) == 101 and chain_ok(bench)


def test_a_more_urgent_alert_raises_the_group_and_the_chain_holds(database: Database, clock: FakeClock) -> None:
    """The rare steps of a join (severity raised, triggered again) are audited in their place among the group's
    batched events, and resolved alerts are recorded together: the chain verifies throughout."""
    bench = make_bench(database, clock, probes=1)
    (incident_id,) = bench.intake.external_group(notification(bench, "disks", range(10)))
    clock.advance(seconds=60)
    assert bench.intake.external_group(notification(bench, "disks", range(10, 20), severity="critical")) == \
        [incident_id]
    (incident,) = bench.incidents()
    assert incident.severity == "SEV1" and chain_ok(bench)
    with bench.db.reader() as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.incident_id == incident_id)
                               .order_by(col(AuditEvent.id))).all()
    first_raise = actions.index("incident.severity_changed")
    assert actions[first_raise - 1] == alert_audit.ACTION and actions.count(alert_audit.ACTION) == 2, actions
    clock.advance(seconds=60)
    bench.intake.external_group(notification(bench, "disks", range(20), status="resolved"))
    (incident,) = bench.incidents()
    assert incident.cleared_at is not None and chain_ok(bench)
    assert len(bench.alerts(incident_id)) == 40
