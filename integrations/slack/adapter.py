"""The Slack ChatPort: a root message per incident in the channel, the conversation in its thread."""

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.ports import Capabilities, MessageRef, MessageRefused, OutboundMessage, RateLimited, ThreadRef
from incidents.clock import as_utc
from integrations.outbound import DeliveryLimits, Rate, Unit
from integrations.slack import render

PLATFORM = "slack"
# chat.postMessage: about one message per second per channel with short bursts; chat.update is Tier 3 (50+/min).
LIMITS = DeliveryLimits(rates=(Rate(burst=3, per_seconds=3.0), Rate(burst=50, per_seconds=60.0, per_destination=False)),
                        max_size=render.SECTION_TEXT_MAX, unit=Unit.CHARS)
# Slack's own trouble, worth the same request again later; any other ``ok: false`` is a refusal.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "ratelimited", "team_added_to_org"})
METADATA_EVENT = "wareroom_outbox"  # message metadata carrying the outbox key, to find a post after a crash
HISTORY_PAGES = 10


def native(channel: str, ts: str) -> str:
    """``C123:1700000000.000100``: a channel and a message timestamp."""
    return f"{channel}:{ts}"


def parse_native(value: str) -> tuple[str, str]:
    """The channel and timestamp of a ref made by :func:`native`."""
    channel, _, ts = value.partition(":")
    return channel, ts


@contextlib.contextmanager
def _backoff_on_429() -> Iterator[None]:
    try:
        yield
    except SlackApiError as exc:
        if exc.response.status_code == 429:
            raise RateLimited(float(exc.response.headers.get("Retry-After", "1")), "slack") from exc
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        if exc.response.status_code == 200 and error and error not in TRANSIENT_ERRORS:
            raise MessageRefused(f"slack: {error}") from exc
        raise


def _metadata(key: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"key": key}}


def _carries(message: dict[str, Any], key: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return bool(metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key)


class SlackChat:
    """ChatPort over slack_sdk's AsyncWebClient."""

    platform = PLATFORM
    capabilities = Capabilities(can_edit=True, max_buttons=25, max_text_bytes=3000, has_threads=True)
    limits = LIMITS

    def __init__(self, client: AsyncWebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    def destination(self, native: str | None) -> str:
        """Slack counts posts per channel."""
        return parse_native(native)[0] if native else self.channel

    def measure(self, message: OutboundMessage) -> int:
        """Characters in the message's main section, as rendered (a section's text is at most 3,000)."""
        return render.section_size(message)

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        with _backoff_on_429():
            sent = await self.client.chat_postMessage(channel=self.channel, text=render.fallback(first),
                                                      blocks=render.blocks(first), unfurl_links=False,
                                                      metadata=_metadata(key))
        root = native(str(sent["channel"]), str(sent["ts"]))
        return ThreadRef(PLATFORM, root), MessageRef(PLATFORM, root)

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        channel, root_ts = parse_native(thread.native)
        with _backoff_on_429():
            sent = await self.client.chat_postMessage(channel=channel, thread_ts=root_ts, text=render.fallback(message),
                                                      blocks=render.blocks(message), unfurl_links=False,
                                                      metadata=_metadata(key))
        return MessageRef(PLATFORM, native(channel, str(sent["ts"])))

    async def find(self, key: str, thread: ThreadRef | None, *, since: datetime) -> tuple[ThreadRef, MessageRef] | None:
        """Look for the message whose metadata carries ``key``: in the thread (``conversations.replies``) or
        among the channel's messages since ``since`` (``conversations.history``)."""
        channel, root_ts = parse_native(thread.native) if thread else (self.channel, "")
        cursor = None
        for _ in range(HISTORY_PAGES):
            with _backoff_on_429():
                if thread is not None:
                    page = await self.client.conversations_replies(channel=channel, ts=root_ts, cursor=cursor,
                                                                   include_all_metadata=True, limit=200)
                else:
                    page = await self.client.conversations_history(
                        channel=channel, cursor=cursor, include_all_metadata=True, limit=200,
                        oldest=f"{as_utc(since).timestamp() - 60:.6f}")
            for message in page.get("messages") or []:
                if _carries(message, key):
                    ref = native(channel, str(message["ts"]))
                    return (thread or ThreadRef(PLATFORM, ref)), MessageRef(PLATFORM, ref)
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        channel, ts = parse_native(ref.native)
        with _backoff_on_429():
            await self.client.chat_update(channel=channel, ts=ts, text=render.fallback(message),
                                          blocks=render.blocks(message))
        return ref
