"""Delivers outbox rows to the chat adapters after commit: in order per thread, with retries."""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping

from handlers.ports import ChatPort, ChatUnavailable, MessageRef, OutboundMessage, RateLimited, ThreadRef
from incidents import outbox
from incidents.clock import utcnow
from incidents.database import Database
from incidents.tables import ChatBinding, OutboxMessage

log = logging.getLogger(__name__)


class MissingThread(ChatUnavailable):
    """A post for a thread whose opening has not been delivered."""


class OutboxDispatcher:
    """One loop per process; ``wake()`` may be called from any thread."""

    def __init__(
        self, db: Database, ports: Mapping[str, ChatPort], *, poll_seconds: float = 1.0, max_attempts: int = 25
    ) -> None:
        self.db = db
        self.ports = dict(ports)
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Ask the loop to look at the outbox now instead of at the next poll."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def run(self) -> None:
        """Deliver until cancelled."""
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                while await self.drain_once():
                    pass
            except Exception:
                log.exception("outbox delivery round failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=self.poll_seconds)
            self._event.clear()

    async def drain_once(self) -> int:
        """Deliver every due row once (platforms in parallel, each stream in order); returns how many."""
        with self.db.reader() as session:
            rows = [r for r in outbox.due(session, now=utcnow()) if r.platform in self.ports]
        by_platform: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_platform[row.platform].append(row)
        results = await asyncio.gather(*(self._deliver_all(batch) for batch in by_platform.values()))
        return sum(results)

    async def _deliver_all(self, rows: list[OutboxMessage]) -> int:
        delivered = 0
        for row in rows:
            delivered += await self._deliver(row)
        return delivered

    async def _deliver(self, row: OutboxMessage) -> int:
        port = self.ports[row.platform]
        message = OutboundMessage.from_json(row.payload["message"])
        try:
            native = await self._send(port, row, message)
        except RateLimited as exc:
            self._failed(row, str(exc), exc.retry_after)
            return 0
        except Exception as exc:
            log.warning("delivery of outbox row %s to %s failed: %s", row.id, row.platform, exc)
            self._failed(row, f"{type(exc).__name__}: {exc}", min(300.0, 2.0 ** min(row.attempts + 1, 8)))
            return 0
        with self.db.unit_of_work() as session:
            fresh = session.get(OutboxMessage, row.id)
            assert fresh is not None
            fresh.message_native = native
            outbox.mark_sent(session, fresh)
        return 1

    async def _send(self, port: ChatPort, row: OutboxMessage, message: OutboundMessage) -> str:
        key = row.idempotency_key
        if row.op == outbox.OP_OPEN_THREAD:
            thread, header = await port.open_thread(row.incident_id, message, key=key)
            with self.db.unit_of_work() as session:
                session.add(ChatBinding(incident_id=row.incident_id, platform=row.platform,
                                        thread_native=thread.native, header_native=header.native))
            return header.native
        with self.db.reader() as session:
            bound = outbox.binding(session, incident_id=row.incident_id, platform=row.platform)
            ref_native = outbox.sent_ref(session, key=row.payload["ref_key"]) if row.op == outbox.OP_EDIT else None
        if bound is None:
            raise MissingThread(f"incident {row.incident_id} has no {row.platform} thread yet")
        if row.op == outbox.OP_POST:
            posted = await port.post(ThreadRef(row.platform, bound.thread_native), message, key=key)
            return posted.native
        if row.op == outbox.OP_UPDATE_HEADER:
            updated = await port.update(MessageRef(row.platform, bound.header_native), message, key=key)
            if updated.native != bound.header_native:
                with self.db.unit_of_work() as session:
                    fresh_binding = session.get(ChatBinding, bound.id)
                    assert fresh_binding is not None
                    fresh_binding.header_native = updated.native
                    session.add(fresh_binding)
            return updated.native
        if row.op == outbox.OP_EDIT:
            if ref_native is None:
                raise MissingThread(f"the message to edit ({row.payload['ref_key']}) is not delivered yet")
            return (await port.update(MessageRef(row.platform, ref_native), message, key=key)).native
        raise ValueError(f"unknown outbox op {row.op!r}")

    def _failed(self, row: OutboxMessage, error: str, retry_in: float) -> None:
        with self.db.unit_of_work() as session:
            fresh = session.get(OutboxMessage, row.id)
            assert fresh is not None
            outbox.mark_failed(session, fresh, error=error, retry_in=retry_in, max_attempts=self.max_attempts)
