"""Readings/s through WareRoom's whole intake, side by side with a bare paho subscriber that only json-decodes.

    .venv/bin/python -m bench.ingest [--readings 100000] [--sensors 1000] [--qos 1] [--url mqtt://host:port]
                                     [--processes 1,2,3] [--process-readings 30000]

Both subscribers read the same burst from a publisher process, one after the other in the same run,
from a Mosquitto with the broker config WareRoom ships (or ``--url``). WareRoom's side is the app's
own subscriber (paho, manual ack after handling, batches) → decode → rules → intake over SQLite; it
also reports the CPU its handler spends per message, which moves less than rates when the machine
is shared.

``--processes``: then 1, 2 and 3 ``wareroom serve`` processes on one PostgreSQL (a private schema) and
the same broker, the sensors at three sites read in three partitions (``WAREROOM_MQTT_PARTITIONS``) plus
the rest; each run waits until the partitions are shared out, publishes ``--process-readings`` readings
and measures from the first publish until the processes have taken them all (their ``/healthz``
``readings``), next to the bare subscriber measured the same way. Every partition's session receives
every message: that is what the partitions cost.
"""

import argparse
import asyncio
import json
import math
import multiprocessing
import random
import tempfile
import threading
import time
import uuid
from collections import deque
from pathlib import Path

import paho.mqtt.client as mqtt
import sqlalchemy as sa

from bench.common import client, mosquitto, report, runtime, write_site
from bot import db
from integrations.mqtt.client import MqttSubscriber, RawMessage
from integrations.mqtt.ingest import batch_handler
from integrations.mqtt.partitions import LEASE_PREFIX as INTAKE_PREFIX
from tests.conftest import PG_SERVER
from tests.e2e.server import wait_for
from tests.scale.serve import Replica, start_replica

TOPIC = "wareroom/sensors/bench"
QUIET_SECONDS = 5.0  # no message for this long: whatever has not arrived is lost
OUTSTANDING = 20_000


def publish(url: str, readings: int, sensors: int, qos: int) -> None:
    """The publisher process: ``readings`` plain readings round-robin over ``sensors`` probes."""
    publisher = client(url)
    rng = random.Random(7)
    infos: deque[mqtt.MQTTMessageInfo] = deque()
    for n in range(readings):
        sensor = n % sensors
        body = {"sensor": f"probe-{sensor}", "metric": "temperature", "value": round(4.5 + rng.uniform(-0.2, 0.2), 2)}
        infos.append(publisher.publish(f"{TOPIC}/{sensor}", json.dumps(body).encode(), qos=qos))
        if len(infos) > OUTSTANDING:  # message ids are 16 bits: keep well below 65,535 unacknowledged
            infos.popleft().wait_for_publish(60)
    for info in infos:
        info.wait_for_publish(60)
    publisher.loop_stop()
    publisher.disconnect()


class Meter:
    """Counts messages and remembers when the first and the last one were done with."""

    def __init__(self) -> None:
        self.count = 0
        self.first = self.last = 0.0
        self.started = 0.0  # when the publisher started, where measured from there
        self.cpu = 0.0  # seconds of CPU in the handler (the intake's own thread), where measured
        self.process_cpu = 0.0  # seconds of CPU of this whole process (network thread too) during the run
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        now = time.perf_counter()
        with self.lock:
            if not self.count:
                self.first = now
            self.count += n
            self.last = now

    def rate(self) -> float:
        return self.count / (self.last - self.first) if self.last > self.first else 0.0


def settle(meter: Meter, expected: int) -> None:
    """Wait until every message arrived or none came for QUIET_SECONDS."""
    seen, since = -1, time.monotonic()
    while meter.count < expected and time.monotonic() - since < QUIET_SECONDS:
        if meter.count != seen:
            seen, since = meter.count, time.monotonic()
        time.sleep(0.05)


def run_publisher(url: str, args: argparse.Namespace) -> multiprocessing.Process:
    process = multiprocessing.Process(target=publish, args=(url, args.readings, args.sensors, args.qos))
    process.start()
    return process


def bare(url: str, args: argparse.Namespace) -> Meter:
    """A paho subscriber that only json-decodes each message."""
    meter = Meter()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        json.loads(message.payload)
        meter.add(1)

    subscriber = client(url)
    subscriber.on_message = on_message
    subscriber.subscribe(f"{TOPIC}/#", qos=args.qos)
    time.sleep(0.5)
    meter.started = time.perf_counter()
    cpu = time.process_time()
    run_publisher(url, args).join()
    settle(meter, args.readings)
    meter.process_cpu = time.process_time() - cpu
    subscriber.loop_stop()
    subscriber.disconnect()
    return meter


