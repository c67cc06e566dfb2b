"""Delivery discipline for any chat adapter: a token bucket per destination, back-off, size limits."""

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Protocol, TypeVar

from handlers.ports import Capabilities, ChatPort, MessageRef, OutboundMessage, RateLimited, ThreadRef
from handlers.text import say

log = logging.getLogger(__name__)
T = TypeVar("T")
_GLOBAL = "*"
_REMEMBERED_PARTS = 1000
_YIELD_SECONDS = 0.01  # how long a send steps aside for a waiting edit before it looks again
_NO_WAIT = 1e-6  # a wait this short is rounding left by the sleep before it


@dataclass(frozen=True, slots=True)
class Rate:
    """``burst`` sends at once, refilled at ``burst`` per ``per_seconds``; per destination or for the whole app."""

    burst: int
    per_seconds: float
    per_destination: bool = True


class Unit(StrEnum):
    """How a platform counts the size of a text."""

    BYTES = "bytes"  # UTF-8 bytes (WeCom text and markdown)
    UTF16 = "utf16"  # UTF-16 code units, as Telegram counts (its entity offsets do): an emoji counts 2
    CHARS = "chars"  # Unicode characters (Slack)

    def size(self, text: str) -> int:
        """The size of ``text`` in this unit."""
        if self is Unit.BYTES:
            return len(text.encode())
        if self is Unit.UTF16:
            return len(text.encode("utf-16-le")) // 2
        return len(text)


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    """A platform's published limits: send rates, and how much one message may carry in the platform's unit."""

    rates: tuple[Rate, ...]
    max_size: int
    unit: Unit = Unit.CHARS

    def size(self, text: str) -> int:
        """The size of ``text`` as the platform counts it."""
        return self.unit.size(text)


class LimitedPort(ChatPort, Protocol):
    """A ChatPort that publishes its limits, measures what it renders, and may find what it sent."""

    limits: DeliveryLimits

    def destination(self, native: str | None) -> str:
        """The scope of a thread or message ref (a channel, chat or group); None: where new threads open."""
        ...

    def measure(self, message: OutboundMessage) -> int:
        """The size of the message's limited part as rendered for the platform, in ``limits.unit``."""
        ...

    async def find(self, key: str, thread: ThreadRef | None, *, since: datetime) -> tuple[ThreadRef, MessageRef] | None:
        """The message sent with idempotency ``key`` (in ``thread``, or opening a thread) when the platform
        can tell; None when it is not there or the platform cannot tell."""
        ...


def fit_text(text: str, max_size: int, unit: Unit) -> str:
    """``text`` cut to ``max_size`` in ``unit``, ending with "…" when cut (for replies and names)."""
    if unit.size(text) <= max_size:
        return text
    return _cut(text, max_size - unit.size("…"), unit.size) + "…"


class TokenBucket:
    """Classic token bucket over an injected monotonic clock."""

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.burst)
        self.updated = now

    def _tokens(self, now: float) -> float:
        gained = (now - self.updated) * self.rate.burst / self.rate.per_seconds
        return min(float(self.rate.burst), self.tokens + gained)

    def wait(self, now: float) -> float:
        """Seconds until one token is available (changes nothing: any thread may ask)."""
        tokens = self._tokens(now)
        return 0.0 if tokens >= 1 else (1 - tokens) * self.rate.per_seconds / self.rate.burst

    def take(self, now: float) -> None:
        self.tokens = self._tokens(now) - 1
        self.updated = now


