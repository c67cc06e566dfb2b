"""Resident memory with thousands of sensors registered and live.

    .venv/bin/python -m bench.memory [--sensors 5000] [--minutes 10]

Loads a generated site with the shipped rules (the app's ``bot.bootstrap.build``), then feeds every
sensor one reading every 10 s for ``--minutes`` (filling the trend windows of the time-to-breach and
rate-of-change rules) and lets the offline rule track every device. Reports the process's RSS.

The database is migrated by a child process first, so this process starts as a restarted server does, on a
schema that is current (``bot.db.upgrade`` then checks the revision and leaves alembic unimported); a schema
that is behind costs the migration's imports on top (alembic, Mako: about 10 MB).
"""

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import report, runtime, write_site
from bot.settings import Settings
from incidents.clock import utcnow
from incidents.readings import Reading


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", type=int, default=5000)
    parser.add_argument("--minutes", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        before = rss_mb()
        migrate = "import sys; from bot import db; db.upgrade(sys.argv[1])"
        url = Settings(database_url="", var_dir=directory / "var").resolved_database_url()
        subprocess.run([sys.executable, "-c", migrate, url], check=True)
        app = runtime(directory, write_site(directory, probes=args.sensors, zones=max(1, args.sensors // 20)))
        loaded = rss_mb()
        rng, start, fed = random.Random(3), utcnow(), 0
        began = time.perf_counter()
        for step in range(args.minutes * 6):
            ts = start + timedelta(seconds=10 * step)
            app.intake.readings(Reading(sensor=f"probe-{n}", metric="temperature", value=4.5 + rng.uniform(-0.2, 0.2),
                                        ts=ts) for n in range(args.sensors))
            fed += args.sensors
        app.intake.engine.tick(start + timedelta(minutes=args.minutes))
        elapsed = time.perf_counter() - began
        live = rss_mb()
    report("memory_sensors", args.sensors)
    report("memory_readings_fed", fed)
    report("memory_feed_readings_per_s", round(fed / elapsed))
    report("memory_rss_start_mb", round(before, 1))
    report("memory_rss_loaded_mb", round(loaded, 1))
    report("memory_rss_live_mb", round(live, 1))
    report("memory_rules_state_mb", round(live - loaded, 1))
    report("memory_signals", app.intake.stats.signals)


if __name__ == "__main__":
    main()
