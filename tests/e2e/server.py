"""Run the real app (uvicorn, lifespan and all) on a free loopback port in a background thread."""

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import select

from bot.app import create_app
from bot.settings import Settings
from incidents.actors import SYSTEM
from incidents.clock import utcnow
from incidents.database import Database
from incidents.identity import tokens
from incidents.identity.tokens import Scope
from incidents.tables import ChatIdentity, Person

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


ALERT_BODY = {"title": {"zh": "冷库 D1 温度 8.6 °C，超过 8.0 °C 已 5 分钟",
                        "en": "Cold room D1 at 8.6 °C, above 8.0 °C for 5 min"},
              "severity": "SEV2", "dedup_key": "d1-excursion",
              "labels": {"site": "SH-01", "zone": "D1", "alertname": "cold-room-high-temp"}}
"""A cold-room alarm for ``POST /api/v1/alerts`` that starts the cold-chain playbook."""


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


def service_token(database_url: str, *scopes: Scope, name: str = "tests") -> str:
    """A service API token (default: read and ingest) made straight in the database."""
    database = Database(database_url)
    try:
        with database.unit_of_work() as session:
            secret, _ = tokens.create(session, name=name, scopes=list(scopes or (Scope.READ, Scope.INGEST)),
                                      person=None, expires_at=None, by=SYSTEM, now=utcnow())
    finally:
        database.dispose()
    return secret


def act_as(database_url: str, user: str, *scopes: Scope) -> dict[str, str]:
    """Headers that act as the person whose web chat user id is ``user`` (a personal read+act token)."""
    database = Database(database_url)
    try:
        with database.unit_of_work() as session:
            link = session.exec(select(ChatIdentity).where(ChatIdentity.platform == "webchat",
                                                           ChatIdentity.platform_user_id == user)).one()
            person = session.get(Person, link.person_id)
            secret, _ = tokens.create(session, name=f"tests {user}", scopes=list(scopes or (Scope.READ, Scope.ACT)),
                                      person=person, expires_at=None, by=SYSTEM, now=utcnow())
    finally:
        database.dispose()
    return {"Authorization": f"Bearer {secret}"}


@contextmanager
def running(settings: Settings, *, token: bool = True,
            on_app: Callable[[FastAPI], None] = lambda _app: None) -> Iterator[httpx.Client]:
    """The app serving on loopback; yields an HTTP client for it (with a read+ingest service token unless
    ``token`` is False) and stops it afterwards. ``on_app`` is handed the app before it starts (benchmarks
    read its runtime, ``app.state.runtime``)."""
    app = create_app(settings)
    on_app(app)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.http_port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    headers = {"Authorization": f"Bearer {service_token(settings.database_url)}"} if token else {}
    try:
        # 60 s, not httpx's 10: the first review PDF of a fresh process loads WeasyPrint and the CJK font,
        # which on a loaded 2-core machine has taken 9-15 s (a functional test, not a timed one)
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=60, headers=headers) as client:
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
