"""Intake partitions on a real Mosquitto: devices placed by site and hash, a partition's persistent session
handed from one process to the next without losing or reordering readings, and its rule state rebuilt."""

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from bench.common import client, mosquitto
from incidents.database import Database
from incidents.leases import PostgresLeases
from incidents.rules.config import parse_registry
from integrations.mqtt.layouts import TopicLayout
from integrations.mqtt.partitions import REST, PartitionedIntake, Partitioning
from tests.conftest import FakeClock
from tests.intake.factories import Bench, make_bench, registry_yaml

pytestmark = pytest.mark.mosquitto


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    """A Mosquitto of this module's own (the config WareRoom ships): partition sessions queue while unheld."""
    with mosquitto("") as url:
        yield url


def _sites() -> dict[str, str]:
    registry = parse_registry(registry_yaml(), source="devices.yaml")
    return {device_id: device.site for device_id, device in registry.devices.items()}


def test_devices_are_placed_by_site_and_by_hash_within_a_large_site() -> None:
    sites = _sites()
    partitioning = Partitioning(sites, {"SH-01": 4})
    assert [p.name for p in partitioning.partitions] == [REST, "SH-01.1of4", "SH-01.2of4", "SH-01.3of4",
                                                         "SH-01.4of4"]
    assert partitioning.of("e1-probe-1").name == REST  # SH-02 is not split out
    assert partitioning.of("no-such-device") is partitioning.rest and partitioning.of(None) is partitioning.rest
    placed = {device: partitioning.of(device).name for device, site in sites.items() if site == "SH-01"}
    assert set(placed.values()) == {"SH-01.1of4", "SH-01.2of4", "SH-01.3of4", "SH-01.4of4"}  # 52 devices spread
    again = Partitioning(sites, {"SH-01": 4})
    assert all(again.of(device).name == name for device, name in placed.items())  # every process agrees
    assert Partitioning(sites, {}).partitions == [Partitioning(sites, {}).rest]  # no setting: one partition


class Process:
    """One process's intake (its own rules state) on the shared database and broker."""

    def __init__(self, db: Database, clock: FakeClock, url: str, base: str) -> None:
        self.bench: Bench = make_bench(db, clock)
        self.partitioned = PartitionedIntake(self.bench.intake, TopicLayout(), Partitioning(_sites(), {"SH-01": 1}),
                                             url=url, client_id=base, others={}, other_topics=[])
        self.task: asyncio.Task[None] | None = None

    async def take(self, name: str) -> None:
        [partition] = [p for p in self.partitioned.partitioning.partitions if p.name == name]
        self.task = asyncio.create_task(self.partitioned.hold(partition))
        for _ in range(600):
            if partition in self.partitioned.held and self.partitioned.connected():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"partition {name} not connected")

    async def let_go(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_a_partition_moves_with_its_queued_readings_and_its_alarm_state(
        database: Database, clock: FakeClock, broker: str) -> None:
    base, run = f"wareroom-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    publisher = client(broker)

    def reading(sensor: str, value: float, minutes: float) -> None:
        ts = (clock.now + timedelta(minutes=minutes)).isoformat()
        body = {"sensor": sensor, "metric": "temperature", "value": value, "ts": ts}
        publisher.publish(f"wareroom/sensors/{run}/{sensor}", json.dumps(body).encode(), qos=1).wait_for_publish(5)

    first, second = Process(database, clock, broker, base), Process(database, clock, broker, base)
    try:
        await first.take("SH-01")
        reading("d1-probe-1", 9.0, 0)  # above 8 °C: the alarm fires at once
        reading("e1-probe-1", 9.0, 0)  # SH-02 is the rest partition's, which nobody holds yet
        reading("d1-probe-1", 9.1, 1)
        for _ in range(600):
            if first.bench.incidents() and first.bench.intake.stats.readings >= 2:
                break
            await asyncio.sleep(0.05)
        [incident] = first.bench.incidents()
        assert incident.id is not None
        assert first.bench.intake.stats.readings == 2  # the rest partition's reading is not read here
        await first.let_go()  # the lease moved on: its state is dropped, its session stays on the broker
        assert first.bench.intake.engine.firing() == []

        reading("d1-probe-1", 9.2, 2)  # nobody holds SH-01: the broker queues these for its session
        reading("d1-probe-1", 7.0, 3)
        reading("d1-probe-1", 7.0, 6)  # below 7.5 °C for 3 minutes: the alarm clears
        await second.take("SH-01")
        for _ in range(600):
            if second.bench.intake.stats.readings >= 3:
                break
            await asyncio.sleep(0.05)
        # the rebuilt state knew the alarm fired; the queued readings came in order, so it cleared after 9.2
        assert [a.kind for a in first.bench.alerts(incident.id)] == ["firing", "resolved"]
        [cleared] = [a for a in first.bench.alerts(incident.id) if a.kind == "resolved"]
        assert cleared.value == 7.0
        assert len(first.bench.incidents()) == 1
        assert second.bench.intake.stats.readings == 3  # exactly the three queued: none lost, none twice
    finally:
        for process in (first, second):
            if process.task is not None:
                await process.let_go()
        publisher.loop_stop()
        publisher.disconnect()


@pytest.mark.postgres
async def test_a_process_that_starts_later_is_handed_its_share(pg_url: str, clock: FakeClock, broker: str) -> None:
    database, leases = Database(pg_url), PostgresLeases(pg_url)
    base = f"wareroom-test-{uuid.uuid4().hex[:8]}"
    first, second = Process(database, clock, broker, base), Process(database, clock, broker, base)
    tasks: list[asyncio.Task[None]] = []

    def start(process: Process, holder: str) -> None:
        loops = process.partitioned.leases(leases, holder=holder, ttl_seconds=1.5)
        tasks.extend(asyncio.create_task(loop.run()) for loop in loops.values())

    async def until(condition: Callable[[], bool]) -> None:
        for _ in range(400):
            if condition():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"not balanced: {len(first.partitioned.held)} and {len(second.partitioned.held)}")

    try:
        start(first, "first")
        await until(lambda: len(first.partitioned.held) == 2)  # rest and SH-01: all of them, alone
        start(second, "second")
        await until(lambda: len(first.partitioned.held) == 1 and len(second.partitioned.held) == 1)
        assert first.partitioned.processes == second.partitioned.processes == 2
        assert {p.name for p in [*first.partitioned.held, *second.partitioned.held]} == {REST, "SH-01"}
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        leases.dispose()
        database.dispose()
