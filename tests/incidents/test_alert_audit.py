"""Each alert a notification wrote stays tamper-evident under its one audit event (``incidents.alert_audit``)."""

from sqlmodel import col, select

from incidents import alert_audit, audit
from incidents.database import Database
from incidents.tables import Alert, AuditEvent
from tests.conftest import FakeClock
from tests.intake.factories import make_bench
from tests.intake.test_group_statements import notification


def fp(n: int) -> str:
    """The stored fingerprint of the alert of host ``n`` (``notification``)."""
    return f"alertmanager:{n:016x}"


def test_an_altered_or_removed_alert_row_is_detected_against_its_notification(database: Database,
                                                                               clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    (incident_id,) = bench.intake.external_group(notification(bench, "disks", range(5)))
    clock.advance(seconds=60)
    bench.intake.external_group(notification(bench, "disks", range(3), status="resolved"))
    with bench.db.reader() as session:
        assert audit.verify_chain(session).ok and alert_audit.verify_alerts(session) == []
        events = session.exec(select(AuditEvent.after).where(AuditEvent.action == alert_audit.ACTION)
                              .order_by(col(AuditEvent.id))).all()
    assert [[(a["fingerprint"], a["status"]) for a in (e or {})["alerts"]] for e in events] == [
        [(fp(n), "firing") for n in range(1, 5)], [(fp(n), "resolved") for n in range(3)]]
    with bench.db.unit_of_work() as session:  # someone edits one stored alert's labels
        row = session.exec(select(Alert).where(Alert.fingerprint == fp(2), Alert.kind == "resolved")).one()
        row.labels = {**row.labels, "instance": "host-99"}
        session.add(row)
    with bench.db.reader() as session:
        assert audit.verify_chain(session).ok  # the chain itself still holds: only the digests tell
        (mismatch,) = alert_audit.verify_alerts(session)
        assert (mismatch.fingerprint, mismatch.status, mismatch.incident_id) == (fp(2), "resolved", incident_id)
        assert alert_audit.verify_alerts(session, incident_id=incident_id + 1) == []
    with bench.db.unit_of_work() as session:  # and a removed one
        session.delete(session.exec(select(Alert).where(Alert.fingerprint == fp(4))).one())
    with bench.db.reader() as session:
        assert {(m.fingerprint, m.status) for m in alert_audit.verify_alerts(session, incident_id=incident_id)} == {
            (fp(2), "resolved"), (fp(4), "firing")}
