"""MQTT payloads (Zigbee2MQTT, Tasmota, plain JSON) to Readings. Pure: no client, no I/O."""

import math
from datetime import datetime
from functools import lru_cache
from typing import Any

from incidents.readings import Reading
from incidents.rules.plain_reading import PlainReadingError, load_json, load_json_object, reading_from_plain

# Attributes that describe the radio link or device housekeeping, not the room.
_Z2M_IGNORED = frozenset({"linkquality", "last_seen", "update_available"})
# Tasmota leaves renamed to the names Zigbee2MQTT and our rules use.
_TASMOTA_ALIASES = {("ENERGY", "Total"): "energy"}
_TASMOTA_STATE_NUMBERS = {"UptimeSec": "uptime"}


class DecodeError(ValueError):
    """A payload or topic that cannot be read; ``reason`` is a plain sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(topic: str, payload: bytes, *, now: datetime) -> list[Reading]:
    """Readings in one MQTT message; [] for messages that carry none (bridge state, Tasmota INFO)."""
    parts = topic.split("/")
    head = parts[0]
    if head == "zigbee2mqtt" and len(parts) >= 2:
        return _zigbee2mqtt(parts, payload, now)
    if head == "tele" and len(parts) == 3:
        return _tasmota(parts[1], parts[2], payload, now)
    if head == "wareroom" and len(parts) >= 2 and parts[1] == "sensors":
        return _plain(payload, now)
    raise DecodeError(f'topic "{topic}" is not a sensor topic WareRoom reads')


def _zigbee2mqtt(parts: list[str], payload: bytes, now: datetime) -> list[Reading]:
    if parts[1] == "bridge" or parts[-1] in ("set", "get"):
        return []
    if parts[-1] == "availability" and len(parts) >= 3:
        name = "/".join(parts[1:-1])
        return [_online(name, _z2m_availability(name, payload), now, "zigbee2mqtt")]
    name = "/".join(parts[1:])
    data = load_json_object(payload, f"Zigbee2MQTT message for {name}", DecodeError)
    readings: list[Reading] = []
    for key, value in data.items():
        if key in _Z2M_IGNORED:
            continue
        if value is True or value is False:
            readings.append(Reading(sensor=name, metric=key, value=value, ts=now, source="zigbee2mqtt"))
        elif isinstance(value, int | float) and math.isfinite(value):
            readings.append(Reading(sensor=name, metric=key, value=float(value), ts=now, source="zigbee2mqtt"))
    return readings


def _z2m_availability(name: str, payload: bytes) -> bool:
    text = payload.strip()
    if text.startswith(b"{"):
        state = load_json_object(payload, f"availability of {name}", DecodeError).get("state")
    else:
        state = text.decode("utf-8", "replace")
    if state == "online":
        return True
    if state == "offline":
        return False
    raise DecodeError(f'availability of {name} is {state!r}, expected "online" or "offline"')


def _tasmota(device: str, kind: str, payload: bytes, now: datetime) -> list[Reading]:
    if kind == "LWT":
        state = payload.strip().decode("utf-8", "replace").lower()
        if state not in ("online", "offline"):
            raise DecodeError(f'last will of {device} is "{state}", expected "Online" or "Offline"')
        return [_online(device, state == "online", now, "tasmota")]
    if kind == "SENSOR":
        return _tasmota_sensor(device, load_json_object(payload, f"Tasmota SENSOR of {device}", DecodeError), now)
    if kind == "STATE":
        return _tasmota_state(device, load_json_object(payload, f"Tasmota STATE of {device}", DecodeError), now)
    return []


def _tasmota_sensor(device: str, data: dict[str, Any], now: datetime) -> list[Reading]:
    leaves: list[tuple[str, str, float]] = []  # (chip, metric, value)
    for chip, block in data.items():
        if isinstance(block, dict):
            for leaf, value in block.items():
                _numeric_leaves(leaves, chip, _TASMOTA_ALIASES.get((chip, leaf)) or _snake(leaf), value)
        else:
            _numeric_leaves(leaves, "", _snake(chip), block)
    counts: dict[str, int] = {}
    for _, metric, _ in leaves:
        counts[metric] = counts.get(metric, 0) + 1
    # Two chips measuring the same thing (DS18B20-1, DS18B20-2) become two sensors: "<topic>/<chip>".
    return [
        Reading(
            sensor=device if counts[metric] == 1 or not chip else f"{device}/{chip}",
            metric=metric,
            value=value,
            ts=now,
            source="tasmota",
            labels={"chip": chip} if chip else {},
        )
        for chip, metric, value in leaves
    ]


def _numeric_leaves(out: list[tuple[str, str, float]], chip: str, metric: str, value: object) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value, start=1):
            _numeric_leaves(out, chip, f"{metric}_{index}", item)
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        out.append((chip, metric, float(value)))


def _tasmota_state(device: str, data: dict[str, Any], now: datetime) -> list[Reading]:
    readings: list[Reading] = []
    for key, value in data.items():
        if key.startswith("POWER") and value in ("ON", "OFF"):
            suffix = key.removeprefix("POWER")
            metric = f"switch_{suffix}" if suffix else "switch"
            readings.append(Reading(sensor=device, metric=metric, value=value == "ON", ts=now, source="tasmota"))
        elif key in _TASMOTA_STATE_NUMBERS and isinstance(value, int | float) and not isinstance(value, bool):
            metric = _TASMOTA_STATE_NUMBERS[key]
            readings.append(Reading(sensor=device, metric=metric, value=float(value), ts=now, source="tasmota"))
    wifi = data.get("Wifi")
    if isinstance(wifi, dict) and isinstance(wifi.get("RSSI"), int | float):
        readings.append(Reading(sensor=device, metric="rssi", value=float(wifi["RSSI"]), ts=now, source="tasmota"))
    return readings


def _plain(payload: bytes, now: datetime) -> list[Reading]:
    data = load_json(payload, "plain sensor message", DecodeError)
    items = data if isinstance(data, list) else [data]
    readings: list[Reading] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DecodeError(f"plain sensor message item {index} is not a JSON object")
        try:
            readings.append(reading_from_plain(item, now=now))
        except PlainReadingError as exc:
            where = f"item {index}: " if isinstance(data, list) else ""
            raise DecodeError(f"plain sensor message {where}{exc}") from None
    return readings


def _online(sensor: str, online: bool, now: datetime, source: str) -> Reading:
    return Reading(sensor=sensor, metric="online", value=online, ts=now, source=source)


@lru_cache(maxsize=256)
def _snake(name: str) -> str:
    """``DewPoint`` → ``dew_point``; ``Temperature`` → ``temperature``."""
    out: list[str] = []
    for index, char in enumerate(name):
        if char.isupper() and index and (name[index - 1].islower() or name[index - 1].isdigit()):
            out.append("_")
        out.append(char.lower())
    return "".join(out)
