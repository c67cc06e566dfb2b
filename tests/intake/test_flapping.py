"""A probe that keeps crossing its limit: the alert is held firing and the thread says it is flapping."""

from incidents.database import Database
from tests.conftest import FakeClock
from tests.intake.factories import make_bench

FLAPPING = ("告警反复变化：冷库 D1：冷库温度过高 状态反复变化（d1-probe-1），告警保持。"
            "在稳定之前告警保持触发，不再逐次通知。")


def test_flapping_probe_is_surfaced_once_in_the_thread(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    (incident,) = bench.send("d1-probe-1", "temperature", 9.0)
    bench.send("d1-probe-1", "temperature", 5.0)
    bench.wait(120)  # cleared once
    assert bench.send("d1-probe-1", "temperature", 9.0) == [incident]
    bench.send("d1-probe-1", "temperature", 5.0)
    assert bench.wait(120) == [incident]  # the second clear is refused: it flaps
    bench.wait(120)
    assert bench.intake.engine.firing() == ["cold-room-high-temp:d1-probe-1"]
    posts = bench.posts(incident)
    assert posts.count(FLAPPING) == 1
    assert [a.kind for a in bench.alerts(incident)] == ["firing", "resolved", "firing", "firing"]
