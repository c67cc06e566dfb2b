"""Which registry device a reading belongs to: stable hardware identities first, names second.

A 1-Wire probe's ROM serial (Tasmota ``"Id"``), a Zigbee device's IEEE address and a BLE MAC do
not change when a probe is renumbered, a Zigbee2MQTT device renamed or a BLE sensor re-aliased;
positions (``DS18B20-2``) and friendly names do. So a reading that carries a hardware id is the
device registered with it, and only a device registered without one is found by name.
"""

import re
from collections.abc import Mapping
from typing import Protocol

HARDWARE_KINDS = ("1wire", "zigbee", "ble")
_HEX = re.compile(r"^[0-9a-f]+$")


class HardwareIdError(ValueError):
    """A hardware id that is not ``1wire:<hex>``, ``zigbee:0x<16 hex>`` or ``ble:<12 hex>``."""


def hardware_id(kind: str, raw: str) -> str:
    """The normal form of a hardware id: ``1wire:01144A0CB2AA`` (upper hex, as Tasmota prints it),
    ``zigbee:0x00158d0001a2b3c4`` (lower hex, as Zigbee2MQTT prints it), ``ble:a4c13860b9f8``.
    Raises HardwareIdError."""
    text = raw.strip().replace(":", "").replace("-", "").lower()
    if kind == "zigbee":
        digits = text.removeprefix("0x")
        if len(digits) != 16 or not _HEX.match(digits):
            raise HardwareIdError(f'Zigbee IEEE address "{raw}" is not 0x followed by 16 hex digits')
        return f"zigbee:0x{digits}"
    if kind == "ble":
        if len(text) != 12 or not _HEX.match(text):
            raise HardwareIdError(f'BLE MAC "{raw}" is not 12 hex digits')
        return f"ble:{text}"
    if kind == "1wire":
        if not 1 <= len(text) <= 16 or not _HEX.match(text):
            raise HardwareIdError(f'1-Wire id "{raw}" is not hex digits')
        return f"1wire:{text.upper()}"
    raise HardwareIdError(f'hardware id kind "{kind}" is not one of {", ".join(HARDWARE_KINDS)}')


def parse_hardware_id(text: str) -> str:
    """``kind:value`` as written in the registry, in normal form; raises HardwareIdError."""
    kind, sep, raw = text.partition(":")
    if not sep:
        raise HardwareIdError(f'hardware id "{text}" needs a kind: 1wire:…, zigbee:0x… or ble:…')
    return hardware_id(kind.strip().lower(), raw)


class Identified(Protocol):
    """What the index needs of a registry device."""

    @property
    def hardware_id(self) -> str | None: ...

    @property
    def aliases(self) -> list[str]: ...


class DeviceIndex:
    """Finds the registry device id of a (name, hardware id) pair; answers are cached."""

    def __init__(self, devices: Mapping[str, Identified]) -> None:
        self._by_hardware = {d.hardware_id: i for i, d in devices.items() if d.hardware_id}
        self._without_hardware: dict[str, str] = {}
        for device_id, device in devices.items():
            if not device.hardware_id:
                for name in (device_id, *device.aliases):
                    self._without_hardware.setdefault(name, device_id)
        self._by_name = {name: i for i, d in devices.items() for name in (i, *d.aliases)}
        self._cache: dict[tuple[str, str | None], str | None] = {}

    def resolve(self, name: str, hardware: str | None) -> str | None:
        """The device id, or None for a device the registry does not know.

        With a hardware id: the device registered with it, else a device registered by this name
        without a hardware id (a position-keyed probe of an older registry). Without one: the device
        of that id or alias."""
        key = (name, hardware)
        if key in self._cache:
            return self._cache[key]
        if hardware is not None:
            device = self._by_hardware.get(hardware) or self._without_hardware.get(name)
        else:
            device = self._by_name.get(name)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key] = device
        return device
