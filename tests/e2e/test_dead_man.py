"""Dead-man switches: the heartbeat receiver stops getting pings once WareRoom is killed (SIGKILL, no goodbye);
a declared integration that falls silent opens a system incident, and its next heartbeat clears it."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.e2e.server import app_settings, free_port, running, wait_for
from tests.fakes.live_server import live_server

pytestmark = pytest.mark.mosquitto
PING_SECONDS = 0.2


class Receiver:
    """A healthchecks.io-style ping URL: counts GET /ping/{uuid}."""

    def __init__(self) -> None:
        self.pings: list[float] = []
        self.app = Starlette(routes=[Route("/ping/{check}", self._ping, methods=["GET", "POST"])])

    async def _ping(self, request: Request) -> PlainTextResponse:
        self.pings.append(time.monotonic())
        return PlainTextResponse("OK")


def test_the_receiver_stops_getting_pings_once_wareroom_is_killed(tmp_path: Path, sqlite_url: str) -> None:
    receiver = Receiver()
    with live_server(receiver.app) as url:
        port = free_port()
        env = {**os.environ, "WAREROOM_DATABASE_URL": sqlite_url, "WAREROOM_VAR_DIR": str(tmp_path / "var"),
               "WAREROOM_HTTP_PORT": str(port), "WAREROOM_MQTT_URL": "mqtt://127.0.0.1:1883",
               "WAREROOM_MQTT_CLIENT_ID": f"wareroom-test-{uuid.uuid4().hex[:12]}",
               "WAREROOM_HEARTBEAT_URL": f"{url}/ping/{uuid.uuid4()}", "WAREROOM_HEARTBEAT_SECONDS": str(PING_SECONDS)}
        process = subprocess.Popen([str(Path(sys.executable).parent / "wareroom"), "serve"], env=env, cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: len(receiver.pings) >= 3, timeout=60)
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        finally:
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=10) == -signal.SIGKILL
        killed_at = time.monotonic()
        settled = len([t for t in receiver.pings if t <= killed_at + 0.1])  # a ping already on the wire
        time.sleep(10 * PING_SECONDS)
        assert len(receiver.pings) == settled


def test_a_silent_integration_opens_a_system_incident_and_its_heartbeat_clears_it(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = app_settings(tmp_path, sqlite_url, expected_heartbeats={"wms": 1, "gateway-b2": 3600})
    with running(settings) as http:
        assert http.post("/api/v1/heartbeats/gateway-b2").status_code == 202
        assert http.post("/api/v1/heartbeats/no-such").status_code == 404
        [incident] = wait_for(lambda: http.get("/api/v1/incidents").json(), timeout=20)
        assert incident["source"] == "system" and incident["status"] == "triggered"
        assert "wms" in incident["title_en"] and "gateway-b2" not in incident["title_en"]
        assert http.post("/api/v1/heartbeats/wms").status_code == 202
        wait_for(lambda: http.get(f"/api/v1/incidents/{incident['id']}").json()["cleared_at"])
        assert len(http.get("/api/v1/incidents").json()) == 1  # gateway-b2 is within its timeout
