"""The MQTT intake split into partitions, each read by one process at a time under a lease.

A partition is a site of the device registry (``WAREROOM_MQTT_PARTITIONS``: site → how many
partitions by a CRC-32 of the device id, for large sites), or ``rest``: every other device, devices
the registry does not know, and every message that is not a reading (gateway states, the broker's
drop count, stock events, refused messages). Without the setting there is one partition, ``rest``.

Per-sensor order: every partition subscribes to all of the layout's topic filters with QoS 1 in a
persistent session of its own (client id ``<WAREROOM_MQTT_CLIENT_ID>-<partition>``; ``rest`` keeps
the plain client id) and keeps the readings of its own devices. The broker keeps the order of one
topic's messages to one session (MQTT 3.1.1 §4.6), and all of one sensor's readings go to the one
session of its partition. While nobody holds a partition its session stays on the broker and queues
what arrives (``max_queued_messages`` in the broker config); the next holder connects with the same
client id and receives that queue, in order, with the messages the dead holder had not acknowledged.
MQTT 5 shared subscriptions (``$share/<group>/<filter>``) are not used: Mosquitto 2 hands each message
to the next member of the group in turn (``subs__shared_process`` in ``src/subs.c``: the head of the
list is sent the message and moved to the tail), whatever its topic, so one sensor's readings would be
spread over every process and could be handled out of order.

The cost: every partition's session receives and decodes every message (``bench.ingest``).

The intake's writes are not fenced (a fence is one more statement in every transaction of the hot
path): a holder that outlived its lease can only repeat what the new holder does, and an alarm
joins the incident open for its fingerprint (``IncidentFlow.on_signal``), so it opens no second one.

Balance: every process holds a lease of its own (``process:<holder>``, held while it runs), so the live
processes can be counted; a process takes a partition only while it holds fewer than its share (the
partitions divided by the live processes, rounded up), and hands one back when it holds more, so a
process that starts later gets partitions too.

When a process takes a partition it rebuilds the rule state of the partition's devices from the
database (the readings stored while their alerts were live, ``SensorSample.alert_live``) before it
reads; when it loses the partition it drops that state, and looks for devices gone quiet only among
the partitions it holds.
"""

import asyncio
import logging
import math
import zlib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from handlers.intake import Intake
from incidents.clock import as_utc
from incidents.inventory.tables import SensorSample
from incidents.leases import HeldLease, LeaseBackend
from incidents.readings import Reading
from integrations.lease_loop import LeaseLoop
from integrations.mqtt.client import MqttSubscriber
from integrations.mqtt.decode import MqttDecoder
from integrations.mqtt.ingest import OtherTopics, batch_handler
from integrations.mqtt.layouts import TopicLayout

log = logging.getLogger(__name__)
REST = "rest"
LEASE_PREFIX = "intake:"
PROCESS_PREFIX = "process:"
REBUILD_WINDOW = timedelta(hours=6)  # how far back stored readings of live alerts are replayed at a takeover


@dataclass(frozen=True, slots=True)
class Partition:
    """One share of the intake: the devices of ``site`` whose hash falls in ``bucket`` of ``buckets``;
    ``site`` None is the ``rest`` partition."""

    name: str
    site: str | None = None
    bucket: int = 0
    buckets: int = 1

    @property
    def lease(self) -> str:
        return LEASE_PREFIX + self.name

    def client_id(self, base: str) -> str:
        """The MQTT client id of this partition's persistent session."""
        return base if self.site is None else f"{base}-{self.name}"


class Partitioning:
    """Which partition each device belongs to, from the registry's sites and ``split`` (site → buckets)."""

    def __init__(self, sites: Mapping[str, str], split: Mapping[str, int]) -> None:
        """``sites``: device id → site (the registry); ``split``: the sites read apart, with their bucket count."""
        self.rest = Partition(REST)
        self.partitions = [self.rest]
        self._by_site: dict[str, list[Partition]] = {}
        for site, buckets in sorted(split.items()):
            made = [Partition(site if buckets == 1 else f"{site}.{n + 1}of{buckets}", site, n, buckets)
                    for n in range(buckets)]
            self._by_site[site] = made
            self.partitions += made
        self._of = {device: self._place(device, site) for device, site in sites.items()}

    def _place(self, device: str, site: str) -> Partition:
        split = self._by_site.get(site)
        if split is None:
            return self.rest
        return split[zlib.crc32(device.encode()) % len(split)] if len(split) > 1 else split[0]

    def of(self, device: str | None) -> Partition:
        """The partition of a registry device; ``rest`` for anything else."""
        return self.rest if device is None else self._of.get(device, self.rest)


