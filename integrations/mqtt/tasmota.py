"""Tasmota telemetry: SENSOR (sensor chips, 1-Wire probes, BLE sensors, Zigbee devices behind a ZbBridge),
STATE, and the last will (LWT).

Shapes from the Tasmota documentation and source: ``{"Time":…,"DS18B20-1":{"Id":"01144A0CB2AA",
"Temperature":4.5},…,"TempUnit":"C"}`` (xsns_05_ds18x20: ``Id`` is the ROM serial, the ``-N`` suffix
a position that shifts when a probe drops off); BLE blocks keyed by alias with a ``mac`` (MI32,
Bluetooth docs); ``TempUnit`` C/F (SetOption8), ``PressureUnit`` hPa/mmHg/inHg (SetOption24,
SetOption139), ``SpeedUnit`` m/s, km/h, kn, mph, ft/s, yd/s (SpeedUnit command); Zigbee:
``{"ZbReceived":{"0x2916":{"Device":"0x2916","Name":…,"Temperature":25.7,"Endpoint":1,
"LinkQuality":116}}}`` (without the ``ZbReceived`` level with SetOption100, keyed by name with
SetOption83, on ``tele/<topic>/<addr>/SENSOR`` with SetOption89), the IEEE address learned from
``ZbState`` (status 30/34) and ``ZbInfo``; IAS zone attributes ``Fire``, ``Water``, ``Contact`` (1 =
alarm, for a contact sensor: open), ``CO``, ``Occupancy``.
"""

import math
import re
from contextlib import suppress
from datetime import datetime
from functools import lru_cache
from typing import Any

from incidents.readings import GatewayState, Reading
from incidents.rules.identity import HardwareIdError, hardware_id
from incidents.units import UnitError, canonical, parse_unit, unit_for
from integrations.mqtt.payloads import (
    EMPTY_PAYLOAD,
    MAX_DEPTH,
    MAX_NAME,
    MAX_VALUES,
    Decoded,
    DecodeError,
    ignored,
    parse_object,
    too_deep,
    too_many,
)

# Tasmota names renamed to the names Zigbee2MQTT and our rules use.
_ALIASES = {("ENERGY", "Total"): "energy", ("ENERGY", "Today"): "energy_today",
            ("ENERGY", "Yesterday"): "energy_yesterday"}
_STATE_NUMBERS = {"UptimeSec": "uptime"}
_UNIT_KEYS = {"TempUnit": "°C", "PressureUnit": "hPa", "SpeedUnit": "m/s"}  # key → canonical unit it applies to
_SKIPPED = frozenset({"Time", "Epoch", *_UNIT_KEYS})
_ZIGBEE_KEYS = ("ZbReceived", "ZbInfo", "ZbState")
_ZIGBEE_SKIPPED = frozenset({"Device", "Name", "IEEEAddr", "Endpoint", "LinkQuality", "ModelId", "Manufacturer",
                             "Cluster", "Read", "ReadNames", "ConfigResponse", "ZoneStatus", "ZoneType",
                             "ZoneState", "Group", "LastSeen", "LastSeenEpoch", "Reachable", "Endpoints", "Config"})
# ZCL attribute names Tasmota prints → our metric names; IAS alarms as true/false.
_ZIGBEE_METRICS = {"Fire": "smoke", "Water": "water_leak", "CO": "carbon_monoxide", "Occupancy": "occupancy",
                   "Contact": "contact", "Power": "switch", "ActivePower": "power", "RMSVoltage": "voltage",
                   "BatteryPercentage": "battery", "Temperature": "temperature", "Humidity": "humidity",
                   "Pressure": "pressure", "Illuminance": "illuminance"}
_IAS = frozenset({"Fire", "Water", "CO", "Occupancy", "Power"})
_SHORT = re.compile(r"^(0x)?[0-9A-Fa-f]{4}$")