async def wareroom(url: str, args: argparse.Namespace, directory: Path) -> tuple[Meter, int]:
    """The app's subscriber and intake, over the shipped rules and a generated site."""
    app = runtime(directory, write_site(directory, probes=args.sensors, zones=max(1, args.sensors // 20)))
    meter = Meter()
    handle = batch_handler(app.intake)

    def measured(batch: list[RawMessage]) -> None:
        started = time.thread_time()
        handle(batch)
        meter.cpu += time.thread_time() - started
        meter.add(len(batch))

    subscriber = MqttSubscriber(url, client_id="wareroom-bench-ingest", topics=[f"{TOPIC}/#"], handle=measured)
    await subscriber.start()
    await asyncio.to_thread(subscriber.connected.wait, 10)
    await asyncio.sleep(0.5)
    cpu = time.process_time()
    publisher = run_publisher(url, args)
    await asyncio.to_thread(publisher.join)
    await asyncio.to_thread(settle, meter, args.readings)
    meter.process_cpu = time.process_time() - cpu
    await subscriber.stop()
    return meter, app.intake.stats.signals


SITES = ("SH-01", "SH-02", "SH-03")


def _intake_leases(replica: Replica) -> int:
    leases = replica.http.get("/livez").json()["leases"]
    return sum(state["held"] for name, state in leases.items() if name.startswith(INTAKE_PREFIX))


def _readings(replicas: list[Replica]) -> int:
    return sum(int(replica.http.get("/healthz").json()["readings"]) for replica in replicas)


def processes_run(url: str, args: argparse.Namespace, count: int, directory: Path, database_url: str) -> float:
    """Readings/s of ``count`` serve processes sharing the partitions, from the first publish to the last taken."""
    devices = write_site(directory, probes=args.sensors, zones=max(3, args.sensors // 20), sites=SITES)
    env = {"WAREROOM_DEVICES_FILE": str(devices), "WAREROOM_MQTT_PARTITIONS": json.dumps(dict.fromkeys(SITES, 1)),
           "WAREROOM_MQTT_CLIENT_ID": f"wareroom-bench-{count}-{uuid.uuid4().hex[:6]}"}
    replicas = [start_replica(directory, database_url, escalate_after_s=3600, ttl_s=5.0, mqtt_url=url, **env)
                for _ in range(count)]
    try:
        for replica in replicas:
            replica.wait_ready(timeout=120)
        partitions = len(SITES) + 1
        share = math.ceil(partitions / count)
        wait_for(lambda: sum(held := [_intake_leases(r) for r in replicas]) == partitions
                 and max(held) <= share, timeout=90)
        held = [_intake_leases(r) for r in replicas]
        base = _readings(replicas)
        started = time.perf_counter()
        publisher = multiprocessing.Process(target=publish, args=(url, args.process_readings, args.sensors, 1))
        publisher.start()
        taken, since, last = 0, time.monotonic(), started
        while taken < args.process_readings and time.monotonic() - since < QUIET_SECONDS:
            time.sleep(0.1)
            now_taken = _readings(replicas) - base
            if now_taken != taken:  # the last time more had been taken: when the intake was done
                taken, since, last = now_taken, time.monotonic(), time.perf_counter()
        publisher.join()
        report(f"ingest_processes_{count}_partitions_held", "/".join(map(str, held)))
        report(f"ingest_processes_{count}_lost", args.process_readings - taken)
        return taken / (last - started)
    finally:
        for replica in replicas:
            replica.process.stop()


def processes(url: str, args: argparse.Namespace) -> None:
    """1, 2 and 3 serve processes on one PostgreSQL and broker, against the bare subscriber from the first publish."""
    counts = [int(n) for n in args.processes.split(",")]
    single = argparse.Namespace(**{**vars(args), "readings": args.process_readings})
    base = bare(url, single)
    bare_rate = base.count / (base.last - base.started) if base.last > base.started else 0.0
    report("ingest_processes_readings", args.process_readings)
    report("ingest_processes_bare_msgs_per_s", round(bare_rate))
    schema = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_SERVER)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database_url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    try:
        db.upgrade(database_url)
        for count in counts:
            with tempfile.TemporaryDirectory() as tmp:
                rate = processes_run(url, args, count, Path(tmp), database_url)
            report(f"ingest_processes_{count}_readings_per_s", round(rate))
            report(f"ingest_processes_{count}_ratio_vs_bare", round(rate / bare_rate, 2) if bare_rate else 0.0)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--sensors", type=int, default=1_000)
    parser.add_argument("--qos", type=int, default=1, choices=(0, 1))
    parser.add_argument("--url", default="", help="an existing broker; default: start one with docker/mosquitto.conf")
    parser.add_argument("--processes", default="", help="e.g. 1,2,3: serve processes on PostgreSQL, after the rest")
    parser.add_argument("--process-readings", type=int, default=30_000)
    args = parser.parse_args()
    with mosquitto(args.url) as url, tempfile.TemporaryDirectory() as tmp:
        base = bare(url, args)
        ours, signals = asyncio.run(wareroom(url, args, Path(tmp)))
        if args.processes:
            processes(url, args)
    report("ingest_readings", args.readings)
    report("ingest_sensors", args.sensors)
    report("ingest_qos", args.qos)
    report("ingest_bare_msgs_per_s", round(base.rate()))
    report("ingest_wareroom_readings_per_s", round(ours.rate()))
    report("ingest_ratio_vs_bare", round(ours.rate() / base.rate(), 2) if base.rate() else 0.0)
    # CPU per message in WareRoom's handler (decode, rules, state): steadier than rates on a shared machine
    report("ingest_wareroom_handler_cpu_us_per_msg", round(ours.cpu / ours.count * 1e6, 1) if ours.count else 0.0)
    # CPU of each subscriber's whole process (paho's network thread included) per message: the ratio of the
    # two is what the rates' ratio tends to when both are short of CPU, whatever else runs on the machine
    bare_cpu = base.process_cpu / base.count * 1e6 if base.count else 0.0
    ours_cpu = ours.process_cpu / ours.count * 1e6 if ours.count else 0.0
    report("ingest_bare_process_cpu_us_per_msg", round(bare_cpu, 1))
    report("ingest_wareroom_process_cpu_us_per_msg", round(ours_cpu, 1))
    report("ingest_cpu_ratio_bare_vs_wareroom", round(bare_cpu / ours_cpu, 2) if ours_cpu else 0.0)
    report("ingest_bare_lost", args.readings - base.count)
    report("ingest_wareroom_lost", args.readings - ours.count)
    report("ingest_wareroom_signals", signals)


if __name__ == "__main__":
    main()
