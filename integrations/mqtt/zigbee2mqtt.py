"""Zigbee2MQTT under one base topic: device state (JSON or attribute output), availability, the bridge.

Shapes from the Zigbee2MQTT documentation ("MQTT topics and messages", "Device availability",
``advanced.output``) and its source (``lib/zigbee2mqtt.ts`` ``publishEntityState``): the JSON state is
published first, then with ``output: attribute``/``attribute_and_json`` one message per attribute on
``<base>/<name>/<attribute>`` (numbers and booleans JSON-encoded, strings raw, null as an empty
payload, nested objects as ``<attribute>-<key>``). ``bridge/devices`` (retained) lists every device
with its ``ieee_address`` and exposes (with units); ``bridge/state`` is ``online``/``offline``, bare
before 1.29, ``{"state": …}`` since; availability likewise.
"""

import math
import time
from contextlib import suppress
from datetime import datetime
from typing import Any

import orjson

from incidents.readings import GatewayState, Reading
from incidents.rules.identity import HardwareIdError, hardware_id
from incidents.units import UnitError, canonical
from integrations.mqtt.payloads import (
    EMPTY_PAYLOAD,
    MAX_DEPTH,
    MAX_LIST_PAYLOAD_BYTES,
    MAX_NAME,
    MAX_PAYLOAD_BYTES,
    Decoded,
    DecodeError,
    check_size,
    ignored,
    parse_json,
    parse_object,
    too_deep,
)

# Attributes that describe the radio link or device housekeeping, not the room.
IGNORED_ATTRIBUTES = frozenset({"linkquality", "last_seen", "update_available", "elapsed", "update", "device"})
# An attribute message repeating the JSON state of the same report arrives right after it.
SAME_REPORT_SECONDS = 5.0


