"""The whole intake on a real Mosquitto: payloads published, decoded, judged, grouped and muted.

The broker is a Mosquitto of this module's own (the config WareRoom ships, on a free loopback port):
the shared one on 1883 keeps other tests' persistent sessions, which would queue these readings.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from bench.common import client, mosquitto
from incidents.database import Database
from incidents.signals import SignalKind
from integrations.mqtt.client import MqttSubscriber
from integrations.mqtt.ingest import batch_handler
from tests.conftest import FakeClock
from tests.intake.factories import RULES, Bench, make_bench
from tests.intake.test_flapping import FLAPPING
from tests.rules.factories import COLD_ROOM_HIGH
from tests.rules.test_trends import RISING

pytestmark = pytest.mark.mosquitto

TREND_RULES = "rules:" + COLD_ROOM_HIGH + RISING


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    """The URL of a Mosquitto for this module."""
    with mosquitto("") as url:
        yield url


class Publisher:
    """A paho publisher at QoS 1; plain readings carry the bench clock's time plus ``minutes``."""

    def __init__(self, bench: Bench, run: str, url: str) -> None:
        self.bench, self.run, self.sent = bench, run, 0
        self.client = client(url)

    def send(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)
        self.sent += 1

    def reading(self, sensor: str, value: float, minutes: float) -> None:
        ts = (self.bench.clock.now + timedelta(minutes=minutes)).isoformat()
        body = {"sensor": sensor, "metric": "temperature", "value": value, "ts": ts}
        self.send(f"wareroom/sensors/{self.run}/{sensor}", json.dumps(body).encode())

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@asynccontextmanager
async def subscribed(bench: Bench, url: str) -> AsyncIterator[tuple[Publisher, MqttSubscriber]]:
    """The WareRoom subscriber, as the app runs it, and a publisher."""
    run = uuid.uuid4().hex[:8]
    topics = [f"wareroom/sensors/{run}/#", "zigbee2mqtt/+/availability"]
    subscriber = MqttSubscriber(url, client_id=f"wareroom-test-{run}", topics=topics,
                                handle=batch_handler(bench.intake))
    await subscriber.start()
    await asyncio.to_thread(subscriber.connected.wait, 10)
    publisher = Publisher(bench, run, url)
    try:
        yield publisher, subscriber
    finally:
        publisher.close()
        await subscriber.stop()


async def handled(subscriber: MqttSubscriber, count: int) -> None:
    """Wait until the subscriber has handled ``count`` messages (and acknowledged them)."""
    for _ in range(600):  # up to 30 s: a shared machine under load is slow, not wrong
        if subscriber.processed >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"handled {subscriber.processed} of {count} messages")


async def test_door_spike_does_not_warn_or_alarm(database: Database, clock: FakeClock, broker: str) -> None:
    bench = make_bench(database, clock, rules=TREND_RULES, probes=1)
    async with subscribed(bench, broker) as (publisher, subscriber):
        for minute in range(10):
            publisher.reading("d1-probe-1", 5.0, minute)
        publisher.reading("d1-probe-1", 8.9, 10)  # the door is open for ten seconds
        for tick in range(1, 13):
            publisher.reading("d1-probe-1", 5.0, 10 + tick / 6)
        await handled(subscriber, publisher.sent)
    assert bench.intake.stats.readings == publisher.sent
    assert (bench.intake.stats.signals, bench.incidents()) == (0, [])


async def test_slow_rise_warns_before_it_alarms(database: Database, clock: FakeClock, broker: str) -> None:
    bench = make_bench(database, clock, rules=TREND_RULES, probes=1)
    async with subscribed(bench, broker) as (publisher, subscriber):
        for minute in range(22):
            publisher.reading("d1-probe-1", round(5.0 + 0.2 * minute, 1), minute)  # 8.0 °C at minute 15
        await handled(subscriber, publisher.sent)
    (incident,) = bench.incidents()
    assert incident.id is not None
    alerts = bench.alerts(incident.id)
    assert [(a.kind, a.rule_id, a.value) for a in alerts] == [
        (SignalKind.WARNING.value, "cold-room-rising", 6.0),
        (SignalKind.FIRING.value, "cold-room-high-temp", 9.2),
    ]
    assert alerts[0].title_en == "Cold room D1 at 6.0 °C, passes 8.0 °C in about 10 min"
    assert incident.severity == "SEV2"  # raised by the alarm


async def test_flapping_probe_is_held_and_said_once(database: Database, clock: FakeClock, broker: str) -> None:
    bench = make_bench(database, clock, rules=RULES, probes=1)
    async with subscribed(bench, broker) as (publisher, subscriber):
        for minute, value in [(0, 9.0), (1, 5.0), (3, 5.0), (4, 9.0), (5, 5.0), (7, 5.0), (8, 5.0)]:
            publisher.reading("d1-probe-1", value, minute)
        await handled(subscriber, publisher.sent)
    (incident,) = bench.incidents()
    assert incident.id is not None
    assert [p for p in bench.posts(incident.id) if p.startswith("告警反复变化")] == [FLAPPING]
    assert bench.intake.engine.firing() == ["cold-room-high-temp:d1-probe-1"]


async def test_power_loss_then_probes_drop_off(database: Database, clock: FakeClock, broker: str) -> None:
    """Last wills of every probe after a power loss: muted at SH-01, grouped at SH-02; a handful of messages."""
    probes = 20
    bench = make_bench(database, clock, probes=probes)
    async with subscribed(bench, broker) as (publisher, subscriber):
        publisher.send(f"wareroom/sensors/{publisher.run}/ups", json.dumps(
            {"sensor": "ups-main", "metric": "on_battery", "value": True}).encode())
        await handled(subscriber, 1)
        for n in range(1, probes + 1):
            publisher.send(f"zigbee2mqtt/d1-probe-{n}/availability", b'{"state": "offline"}')
        publisher.send("zigbee2mqtt/e1-probe-1/availability", b"offline")
        await handled(subscriber, publisher.sent)
    stats = bench.intake.stats
    assert (stats.inhibited, stats.grouped) == (probes, 1)
    bench.wait(30)  # SH-02's group is due
    incidents = bench.incidents()
    assert [i.dedup_key for i in incidents] == ["SH-01/POWER/on_battery", "group:probes-offline:SH-02"]
    assert sum(bench.outbox("slack").values()) < 10
