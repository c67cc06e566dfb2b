"""Grouping: a burst of offline probes becomes one incident with many alerts and a handful of messages."""

from incidents.database import Database
from incidents.signals import SignalKind
from tests.conftest import FakeClock
from tests.intake.factories import PROBES, make_bench


def test_fifty_probes_offline_become_one_incident(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock)
    assert bench.intake.tick() == []  # the engine starts counting quiet devices
    assert bench.wait(5 * 60) == []  # every probe is now quiet: 51 offline alerts wait for their group
    assert bench.incidents() == []
    assert bench.intake.stats.grouped == PROBES + 1
    assert bench.wait(29) == []  # group_wait is 30 s
    touched = bench.wait(1)
    incidents = bench.incidents()
    assert [(i.site, i.dedup_key) for i in incidents] == [
        ("SH-01", "group:probes-offline:SH-01"), ("SH-02", "group:probes-offline:SH-02")]
    assert sorted(touched) == [i.id for i in incidents]
    sh01 = incidents[0]
    assert sh01.id is not None
    alerts = bench.alerts(sh01.id)
    assert len(alerts) == PROBES
    assert {a.kind for a in alerts} == {SignalKind.FIRING.value}
    # open the thread, "new incident", one message naming the group; the header edited once more
    assert bench.outbox("slack") == {"open_thread": 2, "post": 3, "update_header": 1}
    shown = ", ".join(f"d1-probe-{n}" for n in range(1, 11))
    assert bench.posts(sh01.id)[1] == f"本组共 {PROBES} 条告警：{shown} … +{PROBES - 10}"


def test_later_alerts_wait_for_the_group_interval(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=3)
    bench.intake.tick()
    bench.wait(60)
    for sensor in ("d1-probe-2", "d1-probe-3", "e1-probe-1"):
        bench.send(sensor, "temperature", 5.0)
    bench.wait(4 * 60)  # d1-probe-1 has been quiet for 5 min
    bench.wait(30)
    (incident,) = bench.incidents()
    assert incident.id is not None
    assert [a.sensor for a in bench.alerts(incident.id)] == ["d1-probe-1"]
    posts = bench.posts(incident.id)
    bench.wait(30)  # the other two go quiet now: they wait for the group's 5 min interval
    bench.wait(4 * 60)
    assert bench.posts(incident.id) == posts
    bench.wait(30)
    assert [a.sensor for a in bench.alerts(incident.id)] == ["d1-probe-1", "d1-probe-2", "d1-probe-3"]
    assert bench.posts(incident.id) == [*posts, "本组共 2 条告警：d1-probe-2, d1-probe-3"]
    assert [i.site for i in bench.incidents()] == ["SH-01", "SH-02"]  # e1-probe-1 is at SH-02: its own group


def test_an_alert_that_resolves_within_group_wait_is_never_announced(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    bench.intake.tick()
    bench.wait(60)
    bench.send("e1-probe-1", "temperature", 5.0)
    bench.wait(4 * 60)  # d1-probe-1 quiet: held for its group
    assert bench.intake.grouper.held_count() == 1
    bench.send("d1-probe-1", "temperature", 5.0)  # back before the group spoke
    assert bench.intake.grouper.held_count() == 0
    bench.wait(40)
    assert bench.incidents() == []
    assert bench.outbox() == {}