class Zigbee2Mqtt:
    """Decodes one Zigbee2MQTT instance; remembers its devices' IEEE addresses, units and last JSON state."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.gateway = f"zigbee2mqtt:{base}"
        self.ieee: dict[str, str] = {}  # friendly name → zigbee:0x…
        self.units: dict[str, dict[str, str]] = {}  # friendly name → property → unit
        self._last_json: dict[str, tuple[float, dict[str, Any]]] = {}

    def decode(self, rest: str, payload: bytes, now: datetime) -> Decoded:
        """A message on ``<base>/<rest>``."""
        if payload[:1] == b"{" and "/" not in rest and len(payload) <= MAX_PAYLOAD_BYTES:  # the usual: device JSON
            try:
                data = orjson.loads(payload)
            except orjson.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                return self._state(rest, data, now)
        if rest.startswith("bridge/"):
            return self._bridge(rest[7:], payload, now)
        if not payload:
            return ignored(EMPTY_PAYLOAD)
        parts = rest.split("/")
        if len(parts) > 1 and ("set" in parts[1:] or "get" in parts[1:]):
            return ignored("device_command")
        if parts[-1] == "availability" and len(parts) > 1:
            name = rest[: -len("/availability")]
            return Decoded([self._reading(name, "online", self._availability(name, payload), now)])
        stripped = payload.lstrip()
        if stripped[:1] == b"{":
            check_size(payload, f"Zigbee2MQTT message for {rest}")
            return self._state(rest, parse_object(payload, f"Zigbee2MQTT message for {rest}"), now)
        if len(parts) == 1:
            raise DecodeError(f"Zigbee2MQTT message for {rest} is not a JSON object")
        return self._attribute("/".join(parts[:-1]), parts[-1], payload, now)

    def members(self) -> tuple[tuple[str, str | None], ...]:
        """Every device the bridge listed or reported, with its IEEE address."""
        names = {*self.ieee, *self._last_json}
        return tuple((name, self.ieee.get(name)) for name in sorted(names))

    def _state(self, name: str, data: dict[str, Any], now: datetime) -> Decoded:
        info = data.get("device")
        if isinstance(info, dict) and isinstance(info.get("ieeeAddr"), str):
            self._learn(name, info["ieeeAddr"])
        self._last_json[name] = (time.monotonic(), data)
        ieee, units, gateway = self._identity(name), self.units.get(name), self.gateway
        readings = []
        for key, value in data.items():
            if key in IGNORED_ATTRIBUTES or len(key) > MAX_NAME:
                continue
            if value is True or value is False:
                readings.append(Reading(sensor=name, metric=key, value=value, ts=now, source="zigbee2mqtt",
                                        hardware_id=ieee, gateway=gateway))
            elif isinstance(value, int | float) and math.isfinite(value):
                if units is not None and key in units:
                    readings.append(self._reading(name, key, value, now))
                else:
                    readings.append(Reading(sensor=name, metric=key, value=float(value), ts=now,
                                            source="zigbee2mqtt", hardware_id=ieee, gateway=gateway))
        return Decoded(readings)

    def _attribute(self, name: str, attribute: str, payload: bytes, now: datetime) -> Decoded:
        if attribute == "device-ieeeAddr":
            self._learn(name, payload.decode("utf-8", "replace").strip())
            return ignored("device_information")
        if "-" in attribute or attribute in IGNORED_ATTRIBUTES or len(attribute) > MAX_NAME:
            return ignored("attribute_not_read")
        check_size(payload, f"Zigbee2MQTT attribute {attribute} of {name}")
        try:
            value = parse_json(payload, "")
        except DecodeError:
            return ignored("text_attribute")  # strings are published raw: "ON", dates…
        if not (value is True or value is False or (isinstance(value, int | float) and math.isfinite(value))):
            return ignored("text_attribute")
        last = self._last_json.get(name)
        if last is not None and time.monotonic() - last[0] <= SAME_REPORT_SECONDS and last[1].get(attribute) == value:
            return ignored("attribute_repeating_json")
        return Decoded([self._reading(name, attribute, value, now)])

    def _availability(self, name: str, payload: bytes) -> bool:
        text = payload.strip()
        if text.startswith(b"{"):
            state = parse_object(payload, f"availability of {name}").get("state")
        else:
            state = text.decode("utf-8", "replace")
        if state == "online":
            return True
        if state == "offline":
            return False
        raise DecodeError(f'availability of {name} is {str(state)[:40]!r}, expected "online" or "offline"')

    def _bridge(self, topic: str, payload: bytes, now: datetime) -> Decoded:
        if not payload:
            return ignored(EMPTY_PAYLOAD)
        if topic == "state":
            online = self._availability("the Zigbee2MQTT bridge", payload)
            return Decoded(gateway=GatewayState(gateway=self.gateway, online=online, ts=now, source="zigbee2mqtt",
                                                name=self.base, members=self.members(), bridge=True))
        if topic == "devices":
            check_size(payload, "Zigbee2MQTT bridge/devices", MAX_LIST_PAYLOAD_BYTES)
            devices = parse_json(payload, "Zigbee2MQTT bridge/devices")
            if not isinstance(devices, list):
                raise DecodeError("Zigbee2MQTT bridge/devices is not a JSON list")
            for device in devices:
                if isinstance(device, dict):
                    self._device(device)
            return ignored("bridge_device_list")
        check_size(payload, f"Zigbee2MQTT bridge/{topic}")
        if topic in ("event", "log", "response/device/rename"):
            self._event(parse_json(payload, f"Zigbee2MQTT bridge/{topic}"))
        return ignored("bridge_message")

    def _device(self, device: dict[str, Any]) -> None:
        name, ieee = device.get("friendly_name"), device.get("ieee_address")
        if not isinstance(name, str) or not isinstance(ieee, str) or device.get("type") == "Coordinator":
            return
        self._learn(name, ieee)
        definition = device.get("definition")
        if isinstance(definition, dict) and isinstance(definition.get("exposes"), list):
            units: dict[str, str] = {}
            _expose_units(definition["exposes"], units, 0)
            self.units[name] = units

    def _event(self, data: Any) -> None:
        """Renames (``bridge/response/device/rename``, legacy ``bridge/log`` ``device_renamed``) and joins."""
        if not isinstance(data, dict):
            return
        body = data.get("data") if "data" in data else data.get("message")
        if not isinstance(body, dict):
            return
        old, new = body.get("from"), body.get("to")
        if isinstance(old, str) and isinstance(new, str) and data.get("status", "ok") == "ok":
            if old in self.ieee:
                self.ieee[new] = self.ieee.pop(old)
            if old in self.units:
                self.units[new] = self.units.pop(old)
            self._last_json.pop(old, None)
        name, ieee = body.get("friendly_name"), body.get("ieee_address")
        if isinstance(name, str) and isinstance(ieee, str):
            self._learn(name, ieee)

    def _learn(self, name: str, ieee: str) -> None:
        with suppress(HardwareIdError):  # a group or a coordinator has nothing to key by
            self.ieee[name] = hardware_id("zigbee", ieee)

    def _identity(self, name: str) -> str | None:
        ieee = self.ieee.get(name)
        if ieee is None and name.startswith("0x") and len(name) == 18:
            self._learn(name, name)  # an unnamed device goes by its IEEE address
            ieee = self.ieee.get(name)
        return ieee

    def _reading(self, name: str, metric: str, value: float | bool, now: datetime) -> Reading:
        ieee = self._identity(name)
        if value is True or value is False:
            return Reading(sensor=name, metric=metric, value=value, ts=now, source="zigbee2mqtt", hardware_id=ieee,
                           gateway=self.gateway)
        number, unit, raw_value, raw_unit = float(value), self.units.get(name, {}).get(metric), None, None
        if unit is not None:
            number, unit, raw_value, raw_unit = canonical(metric, number, unit)  # units were checked when learned
        return Reading(sensor=name, metric=metric, value=number, ts=now, source="zigbee2mqtt", unit=unit,
                       raw_value=raw_value, raw_unit=raw_unit, hardware_id=ieee, gateway=self.gateway)


def _expose_units(exposes: list[Any], units: dict[str, str], depth: int) -> None:
    """Collect ``property → unit`` from exposes, composite ones (``features``) included."""
    if depth > MAX_DEPTH:
        raise too_deep("Zigbee2MQTT bridge/devices exposes")
    for expose in exposes:
        if not isinstance(expose, dict):
            continue
        prop, unit = expose.get("property"), expose.get("unit")
        if isinstance(prop, str) and isinstance(unit, str) and unit:
            try:
                canonical(prop, 0.0, unit)
            except UnitError:
                continue  # a unit WareRoom cannot convert: the registry may declare one
            units[prop] = unit
        features = expose.get("features")
        if isinstance(features, list):
            _expose_units(features, units, depth + 1)
