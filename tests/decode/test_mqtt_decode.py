"""MQTT payload decoding, with the sample payloads from docs/alert-intake.md (one fresh decoder per message)."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.readings import GatewayState, Reading
from integrations.mqtt.decode import DecodeError, MqttDecoder

PAYLOADS = Path(__file__).parent.parent / "payloads" / "mqtt"
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def decode(topic: str, body: bytes, *, now: datetime) -> list[Reading]:
    return MqttDecoder().readings(topic, body, now=now)


GATEWAYS = {"zigbee2mqtt": "zigbee2mqtt:zigbee2mqtt"}


def reading(sensor: str, metric: str, value: float | bool, source: str, **labels: str) -> Reading:
    gateway = GATEWAYS.get(source) or (f"tasmota:{sensor.split('/', maxsplit=1)[0]}" if source == "tasmota" else None)
    return Reading(sensor=sensor, metric=metric, value=value, ts=NOW, source=source, labels=labels, gateway=gateway)


def test_zigbee2mqtt_probe_gives_every_numeric_attribute_but_linkquality() -> None:
    assert decode("zigbee2mqtt/d1-probe-1", payload("z2m_probe.json"), now=NOW) == [
        reading("d1-probe-1", "temperature", 5.3, "zigbee2mqtt"),
        reading("d1-probe-1", "humidity", 41.2, "zigbee2mqtt"),
        reading("d1-probe-1", "battery", 97.0, "zigbee2mqtt"),
        reading("d1-probe-1", "voltage", 3000.0, "zigbee2mqtt"),
    ]


def test_zigbee2mqtt_booleans_stay_booleans() -> None:
    assert decode("zigbee2mqtt/dock-smoke-1", payload("z2m_smoke.json"), now=NOW) == [
        reading("dock-smoke-1", "smoke", True, "zigbee2mqtt"),
        reading("dock-smoke-1", "battery_low", False, "zigbee2mqtt"),
        reading("dock-smoke-1", "tamper", False, "zigbee2mqtt"),
    ]
    assert decode("zigbee2mqtt/d1-door", payload("z2m_door.json"), now=NOW) == [
        reading("d1-door", "contact", False, "zigbee2mqtt")
    ]
    assert decode("zigbee2mqtt/d1-leak", payload("z2m_leak.json"), now=NOW) == [
        reading("d1-leak", "water_leak", True, "zigbee2mqtt")
    ]


def test_zigbee2mqtt_metering_plug() -> None:
    metrics = [(r.metric, r.value) for r in decode("zigbee2mqtt/plug-1", payload("z2m_plug.json"), now=NOW)]
    assert metrics == [("power", 45.1), ("voltage", 229.8), ("current", 0.21), ("energy", 12.4)]


def test_zigbee2mqtt_availability_json_and_bare_string() -> None:
    assert decode("zigbee2mqtt/d1-probe-1/availability", payload("z2m_availability.json"), now=NOW) == [
        reading("d1-probe-1", "online", False, "zigbee2mqtt")
    ]
    assert decode("zigbee2mqtt/d1-probe-1/availability", payload("z2m_availability_bare.txt"), now=NOW) == [
        reading("d1-probe-1", "online", True, "zigbee2mqtt")
    ]


def test_zigbee2mqtt_bridge_topics_are_not_devices() -> None:
    assert decode("zigbee2mqtt/bridge/state", payload("z2m_bridge_state.json"), now=NOW) == []
    assert decode("zigbee2mqtt/bridge/devices", b"[]", now=NOW) == []


def test_tasmota_ds18b20_temperature_keyed_by_its_serial() -> None:
    assert decode("tele/d1-probe-3/SENSOR", payload("tasmota_ds18b20.json"), now=NOW) == [
        replace(reading("d1-probe-3", "temperature", 5.3, "tasmota", chip="DS18B20"), unit="°C",
                hardware_id="1wire:01144A0CB2AA")
    ]


def test_tasmota_every_numeric_leaf_in_snake_case() -> None:
    decoded = decode("tele/c1-probe-2/SENSOR", payload("tasmota_am2301.json"), now=NOW)
    assert [(r.metric, r.value) for r in decoded] == [("temperature", 21.6), ("humidity", 45.3), ("dew_point", 9.3)]


def test_tasmota_energy_power_and_total() -> None:
    decoded = decode("tele/mains-meter/SENSOR", payload("tasmota_energy.json"), now=NOW)
    assert [(r.metric, r.value) for r in decoded] == [
        ("power", 45.0),
        ("voltage", 230.0),
        ("current", 0.2),
        ("energy", 12.3),
    ]


def test_tasmota_two_probes_of_one_kind_become_two_sensors() -> None:
    decoded = decode("tele/f1-rack/SENSOR", payload("tasmota_two_ds18b20.json"), now=NOW)
    assert [(r.sensor, r.metric, r.value) for r in decoded] == [
        ("f1-rack/DS18B20-1", "temperature", 5.3),
        ("f1-rack/DS18B20-2", "temperature", 5.9),
    ]


def test_tasmota_state_gives_switch_uptime_and_rssi() -> None:
    decoded = decode("tele/mains-meter/STATE", payload("tasmota_state.json"), now=NOW)
    assert [(r.metric, r.value) for r in decoded] == [("uptime", 3600.0), ("switch", True), ("rssi", 78.0)]


def test_tasmota_last_will_is_the_state_of_a_gateway() -> None:
    for name, online in (("tasmota_lwt_offline.txt", False), ("tasmota_lwt_online.txt", True)):
        assert MqttDecoder().decode("tele/mains-meter/LWT", payload(name), now=NOW).gateway == GatewayState(
            gateway="tasmota:mains-meter", online=online, ts=NOW, source="tasmota", name="mains-meter")


def test_tasmota_other_telemetry_carries_no_reading() -> None:
    assert decode("tele/mains-meter/INFO1", b'{"Module": "Sonoff Pow R2"}', now=NOW) == []


def test_plain_reading_with_offset_timestamp_becomes_utc() -> None:
    assert decode("wareroom/sensors/SH-01/D1", payload("plain_one.json"), now=NOW) == [
        Reading(
            sensor="d1-probe-1",
            metric="temperature",
            value=5.3,
            ts=datetime(2026, 11, 24, 2, 0, tzinfo=UTC),
            source="plain",
        )
    ]


def test_plain_list_and_default_timestamp() -> None:
    assert decode("wareroom/sensors/batch", payload("plain_list.json"), now=NOW) == [
        reading("ups-main", "on_battery", True, "plain"),
        Reading(
            sensor="d1-probe-2",
            metric="temperature",
            value=6.1,
            ts=datetime(2026, 11, 24, 2, 0, 5, tzinfo=UTC),
            source="plain",
        ),
    ]


@pytest.mark.parametrize(
    ("topic", "name", "reason"),
    [
        ("zigbee2mqtt/d1-probe-1", "malformed_truncated.json", "Zigbee2MQTT message for d1-probe-1 is not valid JSON"),
        (
            "zigbee2mqtt/d1-probe-1",
            "malformed_not_object.json",
            "Zigbee2MQTT message for d1-probe-1 is not a JSON object",
        ),
        ("zigbee2mqtt/d1-probe-1", "malformed_nan.json", "Zigbee2MQTT message for d1-probe-1 is not valid JSON"),
        ("tele/d1-probe-3/SENSOR", "malformed_truncated.json", "Tasmota SENSOR of d1-probe-3 is not valid JSON"),
        (
            "tele/d1-probe-3/LWT",
            "malformed_lwt.txt",
            'last will of d1-probe-3 is "sleeping", expected "Online" or "Offline"',
        ),
        (
            "wareroom/sensors/x",
            "malformed_plain_value.json",
            'plain sensor message "value" of d1-probe-1/temperature must be a finite number or true/false',
        ),
        (
            "wareroom/sensors/x",
            "malformed_plain_naive_ts.json",
            'plain sensor message timestamp "2026-11-24T10:00:00" has no UTC offset (add Z or +08:00)',
        ),
        ("wareroom/sensors/x", "malformed_not_object.json", "plain sensor message item 1 is not a JSON object"),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(topic: str, name: str, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(topic, payload(name), now=NOW)
    assert caught.value.reason == reason


def test_bad_availability_and_unknown_topic() -> None:
    with pytest.raises(DecodeError) as caught:
        decode("zigbee2mqtt/d1-probe-1/availability", b'{"state": "sleepy"}', now=NOW)
    assert caught.value.reason == 'availability of d1-probe-1 is \'sleepy\', expected "online" or "offline"'
    with pytest.raises(DecodeError) as caught:
        decode("homeassistant/sensor/x/config", b"{}", now=NOW)
    assert caught.value.reason == 'topic "homeassistant/sensor/x/config" is not a sensor topic WareRoom reads'


def test_plain_list_names_the_bad_item() -> None:
    body = b'[{"sensor": "a", "metric": "t", "value": 1}, {"sensor": "", "metric": "t", "value": 1}]'
    with pytest.raises(DecodeError) as caught:
        decode("wareroom/sensors/x", body, now=NOW)
    assert caught.value.reason == ('plain sensor message item 2: "sensor" must be a non-empty string of at most '
                                   "128 characters")
