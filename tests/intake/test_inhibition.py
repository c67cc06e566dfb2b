"""Inhibition: a power loss mutes the offline and temperature alerts of its site and says so once."""

from incidents import audit
from incidents.database import Database
from tests.conftest import FakeClock
from tests.intake.factories import make_bench

INHIBITING = "本事件期间，SH-01 内由它引起的告警（offline, threshold）暂不单独通知；事件解除后仍在触发的告警会再通知。"


def test_power_loss_mutes_its_site_and_says_so_once(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=2)
    (power,) = bench.send("ups-main", "on_battery", True)
    assert bench.send("d1-probe-1", "temperature", 9.0) == []
    assert bench.send("d1-probe-2", "temperature", 9.5) == []
    (other_site,) = bench.send("e1-probe-1", "temperature", 9.0)  # SH-02 has power: not muted
    assert [(i.id, i.dedup_key) for i in bench.incidents()] == [
        (power, "SH-01/POWER/on_battery"), (other_site, "SH-02/E1/temperature")]
    assert bench.intake.stats.inhibited == 2
    assert bench.posts(power).count(INHIBITING) == 1
    with database.reader() as session:
        actions = [e.action for e in audit.trail(session, incident_id=power)]
    assert actions.count("alerts.inhibited") == 1


def test_alerts_still_firing_when_power_returns_are_raised(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=2)
    (power,) = bench.send("ups-main", "on_battery", True)
    bench.send("d1-probe-1", "temperature", 9.0)
    bench.send("d1-probe-2", "temperature", 9.5)
    bench.send("d1-probe-2", "temperature", 5.0)
    bench.wait(120)  # d1-probe-2 clears while muted: nobody hears of it
    assert bench.send("ups-main", "on_battery", False) == [power]
    (released,) = bench.wait(1)
    incidents = bench.incidents()
    assert [i.dedup_key for i in incidents] == ["SH-01/POWER/on_battery", "SH-01/D1/temperature"]
    assert released == incidents[1].id
    assert [(a.sensor, a.value) for a in bench.alerts(released)] == [("d1-probe-1", 9.0)]
    assert bench.intake.stats.inhibited == 2


def test_life_safety_is_never_muted(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    bench.send("ups-main", "on_battery", True)
    (smoke,) = bench.send("dock-smoke-1", "smoke", True)
    assert [i.severity for i in bench.incidents() if i.id == smoke] == ["SEV1"]