class RateLimitedChat:
    """Wraps an adapter: throttles proactively, honours the platform's back-off, splits or trims long messages.

    A wait longer than ``max_wait`` is not slept through: it raises RateLimited so that the outbox
    dispatcher retries the row later without holding up other streams. Edits (``update``: the incident
    card) go ahead of posts waiting for the same destination's budget; the limits stay those the
    platform publishes (``LimitedPort.limits``). Sizes are measured on what the adapter renders, in the
    platform's own unit.
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
        self._edits_waiting: Counter[str] = Counter()  # per destination: edits waiting for its budget
        self._parts_sent: OrderedDict[str, MessageRef] = OrderedDict()

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        return await self._send(self.inner.destination(None),
                                lambda: self.inner.open_thread(incident_id, self.fit(first), key=key))

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        """Post; a message over the size limit goes out as several, the first one's ref is returned."""
        destination = self.inner.destination(thread.native)
        refs: list[MessageRef] = []
        for part_key, part in self._parts(message, key):
            if part_key not in self._parts_sent:  # a retry after a rate limit resends only what is missing
                self._remember(part_key, await self._send(destination, _bind(self.inner.post, thread, part, part_key)))
            refs.append(self._parts_sent[part_key])
        return refs[0]

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        """Edit; ahead of the posts that wait for the same destination's budget."""
        return await self._send(self.inner.destination(ref.native),
                                lambda: self.inner.update(ref, self.fit(message), key=key), edit=True)

    async def recover(self, thread: ThreadRef | None, message: OutboundMessage, *, key: str,
                      since: datetime) -> tuple[ThreadRef, MessageRef] | None:
        """After a crash mid-send: the refs when the platform has the whole message already (nothing to send);
        otherwise None, and the parts it has are remembered so that ``post`` sends only the rest."""
        parts = self._parts(message, key) if thread is not None else [(key, message)]
        first: tuple[ThreadRef, MessageRef] | None = None
        missing = False
        for number, (part_key, _) in enumerate(parts):
            found = await self._send(self.inner.destination(thread.native if thread else None),
                                     partial(self.inner.find, part_key, thread, since=since))
            if found is None:
                missing = True
                continue
            if thread is not None:
                self._remember(part_key, found[1])
            if number == 0:
                first = found
        return None if missing else first

    def _parts(self, message: OutboundMessage, key: str) -> list[tuple[str, OutboundMessage]]:
        return [(key if number == 0 else f"{key}:part{number + 1}", part)
                for number, part in enumerate(self.split(message))]

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

    async def _send(self, destination: str, call: Callable[[], Awaitable[T]], *, edit: bool = False) -> T:
        """Send when ``destination``'s budget allows. An ``edit`` goes first: while one waits for the
        budget, other sends to that destination wait behind it (priority within the platform's limits,
        never past them)."""
        if edit:
            self._edits_waiting[destination] += 1
        try:
            while True:
                wait = self.wait_for(destination)
                if not edit and self._edits_waiting[destination]:
                    wait = max(wait, _YIELD_SECONDS)
                if wait > self.max_wait:
                    raise RateLimited(wait, f"{self.platform} budget for {destination}")
                if wait <= _NO_WAIT:
                    break
                await self._sleep(wait)
        finally:
            if edit:
                self._edits_waiting[destination] -= 1
        now = self._clock()
        for bucket in self._buckets_for(destination):
            bucket.take(now)
        try:
            return await call()
        except RateLimited as exc:
            log.warning("%s asked to back off %.1fs for %s", self.platform, exc.retry_after, destination)
            self._blocked_until[destination] = self._clock() + exc.retry_after
            raise

    def _fits(self, message: OutboundMessage) -> bool:
        return self.inner.measure(message) <= self.inner.limits.max_size

    def _note(self, message: OutboundMessage) -> str:
        """"Trimmed", with the link to the whole thread in the web app when the public address is known."""
        note = say("trimmed")
        if self.public_url:
            where = f"{self.public_url}/" + (f"?incident={message.incident_id}" if message.incident_id else "")
            note += "\n" + say("full_text", url=where)
        return note

    def _shortened(self, message: OutboundMessage) -> OutboundMessage:
        """Title and field values cut to a share of the limit each, so that the body keeps room."""
        limits = self.inner.limits
        title = fit_text(message.title, limits.max_size // 4, limits.unit)
        fields = tuple((fit_text(name, limits.max_size // 16, limits.unit),
                        fit_text(value, limits.max_size // 8, limits.unit)) for name, value in message.fields)
        return replace(message, title=title, fields=fields)

    def _longest(self, message: OutboundMessage, body: str, suffix: str) -> str:
        """The longest prefix of ``body`` that fits in ``message`` followed by ``suffix``."""
        low, high = 0, len(body)
        while low < high:
            middle = (low + high + 1) // 2
            if self._fits(replace(message, body=_join(body[:middle], suffix))):
                low = middle
            else:
                high = middle - 1
        return body[:low]

    def fit(self, message: OutboundMessage) -> OutboundMessage:
        """The message within the platform's limit: title and fields shortened, the body cut, ending with
        a note and the link to the full text."""
        if self._fits(message):
            return message
        log.info("trimmed a %s message for incident %s to fit %d %s", self.platform, message.incident_id,
                 self.inner.limits.max_size, self.inner.limits.unit)
        short = self._shortened(message)
        note = self._note(message)
        if not self._fits(replace(short, body=note)):  # not even the note fits: the body is cut short without it
            return replace(short, body=self._longest(short, message.body, ""))
        return replace(short, body=_join(self._longest(short, message.body, note), note))

    def split(self, message: OutboundMessage) -> list[OutboundMessage]:
        """The message as one or more messages that each fit; the first keeps the fields and buttons."""
        if self._fits(message):
            return [message]
        short = self._shortened(message)
        marker = say("continued", part=99, parts=99)
        chunks: list[str] = []
        rest = message.body
        while rest:
            template = short if not chunks else OutboundMessage(title=short.title, incident_id=message.incident_id,
                                                                tone=message.tone)
            head = self._longest(template, rest, marker if chunks else "")
            if not head:
                break
            if head != rest and "\n" in head[1:]:
                head = head[:head.rindex("\n")]
            chunks.append(head)
            rest = rest[len(head):].lstrip("\n")
        if rest or len(chunks) <= 1:
            return [self.fit(message)]
        parts = len(chunks)
        first = replace(short, body=chunks[0])
        others = [OutboundMessage(title=short.title, body=f"{say('continued', part=n, parts=parts)}\n{chunk}",
                                  incident_id=message.incident_id, tone=message.tone)
                  for n, chunk in enumerate(chunks[1:], start=2)]
        return [first, *others]


def _join(body: str, note: str) -> str:
    return f"{body}\n{note}" if body and note else body or note


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
