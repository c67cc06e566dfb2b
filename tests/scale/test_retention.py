"""Retention on SQLite and PostgreSQL: a dry run counts what an applied run removes, the record stays whole."""

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, insert
from sqlmodel import SQLModel, col, select
from typer.testing import CliRunner

from bot.cli import app
from incidents import archive, audit, retention
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.inventory.tables import SensorSample
from incidents.retention import RetentionMark, RetentionPolicy
from incidents.tables import Alert, AuditEvent, DeadLetter, Incident, OutboxMessage, ProcessedEvent, StepRun

NOW = datetime(2026, 11, 25, 0, 7, tzinfo=UTC)
POLICY = RetentionPolicy()
DAYS = 9  # of one-minute readings; the first two are older than the 7 days kept in full
START = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
THINNED_UNTIL = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)  # 7 days before NOW, down to the half hour
INCIDENT_OPENED = NOW - timedelta(days=8, hours=-2)
INCIDENT_RESOLVED = INCIDENT_OPENED + timedelta(hours=1)
LIVE_FROM = NOW - timedelta(days=8, hours=-10)


def _fill(database: Database) -> None:
    """Three probes reporting every minute; p2 had an incident, p3 an alert that was live for 20 minutes."""
    rows = [{"sensor": sensor, "metric": "temperature", "value": 5.0, "at": START + timedelta(minutes=m),
             "alert_live": sensor == "p3" and timedelta(0) <= START + timedelta(minutes=m) - LIVE_FROM
             < timedelta(minutes=20)}
            for sensor in ("p1", "p2", "p3") for m in range(DAYS * 24 * 60)]
    with database.unit_of_work() as session:
        session.execute(insert(SensorSample), rows)
        incident = Incident(title_zh="t", title_en="t", severity="SEV2", status="closed", dedup_key="k",
                            opened_at=INCIDENT_OPENED, resolved_at=INCIDENT_RESOLVED, closed_at=INCIDENT_RESOLVED)
        session.add(incident)
        session.flush()
        assert incident.id is not None
        session.add(Alert(incident_id=incident.id, fingerprint="f", rule_id="r", kind="firing", severity="SEV2",
                          title_zh="t", title_en="t", sensor="p2", metric="temperature", at=INCIDENT_OPENED))
        session.add(StepRun(incident_id=incident.id, step_id="s", status="done", started_at=INCIDENT_OPENED))
        for n in range(5):
            audit.record(session, action="incident.note", actor=SYSTEM, incident_id=incident.id,
                         at=INCIDENT_OPENED + timedelta(minutes=n))
        old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
        session.add_all([DeadLetter(source="mqtt", topic="t", payload="x", reason="old", received_at=old),
                         DeadLetter(source="mqtt", topic="t", payload="x", reason="recent", received_at=recent),
                         ProcessedEvent(dedupe_key="slack:old", platform="slack", received_at=old),
                         ProcessedEvent(dedupe_key="slack:new", platform="slack", received_at=recent)])
        for key, op, status, sent in [("i1:webchat:post:aa", "post", "sent", old),      # one-off: goes
                                      ("i1:webchat:header:bb", "update_header", "sent", old),  # goes
                                      ("i1:webchat:edit:cc", "edit", "sent", old),      # goes
                                      ("i1:webchat:open", "open_thread", "sent", old),  # the thread: stays
                                      ("i1:webchat:step:s:1", "post", "sent", old),     # an editable card: stays
                                      ("i1:webchat:post:dd", "post", "sent", recent),   # too recent: stays
                                      ("i1:webchat:post:ee", "post", "dead", None)]:    # not delivered: stays
            session.add(OutboxMessage(incident_id=incident.id, platform="webchat", op=op, payload={},
                                      idempotency_key=key, status=status, sent_at=sent))


