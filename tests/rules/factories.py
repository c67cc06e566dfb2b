"""A small registry, rules from YAML snippets, and a controlled clock for engine tests."""

from datetime import UTC, datetime, timedelta

from incidents.readings import Reading
from incidents.rules.config import parse_registry, parse_rules
from incidents.rules.engine import RuleEngine

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

REGISTRY_YAML = """
zones:
  D1: {site: SH-01, name_zh: 冷库 D1, name_en: Cold room D1, class: cold-room,
       thresholds: {temperature: {min: 2.0, max: 8.0}}}
  F1: {site: SH-01, name_zh: 冷冻库 F1, name_en: Freezer F1, class: freezer,
       thresholds: {temperature: {min: -25.0, max: -15.0}}}
  DOCK: {site: SH-01, name_zh: 月台, name_en: Loading docks, class: ambient}
devices:
  d1-probe-1: {site: SH-01, zone: D1, kind: temperature-probe, name_zh: D1 探头 1, name_en: D1 probe 1}
  d1-probe-2: {site: SH-01, zone: D1, kind: temperature-probe}
  f1-probe-1: {site: SH-01, zone: F1, kind: temperature-probe}
  dock-smoke-1: {site: SH-01, zone: DOCK, kind: smoke-detector, name_zh: 月台烟感 1, name_en: Dock smoke 1}
  ups-main: {site: SH-01, zone: DOCK, kind: ups}
"""

COLD_ROOM_HIGH = """
  - id: cold-room-high-temp
    title: {zh: 冷库温度过高, en: Cold room temperature high}
    match: {metric: temperature, zone_class: cold-room}
    type: threshold
    above: 8.0
    for: 5m
    clear: {below: 7.5, for: 2m}
    severity: SEV2
    playbook: cold-chain-excursion
    recipients: [SL, WM, QA]
"""


def registry_and_engine(rules_yaml: str) -> RuleEngine:
    """An engine over the test registry with the rules in ``rules_yaml`` (list items under ``rules:``)."""
    registry = parse_registry(REGISTRY_YAML, source="registry.yaml")
    rules = parse_rules("rules:" + rules_yaml, source="rules.yaml", registry=registry)
    return RuleEngine(rules, registry)


def at(minutes: float) -> datetime:
    """The test clock: ``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


def reading(sensor: str, metric: str, value: float | bool, minutes: float) -> Reading:
    """A reading at ``minutes`` after T0."""
    return Reading(sensor=sensor, metric=metric, value=value, ts=at(minutes))


def temp(value: float, minutes: float, sensor: str = "d1-probe-1") -> Reading:
    """A temperature reading at ``minutes`` after T0."""
    return reading(sensor, "temperature", value, minutes)