class Tasmota:
    """Decodes Tasmota telemetry; remembers each device's 1-Wire probes and Zigbee addresses."""

    def __init__(self) -> None:
        self._onewire: dict[str, dict[str, str]] = {}  # topic → 1-Wire id → last position alias
        self._zigbee: dict[str, dict[str, str]] = {}  # topic → short address or name → zigbee:0x…
        self._members: dict[str, dict[str, str | None]] = {}  # topic → alias → hardware id

    def decode(self, device: str, levels: list[str], payload: bytes, now: datetime) -> Decoded:
        """A telemetry message of ``device``; ``levels`` are the topic levels after its FullTopic."""
        kind = levels[-1]
        if not payload:
            return ignored(EMPTY_PAYLOAD)
        if kind == "LWT" and len(levels) == 1:
            return Decoded(gateway=self._lwt(device, payload, now))
        if kind not in ("SENSOR", "STATE", "RESULT"):
            return ignored("not_telemetry")  # INFO1, UPTIME, HASS_STATE…
        what = f"Tasmota {kind} of {device}"
        data = parse_object(payload, what)
        if kind == "STATE":
            return Decoded(self._state(device, data, now))
        if kind == "RESULT" and not any(key in data for key in _ZIGBEE_KEYS):
            return ignored("command_result")
        if len(levels) == 2 and _SHORT.match(levels[0]):  # SetOption89: tele/<topic>/<addr>/SENSOR
            data = {"ZbReceived": {levels[0]: data}} if "ZbReceived" not in data else data
        return Decoded(self._sensor(device, data, now, what))

    def members(self, device: str) -> tuple[tuple[str, str | None], ...]:
        """The probes and Zigbee devices seen behind ``device``."""
        return tuple(sorted(self._members.get(device, {}).items()))

    def _lwt(self, device: str, payload: bytes, now: datetime) -> GatewayState:
        state = payload.strip().decode("utf-8", "replace").lower()
        if state not in ("online", "offline"):
            raise DecodeError(f'last will of {device} is "{state[:40]}", expected "Online" or "Offline"')
        return GatewayState(gateway=f"tasmota:{device}", online=state == "online", ts=now, source="tasmota",
                            name=device, members=self.members(device))

    def _sensor(self, device: str, data: dict[str, Any], now: datetime, what: str) -> list[Reading]:
        units = _units(data, what)
        leaves: list[tuple[str, str, float | bool, str | None]] = []  # (chip, metric, value, hardware id)
        present: dict[str, str] = {}  # 1-Wire ids in this message → position
        readings: list[Reading] = []
        for chip, block in data.items():
            if chip in _SKIPPED:
                continue
            if chip in _ZIGBEE_KEYS:
                readings += self._zigbee_blocks(device, chip, block, now, what)
            elif isinstance(block, dict):
                if isinstance(block.get("Device"), str) and _SHORT.match(block["Device"]):  # SetOption100
                    readings += self._zigbee_blocks(device, "ZbReceived", {chip: block}, now, what)
                    continue
                hardware = _block_identity(block)
                if hardware is not None and hardware.startswith("1wire:"):
                    present[hardware] = chip
                for leaf, value in block.items():
                    _leaves(leaves, chip, _ALIASES.get((chip, leaf)) or _snake(leaf), value, hardware=hardware,
                            depth=1, what=what)
            else:
                _leaves(leaves, "", _snake(chip), block, hardware=None, depth=1, what=what)
        if len(leaves) > MAX_VALUES:
            raise too_many(what)
        counts: dict[str, int] = {}
        for _, metric, _, _ in leaves:
            counts[metric] = counts.get(metric, 0) + 1
        gateway, members = f"tasmota:{device}", self._members.setdefault(device, {})
        for chip, metric, value, hardware in leaves:
            # Two chips measuring the same thing (DS18B20-1, DS18B20-2) are two sensors: "<topic>/<chip>".
            name = device if counts[metric] == 1 or not chip else f"{device}/{chip}"
            if hardware is not None or chip:
                members[name] = hardware
            number, unit, raw_value, raw_unit = value, units.get(unit_for(metric)), None, None
            if unit is not None and value is not True and value is not False:
                try:
                    number, unit, raw_value, raw_unit = canonical(metric, float(value), unit)
                except UnitError as exc:
                    raise DecodeError(f"{what}: {exc}") from None
            readings.append(Reading(sensor=name, metric=metric, value=number, ts=now, source="tasmota",
                                    labels={"chip": chip} if chip else {}, unit=unit, raw_value=raw_value,
                                    raw_unit=raw_unit, hardware_id=hardware, gateway=gateway))
        if present:
            readings += self._absent(device, present, now)
        return readings

    def _absent(self, device: str, present: dict[str, str], now: datetime) -> list[Reading]:
        """1-Wire probes that were in the last report and are missing from this one: offline, as themselves."""
        known = self._onewire.setdefault(device, {})
        gone = [(probe, position) for probe, position in known.items() if probe not in present]
        for probe, _ in gone:
            del known[probe]
        known.update(present)
        return [Reading(sensor=f"{device}/{position}", metric="online", value=False, ts=now, source="tasmota",
                        labels={"offline_cause": "absent"}, hardware_id=probe, gateway=f"tasmota:{device}")
                for probe, position in gone]

    def _zigbee_blocks(self, device: str, key: str, blocks: Any, now: datetime, what: str) -> list[Reading]:
        if not isinstance(blocks, dict):
            return []
        addresses = self._zigbee.setdefault(device, {})
        if key == "ZbState":
            _learn_zigbee(addresses, blocks.get("ShortAddr"), blocks.get("IEEEAddr"))
            return []
        readings: list[Reading] = []
        members = self._members.setdefault(device, {})
        for address, block in blocks.items():
            if not isinstance(block, dict):
                continue
            short, name = block.get("Device", address), block.get("Name", address)
            _learn_zigbee(addresses, short, block.get("IEEEAddr"))
            ieee = addresses.get(short) if isinstance(short, str) else None
            if isinstance(name, str) and ieee is not None:
                addresses[name] = ieee
            if key == "ZbInfo":
                continue  # a dump of last known values, on request: identities only
            alias = f"{device}/{name}"
            members[alias] = ieee
            for attribute, value in block.items():
                metric = _zigbee_metric(attribute, value)
                if metric is not None:
                    readings.append(Reading(sensor=alias, metric=metric[0], value=metric[1], ts=now,
                                            source="tasmota", hardware_id=ieee, gateway=f"tasmota:{device}"))
        if len(readings) > MAX_VALUES:
            raise too_many(what)
        return readings

    def _state(self, device: str, data: dict[str, Any], now: datetime) -> list[Reading]:
        readings: list[Reading] = []
        for key, value in data.items():
            if key.startswith("POWER") and value in ("ON", "OFF"):
                suffix = key.removeprefix("POWER")
                metric = f"switch_{suffix}" if suffix else "switch"
                readings.append(Reading(sensor=device, metric=metric, value=value == "ON", ts=now, source="tasmota"))
            elif key in _STATE_NUMBERS and _finite(value):
                readings.append(Reading(sensor=device, metric=_STATE_NUMBERS[key], value=float(value), ts=now,
                                        source="tasmota"))
        wifi = data.get("Wifi")
        if isinstance(wifi, dict) and _finite(wifi.get("RSSI")):
            readings.append(Reading(sensor=device, metric="rssi", value=float(wifi["RSSI"]), ts=now, source="tasmota"))
        return readings


