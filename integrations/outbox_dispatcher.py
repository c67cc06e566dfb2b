"""Delivers outbox rows to the chat adapters after commit: in order per thread, one loop per platform.

- Each platform has two lanes (``incidents.outbox.Lane``), run side by side: the thread's messages in
  the order written, and the header (incident card) updates, newest only, which do not wait behind
  the thread's posts. A lane runs a round when woken (``wake()``, called after a commit that wrote
  rows; on PostgreSQL also the commit's ``NOTIFY`` from any process, ``integrations.outbox_wake``),
  when its next row falls due (a rate-limit wait, a back-off), and at the latest every ``poll_seconds``.
- A row is marked ``sending`` (committed) before the platform call; a row found ``sending`` later was
  interrupted by a crash: the platform is asked first where it can tell (see ``Recovering``), else it is
  sent again (the at-least-once window, README "Delivery guarantees").
- A rate-limit wait is not a failure. A refusal parks the row at once; other errors back off and park
  the row after ``max_attempts``. Either way the thread's later rows go on.
- An edit of a message that was never delivered is sent as a new message; a thread whose opening was
  parked is opened when a later message needs it.
- Several processes: each platform's loop runs under its own lease (``leases``: ``outbox:<platform>``,
  one per configured platform), so one platform's holder never waits for another's, and its writes are
  fenced (``incidents.leases.fenced``). A row is claimed ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite
  has one process), so a row another transaction is claiming is passed over, not waited for.
- The database work (synchronous SQLAlchemy, one session per call) runs in the dispatcher's own two worker
  threads (``integrations.worker_thread``), not on the event loop, which then only waits for the platforms'
  answers; the fence (a context variable) goes with each call into its thread.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, runtime_checkable

from sqlmodel import Session

from handlers.ports import (
    ChatPort,
    ChatUnavailable,
    MessageRef,
    MessageRefused,
    OutboundMessage,
    RateLimited,
    ThreadRef,
)
from incidents import outbox
from incidents.clock import as_utc, utcnow
from incidents.database import Database
from incidents.leases import HeldLease, LeaseBackend, fenced
from incidents.outbox import Lane
from incidents.tables import ChatBinding, OutboxMessage
from integrations.lease_loop import LeaseLoop
from integrations.outbox_wake import RemoteWake
from integrations.worker_thread import WorkerThreads

log = logging.getLogger(__name__)
BACKOFF_CAP_SECONDS = 300.0
LEASE_PREFIX = "outbox:"
DB_THREADS = 2  # a lane's read beside another lane's write; SQLite has one writer at a time anyway


class MissingThread(ChatUnavailable):
    """A post for a thread that is not open and cannot be opened now."""


@runtime_checkable
class Recovering(Protocol):
    """A port that can tell whether a message sent with an idempotency key already reached the platform."""

    async def recover(self, thread: ThreadRef | None, message: OutboundMessage, *, key: str,
                      since: datetime) -> tuple[ThreadRef, MessageRef] | None: ...


@dataclass
class DeliveryStats:
    """Counters for ``/metrics``: rows found ``sending`` after a crash, and what became of them."""

    in_doubt: int = 0
    recovered: int = 0  # the platform had it: not sent again
    resent: int = 0  # no way to tell (or not found): sent again


class OutboxDispatcher:
    """One delivery loop per platform, so that one platform never waits for another; ``wake()`` is thread-safe."""

    def __init__(
        self, db: Database, ports: Mapping[str, ChatPort], *, poll_seconds: float = 1.0, max_attempts: int = 25,
        now: Callable[[], datetime] = utcnow, on_outcome: Callable[[str, str | None], None] = lambda _p, _e: None,
    ) -> None:
        self.on_outcome = on_outcome  # (platform, None) after a delivery, (platform, error) after a failure
        self.db = db
        self.ports = dict(ports)
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.now = now
        self.stats = DeliveryStats()
        self._events = {(platform, lane): asyncio.Event() for platform in self.ports for lane in Lane}
        self._opening = {platform: asyncio.Lock() for platform in self.ports}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._remote = RemoteWake(db, self._wake_platform) if db.is_postgres else None  # other processes' rows
        self._lanes_running = 0
        self._db = WorkerThreads(DB_THREADS, name="outbox-db")

    def wake(self) -> None:
        """Ask every platform's lanes to look at the outbox now instead of at the next poll."""
        if self._loop is not None and not self._loop.is_closed():
            for event in self._events.values():
                self._loop.call_soon_threadsafe(event.set)

    def _wake_platform(self, platform: str) -> None:
        """``platform``'s lanes look now (called from the listener's thread)."""
        if self._loop is not None and not self._loop.is_closed() and platform in self.ports:
            for lane in Lane:
                self._loop.call_soon_threadsafe(self._events[(platform, lane)].set)

    async def run(self) -> None:
        """Deliver until cancelled: one loop per platform, without leases (one process, or tests)."""
        await asyncio.gather(*(self.run_platform(platform) for platform in self.ports))

    def leases(self, backend: LeaseBackend, *, holder: str, ttl_seconds: float) -> dict[str, LeaseLoop]:
        """One lease loop per configured platform (lease ``outbox:<platform>``), keyed by lease name; each runs
        that platform's delivery, fenced by its lease, while it holds it."""

        def work(platform: str) -> Callable[[HeldLease], Coroutine[Any, Any, None]]:
            async def deliver(lease: HeldLease) -> None:
                with fenced(lease):
                    await self.run_platform(platform)
            return deliver

        return {LEASE_PREFIX + platform: LeaseLoop(backend, name=LEASE_PREFIX + platform, holder=holder,
                                                   ttl_seconds=ttl_seconds, work=work(platform))
                for platform in self.ports}

    async def run_platform(self, platform: str) -> None:
        """Deliver ``platform``'s rows until cancelled: its two lanes (``incidents.outbox.Lane``) side by side,
        so that a header update never waits behind a post that waits for the platform's budget."""
        self._loop = asyncio.get_running_loop()
        if self._remote is not None:
            self._remote.listen()
        self._lanes_running += 1
        try:
            await asyncio.gather(*(self._run_lane(platform, lane) for lane in Lane))
        finally:
            self._lanes_running -= 1
            if self._remote is not None and not self._lanes_running:
                self._remote.stop()

    async def _run_lane(self, platform: str, lane: Lane) -> None:
        """A round at every ``wake()``, when the lane's next row falls due, or at the latest every poll."""
        event = self._events[(platform, lane)]
        while True:
            try:
                while await self.drain_lane(platform, lane):
                    pass
                upcoming = await self._db.run(self._next_due, platform, lane)
            except Exception:
                log.exception("%s %s delivery round failed; retrying at the next poll", platform, lane)
                upcoming = None
            timeout = self.poll_seconds
            if upcoming is not None:
                wait = (as_utc(upcoming) - self.now()).total_seconds()
                if wait > 0:  # (a row due already was passed over: claimed elsewhere; the poll, not a busy loop)
                    timeout = min(timeout, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=timeout)
            event.clear()

    async def drain_once(self) -> int:
        """One round on every platform at once; returns how many rows were delivered."""
        return sum(await asyncio.gather(*(self.drain_platform(platform) for platform in self.ports)))

    async def drain_platform(self, platform: str) -> int:
        """One round of each of ``platform``'s lanes, header updates first; returns how many were delivered."""
        return sum([await self.drain_lane(platform, lane) for lane in (Lane.HEADER, Lane.THREAD)])

    async def drain_lane(self, platform: str, lane: Lane) -> int:
        """Deliver the due rows of ``platform``'s ``lane`` once (``outbox.due``); returns how many were delivered."""
        rows = await self._db.run(self._due, platform, lane, self.now())
        delivered = 0
        for row in rows:
            delivered += await self._deliver(row)
        return delivered

    def _next_due(self, platform: str, lane: Lane) -> datetime | None:
        with self.db.reader() as session:
            return outbox.next_due(session, platform=platform, lane=lane)

    def _due(self, platform: str, lane: Lane, now: datetime) -> list[OutboxMessage]:
        with self.db.reader() as session:
            return outbox.due(session, now=now, platform=platform, lane=lane)

    def _claim(self, row_id: int) -> tuple[OutboxMessage, bool] | None:
        """The row marked ``sending`` (committed), and whether it was ``sending`` already (in doubt); None
        when another transaction is claiming it or it was done since it was read."""
        with self.db.unit_of_work() as session:
            row = outbox.claim(session, row_id=row_id)
            if row is None:
                return None
            in_doubt = row.status == outbox.SENDING
            if not in_doubt:
                outbox.mark_sending(session, row)
            if row.op == outbox.OP_UPDATE_HEADER:
                outbox.supersede(session, row)  # only the newest header is sent
        return row, in_doubt

    async def _deliver(self, due: OutboxMessage) -> int:
        port = self.ports[due.platform]
        claimed = await self._db.run(self._claim, due.id or 0)
        if claimed is None:
            return 0
        row, in_doubt = claimed
        if in_doubt:
            self.stats.in_doubt += 1
            log.warning("outbox row %s (%s) was being sent when the process stopped", row.id, row.platform)
        try:
            native, note = await self._send(port, row, in_doubt=in_doubt)
        except RateLimited as exc:
            await self._update(row, partial(outbox.mark_waiting, reason=str(exc), retry_in=exc.retry_after,
                                            now=self.now()))
            return 0
        except MessageRefused as exc:
            self.on_outcome(row.platform, f"refused: {exc}")
            log.warning("%s refused outbox row %s; parked as a dead letter: %s", row.platform, row.id, exc)
            await self._update(row, partial(outbox.park, error=f"refused: {exc}"))
            return 0
        except Exception as exc:
            self.on_outcome(row.platform, f"{type(exc).__name__}: {exc}")
            log.warning("delivery of outbox row %s to %s failed: %s", row.id, row.platform, exc)
            await self._update(row, partial(outbox.mark_failed, error=f"{type(exc).__name__}: {exc}",
                                            retry_in=min(BACKOFF_CAP_SECONDS, 2.0 ** min(row.attempts + 1, 9)),
                                            max_attempts=self.max_attempts, now=self.now()))
            return 0
        await self._update(row, partial(outbox.mark_sent, native=native, note=note))
        self.on_outcome(row.platform, None)
        if row.op == outbox.OP_OPEN_THREAD:  # the thread's header updates may go now
            self._events[(row.platform, Lane.HEADER)].set()
        return 1

    async def _update(self, row: OutboxMessage, change: Callable[[Session, OutboxMessage], None]) -> None:
        """Apply ``change`` to the row's current version in its own transaction."""
        await self._db.run(self._change, row, change)

    def _change(self, row: OutboxMessage, change: Callable[[Session, OutboxMessage], None]) -> None:
        with self.db.unit_of_work() as session:
            fresh = session.get(OutboxMessage, row.id)
            assert fresh is not None
            change(session, fresh)

    async def _send(self, port: ChatPort, row: OutboxMessage, *, in_doubt: bool) -> tuple[str, str | None]:
        """Deliver one row; the platform's ref of what it now shows, and a note when it went another way."""
        message = OutboundMessage.from_json(row.payload["message"])
        key = row.idempotency_key
        if row.op == outbox.OP_OPEN_THREAD:
            return await self._open(port, row, message, in_doubt=in_doubt)
        bound, note = await self._thread(port, row)
        if row.op == outbox.OP_UPDATE_HEADER:
            updated = await port.update(MessageRef(row.platform, bound.header_native), message, key=key)
            if updated.native != bound.header_native:
                await self._db.run(self._rebind_header, bound.id or 0, updated.native)
            return updated.native, note
        if row.op == outbox.OP_EDIT:
            target = await self._db.run(self._by_key, row.payload["ref_key"])
            if target is not None and target.status == outbox.SENT and target.message_native:
                updated = await port.update(MessageRef(row.platform, target.message_native), message, key=key)
                return updated.native, note
            note = "the message to edit was never delivered: sent as a new message"
        elif row.op != outbox.OP_POST:
            raise MessageRefused(f"unknown outbox op {row.op!r}")
        thread = ThreadRef(row.platform, bound.thread_native)
        if in_doubt and isinstance(port, Recovering):
            found = await port.recover(thread, message, key=key, since=row.created_at)
            if found is not None:
                self.stats.recovered += 1
                return found[1].native, "found at the platform after a restart: not sent again"
        if in_doubt:
            self.stats.resent += 1
        posted = await port.post(thread, message, key=key)
        return posted.native, note

    def _rebind_header(self, binding_id: int, header_native: str) -> None:
        with self.db.unit_of_work() as session:
            fresh_binding = session.get(ChatBinding, binding_id)
            assert fresh_binding is not None
            fresh_binding.header_native = header_native
            session.add(fresh_binding)

    def _by_key(self, key: str) -> OutboxMessage | None:
        with self.db.reader() as session:
            return outbox.by_key(session, key=key)

    def _binding(self, incident_id: int, platform: str) -> ChatBinding | None:
        with self.db.reader() as session:
            return outbox.binding(session, incident_id=incident_id, platform=platform)

    def _binding_and_opening(self, incident_id: int,
                             platform: str) -> tuple[ChatBinding | None, OutboxMessage | None]:
        with self.db.reader() as session:
            return (outbox.binding(session, incident_id=incident_id, platform=platform),
                    outbox.opening(session, incident_id=incident_id, platform=platform))

    def _bind(self, incident_id: int, platform: str, thread_native: str, header_native: str) -> None:
        with self.db.unit_of_work() as session:
            session.add(ChatBinding(incident_id=incident_id, platform=platform,
                                    thread_native=thread_native, header_native=header_native))

    async def _open(self, port: ChatPort, row: OutboxMessage, message: OutboundMessage, *,
                    in_doubt: bool) -> tuple[str, str | None]:
        bound = await self._db.run(self._binding, row.incident_id, row.platform)
        if bound is not None:  # opened already, when a later message needed the thread
            return bound.header_native, "the thread was open already"
        found = None
        if in_doubt and isinstance(port, Recovering):
            found = await port.recover(None, message, key=row.idempotency_key, since=row.created_at)
            self.stats.recovered += found is not None
        if in_doubt and found is None:
            self.stats.resent += 1
        thread, header = found or await port.open_thread(row.incident_id, message, key=row.idempotency_key)
        await self._db.run(self._bind, row.incident_id, row.platform, thread.native, header.native)
        return header.native, "found at the platform after a restart: not sent again" if found else None

    async def _thread(self, port: ChatPort, row: OutboxMessage) -> tuple[ChatBinding, str | None]:
        """The row's thread; when its opening was parked, the thread is opened now with that header."""
        bound, opening = await self._db.run(self._binding_and_opening, row.incident_id, row.platform)
        if bound is not None:
            return bound, None
        if opening is None or opening.status != outbox.DEAD:
            raise MissingThread(f"incident {row.incident_id} has no {row.platform} thread")
        async with self._opening[row.platform]:  # both lanes may need the thread: it is opened once
            bound = await self._db.run(self._binding, row.incident_id, row.platform)
            if bound is not None:
                return bound, None
            return await self._open_parked(port, row, opening)

    async def _open_parked(self, port: ChatPort, row: OutboxMessage,
                           opening: OutboxMessage) -> tuple[ChatBinding, str | None]:
        header = OutboundMessage.from_json(opening.payload["message"])
        native, _ = await self._open(port, opening, header, in_doubt=False)
        await self._update(opening, partial(outbox.mark_sent, native=native,
                                            note=f"opened when row {row.id} needed the thread"))
        bound = await self._db.run(self._binding, row.incident_id, row.platform)
        assert bound is not None
        return bound, "the thread was opened for this message (its opening had been parked)"
