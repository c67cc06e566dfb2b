"""Loading the registry and rules: the shipped demo files, and errors with file and line."""

import json
from pathlib import Path

import pytest

from incidents.rules.config import (
    ThresholdRule,
    load_registry,
    load_rules,
    parse_registry,
    parse_rules,
    registry_schema_json,
    rules_schema_json,
)
from incidents.rules.yaml_source import ConfigError
from incidents.severity import Severity
from playbooks.durations import duration_seconds
from tests.rules.factories import COLD_ROOM_HIGH, REGISTRY_YAML

CONFIG = Path(__file__).parent.parent.parent / "config"


def rules_error(text: str) -> str:
    registry = parse_registry(REGISTRY_YAML, source="registry.yaml")
    with pytest.raises(ConfigError) as caught:
        parse_rules(text, source="config/rules.yaml", registry=registry)
    return str(caught.value)


def test_demo_site_config_loads() -> None:
    registry = load_registry(CONFIG / "devices.yaml")
    rules = load_rules(CONFIG / "rules.yaml", registry)
    assert sorted(registry.zones) == ["A1", "C1", "D1", "D2", "DOCK", "F1", "POWER", "Q1"]
    assert registry.zones["D1"].zone_class == "cold-room"
    by_id = {rule.id: rule for rule in rules}
    high = by_id["cold-room-high-temp"]
    assert isinstance(high, ThresholdRule)
    assert (high.above, high.for_, high.clear.below, high.clear.for_) == (8.0, 300.0, 7.5, 120.0)
    assert (high.severity, high.playbook, high.recipients) == (
        Severity.SEV2,
        "cold-chain-excursion",
        ["SL", "WM", "QA"],
    )
    assert (by_id["smoke-detected"].severity, by_id["smoke-detected"].playbook) == (Severity.SEV1, "fire-evacuation")
    assert by_id["power-loss"].playbook == "power-loss-cold-chain"
    assert {r.type for r in rules} == {"threshold", "rate_of_change", "time_to_breach", "offline", "boolean",
                                       "stock_below", "count_variance", "negative_stock", "scan_anomaly"}


def test_unknown_key_with_suggestion_and_real_line() -> None:
    text = "rules:" + COLD_ROOM_HIGH.replace("    for: 5m\n", "    fore: 5m\n")
    assert rules_error(text) == (
        'config/rules.yaml:7: rule "cold-room-high-temp": unknown key "fore" (did you mean "for"?)'
    )


def test_nested_unknown_key_and_bad_duration() -> None:
    text = "rules:" + COLD_ROOM_HIGH.replace("clear: {below: 7.5, for: 2m}", "clear: {below: 7.5, for: 2 min}")
    assert rules_error(text) == (
        'config/rules.yaml:8: rule "cold-room-high-temp": clear.for: "2 min" is not a duration; '
        "write it like 30s, 5m, 2h or 3d"
    )


def test_unknown_type_and_missing_key() -> None:
    text = "rules:" + COLD_ROOM_HIGH.replace("type: threshold", "type: treshold")
    assert rules_error(text) == (
        'config/rules.yaml:5: rule "cold-room-high-temp": unknown type "treshold" (did you mean "threshold"?); '
        "expected one of threshold, rate_of_change, time_to_breach, offline, boolean, stock_below, count_variance, "
        "negative_stock, scan_anomaly"
    )
    text = "rules:" + COLD_ROOM_HIGH.replace("    severity: SEV2\n", "")
    assert rules_error(text) == 'config/rules.yaml:2: rule "cold-room-high-temp": missing key "severity"'


