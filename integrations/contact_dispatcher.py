"""Delivers the notices that paging wrote to the outbox: SMS, calls and email, each row on its own.

Unlike chat threads, notices have no order to keep: every due row goes out independently, so one failing
notice never holds up another. Before each send ``handlers.paging.decide`` may skip it (acknowledged in the
meantime, quiet hours: closed as sent with no provider id and the reason) or hold it (a rate limit: it goes
out when the hour has room, once for every notice held for the same person, incident and channel).
A row found ``sending`` after a crash is sent again (no SMS or voice provider can be asked by key: the
at-least-once window of README "Delivery guarantees").
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlmodel import Session, col, select

from handlers.contact_ports import EMAIL, VOICE, ContactPort, Notice
from handlers.paging import HELD, OP_NOTIFY, Limits, decide, frees_in, grouped_with
from handlers.ports import MessageRefused, OutboundMessage, RateLimited
from incidents import outbox
from incidents.clock import utcnow
from incidents.database import Database
from incidents.tables import OutboxMessage
from integrations.contact_links import AckLinks

log = logging.getLogger(__name__)
BACKOFF_CAP_SECONDS = 300.0


@dataclass
class ContactStats:
    """Counters for ``/metrics``, by channel: sent, skipped (by reason), failed attempts; send latency."""

    sent: Counter[str] = field(default_factory=Counter)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # summed send time


class ContactDispatcher:
    """Delivers due notice rows of the enabled channels until cancelled; ``wake()`` is thread-safe."""

    def __init__(self, db: Database, ports: Mapping[str, ContactPort], links: AckLinks, *, timezone: str,
                 limits: Limits, poll_seconds: float = 1.0, max_attempts: int = 10,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.ports = dict(ports)
        self.links = links
        self.timezone = timezone
        self.limits = limits
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.now = now
        self.stats = ContactStats()
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                await self.drain_once()
            except Exception:
                log.exception("contact delivery round failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=self.poll_seconds)
            self._event.clear()

    async def drain_once(self) -> int:
        """Deliver every due notice once; returns how many went out. People are served concurrently, each
        person's notices on one channel one after another (so that the rate limits count every send)."""
        with self.db.reader() as session:
            rows = list(session.exec(select(OutboxMessage).where(
                col(OutboxMessage.platform).in_(list(self.ports)), OutboxMessage.op == OP_NOTIFY,
                col(OutboxMessage.status).in_([outbox.PENDING, outbox.SENDING]),
                OutboxMessage.next_attempt_at <= self.now()).order_by(col(OutboxMessage.id)).limit(200)).all())
        queues: dict[tuple[str, object], list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            queues[(row.platform, row.payload.get("person_id"))].append(row)
        return sum(await asyncio.gather(*(self._deliver_all(queue) for queue in queues.values())))

    async def _deliver_all(self, rows: list[OutboxMessage]) -> int:
        return sum([await self._deliver(row) for row in rows])

    def _update(self, row: OutboxMessage, change: Callable[[Session, OutboxMessage], None]) -> None:
        with self.db.unit_of_work() as session:
            fresh = session.get(OutboxMessage, row.id)
            assert fresh is not None
            change(session, fresh)

    def _notice(self, row: OutboxMessage) -> Notice:
        payload = row.payload
        target = {"incident_id": row.incident_id, "person_id": int(payload["person_id"])}
        return Notice(address=str(payload["address"]), message=OutboundMessage.from_json(payload["message"]),
                      language=str(payload.get("language", "zh")),
                      ack_url=self.links.email_link(**target, key=row.idempotency_key) if row.platform == EMAIL else "",
                      ack_token=self.links.call_token(**target) if row.platform == VOICE else "")

    async def _deliver(self, row: OutboxMessage) -> int:
        with self.db.unit_of_work() as session:
            fresh = session.get(OutboxMessage, row.id)
            if fresh is None or fresh.status not in (outbox.PENDING, outbox.SENDING):
                return 0  # another round took it
            skip = decide(session, fresh, now=self.now(), timezone=self.timezone, limits=self.limits)
            if skip == "rate limit":
                first = not (fresh.last_error or "").startswith(HELD)
                outbox.mark_waiting(session, fresh, reason=f"{HELD}; goes out grouped when the hour has room",
                                    retry_in=frees_in(session, fresh, now=self.now(), limits=self.limits),
                                    now=self.now())
                skip = skip if first else "held again"
            elif skip is not None:
                outbox.mark_sent(session, fresh, native="", note=f"not sent: {skip}")
            elif fresh.status == outbox.SENDING:
                log.warning("notice %s (%s) was being sent when the process stopped: sending again", row.id,
                            row.platform)
            else:
                outbox.mark_sending(session, fresh)
        if skip is not None:
            if skip != "held again":
                self.stats.skipped[(row.platform, skip)] += 1
            return 0
        port = self.ports[row.platform]
        started = time.perf_counter()
        try:
            native = await port.deliver(self._notice(row), key=row.idempotency_key)
        except RateLimited as exc:
            self._update(row, partial(outbox.mark_waiting, reason=str(exc), retry_in=exc.retry_after, now=self.now()))
            return 0
        except MessageRefused as exc:
            self.stats.failed[row.platform] += 1
            log.warning("%s refused notice %s; parked as a dead letter: %s", port.provider, row.id, exc)
            self._update(row, partial(outbox.park, error=f"refused: {exc}"))
            return 0
        except Exception as exc:
            self.stats.failed[row.platform] += 1
            log.warning("notice %s by %s failed: %s", row.id, port.provider, exc)
            self._update(row, partial(outbox.mark_failed, error=f"{type(exc).__name__}: {exc}",
                                      retry_in=min(BACKOFF_CAP_SECONDS, 2.0 ** min(row.attempts + 1, 9)),
                                      max_attempts=self.max_attempts, now=self.now()))
            return 0
        self.stats.seconds[row.platform] += time.perf_counter() - started
        self.stats.sent[row.platform] += 1
        with self.db.unit_of_work() as session:
            fresh = session.get(OutboxMessage, row.id)
            assert fresh is not None
            outbox.mark_sent(session, fresh, native=native, note=f"by {port.provider}")
            fresh.sent_at = self.now()  # the rate limits count on the dispatcher's clock
            for sibling in grouped_with(session, fresh):
                outbox.mark_sent(session, sibling, native="", note=f"not sent: grouped into notice {row.id}")
                self.stats.skipped[(row.platform, "grouped")] += 1
        return 1
