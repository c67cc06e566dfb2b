"""Holds one named lease on a heartbeat and runs a coroutine while it is held; cancels it when lost.

Timing, with ``ttl`` the lease's time to live (``WAREROOM_LEASE_TTL_SECONDS``, default 10 s):
the holder renews every ``ttl / 3``; a process without the lease tries every ``ttl / 5``. The
holder stops its work by itself ``ttl - margin`` after the *sending* of its last successful
renewal (its monotonic clock), which is before the database can let anyone else in (the expiry
is set ``ttl`` after the renewal *ran*). When a holder dies, its lease expires between
``ttl - ttl / 3`` and ``ttl`` later, and another process takes it at its next try, at most
``ttl / 5`` after that: 6.7 to 12 s at the default.

Database calls run in a worker thread with a deadline, so a hung connection never blocks the
event loop, and an event loop that was blocked past the deadline stands down when it resumes.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from incidents.leases import HeldLease, LeaseBackend

log = logging.getLogger(__name__)

Work = Callable[[HeldLease], Coroutine[Any, Any, None]]
T = TypeVar("T")


class LeaseLoop:
    """Contends for lease ``name``; while holding it, runs ``work(lease)`` and renews it."""

    def __init__(self, leases: LeaseBackend, *, name: str, holder: str, ttl_seconds: float, work: Work,
                 margin_seconds: float | None = None, may_take: Callable[[], bool] | None = None) -> None:
        """``may_take``: asked before each try; False lets the lease be (a process holding its share of
        partitions). A ``work`` that returns hands the lease back at once."""
        if ttl_seconds <= 0:
            raise ValueError(f"the lease time to live must be positive, got {ttl_seconds}")
        self.leases = leases
        self.name = name
        self.holder = holder
        self.ttl = ttl_seconds
        self.work = work
        self.may_take = may_take
        self.renew_every = ttl_seconds / 3
        self.try_every = ttl_seconds / 5
        self.margin = margin_seconds if margin_seconds is not None else min(1.0, ttl_seconds / 10)
        self.held: HeldLease | None = None
        self.acquired = 0  # how many times this process took the lease
        self.beat_at = time.monotonic()  # last time the loop went round, for the liveness probe
        self._task: asyncio.Task[None] | None = None
        self._trouble = False

    def alive(self) -> bool:
        """The loop runs and went round recently (within one ``ttl``): what ``/livez`` reports."""
        running = self._task is not None and not self._task.done()
        return running and time.monotonic() - self.beat_at < self.ttl

    async def run(self) -> None:
        """Contend, hold, repeat, until cancelled; a clean cancel releases a held lease."""
        self._task = asyncio.current_task()
        while True:
            self.beat_at = started = time.monotonic()
            if self.may_take is not None and not self.may_take():
                await asyncio.sleep(self.try_every)
                continue
            lease = await self._call(lambda: self.leases.try_acquire(name=self.name, holder=self.holder,
                                                                      ttl_seconds=self.ttl), self.try_every)
            if lease is None:
                await asyncio.sleep(self.try_every)
                continue
            self.acquired += 1
            log.info("lease %s taken by %s (token %d)", self.name, self.holder, lease.token)
            await self._hold(lease, deadline=started + self.ttl - self.margin)

    async def _hold(self, lease: HeldLease, *, deadline: float) -> None:
        self.held = lease
        work = asyncio.create_task(self.work(lease), name=f"lease-{self.name}")
        released = False
        try:
            while True:
                pause = min(self.renew_every, max(0.0, deadline - time.monotonic()))
                await asyncio.wait([work], timeout=pause)
                self.beat_at = now = time.monotonic()
                if work.done():
                    failed = None if work.cancelled() else work.exception()
                    if failed is not None:
                        log.error("work under lease %s ended: %r; letting the lease go", self.name, failed)
                    else:
                        log.info("lease %s handed back", self.name)
                    break
                if now >= deadline:
                    log.warning("lease %s not renewed in time: standing down", self.name)
                    break
                renewed = await self._call(lambda: self.leases.renew(lease, ttl_seconds=self.ttl),
                                           deadline - now)
                if renewed is False:
                    log.warning("lease %s was taken over (token %d): standing down", self.name, lease.token)
                    break
                if renewed:
                    deadline = now + self.ttl - self.margin
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self.leases.release(lease)  # shutting down: let another process in without waiting for expiry
                released = True
            raise
        finally:
            self.held = None
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            if not released and work.done() and not work.cancelled():  # handed back, or failed
                with contextlib.suppress(Exception):
                    self.leases.release(lease)
                await asyncio.sleep(self.try_every)  # do not spin on a work that fails at once

    async def _call(self, call: Callable[[], T], within: float) -> T | None:
        """Run a database call in a thread; None when it fails or outlives ``within`` seconds."""
        try:
            result = await asyncio.wait_for(asyncio.to_thread(call), timeout=max(0.05, within))
        except (TimeoutError, Exception) as exc:
            if not self._trouble:
                log.warning("lease %s: the database did not answer (%s); retrying", self.name, exc)
            self._trouble = True
            return None
        if self._trouble:
            log.info("lease %s: the database answers again", self.name)
        self._trouble = False
        return result
