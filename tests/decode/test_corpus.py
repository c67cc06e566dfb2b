"""Every decoder on the corpus of real payloads: each message gives exactly the readings, gateway state or
refusal the corpus says, each webhook body the group or event (tests/payloads/real/corpus.yaml)."""

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from incidents.readings import Reading
from incidents.rules.external import AlertAction
from incidents.severity import Severity
from integrations.mqtt.decode import DecodeError
from integrations.webhooks.parse import PayloadError, labels_fingerprint, parse_alertmanager, parse_pagerduty
from tests.decode.corpus import body, decoder, messages, mqtt_entries, webhook_entries

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def _matches(reading: Reading, expected: dict[str, Any]) -> list[str]:
    wrong = []
    for field, value in expected.items():
        got = getattr(reading, field)
        if isinstance(value, float | int) and not isinstance(value, bool) and isinstance(got, float | int):
            if not math.isclose(float(got), float(value), abs_tol=1e-6):
                wrong.append(f"{field} {got!r} != {value!r}")
        elif got != value:
            wrong.append(f"{field} {got!r} != {value!r}")
    return wrong


@pytest.mark.parametrize("entry", mqtt_entries(), ids=lambda e: e["name"])
def test_mqtt_corpus(entry: dict[str, Any]) -> None:
    source = decoder(entry)
    for message in messages(entry):
        expect = message.expect
        if "error" in expect:
            with pytest.raises(DecodeError) as caught:
                source.decode(message.topic, message.payload, now=NOW)
            assert expect["error"] in caught.value.reason
            continue
        decoded = source.decode(message.topic, message.payload, now=NOW)
        if expect.get("ignored"):
            assert (decoded.readings, decoded.gateway, decoded.ignored is not None) == ([], None, True), message.topic
        if "gateway" in expect:
            assert decoded.gateway is not None and decoded.gateway.online == (expect["gateway"] == "online")
        if "readings" in expect:
            wanted = expect["readings"]
            assert len(decoded.readings) == len(wanted), [(r.sensor, r.metric) for r in decoded.readings]
            for reading, expected in zip(decoded.readings, wanted, strict=True):
                assert _matches(reading, expected) == [], (reading, expected)
            assert all(r.ts == NOW for r in decoded.readings)


@pytest.mark.parametrize("entry", webhook_entries(), ids=lambda e: e["name"])
def test_webhook_corpus(entry: dict[str, Any]) -> None:
    raw = body(entry)
    if entry["parser"] == "alertmanager":
        group = parse_alertmanager(raw, now=NOW)
        expect = entry["group"]
        assert group.source == expect["source"]
        assert len(group.alerts) == expect["alerts"]
        actions = [a.action for a in group.alerts]
        assert actions.count(AlertAction.TRIGGER) == expect.get("firing", 0)
        assert actions.count(AlertAction.RESOLVE) == expect.get("resolved", 0)
        assert group.truncated == expect.get("truncated", 0)
        for key in ("receiver", "key"):
            if key in expect:
                assert getattr(group, key) == expect[key]
        if expect.get("fingerprints") == ["computed"]:
            assert [a.dedup_key for a in group.alerts] == [labels_fingerprint(a.labels) for a in group.alerts]
        assert len({a.dedup_key for a in group.alerts}) == len(group.alerts)
        return
    if "error" in entry:
        with pytest.raises(PayloadError) as caught:
            parse_pagerduty(raw, now=NOW)
        assert entry["error"] in caught.value.reason
        return
    event = parse_pagerduty(raw, now=NOW)
    expect = entry["event"]
    assert (event.action.value, event.dedup_key) == (expect["action"], expect["dedup_key"])
    if "severity" in expect:
        assert event.severity == Severity(expect["severity"])
