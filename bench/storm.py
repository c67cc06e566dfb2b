"""An alert storm: mains power fails, then 2,000 probes drop off within 10 s.

    .venv/bin/python -m bench.storm [--probes 2000] [--seconds 10]

Site SH-01 (90 % of the probes) loses mains power: its UPS reports ``on_battery`` and every probe's
last will arrives; site SH-02's probes drop off at the same time for another reason. The payloads go
through WareRoom's decode → rules → intake with the shipped rules (grouping and inhibition included)
on a clock the benchmark moves, with four chat platforms configured. Counts what chat would see.
"""

import argparse
import json
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bench.common import report, runtime, write_site
from handlers.notify import Notifier
from incidents.clock import utcnow
from incidents.tables import Alert, Incident, OutboxMessage
from integrations.mqtt.client import RawMessage
from integrations.mqtt.ingest import batch_handler

PLATFORMS = ("webchat", "slack", "telegram", "wecom")
SITES = ("SH-01",) * 9 + ("SH-02",)
MESSAGES = ("open_thread", "post")  # what people see as new messages; header updates are edits


class Clock:
    """The time the benchmark moves."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10, help="how long the probes take to drop off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        app = runtime(directory, write_site(directory, probes=args.probes, zones=args.probes // 50, sites=SITES))
        clock = Clock()
        app.ctx.now = clock
        app.ctx.notifier = Notifier(PLATFORMS)
        handle = batch_handler(app.intake)
        started = time.perf_counter()
        app.intake.tick()
        handle([RawMessage("zigbee2mqtt/ups-SH-01", json.dumps({"on_battery": True}).encode(), 1, 1)])
        per_second = -(-args.probes // args.seconds)
        for second in range(args.seconds):
            wills = [RawMessage(f"zigbee2mqtt/probe-{n}/availability", b'{"state": "offline"}', n, 1)
                     for n in range(second * per_second, min(args.probes, (second + 1) * per_second))]
            handle(wills)
            clock.now += timedelta(seconds=1)
            app.intake.tick()
        for _ in range(120):  # ten more minutes, ticking every 5 s as the app does
            clock.now += timedelta(seconds=5)
            app.intake.tick()
        elapsed = time.perf_counter() - started
        with app.db.reader() as session:
            incidents = session.exec(select(Incident)).all()
            alerts = session.exec(select(Alert)).all()
            outbox = session.exec(select(OutboxMessage)).all()
    by_platform = {p: Counter(row.op for row in outbox if row.platform == p) for p in PLATFORMS}
    stats = app.intake.stats
    report("storm_probes", args.probes)
    report("storm_incidents", len(incidents))
    report("storm_incident_keys", ",".join(sorted(i.dedup_key for i in incidents)))
    report("storm_alerts_recorded", len(alerts))
    report("storm_alerts_inhibited", stats.inhibited)
    report("storm_alerts_grouped", stats.grouped)
    for platform, ops in by_platform.items():
        report(f"storm_{platform}_messages", sum(ops[op] for op in MESSAGES))
        report(f"storm_{platform}_edits", sum(n for op, n in ops.items() if op not in MESSAGES))
    report("storm_wall_seconds", round(elapsed, 2))


if __name__ == "__main__":
    main()
