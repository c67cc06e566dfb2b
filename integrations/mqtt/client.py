"""The paho-mqtt 2.x subscriber: QoS 1, a persistent session, acknowledgements after handling.

paho's network loop runs in its own thread. Messages go into a deque and one asyncio task
drains it in batches, so the hot path costs a deque append and, when the worker is idle,
one thread-safe wake-up. PUBACK is sent only after the batch is handled (``manual_ack``), so a
crash before that leaves the readings with the broker for the next start. The handler isolates
each message (``integrations.mqtt.ingest``); should it raise all the same, the batch is logged
(topic and digest of each message) and acknowledged: the broker stops sending to a client that
holds ``max_inflight_messages`` unacknowledged, so an unacknowledged batch would stall the intake.
"""

import asyncio
import hashlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from integrations.mqtt.broker_config import BrokerConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    payload: bytes
    mid: int
    qos: int


BatchHandler = Callable[[list[RawMessage]], None]
ConnectionListener = Callable[[bool], None]


class MqttSubscriber:
    """Subscribes to ``topics`` and hands batches of raw messages to ``handle`` on the event loop."""

    def __init__(self, url: str, *, client_id: str, topics: Sequence[str], handle: BatchHandler,
                 batch_size: int = 500, on_connection: ConnectionListener | None = None,
                 ca_file: Path | None = None) -> None:
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 1883
        self.topics = list(topics)
        self.handle = handle
        self.batch_size = batch_size
        self.on_connection = on_connection
        self.connected = threading.Event()
        self.processed = 0
        self._pending: deque[RawMessage] = deque()
        self._idle = True
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  protocol=mqtt.MQTTv311, manual_ack=True)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        BrokerConfig.from_url(url, ca_file=ca_file).apply(self.client)

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: ReasonCode,
                    _p: object) -> None:
        if reason.is_failure:
            log.error("MQTT connection to %s:%s refused: %s", self.host, self.port, reason)
            return
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _mid: int, reasons: list[ReasonCode], _p: object) -> None:
        """The broker acknowledged the subscriptions: from now on nothing published is missed."""
        refused = [topic for topic, reason in zip(self.topics, reasons, strict=False) if reason.is_failure]
        if refused:
            log.error("MQTT broker refused the subscriptions %s", ", ".join(refused))
        log.info("MQTT connected to %s:%s, subscribed to %s", self.host, self.port, ", ".join(self.topics))
        self.connected.set()
        if self.on_connection is not None:
            self.on_connection(True)

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        self.connected.clear()
        if self.on_connection is not None:
            self.on_connection(False)
        if reason.is_failure:
            log.warning("MQTT disconnected (%s); paho reconnects", reason)

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # a broker that passes a topic that is not UTF-8
            topic = message._topic.decode("utf-8", "backslashreplace")
        self._pending.append(RawMessage(topic, bytes(message.payload), message.mid, message.qos))
        if self._idle and self._loop is not None:
            self._idle = False
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        """Connect (paho retries in the background) and start the worker."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._work(), name="mqtt-ingest")
        self.client.reconnect_delay_set(1, 30)
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    async def stop(self) -> None:
        """Disconnect; unacknowledged messages stay with the broker."""
        self.client.disconnect()
        self.client.loop_stop()
        if self._task is not None:
            self._task.cancel()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))]
                try:
                    self.handle(batch)
                except Exception:
                    log.exception("handling %d MQTT messages raised; acknowledged all the same", len(batch))
                    for message in batch:
                        log.error("unhandled MQTT message: topic %r, %d bytes, sha256 %s", message.topic,
                                  len(message.payload), hashlib.sha256(message.payload).hexdigest())
                for message in batch:
                    if message.qos > 0:
                        self.client.ack(message.mid, message.qos)
                self.processed += len(batch)
                await asyncio.sleep(0)
            self._idle = True
            if self._pending:  # raced with a message that arrived while we were flipping the flag
                self._idle = False
                self._wake.set()
