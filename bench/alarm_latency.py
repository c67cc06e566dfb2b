"""Alarm latency under load: publishing a smoke alarm → the incident and its outbox rows committed.

    .venv/bin/python -m bench.alarm_latency [--alarms 200] [--background 1000] [--url mqtt://host:port]
        [--database sqlite|postgres] [--server postgresql+psycopg://…]

A publisher process keeps ``--background`` ordinary readings per second flowing; meanwhile smoke
detectors (a boolean rule, no ``for``) raise alarms one after another at QoS 1, each in its own zone
so each opens an incident. The time is taken from just before the publish to the commit of the
transaction that wrote the incident with its outbox rows (SQLAlchemy ``after_commit``). Run twice:
with the shipped smoke rule, whose fire-evacuation playbook posts its step cards in that same
transaction, and with the same rule starting no playbook (``alarm_no_playbook_*``). ``*_reach_*``: from the
publish until the intake hands the alarm's signal to the open (broker, paho's thread, the subscriber's queue,
the batch it is in, the rules); the latency less that is the open and its commit.

Then, without the broker or the background load, what one alarm costs whatever the machine's load:
``*_open_statements``, the SQL statements of the transaction that opens the incident (SQLAlchemy
``before_cursor_execute`` up to the engine's first commit), and ``*_open_cpu_ms``, the median process CPU
time of a reading handed to the intake until it returns (the open, its commit and the timers armed after it).
``--database postgres``: the same on PostgreSQL (a private schema of ``--server``, dropped at the end).
"""

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy import event
from sqlmodel import Session

from bench.common import SHIPPED_RULES, client, mosquitto, percentile, report, runtime, write_site
from bot.bootstrap import Runtime
from incidents.readings import Reading
from incidents.signals import AlertSignal
from incidents.tables import Incident
from integrations.mqtt.client import MqttSubscriber
from integrations.mqtt.ingest import batch_handler

PROBES, ZONES, WARM_UP = 500, 25, 5
COST_ALARMS = 30  # alarms whose CPU time is taken, after WARM_UP
PG_SERVER = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/test"


def background(url: str, per_second: int, stop: Any) -> None:
    """The load process: ``per_second`` plain readings, paced in 10 ms slices, until ``stop`` is set."""
    publisher = client(url)
    start, sent = time.perf_counter(), 0
    while not stop.is_set():
        due = int((time.perf_counter() - start) * per_second)
        while sent < due:
            body = {"sensor": f"probe-{sent % PROBES}", "metric": "temperature", "value": 4.5}
            publisher.publish(f"wareroom/sensors/load/{sent % PROBES}", json.dumps(body).encode(), qos=1)
            sent += 1
        time.sleep(0.01)
    publisher.loop_stop()
    publisher.disconnect()


