"""Readings/s through WareRoom's whole intake, side by side with a bare paho subscriber that only json-decodes.

    .venv/bin/python -m bench.ingest [--readings 100000] [--sensors 1000] [--qos 1] [--url mqtt://host:port]

Both subscribers read the same burst from a publisher process, one after the other in the same run,
from a Mosquitto with the broker config WareRoom ships (or ``--url``). WareRoom's side is the app's
own subscriber (paho, manual ack after handling, batches) → decode → rules → intake over SQLite; it
also reports the CPU its handler spends per message, which moves less than rates when the machine
is shared.
"""

import argparse
import asyncio
import json
import multiprocessing
import random
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import paho.mqtt.client as mqtt

from bench.common import client, mosquitto, report, runtime, write_site
from integrations.mqtt.client import MqttSubscriber, RawMessage
from integrations.mqtt.ingest import batch_handler

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
        self.cpu = 0.0  # seconds of CPU in the handler (the intake's own thread), where measured
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
    run_publisher(url, args).join()
    settle(meter, args.readings)
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
    publisher = run_publisher(url, args)
    await asyncio.to_thread(publisher.join)
    await asyncio.to_thread(settle, meter, args.readings)
    await subscriber.stop()
    return meter, app.intake.stats.signals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--sensors", type=int, default=1_000)
    parser.add_argument("--qos", type=int, default=1, choices=(0, 1))
    parser.add_argument("--url", default="", help="an existing broker; default: start one with docker/mosquitto.conf")
    args = parser.parse_args()
    with mosquitto(args.url) as url, tempfile.TemporaryDirectory() as tmp:
        base = bare(url, args)
        ours, signals = asyncio.run(wareroom(url, args, Path(tmp)))
    report("ingest_readings", args.readings)
    report("ingest_sensors", args.sensors)
    report("ingest_qos", args.qos)
    report("ingest_bare_msgs_per_s", round(base.rate()))
    report("ingest_wareroom_readings_per_s", round(ours.rate()))
    report("ingest_ratio_vs_bare", round(ours.rate() / base.rate(), 2) if base.rate() else 0.0)
    # CPU per message in WareRoom's handler (decode, rules, state): steadier than rates on a shared machine
    report("ingest_wareroom_handler_cpu_us_per_msg", round(ours.cpu / ours.count * 1e6, 1) if ours.count else 0.0)
    report("ingest_bare_lost", args.readings - base.count)
    report("ingest_wareroom_lost", args.readings - ours.count)
    report("ingest_wareroom_signals", signals)


if __name__ == "__main__":
    main()
