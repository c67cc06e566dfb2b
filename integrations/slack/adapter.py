"""The Slack ChatPort: a root message per incident in the channel, the conversation in its thread."""

import contextlib
from collections.abc import Iterator

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.ports import Capabilities, MessageRef, OutboundMessage, RateLimited, ThreadRef
from integrations.outbound import DeliveryLimits, Rate
from integrations.slack import render

PLATFORM = "slack"
# chat.postMessage: about one message per second per channel with short bursts; chat.update is Tier 3 (50+/min).
LIMITS = DeliveryLimits(rates=(Rate(burst=3, per_seconds=3.0), Rate(burst=50, per_seconds=60.0, per_destination=False)),
                        max_size=3000)  # one section's text is at most 3,000 characters


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
        raise


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

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        with _backoff_on_429():
            sent = await self.client.chat_postMessage(channel=self.channel, text=render.fallback(first),
                                                      blocks=render.blocks(first), unfurl_links=False)
        root = native(str(sent["channel"]), str(sent["ts"]))
        return ThreadRef(PLATFORM, root), MessageRef(PLATFORM, root)

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        channel, root_ts = parse_native(thread.native)
        with _backoff_on_429():
            sent = await self.client.chat_postMessage(channel=channel, thread_ts=root_ts, text=render.fallback(message),
                                                      blocks=render.blocks(message), unfurl_links=False)
        return MessageRef(PLATFORM, native(channel, str(sent["ts"])))

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        channel, ts = parse_native(ref.native)
        with _backoff_on_429():
            await self.client.chat_update(channel=channel, ts=ts, text=render.fallback(message),
                                          blocks=render.blocks(message))
        return ref