class Commits:
    """When each new incident's transaction committed, by zone."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        event.listen(Session, "after_flush", self._flushed)
        event.listen(Session, "after_commit", self._committed)

    @staticmethod
    def _flushed(session: Session, _context: object) -> None:
        zones = [obj.zone for obj in session.new if isinstance(obj, Incident) and obj.zone]
        if zones:
            session.info.setdefault("new_incident_zones", []).extend(zones)

    def close(self) -> None:
        """Stop listening (the listeners are on the Session class, for every session)."""
        event.remove(Session, "after_flush", self._flushed)
        event.remove(Session, "after_commit", self._committed)

    def _committed(self, session: Session) -> None:
        now = time.perf_counter()
        for zone in session.info.pop("new_incident_zones", []):
            self.at.setdefault(zone, now)


def raise_alarms(url: str, alarms: int, every: float, published: dict[str, float]) -> None:
    """Smoke in dock after dock, one every ``every`` seconds."""
    publisher = client(url)
    for n in range(alarms):
        time.sleep(every)
        body = json.dumps({"sensor": f"smoke-{n}", "metric": "smoke", "value": True}).encode()
        published[f"DOCK{n}"] = time.perf_counter()
        publisher.publish(f"wareroom/sensors/alarm/{n}", body, qos=1)
    publisher.loop_stop()
    publisher.disconnect()


def settle(alarms: threading.Thread, commits: Commits, expected: int) -> None:
    """Wait for the alarms to be sent and their incidents committed (two minutes at most)."""
    alarms.join()
    deadline = time.perf_counter() + 120
    while len(commits.at) < expected and time.perf_counter() < deadline:
        time.sleep(0.05)


def reached(app: Runtime) -> dict[str, float]:
    """When the intake handed each zone's first signal to ``IncidentFlow.on_signal`` (the open begins): what
    comes before is the broker, paho's thread, the subscriber's queue, the batch and the rules."""
    at: dict[str, float] = {}
    on_signal = app.flow.on_signal

    def noted(signal: AlertSignal, *, drill: bool = False) -> int | None:
        at.setdefault(signal.zone or "", time.perf_counter())
        return on_signal(signal, drill=drill)

    app.flow.on_signal = noted  # type: ignore[method-assign]
    return at


async def measure(url: str, args: argparse.Namespace, directory: Path, rules: Path,
                  database_url: str) -> tuple[list[float], list[float], float]:
    site = write_site(directory, probes=PROBES, zones=ZONES, smoke_zones=args.alarms)
    app = runtime(directory, site, rules=rules, database_url=database_url)
    commits, published, begun = Commits(), dict[str, float](), reached(app)
    subscriber = MqttSubscriber(url, client_id="wareroom-bench-latency", topics=["wareroom/sensors/#"],
                                handle=batch_handler(app.intake))
    await subscriber.start()
    await asyncio.to_thread(subscriber.connected.wait, 10)
    stop = multiprocessing.Event()
    load = multiprocessing.Process(target=background, args=(url, args.background, stop))
    load.start()
    await asyncio.sleep(2.0)  # the load is flowing
    started, handled_before = time.perf_counter(), subscriber.processed
    alarms = threading.Thread(target=raise_alarms, args=(url, args.alarms, args.every, published))
    alarms.start()
    await asyncio.to_thread(settle, alarms, commits, args.alarms)
    rate = (subscriber.processed - handled_before) / (time.perf_counter() - started)
    stop.set()
    await asyncio.to_thread(load.join)
    await subscriber.stop()
    commits.close()
    app.db.dispose()
    latencies = [(commits.at[zone] - sent) * 1000 for zone, sent in published.items() if zone in commits.at]
    reach = [(begun[zone] - sent) * 1000 for zone, sent in published.items() if zone in begun]
    return latencies[WARM_UP:], reach[WARM_UP:], rate


def open_cost(directory: Path, rules: Path, database_url: str) -> tuple[int, float]:
    """One alarm handed straight to the intake, no broker, no load: the statements of the transaction that opens
    its incident, and the median CPU milliseconds of ``Intake.readings`` over ``COST_ALARMS`` alarms."""
    site = write_site(directory, probes=10, zones=2, smoke_zones=WARM_UP + COST_ALARMS)
    app = runtime(directory, site, rules=rules, database_url=database_url)
    statements, committed = [0], [False]

    def executed(*_args: object) -> None:
        statements[0] += not committed[0]

    def alarm(n: int) -> float:
        start = time.process_time()
        app.intake.readings([Reading(sensor=f"smoke-{n}", metric="smoke", value=True, ts=datetime.now(UTC))])
        return (time.process_time() - start) * 1000

    for n in range(WARM_UP - 1):
        alarm(n)
    event.listen(app.db.engine, "before_cursor_execute", executed)
    event.listen(app.db.engine, "commit", lambda _conn: committed.__setitem__(0, True))
    alarm(WARM_UP - 1)
    event.remove(app.db.engine, "before_cursor_execute", executed)
    cpu = statistics.median(alarm(n) for n in range(WARM_UP, WARM_UP + COST_ALARMS))
    app.db.dispose()
    return statements[0], cpu


@contextmanager
def database(kind: str, server: str) -> Iterator[str]:
    """The database URL of one run: empty for a SQLite file in the run's directory; for PostgreSQL a private
    schema of ``server``, dropped afterwards."""
    if kind == "sqlite":
        yield ""
        return
    schema = f"bench_alarm_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--every", type=float, default=0.1, help="seconds between alarms")
    parser.add_argument("--background", type=int, default=1000, help="ordinary readings per second")
    parser.add_argument("--url", default="", help="an existing broker; default: start one with docker/mosquitto.conf")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL for --database postgres")
    args = parser.parse_args()
    for variant, rules in (("", SHIPPED_RULES), ("_no_playbook", without_smoke_playbook())):
        with mosquitto(args.url) as url, tempfile.TemporaryDirectory() as tmp, \
                database(args.database, args.server) as database_url:
            latencies, reach, rate = asyncio.run(measure(url, args, Path(tmp), rules, database_url))
        with tempfile.TemporaryDirectory() as tmp, database(args.database, args.server) as database_url:
            statements, cpu_ms = open_cost(Path(tmp), rules, database_url)
        report(f"alarm{variant}_latency_samples", len(latencies))
        report(f"alarm{variant}_latency_lost", args.alarms - WARM_UP - len(latencies))
        report(f"alarm{variant}_background_handled_per_s", round(rate))
        report(f"alarm{variant}_latency_p50_ms", round(percentile(latencies, 0.50), 1))
        report(f"alarm{variant}_latency_p99_ms", round(percentile(latencies, 0.99), 1))
        report(f"alarm{variant}_latency_max_ms", round(max(latencies), 1))
        report(f"alarm{variant}_reach_p50_ms", round(percentile(reach, 0.50), 1))
        report(f"alarm{variant}_reach_p99_ms", round(percentile(reach, 0.99), 1))
        report(f"alarm{variant}_open_statements", statements)
        report(f"alarm{variant}_open_cpu_ms", round(cpu_ms, 2))


def without_smoke_playbook() -> Path:
    """The shipped rules with the smoke rule starting no playbook: the alarm alone, without the
    fire-evacuation step cards written in the same transaction."""
    data = yaml.safe_load(SHIPPED_RULES.read_text(encoding="utf-8"))
    for rule in data["rules"]:
        if rule["id"] == "smoke-detected":
            rule.pop("playbook")
    path = Path(tempfile.mkdtemp()) / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