def _units(data: dict[str, Any], what: str) -> dict[str, str]:
    """Canonical unit → the unit Tasmota used, from TempUnit / PressureUnit / SpeedUnit."""
    units: dict[str, str] = {}
    for key, target in _UNIT_KEYS.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise DecodeError(f"{what}: {key} {str(value)[:20]!r} is not a unit")
        try:
            units[target] = parse_unit(value)
        except UnitError as exc:
            raise DecodeError(f"{what}: {key}: {exc}") from None
    return units


def _block_identity(block: dict[str, Any]) -> str | None:
    """A chip block's hardware id: a 1-Wire ``Id``, or a BLE ``mac``."""
    try:
        onewire = block.get("Id")
        if isinstance(onewire, str):
            return hardware_id("1wire", onewire)
        mac = block.get("mac", block.get("MAC"))
        if isinstance(mac, str):
            return hardware_id("ble", mac)
    except HardwareIdError:
        return None
    return None


def _leaves(out: list[tuple[str, str, float | bool, str | None]], chip: str, metric: str, value: object, *,
            hardware: str | None, depth: int, what: str) -> None:
    if depth > MAX_DEPTH:
        raise too_deep(what)
    if len(metric) > MAX_NAME:
        return  # not a name a sensor chip prints: nothing a rule can read
    if _finite(value):
        out.append((chip, metric, float(value), hardware))  # type: ignore[arg-type]
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            _leaves(out, chip, f"{metric}_{index}", item, hardware=hardware, depth=depth + 1, what=what)
    elif isinstance(value, dict):  # TX23: "Speed":{"Act":…,"Avg":…}
        for key, item in value.items():
            _leaves(out, chip, f"{metric}_{_snake(key)}", item, hardware=hardware, depth=depth + 1, what=what)
    if len(out) > MAX_VALUES:
        raise too_many(what)


def _zigbee_metric(attribute: str, value: object) -> tuple[str, float | bool] | None:
    if attribute in _ZIGBEE_SKIPPED or "/" in attribute or len(attribute) > MAX_NAME or not _finite(value):
        return None
    number = float(value)  # type: ignore[arg-type]
    if attribute == "Contact":  # IAS alarm 1 = open; Zigbee2MQTT and our rules say contact false = open
        return "contact", number == 0
    if attribute in _IAS:
        return _ZIGBEE_METRICS[attribute], number != 0
    return _ZIGBEE_METRICS.get(attribute) or _snake(attribute), number


def _learn_zigbee(addresses: dict[str, str], short: object, ieee: object) -> None:
    if isinstance(short, str) and isinstance(ieee, str):
        with suppress(HardwareIdError):
            addresses[short] = hardware_id("zigbee", ieee)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _snake(name: str) -> str:
    """``DewPoint`` → ``dew_point``; ``Temperature`` → ``temperature``."""
    return _snake_cached(name) if len(name) <= MAX_NAME else name


@lru_cache(maxsize=512)
def _snake_cached(name: str) -> str:
    out: list[str] = []
    for index, char in enumerate(name):
        if char.isupper() and index and (name[index - 1].islower() or name[index - 1].isdigit()):
            out.append("_")
        out.append(char.lower())
    return "".join(out)
