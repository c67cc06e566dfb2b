"""The registry's hardware ids, aliases, units and calibration dates: normalised, checked, resolved."""

import pytest

from incidents.rules.config import parse_registry
from incidents.rules.identity import DeviceIndex, parse_hardware_id
from incidents.rules.yaml_source import ConfigError

ZONES = "zones:\n  D1: {site: S, name_zh: 冷库, name_en: Cold room, class: cold-room}\ndevices:\n"


def registry(devices: str) -> str:
    return ZONES + devices


def test_hardware_ids_are_normalised_as_their_sources_print_them() -> None:
    assert parse_hardware_id("1wire:01144a0cb2aa") == "1wire:01144A0CB2AA"
    assert parse_hardware_id("zigbee:0x00158D0001A2B3C4") == "zigbee:0x00158d0001a2b3c4"
    assert parse_hardware_id("ble:A4:C1:38:60:B9:F8") == "ble:a4c13860b9f8"


def test_registry_problems_name_the_line() -> None:
    bad = registry(
        '  a: {site: S, zone: D1, kind: probe, hardware_id: "zigbee:0x12"}\n'
        "  b: {site: S, zone: D1, kind: probe, units: {temperature: furlongs}}\n"
        "  c: {site: S, zone: D1, kind: probe, units: {humidity: °F}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_registry(bad, source="devices.yaml")
    assert str(caught.value).splitlines() == [
        'devices.yaml:4: device "a": hardware_id: zigbee IEEE address "0x12" is not 0x followed by 16 hex digits',
        'devices.yaml:5: device "b": units: unit "furlongs" is not one WareRoom knows (°C, °F, K, %RH, %, hPa, Pa, '
        "kPa, mmHg, inHg, psi, m/s, km/h, kn, mph, ft/s, yd/s, V, mV, A, mA, W, kW, VA, VAr, kWh, Wh, ppm, lx)",
        'devices.yaml:6: device "c": units: humidity is measured in %RH; a value in °F cannot be converted',
    ]
    with pytest.raises(ConfigError) as caught:
        parse_registry(registry("  a: {site: S, zone: D1, kind: probe}\n  d: {site: S, zone: D1, kind: probe, "
                                'aliases: [a]}\n  e: {site: S, zone: D1, kind: probe, hardware_id: "1wire:ab"}\n'
                                '  f: {site: S, zone: D1, kind: probe, hardware_id: "1wire:AB"}\n'),
                       source="devices.yaml")
    assert str(caught.value).splitlines() == [
        'devices.yaml:5: device "d": aliases: alias "a" is already a name of device "a"',
        'devices.yaml:7: device "f": hardware_id: hardware id 1wire:AB is already device "e"',
    ]


def test_hardware_identity_wins_over_names() -> None:
    devices = parse_registry(registry(
        '  rack-d1: {site: S, zone: D1, kind: probe, hardware_id: "1wire:01144A0CB2AA", aliases: [rack/DS18B20-1]}\n'
        "  legacy: {site: S, zone: D1, kind: probe, aliases: [rack/DS18B20-3]}\n"), source="d.yaml").devices
    index = DeviceIndex(devices)
    assert index.resolve("rack/DS18B20-2", "1wire:01144A0CB2AA") == "rack-d1"  # renumbered: still itself
    assert index.resolve("rack/DS18B20-1", "1wire:0316A27962FF") is None  # another probe in its old position
    assert index.resolve("rack/DS18B20-3", "1wire:0416A2AB4FFF") == "legacy"  # registered by position only
    assert index.resolve("rack/DS18B20-1", None) == "rack-d1"
    assert index.resolve("nobody", None) is None
