"""Probes for load balancers and Kubernetes: ``/readyz`` (may this process take traffic?) and ``/livez``
(is it still working, or should it be restarted?)."""

import asyncio
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.bootstrap import Runtime

DATABASE_TIMEOUT_S = 2.0


def broker_connected(app: FastAPI) -> bool:
    """True while the MQTT sessions of the intake partitions this process holds are connected; when it holds
    none (another process reads), True when the broker accepts a TCP connection within 1 s."""
    intake = getattr(app.state, "intake", None)
    if intake is None:
        return False
    if intake.held:
        return bool(intake.connected())
    address = urlparse(getattr(app.state, "mqtt_url", ""))
    try:
        socket.create_connection((address.hostname or "127.0.0.1", address.port or 1883), timeout=1.0).close()
    except OSError:
        return False
    return True


def build_router(runtime: Runtime, *, broker_connected: Callable[[], bool]) -> APIRouter:
    probes = APIRouter()

    def ping_database() -> None:
        with runtime.db.reader() as session:
            session.execute(text("SELECT 1"))

    @probes.get("/readyz")
    async def readyz() -> JSONResponse:
        """200 when the database answers within 2 s and the MQTT broker is connected; 503 with the reasons."""
        problems: list[str] = []
        try:
            await asyncio.wait_for(asyncio.to_thread(ping_database), timeout=DATABASE_TIMEOUT_S)
        except Exception as exc:  # any failure, timeouts included, means "not ready"
            problems.append(f"database: {type(exc).__name__}: {exc}"[:300])
        if not await asyncio.to_thread(broker_connected):
            problems.append("broker: not connected")
        body: dict[str, Any] = {"status": "ready" if not problems else "not ready", "problems": problems}
        return JSONResponse(body, status_code=200 if not problems else 503)

    @probes.get("/livez")
    async def livez() -> JSONResponse:
        """200 while the event loop answers and every lease loop goes round; 503 when one stopped. ``leases``:
        each lease by name (``scheduler``, ``outbox:<platform>``, ``intake:<partition>``) and whether it is held."""
        loops = runtime.lease_loops()
        alive = all(loop.alive() for loop in loops.values())
        body: dict[str, Any] = {"status": "alive" if alive else "stalled", "holder": runtime.scheduler_lease.holder,
                                "leases": {name: {"held": loop.held is not None, "alive": loop.alive(),
                                                  "token": loop.held.token if loop.held else None,
                                                  "taken": loop.acquired} for name, loop in loops.items()}}
        body["scheduler_lease"] = body["leases"][runtime.scheduler_lease.name]
        return JSONResponse(body, status_code=200 if alive else 503)

    return probes