class PartitionedIntake:
    """The lease loops of every partition; while one is held, its MQTT session feeds the intake."""

    def __init__(self, intake: Intake, layout: TopicLayout, partitioning: Partitioning, *, url: str,
                 client_id: str, others: OtherTopics, other_topics: Sequence[str],
                 ca_file: Path | None = None) -> None:
        """``url``: the broker (``mqtt://`` or ``mqtts://``, with credentials); ``ca_file``: its CA bundle for TLS."""
        self.intake = intake
        self.layout = layout
        self.partitioning = partitioning
        self.url = url
        self.ca_file = ca_file
        self.client_id = client_id
        self.others = others
        self.other_topics = list(other_topics)
        self.held: dict[Partition, MqttSubscriber] = {}
        self.processes = 1  # live processes, as last counted
        self._hand_back: dict[Partition, asyncio.Event] = {}
        intake.engine.own(self._owns)

    def _owns(self, device: str) -> bool:
        return self.partitioning.of(device) in self.held

    def connected(self) -> bool:
        """Every session of the partitions held is connected (True when none is held)."""
        return all(subscriber.connected.is_set() for subscriber in self.held.values())

    def share(self) -> int:
        """How many partitions this process may hold: all of them divided by the live processes, rounded up."""
        return math.ceil(len(self.partitioning.partitions) / max(1, self.processes))

    def leases(self, backend: LeaseBackend, *, holder: str, ttl_seconds: float) -> dict[str, LeaseLoop]:
        """One lease loop per partition (lease ``intake:<partition>``) and this process's own (``process:…``,
        which counts the live processes and balances), keyed by lease name."""

        def work(partition: Partition) -> Callable[[HeldLease], Coroutine[Any, Any, None]]:
            async def read(_lease: HeldLease) -> None:
                await self.hold(partition)
            return read

        async def balance(_lease: HeldLease) -> None:
            while True:
                try:
                    self.processes = max(1, await asyncio.to_thread(backend.live, PROCESS_PREFIX))
                except Exception as exc:  # the database is away: keep the last count, and the partitions held
                    log.warning("live processes not counted (%s); trying again", exc)
                if len(self.held) > self.share() and self._hand_back:
                    partition = next(reversed(self._hand_back))
                    log.info("intake partition %s handed back: %d processes share %d partitions", partition.name,
                             self.processes, len(self.partitioning.partitions))
                    self._hand_back.pop(partition).set()
                await asyncio.sleep(ttl_seconds / 3)

        loops = {p.lease: LeaseLoop(backend, name=p.lease, holder=holder, ttl_seconds=ttl_seconds, work=work(p),
                                    may_take=lambda: len(self.held) < self.share())
                 for p in self.partitioning.partitions}
        loops[PROCESS_PREFIX + holder] = LeaseLoop(backend, name=PROCESS_PREFIX + holder, holder=holder,
                                                   ttl_seconds=ttl_seconds, work=balance)
        return loops

    async def hold(self, partition: Partition) -> None:
        """Rebuild the partition's rule state, then read its session until cancelled (the lease is lost or
        the app stops) or handed back (the process holds more than its share); then drop its state. Its
        unacknowledged messages stay with the broker."""
        rest = partition.site is None
        topics = [*self.layout.subscriptions(), *(self.other_topics if rest else [])]
        subscriber = MqttSubscriber(self.url, client_id=partition.client_id(self.client_id), topics=topics,
                                    handle=self._handler(partition),
                                    on_connection=self.intake.connection if rest else None, ca_file=self.ca_file)
        self.held[partition] = subscriber
        try:
            replayed = await self.rebuild(partition)
            log.info("intake partition %s taken: %d stored readings of live alerts replayed", partition.name,
                     replayed)
            if rest:
                self.intake.connection(False)  # arms the dead-man until the broker acknowledges
            await subscriber.start()
            hand_back = self._hand_back[partition] = asyncio.Event()
            await hand_back.wait()
        finally:
            self._hand_back.pop(partition, None)
            await subscriber.stop()
            del self.held[partition]
            if rest:
                self.intake.connection(None)
            dropped = self.intake.engine.own(self._owns)
            log.info("intake partition %s let go: %d rule states dropped", partition.name, dropped)

    def _handler(self, partition: Partition) -> Callable[[list[Any]], None]:
        partitioning, index = self.partitioning, self.intake.index

        def keep(reading: Reading) -> bool:
            return partitioning.of(index.resolve(reading.sensor, reading.hardware_id)) is partition

        everything = len(partitioning.partitions) == 1
        return batch_handler(self.intake, MqttDecoder(self.layout),
                             others=self.others if partition.site is None else {},
                             keep=None if everything else keep, rest=partition.site is None)

    async def rebuild(self, partition: Partition) -> int:
        """Replay the partition's stored readings of live alerts (the last ``REBUILD_WINDOW``) into the rules,
        without acting on what they signal (the incidents are in the database already); returns how many."""
        since = self.intake.ctx.now() - REBUILD_WINDOW
        rows = await asyncio.to_thread(self._live_samples, since)
        engine = self.intake.engine
        replayed = 0
        for row in rows:
            if self.partitioning.of(row.sensor) is not partition:
                continue
            value: float | bool = bool(row.value) if row.unit == "" and row.value in (0.0, 1.0) else row.value
            engine.observe(Reading(sensor=row.sensor, metric=row.metric, value=value, ts=as_utc(row.at),
                                   unit=row.unit or None))
            replayed += 1
        return replayed

    def _live_samples(self, since: datetime) -> list[SensorSample]:
        with self.intake.db.reader() as session:
            return list(session.exec(select(SensorSample).where(col(SensorSample.alert_live), SensorSample.at >= since)
                                     .order_by(col(SensorSample.at), col(SensorSample.id))))
