"""Delivery discipline for any chat adapter: a token bucket per destination, back-off, size limits."""

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from handlers.ports import Capabilities, ChatPort, MessageRef, OutboundMessage, RateLimited, ThreadRef
from handlers.text import say

log = logging.getLogger(__name__)
T = TypeVar("T")
_GLOBAL = "*"
_REMEMBERED_PARTS = 1000


@dataclass(frozen=True, slots=True)
class Rate:
    """``burst`` sends at once, refilled at ``burst`` per ``per_seconds``; per destination or for the whole app."""

    burst: int
    per_seconds: float
    per_destination: bool = True


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    """A platform's published limits: send rates and how much one message may carry."""

    rates: tuple[Rate, ...]
    max_size: int
    size_in_bytes: bool = False  # WeCom counts UTF-8 bytes, Slack and Telegram count characters

    def size(self, text: str) -> int:
        """The size of ``text`` as the platform counts it."""
        return len(text.encode()) if self.size_in_bytes else len(text)


class LimitedPort(ChatPort, Protocol):
    """A ChatPort that publishes its limits and says which destination a send counts against."""

    limits: DeliveryLimits

    def destination(self, native: str | None) -> str:
        """The scope of a thread or message ref (a channel, chat or group); None: where new threads open."""
        ...


class TokenBucket:
    """Classic token bucket over an injected monotonic clock."""

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        gained = (now - self.updated) * self.rate.burst / self.rate.per_seconds
        self.tokens = min(float(self.rate.burst), self.tokens + gained)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) * self.rate.per_seconds / self.rate.burst

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


class RateLimitedChat:
    """Wraps an adapter: throttles proactively, honours the platform's back-off, splits or trims long messages.

    A wait longer than ``max_wait`` is not slept through: it raises RateLimited so that the outbox
    dispatcher retries the row later without holding up other streams.
    """

    def __init__(
        self, inner: LimitedPort, *, public_url: str = "", max_wait: float = 5.0,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.inner = inner
        self.platform: str = inner.platform
        self.capabilities: Capabilities = inner.capabilities
        self.public_url = public_url.rstrip("/")
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, int], TokenBucket] = {}
        self._blocked_until: dict[str, float] = {}
        self._parts_sent: OrderedDict[str, MessageRef] = OrderedDict()

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        return await self._send(self.inner.destination(None),
                                lambda: self.inner.open_thread(incident_id, self._trimmed(first), key=key))

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        """Post; a message over the size limit goes out as several, the first one's ref is returned."""
        destination = self.inner.destination(thread.native)
        parts = self.split(message)
        refs: list[MessageRef] = []
        for number, part in enumerate(parts):
            part_key = key if number == 0 else f"{key}:part{number + 1}"
            if part_key not in self._parts_sent:  # a retry after a rate limit resends only what is missing
                self._remember(part_key, await self._send(destination, _bind(self.inner.post, thread, part, part_key)))
            refs.append(self._parts_sent[part_key])
        return refs[0]

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        return await self._send(self.inner.destination(ref.native),
                                lambda: self.inner.update(ref, self._trimmed(message), key=key))

    def _remember(self, key: str, ref: MessageRef) -> None:
        self._parts_sent[key] = ref
        while len(self._parts_sent) > _REMEMBERED_PARTS:
            self._parts_sent.popitem(last=False)

    def _buckets_for(self, destination: str) -> list[TokenBucket]:
        now = self._clock()
        buckets = []
        for index, rate in enumerate(self.inner.limits.rates):
            scope = destination if rate.per_destination else _GLOBAL
            bucket = self._buckets.get((scope, index))
            if bucket is None:
                bucket = self._buckets[(scope, index)] = TokenBucket(rate, now)
            buckets.append(bucket)
        return buckets

    def wait_for(self, destination: str) -> float:
        """Seconds before the next send to ``destination`` is allowed."""
        now = self._clock()
        blocked = max(self._blocked_until.get(destination, 0.0), self._blocked_until.get(_GLOBAL, 0.0)) - now
        return max([blocked, *(bucket.wait(now) for bucket in self._buckets_for(destination))])

    async def _send(self, destination: str, call: Callable[[], Awaitable[T]]) -> T:
        wait = self.wait_for(destination)
        if wait > self.max_wait:
            raise RateLimited(wait, f"{self.platform} budget for {destination}")
        if wait > 0:
            await self._sleep(wait)
        now = self._clock()
        for bucket in self._buckets_for(destination):
            bucket.take(now)
        try:
            return await call()
        except RateLimited as exc:
            log.warning("%s asked to back off %.1fs for %s", self.platform, exc.retry_after, destination)
            self._blocked_until[destination] = self._clock() + exc.retry_after
            raise

    def _budget(self, message: OutboundMessage) -> int:
        """How much room the body has once the title and fields are counted."""
        rest = replace(message, body="").plain_text()
        return self.inner.limits.max_size - self.inner.limits.size(rest) - 1

    def _trimmed(self, message: OutboundMessage) -> OutboundMessage:
        """The message cut to the platform's limit, ending with a note and the link to the full text."""
        limits = self.inner.limits
        if limits.size(message.plain_text()) <= limits.max_size:
            return message
        note = say("trimmed")
        if self.public_url:
            note += "\n" + say("full_text", url=f"{self.public_url}/")
        budget = self._budget(message)
        room = budget - limits.size(note) - 1
        log.info("trimmed a %s message for incident %s to fit %d", self.platform, message.incident_id, limits.max_size)
        if room < 0:  # not even the note fits: the body is cut short without it
            return replace(message, body=_cut(message.body, max(budget, 0), limits.size))
        body = _cut(message.body, room, limits.size)
        return replace(message, body=f"{body}\n{note}" if body else note)

    def split(self, message: OutboundMessage) -> list[OutboundMessage]:
        """The message as one or more messages that each fit; the first keeps the fields and buttons."""
        limits = self.inner.limits
        if limits.size(message.plain_text()) <= limits.max_size:
            return [message]
        marker = say("continued", part=99, parts=99)
        room = self._budget(message) - limits.size(marker) - 1
        chunks = _chunks(message.body, room, limits.size)
        if room <= 0 or len(chunks) == 1:
            return [self._trimmed(message)]
        parts = len(chunks)
        first = replace(message, body=chunks[0])
        rest = [OutboundMessage(title=message.title, body=f"{say('continued', part=n, parts=parts)}\n{chunk}",
                                incident_id=message.incident_id, tone=message.tone)
                for n, chunk in enumerate(chunks[1:], start=2)]
        return [first, *rest]


def _bind(
    post: Callable[..., Awaitable[MessageRef]], thread: ThreadRef, message: OutboundMessage, key: str
) -> Callable[[], Awaitable[MessageRef]]:
    return lambda: post(thread, message, key=key)


def _cut(text: str, room: int, size: Callable[[str], int]) -> str:
    """The longest prefix of ``text`` whose size is at most ``room``."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _chunks(text: str, room: int, size: Callable[[str], int]) -> list[str]:
    """``text`` in pieces of at most ``room``, broken at line ends where possible."""
    if room <= 0:
        return [text]
    pieces: list[str] = []
    rest = text
    while size(rest) > room:
        head = _cut(rest, room, size)
        newline = head.rfind("\n")
        if newline > 0:
            head = head[:newline]
        pieces.append(head)
        rest = rest[len(head):].lstrip("\n")
    pieces.append(rest)
    return pieces
