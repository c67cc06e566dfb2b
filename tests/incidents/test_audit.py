"""The audit chain on SQLite and the real PostgreSQL: intact, altered, removed."""

import sqlalchemy as sa
from sqlmodel import select

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.database import Database
from incidents.tables import AuditEvent

WANG = Actor(person_id=None, name="王伟 Wang Wei", roles=("SL",), platform="slack", platform_user_id="U1")


def _write(database: Database, count: int) -> None:
    for n in range(count):
        with database.unit_of_work() as session:
            audit.record(session, action="incident.acknowledge", actor=WANG if n % 2 else SYSTEM, incident_id=1,
                         before={"status": "triggered"}, after={"status": "acknowledged", "n": n},
                         reason="测试 reason")


def test_an_untouched_chain_verifies(database: Database) -> None:
    _write(database, 5)
    with database.reader() as session:
        report = audit.verify_chain(session)
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
    assert (report.ok, report.checked, report.first_bad_id) == (True, 5, None)
    assert rows[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]


def test_an_altered_row_is_named(database: Database) -> None:
    _write(database, 5)
    with database.engine.begin() as conn:
        conn.execute(sa.text("UPDATE auditevent SET reason = 'nothing happened' WHERE id = 3"))
    with database.reader() as session:
        report = audit.verify_chain(session)
    assert (report.ok, report.checked, report.first_bad_id) == (False, 2, 3)
    assert report.problem == "row 3: its content was altered after it was written"


def test_a_removed_row_is_named_by_the_row_after_the_gap(database: Database) -> None:
    _write(database, 5)
    with database.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM auditevent WHERE id = 2"))
    with database.reader() as session:
        report = audit.verify_chain(session)
    assert (report.ok, report.first_bad_id) == (False, 3)
    assert report.problem is not None and "removed or altered" in report.problem


def test_a_rolled_back_transaction_leaves_no_audit_row(database: Database) -> None:
    _write(database, 1)
    try:
        with database.unit_of_work() as session:
            audit.record(session, action="incident.resolve", actor=WANG, incident_id=1)
            raise RuntimeError("the state change failed")
    except RuntimeError:
        pass
    with database.reader() as session:
        assert audit.verify_chain(session).checked == 1


def test_many_appends_in_one_transaction_chain_to_each_other(database: Database) -> None:
    _write(database, 1)
    with database.unit_of_work() as session:
        for n in range(4):
            audit.record(session, action="step.active", actor=SYSTEM, incident_id=2, object_id=f"s{n}")
    _write(database, 1)
    with database.reader() as session:
        report = audit.verify_chain(session)
    assert (report.ok, report.checked) == (True, 6)


def test_rows_verify_whatever_their_json_holds(database: Database) -> None:
    """The check reads plain rows, not ``AuditEvent`` objects: negative zero, integers beyond 64 bits (which a
    faster JSON reader such as orjson turns into floats), nested, non-ASCII and null values hash as written."""
    odd: list[dict[str, object] | None] = [
        {"value": -0.0}, {"big": 2**70}, {"text": "冷库 \u0007 \"q\"", "nested": {"b": [1, 2.5e-8], "a": None}},
        {"n": 1.0, "e": 1e16}, None]
    with database.unit_of_work() as session:
        for n, after in enumerate(odd):
            audit.record(session, action="incident.note", actor=WANG, incident_id=1, after=after, before=after,
                         reason=None if n % 2 else "理由")
    with database.reader() as session:
        assert audit.verify_chain(session) == audit.ChainReport(5, True)
