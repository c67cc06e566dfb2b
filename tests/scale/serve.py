"""``wareroom serve`` processes on one PostgreSQL and the real Mosquitto, run as a site would run them."""

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from incidents.leases import PostgresLeases
from tests.e2e.server import free_port
from tests.factories import ROOT
from tests.scale.processes import Process

WAREROOM = str(Path(sys.executable).parent / "wareroom")
ESCALATION = """
policies:
  SEV2:
    first: [SL]
    levels:
      - {after_seconds: %d, role: WM}
      - {after_seconds: 3600, role: OD}
"""


class Replica:
    """One ``wareroom serve`` process; ``http`` talks to its port."""

    def __init__(self, process: Process, port: int) -> None:
        self.process = process
        self.port = port
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready(self) -> bool:
        try:
            return self.http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline or self.process.popen.poll() is not None:
                raise AssertionError("wareroom serve did not become ready:\n" + "\n".join(self.process.lines[-40:]))
            time.sleep(0.2)


def start_replica(tmp: Path, database_url: str, *, escalate_after_s: int, ttl_s: float,
                  mqtt_url: str = "mqtt://127.0.0.1:1883", **env: str) -> Replica:
    """Start ``wareroom serve`` with its own port, MQTT client id and var dir; not yet waited for."""
    escalation = tmp / "escalation.yaml"
    escalation.write_text(ESCALATION % escalate_after_s, encoding="utf-8")
    rules = tmp / "rules.yaml"  # the shipped rules, without broker-drop incidents: the shared test broker
    rules.write_text((ROOT / "config" / "rules.yaml").read_text(encoding="utf-8").replace(  # counts every run's
        "broker_drops: {severity: SEV2}", "broker_drops: {severity: SEV2, enabled: false}"), encoding="utf-8")
    port = free_port()
    run = uuid.uuid4().hex[:8]
    var = tmp / f"var-{port}"
    settings: dict[str, Any] = {
        "WAREROOM_DATABASE_URL": database_url, "WAREROOM_MQTT_URL": mqtt_url,
        "WAREROOM_MQTT_CLIENT_ID": f"wareroom-scale-{uuid.uuid4().hex[:10]}",
        # sensors of this run only: a private Zigbee2MQTT base topic and Tasmota prefix on the shared broker
        "WAREROOM_ZIGBEE2MQTT_BASE_TOPICS": f'["wareroom-test/{run}/z2m"]',
        "WAREROOM_TASMOTA_TELE_PREFIX": f"wareroom-test-{run}-tele",
        "WAREROOM_HTTP_PORT": str(port), "WAREROOM_ESCALATION_FILE": str(escalation), "WAREROOM_VAR_DIR": str(var),
        "WAREROOM_RULES_FILE": str(rules),
        "WAREROOM_LEASE_TTL_SECONDS": str(ttl_s), "WAREROOM_DISPATCHER_POLL_SECONDS": "0.2", **env,
    }
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("WAREROOM_")}
    process = Process([WAREROOM, "serve"], env={**inherited, **settings}, cwd=tmp)
    return Replica(process, port)


def holder_pid(leases: PostgresLeases, name: str = "scheduler") -> int | None:
    """The pid of the process holding lease ``name`` now, if any."""
    state = leases.state(name)
    return int(state.holder.split(":")[1]) if state is not None and state.expires_in > 0 else None


def alert(key: str) -> dict[str, Any]:
    """A SEV2 alert as a monitoring system would post it."""
    return {"title": {"zh": f"冷库 {key} 压缩机故障", "en": f"Cold room {key} compressor failure"}, "severity": "SEV2",
            "dedup_key": key, "labels": {"site": "SH-01", "zone": key, "alertname": "compressor-failure"}}
