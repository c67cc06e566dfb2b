"""Run the real app (uvicorn, lifespan and all) on a free loopback port in a background thread."""

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bot.app import create_app
from bot.settings import Settings

RULES = """
rules:
  - id: cold-room-high-temp
    title: {zh: 冷库温度过高, en: Cold room temperature high}
    match: {metric: temperature, zone_class: cold-room}
    type: threshold
    above: 8.0
    for: 2s
    clear: {below: 7.5, for: 1s}
    severity: SEV2
    playbook: cold-chain-excursion
    recipients: [SL, WM, QA]
system:
  broker_drops: {enabled: false}  # the shared test broker counts every test run's drops, not this app's
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def app_settings(tmp: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for one app under test: its own rules file, MQTT client id and port."""
    rules = tmp / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    values: dict[str, Any] = {
        "database_url": database_url, "mqtt_url": "mqtt://127.0.0.1:1883", "rules_file": rules,
        # a new persistent session per test: a stable id would replay readings that other tests published
        "mqtt_client_id": f"wareroom-test-{uuid.uuid4().hex[:12]}", "http_port": free_port(), "rules_tick_seconds": 0.2,
        "dispatcher_poll_seconds": 0.2, "var_dir": tmp / "var",
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running(settings: Settings) -> Iterator[httpx.Client]:
    """The app serving on loopback; yields an HTTP client for it and stops it afterwards."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.http_port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def wait_for(predicate: Any, *, timeout: float = 15.0, every: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail with what it last returned."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(every)
        value = predicate()
    return value
