"""Scan events/s through the scan rules (``POST /api/v1/scans`` and MQTT ``wareroom/scans/#`` share this path),
side by side with decoding the same payloads only; then how long a mis-scan burst takes to become its incident.

    .venv/bin/python -m bench.scans [--scans 50000] [--stations 200]

The app's object graph over SQLite with the shipped rules (``scan-mismatch-burst``: 5 in 10 min per station).
The scans are mostly ok with a mis-scan every 50th, spread over the stations so that no burst forms; the
burst is then 5 mis-scans at one new station.
"""

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import report, runtime, write_site
from incidents.clock import utcnow
from incidents.rules.scans import parse_scans
from integrations.operations_routes import scans_in


def payloads(scans: int, stations: int) -> list[bytes]:
    """One JSON scan per payload, a second apart, a mis-scan every 50th."""
    start = utcnow()
    return [json.dumps({"station": f"PACK-{n % stations}", "operator": f"op-{n % 37}", "order": f"SO-{n}",
                        "result": "mismatch" if n % 50 == 0 else "ok",
                        "at": (start + timedelta(seconds=n)).isoformat()}).encode() for n in range(scans)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=50_000)
    parser.add_argument("--stations", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        app = runtime(directory, write_site(directory, probes=10, zones=1))
        batch = payloads(args.scans, args.stations)
        began = time.perf_counter()
        for payload in batch:
            parse_scans(payload, now=utcnow())
        decode_only = time.perf_counter() - began
        began = time.perf_counter()
        opened = [i for payload in batch for i in scans_in(app.intake, payload)]
        through = time.perf_counter() - began
        report("scans", args.scans)
        report("baseline_decode_only_per_s", round(args.scans / decode_only))
        report("scan_rules_per_s", round(args.scans / through))
        report("incidents_from_spread_mis_scans", len(opened))
        burst = [json.dumps({"station": "PACK-BURST", "operator": "op-x", "order": f"SO-B{n}",
                             "result": "mismatch"}).encode() for n in range(5)]
        began = time.perf_counter()
        touched = [i for payload in burst for i in scans_in(app.intake, payload)]
        report("burst_to_incident_ms", round((time.perf_counter() - began) * 1000, 1))
        report("incidents_from_burst", len(set(touched)))
        app.db.dispose()


if __name__ == "__main__":
    main()
