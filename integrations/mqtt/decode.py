"""MQTT messages (Zigbee2MQTT, Tasmota, plain JSON, the broker's ``$SYS``) to readings. No client, no I/O.

The decoder keeps what sources tell about themselves (Zigbee2MQTT's device list, Tasmota's probes and
Zigbee addresses) so that later messages can be keyed by hardware identity; it is used by one
thread at a time (the intake's batch worker).
"""

from datetime import datetime

import orjson

from incidents.readings import Reading
from incidents.rules.plain_reading import PlainReadingError, reading_from_plain
from integrations.mqtt.layouts import BROKER_DROPPED, PLAIN_PREFIX, TopicLayout
from integrations.mqtt.payloads import (
    EMPTY_PAYLOAD,
    MAX_VALUES,
    Decoded,
    DecodeError,
    check_size,
    ignored,
    parse_json,
    too_many,
)
from integrations.mqtt.tasmota import Tasmota
from integrations.mqtt.zigbee2mqtt import Zigbee2Mqtt

__all__ = ["DecodeError", "Decoded", "MqttDecoder"]


class MqttDecoder:
    """Decodes every topic of ``layout``; raises DecodeError (with a reason) for input that is broken."""

    def __init__(self, layout: TopicLayout | None = None) -> None:
        self.layout = layout or TopicLayout()
        self.zigbee2mqtt = {base: Zigbee2Mqtt(base) for base in self.layout.zigbee2mqtt}
        self.tasmota = Tasmota()

    def decode(self, topic: str, payload: bytes, *, now: datetime) -> Decoded:
        """What one message says."""
        if topic.startswith(PLAIN_PREFIX):
            return _plain(payload, now)
        for base, source in self.zigbee2mqtt.items():
            if topic.startswith(base) and topic[len(base):len(base) + 1] == "/":
                return source.decode(topic[len(base) + 1:], payload, now)
        if topic == BROKER_DROPPED:
            return _dropped(payload)
        parts = topic.split("/")
        for pattern in self.layout.tasmota:
            found = pattern.match(parts, self.layout.tele_prefix)
            if found is not None:
                return self.tasmota.decode(found[0], found[1], payload, now)
        raise DecodeError(f'topic "{topic[:200]}" is not a sensor topic WareRoom reads')

    def readings(self, topic: str, payload: bytes, *, now: datetime) -> list[Reading]:
        """Only the readings of a message (for tests and tools)."""
        return self.decode(topic, payload, now=now).readings


def _plain(payload: bytes, now: datetime) -> Decoded:
    if not payload:
        return ignored(EMPTY_PAYLOAD)
    check_size(payload, "plain sensor message")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        data = parse_json(payload, "plain sensor message")  # raises DecodeError with the reason
    if isinstance(data, dict):  # the usual: one reading
        try:
            return Decoded([reading_from_plain(data, now=now)])
        except PlainReadingError as exc:
            raise DecodeError(f"plain sensor message {exc}") from None
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_VALUES:
        raise too_many("plain sensor message")
    readings: list[Reading] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DecodeError(f"plain sensor message item {index} is not a JSON object")
        try:
            readings.append(reading_from_plain(item, now=now))
        except PlainReadingError as exc:
            where = f"item {index}: " if isinstance(data, list) else ""
            raise DecodeError(f"plain sensor message {where}{exc}") from None
    return Decoded(readings)


def _dropped(payload: bytes) -> Decoded:
    text = payload.strip()[:32]
    if not text.isdigit():
        raise DecodeError(f"{BROKER_DROPPED} is {text.decode('utf-8', 'backslashreplace')!r}, not a count")
    return Decoded(broker_dropped=int(text))
