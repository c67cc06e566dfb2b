"""Signed audit checkpoints: a truncated tail, a rewritten chain and a removed checkpoint are each named by
``wareroom audit verify`` and raise the SEV1 system incident at start-up."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.cli_errors import EXIT_MISSING
from incidents import audit, checkpoints
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.tables import AuditEvent, Incident
from tests.e2e.server import app_settings, running, wait_for

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("WAREROOM_DATABASE_URL", database_url)
    monkeypatch.setenv("WAREROOM_VAR_DIR", str(tmp_path / "var"))
    return Database(database_url)


def _events(database: Database, count: int) -> None:
    for n in range(count):
        with database.unit_of_work() as session:
            audit.record(session, action="test.event", actor=SYSTEM, object_type="test", object_id=str(n))


def _verify(*extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", *extra])
    return result.exit_code, result.output


def _rehash_from(database: Database, first_id: int) -> None:
    """What an attacker with database access does: change a row and recompute every hash after it."""
    with database.unit_of_work() as session:
        rows = list(session.exec(select(AuditEvent).where(col(AuditEvent.id) >= first_id)
                                 .order_by(col(AuditEvent.id))))
        prev = session.exec(select(AuditEvent.hash).where(AuditEvent.id == first_id - 1)).one()
        rows[0].actor_name = "someone else"
        for row in rows:
            row.prev_hash = prev
            row.hash = audit.row_hash(prev, row)
            prev = row.hash
            session.add(row)


def test_verify_passes_then_names_an_altered_row(env: Database) -> None:
    _events(env, 3)
    code, output = _verify()
    assert code == 0 and output.endswith("audit chain intact: 3 events verified; no signed checkpoint yet\n")
    assert "checked the hash chain only" in output  # no key yet: the app makes one at first start
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    code, output = _verify()
    assert code == 0 and "matches checkpoint #1" in output
    with env.engine.begin() as conn:
        conn.execute(sa.text("UPDATE auditevent SET actor_name = 'someone else' WHERE id = 2"))
    code, output = _verify()
    assert code == 1 and "row 2: its content was altered" in output


def test_a_truncated_tail_is_named(env: Database) -> None:
    _events(env, 5)
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    with env.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM auditevent WHERE id > 3"))
    code, output = _verify()
    assert code == 1 and "truncated tail" in output and "signs row 5" in output and "ends at row 3" in output


def test_a_rewritten_chain_passes_its_own_links_but_not_the_signature(env: Database) -> None:
    _events(env, 5)
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    _rehash_from(env, 2)
    with env.reader() as session:
        assert audit.verify_chain(session).ok  # the links alone no longer tell
    code, output = _verify()
    assert code == 1 and "rewritten chain: row 5" in output


def test_a_removed_checkpoint_is_named_and_an_inspector_can_bring_their_own_copy(env: Database, tmp_path: Path) -> None:
    _events(env, 2)
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    exported = tmp_path / "inspector-copy.jsonl"
    exported.write_bytes((tmp_path / "var" / "audit-checkpoints.jsonl").read_bytes())
    with env.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM auditcheckpoint"))
    code, output = _verify()
    assert code == 1 and "removed checkpoint: checkpoint #1" in output
    (tmp_path / "var" / "audit-checkpoints.jsonl").unlink()  # even the file is gone: the inspector's copy tells
    code, output = _verify("--checkpoint", str(exported))
    assert code == 1 and "removed checkpoint: checkpoint #1" in output
    assert _verify("--checkpoint", str(tmp_path / "nowhere.jsonl"))[0] == EXIT_MISSING


def test_a_forged_checkpoint_line_does_not_verify(env: Database, tmp_path: Path) -> None:
    _events(env, 2)
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    path = tmp_path / "var" / "audit-checkpoints.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace('"count":2', '"count":1'), encoding="utf-8")
    code, output = _verify()
    assert code == 1 and "forged checkpoint" in output


@pytest.mark.mosquitto
def test_start_up_after_tampering_raises_the_audit_incident(tmp_path: Path, sqlite_url: str) -> None:
    settings = app_settings(tmp_path, sqlite_url, audit_checkpoint_seconds=3600)
    database = Database(sqlite_url)
    _events(database, 4)
    with running(settings) as http:  # start-up verifies and signs a checkpoint
        assert http.get("/api/v1/incidents").json() == []
    read = checkpoints.read(settings.checkpoint_file())
    assert len(read.checkpoints) == 2 and read.checkpoints[-1].count >= 4  # at start-up and at shutdown
    with database.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM auditevent WHERE id > 2"))  # the tail goes
    with running(settings) as http:
        [incident] = wait_for(lambda: http.get("/api/v1/incidents").json())
        assert (incident["severity"], incident["title_en"], incident["status"]) == (
            "SEV1", "Audit trail altered", "triggered")
    with database.reader() as session:
        row = session.get(Incident, incident["id"])
        opened = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.opened",
                                                       AuditEvent.incident_id == incident["id"])).one()
    assert row is not None and row.source == "system"
    assert opened.after is not None and opened.after["rule"] == "audit-trail-altered"
    assert len(checkpoints.read(settings.checkpoint_file()).checkpoints) == 2  # a tampered chain is never signed
    database.dispose()
