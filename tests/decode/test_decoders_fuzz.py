"""Malformed input thrown at every decoder: nothing crashes; what cannot be read is refused with a reason
(DecodeError for MQTT, PayloadError for webhooks), and through the intake each refusal is one dead letter."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from incidents.database import Database
from incidents.tables import DeadLetter
from integrations.mqtt.client import RawMessage
from integrations.mqtt.decode import DecodeError, MqttDecoder
from integrations.mqtt.ingest import batch_handler
from integrations.webhooks.parse import PayloadError, parse_alertmanager, parse_generic, parse_pagerduty
from tests.conftest import FakeClock
from tests.intake.factories import make_bench

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
TOPICS = [
    "zigbee2mqtt/d1-probe-1", "zigbee2mqtt/d1-probe-1/temperature", "zigbee2mqtt/d1-probe-1/availability",
    "zigbee2mqtt/bridge/devices", "zigbee2mqtt/bridge/state", "zigbee2mqtt/bridge/event",
    "zigbee2mqtt/bridge/response/device/rename", "tele/rack/SENSOR", "tele/rack/STATE", "tele/rack/LWT",
    "tele/rack/RESULT", "tele/rack/5ADF/SENSOR", "wareroom/sensors/x", "$SYS/broker/publish/messages/dropped",
    "elsewhere/x",
]
SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20)
KEYS = st.sampled_from(["Temperature", "Id", "mac", "Device", "Name", "ZbReceived", "ZbState", "TempUnit",
                        "PressureUnit", "SpeedUnit", "state", "temperature", "smoke", "sensor", "metric", "value",
                        "unit", "ts", "labels", "friendly_name", "ieee_address", "definition", "exposes", "data",
                        "from", "to", "device", "DS18B20-1", "ENERGY", "Speed"]) | st.text(max_size=8)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                    max_leaves=30)


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def _decode(decoder: MqttDecoder, topic: str, payload: bytes) -> bool:
    """True if decoded, False if refused with a reason; anything else raised fails the test."""
    try:
        decoder.decode(topic, payload, now=NOW)
    except DecodeError as exc:
        assert exc.reason
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(topic=st.sampled_from(TOPICS), payload=st.binary(max_size=200))
def test_any_bytes_on_any_topic(topic: str, payload: bytes) -> None:
    _decode(MqttDecoder(), topic, payload)


@settings(max_examples=600, deadline=None)
@given(topic=st.sampled_from(TOPICS), data=JSON)
def test_any_json_on_any_topic(topic: str, data: Any) -> None:
    _decode(MqttDecoder(), topic, json.dumps(data).encode())


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.tuples(st.sampled_from(TOPICS), JSON), max_size=6))
def test_sequences_on_one_decoder(data: list[tuple[str, Any]]) -> None:
    decoder = MqttDecoder()  # decoders remember what sources told them: sequences must not break them either
    for topic, body in data:
        _decode(decoder, topic, json.dumps(body).encode())


@pytest.mark.parametrize("topic", ["tele/rack/SENSOR", "zigbee2mqtt/d1-probe-1", "wareroom/sensors/x",
                                   "zigbee2mqtt/bridge/devices", "tele/rack/RESULT"])
@pytest.mark.parametrize("depth", [9, 1000, 1023, 5000])
def test_deep_nesting_never_raises_anything_but_a_refusal(topic: str, depth: int) -> None:
    for payload in (b'{"DS18B20":{"Temperature":' + nested(depth).encode() + b"}}", nested(depth).encode(),
                    b'{"a":' + nested(depth).encode() + b"}", b'{"a":' + nested(depth, "{}").encode() + b"}"):
        _decode(MqttDecoder(), topic, payload)


def test_the_limits_are_in_the_reasons() -> None:
    with pytest.raises(DecodeError, match="nested deeper than 8 levels"):
        MqttDecoder().decode("tele/rack/SENSOR", b'{"X":{"Temperature":' + nested(20).encode() + b"}}", now=NOW)
    with pytest.raises(DecodeError, match="nested deeper than 1,024 levels"):
        MqttDecoder().decode("tele/rack/SENSOR", b'{"X":' + nested(2000).encode() + b"}", now=NOW)
    with pytest.raises(DecodeError, match="over the limit of 1,048,576 bytes"):
        MqttDecoder().decode("wareroom/sensors/x", b" " * (1 << 20) + b"{}", now=NOW)
    with pytest.raises(DecodeError, match="more than 10,000 values"):
        MqttDecoder().decode("tele/rack/SENSOR", b'{"X":{"T":[' + b",".join([b"1"] * 10_001) + b"]}}", now=NOW)
    with pytest.raises(DecodeError, match="not valid UTF-8"):
        MqttDecoder().decode("zigbee2mqtt/d1", b'{"temperature": "\xff"}', now=NOW)


@settings(max_examples=400, deadline=None)
@given(data=JSON | st.binary(max_size=100))
def test_webhook_parsers_refuse_with_a_reason(data: Any) -> None:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    wrapped = [raw, json.dumps({"version": "4", "alerts": [data]}).encode() if not isinstance(data, bytes) else raw,
               json.dumps({"routing_key": "k", "event_action": "trigger", "payload": data}).encode()
               if not isinstance(data, bytes) else raw]
    for body in wrapped:
        for parser in (parse_alertmanager, parse_pagerduty, parse_generic):
            try:
                parser(body, now=NOW)
            except PayloadError as exc:
                assert exc.reason


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(st.sampled_from(TOPICS), JSON | st.binary(max_size=60)), min_size=1, max_size=8))
def test_through_the_intake_every_refusal_is_one_dead_letter(batch: list[tuple[str, Any]], sqlite_template: Path,
                                                              tmp_path: Path) -> None:
    path = tmp_path / f"fuzz-{abs(hash(repr(batch)))}.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        bench = make_bench(db, FakeClock(FakeClock.start), probes=2)
        messages = [RawMessage(topic, body if isinstance(body, bytes) else json.dumps(body).encode(), n, 1)
                    for n, (topic, body) in enumerate(batch, start=1)]
        shadow = MqttDecoder()
        refused = sum(not _decode(shadow, m.topic, m.payload) for m in messages)
        batch_handler(bench.intake)(messages)  # never raises
        with db.reader() as session:
            letters = session.exec(select(DeadLetter)).all()
        assert len(letters) == refused
        assert all(letter.reason for letter in letters)
    finally:
        db.dispose()
