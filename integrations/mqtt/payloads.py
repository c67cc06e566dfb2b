"""What every MQTT decoder returns and refuses: the decoded result, the size and nesting limits, and the
error that names them."""

from dataclasses import dataclass, field
from typing import Any

import orjson

from incidents.readings import GatewayState, Reading

MAX_PAYLOAD_BYTES = 1 << 20  # 1 MiB: a Tasmota SENSOR is under 2 kB, a Zigbee2MQTT state under 10 kB
MAX_LIST_PAYLOAD_BYTES = 16 << 20  # Zigbee2MQTT's bridge/devices lists every device with its exposes
MAX_DEPTH = 8  # levels of values inside one sensor block (Tasmota ``"TX23":{"Speed":{"Act":…}}`` is 2)
MAX_VALUES = 10_000  # readings in one message
MAX_NAME = 64  # characters of a metric name; longer keys are not sensor values
JSON_DEPTH = 1024  # orjson refuses JSON nested deeper than this


EMPTY_PAYLOAD = "empty_payload"  # a retained message cleared


@dataclass(slots=True)
class Decoded:
    """What one message gave: readings, a gateway's state, the broker's dropped-message count, or nothing,
    with ``ignored`` naming the kind of valid message that carries nothing for the rules (a short name,
    used as a metrics label: ``empty_payload``, ``bridge_message``, ``attribute_repeating_json``…)."""

    readings: list[Reading] = field(default_factory=list)
    gateway: GatewayState | None = None
    broker_dropped: int | None = None
    ignored: str | None = None


def ignored(kind: str) -> Decoded:
    """A valid message that carries nothing for the rules (an empty retained payload, a bridge log…)."""
    return Decoded(ignored=kind)


class DecodeError(ValueError):
    """A payload or topic that cannot be read; ``reason`` is a plain sentence (with the limit, where one applies)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_size(payload: bytes, what: str, limit: int = MAX_PAYLOAD_BYTES) -> None:
    """DecodeError when ``payload`` is larger than ``limit`` bytes."""
    if len(payload) > limit:
        raise DecodeError(f"{what} is {len(payload):,} bytes, over the limit of {limit:,} bytes")


def parse_json(payload: bytes, what: str) -> Any:
    """Strict JSON (NaN, Infinity and invalid UTF-8 refused; at most 1,024 levels deep), else DecodeError."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise DecodeError(f"{what} is nested deeper than {JSON_DEPTH:,} levels") from None
        if "UTF-8" in str(exc):
            raise DecodeError(f"{what} is not valid UTF-8") from None
        raise DecodeError(f"{what} is not valid JSON") from None


def parse_object(payload: bytes, what: str) -> dict[str, Any]:
    """A JSON object, else DecodeError."""
    data = parse_json(payload, what)
    if not isinstance(data, dict):
        raise DecodeError(f"{what} is not a JSON object")
    return data


def too_deep(what: str) -> DecodeError:
    """The error for values nested deeper than MAX_DEPTH inside one block."""
    return DecodeError(f"{what} has values nested deeper than {MAX_DEPTH} levels")


def too_many(what: str) -> DecodeError:
    """The error for a message with more than MAX_VALUES readings."""
    return DecodeError(f"{what} carries more than {MAX_VALUES:,} values")