def _expected_samples(database: Database) -> set[int]:
    """The readings a correct thinning keeps, worked out row by row in Python."""
    kept: set[int] = set()
    first_of_bucket: set[tuple[str, int]] = set()
    with database.reader() as session:
        rows = session.exec(select(SensorSample).order_by(col(SensorSample.sensor), col(SensorSample.at))).all()
    for row in rows:
        assert row.id is not None
        bucket = (row.sensor, int(row.at.timestamp()) // 1800)
        around_incident = row.sensor == "p2" and (INCIDENT_OPENED - timedelta(hours=1) <= row.at
                                                   <= INCIDENT_RESOLVED + timedelta(minutes=30))
        if row.at >= THINNED_UNTIL or bucket not in first_of_bucket or row.alert_live \
                or around_incident:
            kept.add(row.id)
        first_of_bucket.add(bucket)
    return kept


def _counts(database: Database) -> dict[str, int]:
    with database.reader() as session:
        return {model.__name__: session.exec(select(func.count()).select_from(model)).one()
                for model in (SensorSample, DeadLetter, OutboxMessage, ProcessedEvent, Incident, Alert, StepRun,
                              AuditEvent)}


def _by_table(outcomes: list[retention.Outcome]) -> dict[str, int]:
    return {o.table: o.rows for o in outcomes}


def test_a_dry_run_counts_what_apply_removes_and_the_record_stays(database: Database) -> None:
    _fill(database)
    expected = _expected_samples(database)
    before = _counts(database)
    planned = _by_table(retention.run(database, POLICY, now=NOW, apply=False))
    assert _counts(database) == before  # a dry run removes nothing
    assert planned == {"sensorsample": before["SensorSample"] - len(expected), "deadletter": 1,
                       "outboxmessage": 3, "processedevent": 1}

    assert _by_table(retention.run(database, POLICY, now=NOW, apply=True)) == planned
    with database.reader() as session:
        assert set(session.exec(select(SensorSample.id))) == expected
        keys = set(session.exec(select(OutboxMessage.idempotency_key)))
        mark = session.get(RetentionMark, retention.SAMPLES_MARK)
        assert audit.verify_chain(session).ok and audit.verify_chain(session).checked == 5
        p1 = list(session.exec(select(SensorSample.at).where(SensorSample.sensor == "p1",
                                                                SensorSample.at < THINNED_UNTIL)
                               .order_by(col(SensorSample.at))))
    assert keys == {"i1:webchat:open", "i1:webchat:step:s:1", "i1:webchat:post:dd", "i1:webchat:post:ee"}
    assert mark is not None and mark.done_until == THINNED_UNTIL
    # GSP: a thinned probe keeps one real reading per half hour, on the half hour
    assert {b - a for a, b in itertools.pairwise(p1)} == {timedelta(minutes=30)}
    after = _counts(database)
    assert {k: after[k] for k in ("Incident", "Alert", "StepRun", "AuditEvent")} == \
        {k: before[k] for k in ("Incident", "Alert", "StepRun", "AuditEvent")}
    # the next run starts at the mark and finds nothing more to do
    assert _by_table(retention.run(database, POLICY, now=NOW, apply=True)) == \
        {"sensorsample": 0, "deadletter": 0, "outboxmessage": 0, "processedevent": 0}


def test_the_kept_window_covers_the_review_chart() -> None:
    from handlers.review import CHART_AFTER, CHART_BEFORE

    assert (retention.AROUND_INCIDENT_BEFORE, retention.AROUND_INCIDENT_AFTER) >= (CHART_BEFORE, CHART_AFTER)


def test_every_table_has_a_retention_rule_or_is_kept() -> None:
    import bot.migrations.env_models  # noqa: F401  (every table module)

    pruned = {"sensorsample", "deadletter", "outboxmessage", "processedevent"}
    assert set(retention.KEPT_FOREVER) <= set(SQLModel.metadata.tables) and pruned <= set(SQLModel.metadata.tables)


def test_the_retention_command_plans_applies_and_archives(sqlite_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREROOM_DATABASE_URL", sqlite_url)
    database = Database(sqlite_url)
    _fill(database)
    runner = CliRunner()
    dry = runner.invoke(app, ["retention"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing removed" in dry.output and "deadletter" in dry.output
    applied = runner.invoke(app, ["retention", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "audit chain intact: 5 events verified" in applied.output

    refused = runner.invoke(app, ["retention", "archive", str(tmp_path / "a"), "--closed-before", "2026-12-01"])
    assert refused.exit_code == 2 and "openssl genpkey -algorithm ed25519" in refused.output
    key = tmp_path / "archive-key.pem"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    folder = tmp_path / "archive"
    done = runner.invoke(app, ["retention", "archive", str(folder), "--closed-before", "2026-12-01", "--key", str(key)])
    assert done.exit_code == 0, done.output
    assert "1 incidents, 5 audit rows" in done.output
    fingerprint = done.output.rsplit("signed by key ", 1)[1].strip()
    assert runner.invoke(app, ["retention", "verify", str(folder), "--fingerprint", fingerprint]).exit_code == 0
    assert runner.invoke(app, ["retention", "verify", str(folder), "--fingerprint", "0" * 64]).exit_code == 1
    audit_file = folder / "audit.jsonl"
    audit_file.write_text(audit_file.read_text(encoding="utf-8").replace("incident.note", "incident.edit", 1),
                          encoding="utf-8")
    tampered = runner.invoke(app, ["retention", "verify", str(folder)])
    assert tampered.exit_code == 1 and "audit.jsonl: its sha256 is not the one in the manifest" in tampered.output
    database.dispose()


def test_an_archive_of_some_incidents_checks_without_the_others(database: Database) -> None:
    with database.unit_of_work() as session:
        for n in (1, 2):
            session.add(Incident(id=n, title_zh="t", title_en="t", severity="SEV2", status="closed", dedup_key=f"k{n}"))
        session.flush()
        for step in range(6):  # the two incidents' rows interleave in the chain
            audit.record(session, action="incident.note", actor=SYSTEM, incident_id=1 + step % 2, after={"n": step})
    with database.reader() as session:
        content = archive.collect(session, [1])
    assert [row["id"] for row in content.incidents] == [1]
    assert [set(row) == set(archive.LINK_FIELDS) for row in content.audit] == [False, True, False, True, False]
    assert archive.verify_exported_audit(content.audit).ok
    altered = [dict(row) for row in content.audit]
    altered[2]["after"] = {"n": 99}
    assert archive.verify_exported_audit(altered).problem == "row 3: its content was altered after writing"
    gap = content.audit[:1] + content.audit[2:]
    assert archive.verify_exported_audit(gap).first_bad_id == 3