def test_semantic_errors_point_at_their_lines() -> None:
    text = "rules:" + COLD_ROOM_HIGH + COLD_ROOM_HIGH.replace("zone_class: cold-room", "zones: [D9]")
    assert rules_error(text).splitlines() == [
        'config/rules.yaml:13: rule "cold-room-high-temp": duplicate rule id "cold-room-high-temp"',
        'config/rules.yaml:15: rule "cold-room-high-temp": match.zones: unknown zone "D9"',
    ]
    text = "rules:" + COLD_ROOM_HIGH.replace("clear: {below: 7.5, for: 2m}", "clear: {below: 8.5}")
    assert rules_error(text) == (
        'config/rules.yaml:2: rule "cold-room-high-temp": clear.below 8.5 is above the alarm limit 8.0'
    )


def test_zone_limit_needs_zone_thresholds() -> None:
    text = "rules:" + COLD_ROOM_HIGH.replace("above: 8.0", "above: zone").replace(
        "zone_class: cold-room", "zone_class: [cold-room, ambient]"
    )
    assert rules_error(text) == (
        'config/rules.yaml:6: rule "cold-room-high-temp": above: zone, but zone DOCK has no thresholds.temperature.max'
    )


def test_yaml_syntax_and_duplicate_keys() -> None:
    assert rules_error("rules:\n  - id: x\n    title: {zh: a, en: b\n").startswith(
        "config/rules.yaml:4: YAML syntax error"
    )
    text = "rules:" + COLD_ROOM_HIGH.replace("    for: 5m\n", "    for: 5m\n    for: 6m\n")
    assert rules_error(text) == 'config/rules.yaml:8: duplicate key "for"'


def test_registry_errors() -> None:
    bad = REGISTRY_YAML.replace("class: freezer", "class: frozen").replace(
        "zone: DOCK, kind: ups", "zone: D7, kind: ups"
    )
    with pytest.raises(ConfigError) as caught:
        parse_registry(bad, source="config/devices.yaml")
    assert str(caught.value) == (
        "config/devices.yaml:5: zone \"F1\": class: expected one of 'ambient', 'cool', 'cold-room', 'chiller', "
        "'freezer' or 'quarantine', got 'frozen'"
    )
    with pytest.raises(ConfigError) as caught:
        parse_registry(REGISTRY_YAML.replace("zone: DOCK, kind: ups", "zone: D7, kind: ups"), source="devices.yaml")
    assert str(caught.value) == 'devices.yaml:13: device "ups-main": zone: unknown zone "D7"'


def test_device_errors_name_the_key() -> None:
    """Devices are a slotted dataclass, not a model: their errors read as the models' do."""
    typo = REGISTRY_YAML.replace("zone: DOCK, kind: ups", "zone: DOCK, kind: ups, lables: {a: b}")
    with pytest.raises(ConfigError) as caught:
        parse_registry(typo, source="devices.yaml")
    assert str(caught.value) == 'devices.yaml:13: device "ups-main": unknown key "lables" (did you mean "labels"?)'
    with pytest.raises(ConfigError) as caught:
        parse_registry(REGISTRY_YAML.replace("zone: DOCK, kind: ups", "zone: DOCK"), source="devices.yaml")
    assert str(caught.value) == 'devices.yaml:13: device "ups-main": missing key "kind"'
    registry = parse_registry(REGISTRY_YAML, source="devices.yaml")
    ups = registry.devices["ups-main"]
    assert (ups.zone, ups.kind) == ("DOCK", "ups") and not hasattr(ups, "__dict__")
    assert "kind" in json.loads(registry_schema_json())["$defs"]["Device"]["properties"]


def test_schema_for_editors_names_the_rule_types() -> None:
    schema = json.loads(rules_schema_json())
    assert sorted(schema["properties"]["rules"]["items"]["discriminator"]["mapping"]) == [
        "boolean",
        "count_variance",
        "negative_stock",
        "offline",
        "rate_of_change",
        "scan_anomaly",
        "stock_below",
        "threshold",
        "time_to_breach",
    ]
    assert "for" in schema["$defs"]["ThresholdRule"]["properties"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("1h30m", 5400.0), (90, 90.0)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["5", "m", "5x", "1.2.3s", "", -1])
def test_bad_durations(text: str | int) -> None:
    with pytest.raises(ValueError):
        duration_seconds(text)
