"""Webhook intake: Alertmanager v4 bodies to WareRoom beside a real Alertmanager's own ``/api/v2/alerts``.

    .venv/bin/python -m bench.webhook [--batches 40]

Both servers run in processes of their own on loopback ports: WareRoom (the whole app, SQLite, a
Mosquitto of its own) and ``prometheus-alertmanager`` (the Debian package; a null receiver,
no cluster), started here. Each round posts ``--batches`` bodies of 100 alerts from one client and then
from four clients at once (the batches split between them): new alerts (never seen: WareRoom writes them,
Alertmanager stores them), each body a new group (WareRoom opens an incident for it), then the same alerts
again (repeats: deduplicated by both), then 100 new alerts for each of those groups (``join``: WareRoom adds
them to the group's open incident; new to Alertmanager too). WareRoom gets them
as Alertmanager's webhook body (version 4) at ``POST /api/v1/alerts/alertmanager``; Alertmanager gets
the same alerts as its API takes them. Prints alerts/s of each and WareRoom's share of Alertmanager's.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import _wait_for_port as wait_for_port
from bench.common import mosquitto, report
from tests.e2e.server import free_port

PER_BODY = 100
ALERTMANAGER = "prometheus-alertmanager"
AM_CONFIG = "route: {receiver: 'null', group_wait: 30s}\nreceivers: [{name: 'null'}]\n"


def _alert(n: int) -> dict[str, Any]:
    return {"labels": {"alertname": "BenchDiskFull", "site": "SH-01", "severity": "warning", "instance": f"host-{n}"},
            "annotations": {"summary": f"Disk full on host-{n}", "summary_zh": f"host-{n} 磁盘已满"},
            "startsAt": "2026-11-30T02:00:00Z", "generatorURL": "http://prometheus.local:9090/graph"}


def _v4(batch: list[dict[str, Any]], first: int, group: int | None = None) -> bytes:
    """The webhook body of ``batch`` (alerts numbered from ``first``) as the group ``group`` (default ``first``)."""
    alerts = [a | {"status": "firing", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{first + i:016x}"}
              for i, a in enumerate(batch)]
    batch_label = first if group is None else group
    return json.dumps({"version": "4", "groupKey": f'{{}}:{{alertname="BenchDiskFull",batch="{batch_label}"}}',
                       "truncatedAlerts": 0, "status": "firing", "receiver": "wareroom",
                       "groupLabels": {"alertname": "BenchDiskFull"},
                       "commonLabels": {"alertname": "BenchDiskFull", "site": "SH-01"}, "commonAnnotations": {},
                       "externalURL": "http://alertmanager.local:9093", "alerts": alerts}).encode()


def _post_all(url: str, headers: dict[str, str], bodies: list[bytes], clients: int) -> float:
    """Seconds to post every body, split between ``clients`` threads with a connection each."""
    failures: list[str] = []

    def work(share: list[bytes]) -> None:
        with httpx.Client(headers=headers | {"Content-Type": "application/json"}, timeout=60) as http:
            for body in share:
                answer = http.post(url, content=body)
                if answer.status_code >= 300:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")

    threads = [threading.Thread(target=work, args=(bodies[c::clients],)) for c in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} bodies refused, first: {failures[0]}")
    return took


def _serve_wareroom(directory: Path) -> None:
    """The child process: WareRoom serving until its stdin closes; prints its port and an ingest token."""
    from bot import db
    from tests.e2e.server import app_settings, running, service_token

    url = f"sqlite:///{directory / 'wareroom.db'}"
    db.upgrade(url)
    with mosquitto("") as broker:  # a broker of its own: the shared one holds other runs' retained messages
        settings = app_settings(directory, url, mqtt_url=broker)
        with running(settings):
            print(settings.http_port, service_token(url), flush=True)
            sys.stdin.read()


def _round(name: str, post: Callable[[list[bytes], int], float], bodies: list[list[bytes]],
           joins: list[list[bytes]]) -> dict[str, float]:
    """Alerts/s for new, repeated, then joining alerts, from one client and from four; ``bodies`` and ``joins``
    have a fresh set per run."""
    rates: dict[str, float] = {}
    for run, clients in enumerate((1, 4)):
        for kind, sent in (("new", bodies[run]), ("repeat", bodies[run]), ("join", joins[run])):
            took = post(sent, clients)
            rates[f"{kind}_{clients}"] = rate = len(sent) * PER_BODY / took
            report(f"{name}_{kind}_alerts_{clients}_client{'s' if clients > 1 else ''}_per_s", round(rate))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="bodies of 100 alerts per measurement")
    args = parser.parse_args()
    if shutil.which(ALERTMANAGER) is None:
        raise SystemExit(f"{ALERTMANAGER} is not installed: apt-get install {ALERTMANAGER}")
    alerts = [[_alert(n) for n in range(start, start + PER_BODY)]  # four fresh sets: new and join, 1 and 4 clients
              for start in range(0, 4 * args.batches * PER_BODY, PER_BODY)]
    halves = [alerts[:args.batches], alerts[args.batches:2 * args.batches]]
    join_halves = [alerts[2 * args.batches:3 * args.batches], alerts[3 * args.batches:]]
    report("alerts_per_body", PER_BODY)
    report("bodies_per_measurement", args.batches)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        am_port = free_port()
        (directory / "alertmanager.yml").write_text(AM_CONFIG, encoding="utf-8")
        manager = subprocess.Popen([ALERTMANAGER, f"--config.file={directory / 'alertmanager.yml'}",
                                    f"--storage.path={directory / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
                                    "--cluster.listen-address="], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wareroom = subprocess.Popen([sys.executable, "-m", "bench.webhook", "--serve", str(directory)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            wait_for_port(am_port)
            assert wareroom.stdout is not None
            port, token = wareroom.stdout.readline().split()
            am_url = f"http://127.0.0.1:{am_port}/api/v2/alerts"
            wr_url = f"http://127.0.0.1:{port}/api/v1/alerts/alertmanager"
            am_bodies = [[json.dumps(batch).encode() for batch in half] for half in halves]
            am_joins = [[json.dumps(batch).encode() for batch in half] for half in join_halves]
            wr_bodies = [[_v4(batch, n * PER_BODY) for n, batch in enumerate(half, start=h * args.batches)]
                         for h, half in enumerate(halves)]
            wr_joins = [[_v4(batch, (n + 2 * args.batches) * PER_BODY, group=n * PER_BODY)  # into the new groups
                         for n, batch in enumerate(half, start=h * args.batches)] for h, half in enumerate(join_halves)]
            am = _round("alertmanager", lambda bodies, clients: _post_all(am_url, {}, bodies, clients), am_bodies,
                        am_joins)
            wr = _round("wareroom", lambda bodies, clients: _post_all(
                wr_url, {"Authorization": f"Bearer {token}"}, bodies, clients), wr_bodies, wr_joins)
            for key in wr:
                kind, clients = key.split("_")
                report(f"ratio_wareroom_to_alertmanager_{kind}_{clients}_client{'s' if clients != '1' else ''}",
                       f"{wr[key] / am[key]:.2f}")
        finally:
            if wareroom.stdin is not None:
                wareroom.stdin.close()
            wareroom.wait(60)
            manager.terminate()
            manager.wait(10)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve_wareroom(Path(sys.argv[2]))
    else:
        main()
