"""Per-message isolation in the MQTT intake: poison is dead-lettered with storable text and acknowledged, the rest
of its batch proceeds; a dead letter that cannot be written is logged with a digest; a signal the database cannot
take waits and is applied once it can."""

import json
import logging
import shutil
from pathlib import Path

import pytest
from sqlmodel import col, select

from incidents.database import Database
from incidents.tables import DeadLetter
from integrations.mqtt.client import RawMessage
from integrations.mqtt.ingest import batch_handler, digest
from tests.conftest import FakeClock
from tests.intake.factories import make_bench

SMOKE = RawMessage("wareroom/sensors/dock", json.dumps({"sensor": "dock-smoke-1", "metric": "smoke",
                                                         "value": True}).encode(), 99, 1)


class Broken(RuntimeError):
    """What a handler raising anything at all looks like."""


def explode(payload: bytes) -> None:
    raise Broken(f"cannot cope with {payload[:10]!r}")


def test_poison_is_dead_lettered_storably_and_the_batch_proceeds(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    handle = batch_handler(bench.intake, others={"wareroom/poison/": explode})
    poison = [
        RawMessage("wareroom/poison/1", b"\x00\x01 binary \xff\xfe", 1, 1),
        RawMessage("tele/rack/SENSOR", b'{"DS18B20":{"Temperature":' + b"[" * 1000 + b"1" + b"]" * 1000 + b"}}", 2, 1),
        RawMessage("zigbee2mqtt/d1-probe-1", b'{"temperature": 5, "note": "nul \\u0000 inside"', 3, 1),
        RawMessage("wareroom/sensors/x", b'{"sensor": "d1-probe-1\x00", "metric": "t", "value": \xff}', 4, 1),
    ]
    handle([*poison, SMOKE])
    (incident,) = bench.incidents()
    assert incident.severity == "SEV1"
    with database.reader() as session:
        letters = session.exec(select(DeadLetter).order_by(col(DeadLetter.id))).all()
    assert [d.topic for d in letters] == [m.topic for m in poison]
    assert letters[0].reason == "decoding or handling raised Broken: cannot cope with b'\\x00\\x01 binary '"
    assert letters[0].payload == "\\x00\x01 binary \\xff\\xfe"  # NUL and invalid UTF-8 escaped
    assert letters[1].reason == "Tasmota SENSOR of rack has values nested deeper than 8 levels"
    assert letters[2].reason == "Zigbee2MQTT message for d1-probe-1 is not valid JSON"
    assert letters[3].reason == "plain sensor message is not valid UTF-8"
    assert letters[3].payload == '{"sensor": "d1-probe-1\\x00", "metric": "t", "value": \\xff}'
    assert (bench.intake.stats.poison, bench.intake.stats.rejected) == (1, 4)


def test_a_dead_letter_that_cannot_be_written_is_logged_with_a_digest(
        sqlite_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    db = Database(sqlite_url)
    bench = make_bench(db, clock, probes=1)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE deadletter")
    broken = RawMessage("zigbee2mqtt/d1-probe-1", b"{not json", 1, 1)
    with caplog.at_level(logging.ERROR):
        batch_handler(bench.intake)([broken, SMOKE])
    assert len(bench.incidents()) == 1  # the smoke alarm behind it still opened
    assert bench.intake.stats.dead_letter_failures == 1
    assert digest(broken.payload) in caplog.text and "zigbee2mqtt/d1-probe-1" in caplog.text
    db.dispose()


def test_a_signal_waits_while_the_database_is_unreachable(sqlite_url: str, clock: FakeClock) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    db = Database(sqlite_url)
    bench = make_bench(db, clock, probes=1)
    handle = batch_handler(bench.intake)
    db.dispose()
    path.rename(path.with_suffix(".away"))
    path.mkdir()  # the database cannot be opened: every write fails with OperationalError
    try:
        handle([SMOKE])
        assert bench.intake.warnings() == ["1 alert signals wait for the database"]
    finally:
        shutil.rmtree(path)
        path.with_suffix(".away").rename(path)
    assert bench.incidents() == []
    bench.wait(5)  # the next tick applies it
    (incident,) = bench.incidents()
    assert (incident.severity, bench.intake.warnings()) == ("SEV1", [])
    db.dispose()
