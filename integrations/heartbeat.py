"""Dead-man switches over HTTP: WareRoom's own heartbeat out, and the endpoint integrations call in on.

Out: a GET of the configured URL every interval (the convention of healthchecks.io and of Alertmanager's
always-firing ``Watchdog``): when WareRoom stops, the pings stop and the outside monitor raises the alarm.
In: ``POST /api/v1/heartbeats/{name}`` (ingest token) records a declared integration's heartbeat.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from handlers.heartbeats import HeartbeatWatch

log = logging.getLogger(__name__)


@dataclass
class HeartbeatSender:
    """Pings ``url`` every ``every_seconds``; a failed ping is logged and counted, the next one goes on time."""

    url: str
    every_seconds: float
    sent: int = 0
    failed: int = 0

    async def run(self) -> None:
        import httpx  # only when a heartbeat URL is set (httpx brings rich and Pygments for its CLI: ~6 MB)

        async with httpx.AsyncClient(timeout=max(1.0, self.every_seconds)) as client:
            while True:
                try:
                    answer = await client.get(self.url)
                    answer.raise_for_status()
                    self.sent += 1
                except httpx.HTTPError as exc:
                    self.failed += 1
                    log.warning("heartbeat to %s failed: %s", self.url, exc)
                await asyncio.sleep(self.every_seconds)


async def watch_silence(watch: HeartbeatWatch, every_seconds: float) -> None:
    """Look for silent integrations every ``every_seconds`` until cancelled."""
    await asyncio.to_thread(watch.declare)
    while True:
        try:
            await asyncio.to_thread(watch.check)
        except Exception:
            log.exception("heartbeat check failed")
        await asyncio.sleep(every_seconds)


def build_router(watch: HeartbeatWatch, ingest: Callable[..., Any]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/heartbeats", tags=["alerts"], dependencies=[Depends(ingest)])

    @router.post("/{name}", status_code=202)
    async def heartbeat(name: str) -> dict[str, str]:
        """A heartbeat from a declared integration (WAREROOM_EXPECTED_HEARTBEATS); 404 for an undeclared name."""
        if not await asyncio.to_thread(watch.beat, name):
            raise HTTPException(404, f"未声明的心跳「{name}」 / No heartbeat named \"{name}\" is declared")
        return {"status": "accepted"}

    return router
