"""Which readings are kept for reviews: one a minute, every one while an alert is live, and the last one before."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from handlers.sampling import SampleKeeper
from incidents.database import Database
from incidents.inventory.samples import record_samples
from incidents.inventory.tables import SensorSample
from incidents.readings import Reading
from incidents.signals import SignalKind
from tests.factories import make_signal

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _readings(sensor: str, seconds: range) -> list[Reading]:
    return [Reading(sensor=sensor, metric="temperature", value=5.0, ts=START + timedelta(seconds=s)) for s in seconds]


def test_one_reading_a_minute_normally_and_every_reading_while_an_alert_is_live() -> None:
    keeper = SampleKeeper()
    normal = keeper.keep(_readings("d1-probe-1", range(0, 180, 10)))
    assert [r.ts for r in normal] == [START, START + timedelta(seconds=60), START + timedelta(seconds=120)]
    keeper.watch(make_signal())
    watched = keeper.keep(_readings("d1-probe-1", range(180, 240, 10)))
    # every reading while watched, and the one thinned out just before the alert: the value that made it
    assert [r.ts for r in watched] == [START + timedelta(seconds=s) for s in range(170, 240, 10)]
    assert len(keeper.keep(_readings("d2-probe-1", range(180, 240, 10)))) == 1  # other sensors stay sparse
    keeper.watch(make_signal(kind=SignalKind.RESOLVED))
    assert len(keeper.keep(_readings("d1-probe-1", range(240, 300, 10)))) == 1


def test_a_minute_of_many_sensors_is_stored_whole_in_several_inserts(database: Database) -> None:
    readings = [r for n in range(1_234) for r in _readings(f"probe-{n}", range(0, 1))]
    with database.unit_of_work() as session:
        assert record_samples(session, iter(readings), live={"probe-7"}) == 1_234
    with database.reader() as session:
        stored = session.exec(select(SensorSample)).all()
    assert sorted(s.sensor for s in stored) == sorted(r.sensor for r in readings)
    assert [s.sensor for s in stored if s.alert_live] == ["probe-7"]
    with database.unit_of_work() as session:
        assert record_samples(session, []) == 0
