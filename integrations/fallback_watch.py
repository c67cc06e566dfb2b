"""Watches chat delivery health: while a platform is degraded, the people of incidents waiting on it are
reached by their next channel; when it recovers, the threads are told (the outbox then delivers the backlog,
each message once)."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from handlers import fallback
from handlers.context import CoreContext
from integrations.platform_health import DeliveryHealth

log = logging.getLogger(__name__)


class FallbackWatch:
    def __init__(self, ctx: CoreContext, health: DeliveryHealth, *, poll_seconds: float = 1.0,
                 wake: Callable[[], None] = lambda: None) -> None:
        self.ctx = ctx
        self.health = health
        self.poll_seconds = poll_seconds
        self.wake = wake
        self.affected: dict[str, tuple[datetime, set[int]]] = {}  # platform -> outage start, incidents waiting

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.tick)
            except Exception:
                log.exception("fallback watch round failed")
            await asyncio.sleep(self.poll_seconds)

    def tick(self) -> int:
        """One look: reach people for degraded platforms, tell threads of recovered ones. Notices added."""
        degraded = self.health.degraded()
        added = 0
        now = self.ctx.now()
        with self.ctx.db.unit_of_work() as session:
            for platform, since in degraded.items():
                self.affected.setdefault(platform, (since, set()))
                for incident in fallback.waiting_on(session, platform):
                    assert incident.id is not None
                    count = fallback.reach_during_outage(
                        session, incident, platform=platform, outage=f"{since.timestamp():.0f}",
                        failing_seconds=round((now - since).total_seconds()), now=now,
                        channels=self.ctx.contact_channels, escalation=self.ctx.escalation,
                        notifier=self.ctx.notifier)
                    if count:
                        log.warning("%s degraded since %s: incident %s reached by other channels (%d notices)",
                                    platform, since.isoformat(), incident.id, count)
                    self.affected[platform][1].add(incident.id)
                    added += count
            for platform in [p for p in self.affected if p not in self.health.failing_since]:
                since, incidents = self.affected.pop(platform)
                again = fallback.tell_recovered(session, sorted(incidents), platform=platform, since=since,
                                                notifier=self.ctx.notifier)
                log.warning("%s delivers again; %d messages parked during the outage sent again", platform, again)
        if added or degraded:
            self.wake()
        return added
