"""Rows kept for one INSERT per table (incidents.appends): written in order, seen by the transaction's own
queries, written at commit, dropped with a rollback (SQLite and PostgreSQL)."""

import pytest
from sqlmodel import Session, col, select

from incidents import appends, audit, outbox
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.tables import Incident, OutboxMessage
from tests.conftest import FakeClock


def _incident(database: Database, clock: FakeClock) -> int:
    with database.unit_of_work() as session:
        incident = Incident(title_zh="测试", title_en="Test", severity="SEV2", status="triggered", dedup_key="k",
                            open_dedup_key="k", opened_at=clock())
        session.add(incident)
        session.flush()
        assert incident.id is not None
        return incident.id


def _post(session: Session, incident_id: int, key: str, *, kept: bool) -> None:
    if kept:
        outbox.append(session, incident_id=incident_id, platform="webchat", op=outbox.OP_POST,
                      payload={"message": {"title": key}}, key=key)
    else:
        outbox.enqueue(session, incident_id=incident_id, platform="webchat", op=outbox.OP_POST,
                       payload={"message": {"title": key}}, key=key)


def test_kept_and_orm_rows_keep_the_order_they_were_added_in(database: Database, clock: FakeClock) -> None:
    incident_id = _incident(database, clock)
    order = [("a", True), ("b", False), ("c", True), ("d", True), ("e", False), ("f", True)]
    with database.unit_of_work() as session:
        for key, kept in order:
            _post(session, incident_id, key, kept=kept)
    with database.reader() as session:
        keys = session.exec(select(OutboxMessage.idempotency_key).order_by(col(OutboxMessage.id))).all()
    assert list(keys) == [key for key, _ in order]


def test_a_query_sees_kept_rows_unless_autoflush_is_off(database: Database, clock: FakeClock) -> None:
    incident_id = _incident(database, clock)
    with database.unit_of_work() as session:
        _post(session, incident_id, "x", kept=True)
        with session.no_autoflush:
            assert outbox.by_key(session, key="x") is None
        assert appends.waiting(session, OutboxMessage) == 1
        assert outbox.by_key(session, key="x") is not None
        assert appends.waiting(session, OutboxMessage) == 0


def test_rows_of_a_transaction_that_rolled_back_are_not_written_by_the_next(database: Database,
                                                                           clock: FakeClock) -> None:
    incident_id = _incident(database, clock)
    with pytest.raises(RuntimeError), database.unit_of_work() as session:
        _post(session, incident_id, "lost", kept=True)
        audit.append(session, action="test.kept", actor=SYSTEM, incident_id=incident_id)
        raise RuntimeError("rolled back")
    with database.unit_of_work() as session:
        _post(session, incident_id, "kept", kept=True)
        audit.append(session, action="test.kept", actor=SYSTEM, incident_id=incident_id)
        audit.record(session, action="test.recorded", actor=SYSTEM, incident_id=incident_id)
        audit.append(session, action="test.after", actor=SYSTEM, incident_id=incident_id)
    with database.reader() as session:
        assert [r.idempotency_key for r in session.exec(select(OutboxMessage))] == ["kept"]
        assert [e.action for e in audit.trail(session, incident_id=incident_id)] == \
            ["test.kept", "test.recorded", "test.after"]
        assert audit.verify_chain(session).ok
