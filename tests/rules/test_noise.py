"""Grouping and inhibition: the rules-file sections, their lint, and the in-memory decisions."""

import pytest
from typer.testing import CliRunner

from bot.cli import app
from incidents.rules.config import parse_registry, parse_rules_file
from incidents.rules.grouping import Grouper
from incidents.rules.inhibition import Inhibitor
from incidents.rules.noise import AlertMatch, GroupRoute, Inhibition
from incidents.rules.yaml_source import ConfigError
from incidents.severity import Severity
from incidents.signals import SignalKind
from tests.factories import make_signal
from tests.rules.factories import COLD_ROOM_HIGH, REGISTRY_YAML

SMOKE = """
  - id: smoke-detected
    title: {zh: 检测到烟雾, en: Smoke detected}
    match: {metric: smoke, kinds: smoke-detector}
    type: boolean
    severity: SEV1
  - id: power-loss
    title: {zh: 市电中断, en: Mains power lost}
    match: {metric: on_battery, kinds: ups}
    type: boolean
    severity: SEV2
"""


def noise_error(noise: str) -> str:
    registry = parse_registry(REGISTRY_YAML, source="registry.yaml")
    with pytest.raises(ConfigError) as caught:
        parse_rules_file("rules:" + COLD_ROOM_HIGH + SMOKE + noise, source="rules.yaml", registry=registry)
    return str(caught.value)


def test_sections_load_with_defaults() -> None:
    registry = parse_registry(REGISTRY_YAML, source="registry.yaml")
    text = "rules:" + COLD_ROOM_HIGH + SMOKE + """
grouping:
  - id: by-zone
    match: {types: threshold}
inhibit:
  - id: power
    source: {rules: power-loss}
    target: {types: [threshold, offline]}
"""
    loaded = parse_rules_file(text, source="rules.yaml", registry=registry)
    assert loaded.grouping == [GroupRoute(id="by-zone", match=AlertMatch(types=["threshold"]), group_by=["site"],
                                          group_wait=30.0, group_interval=300.0)]
    assert loaded.inhibit == [Inhibition(id="power", source=AlertMatch(rules=["power-loss"]),
                                         target=AlertMatch(types=["threshold", "offline"]), equal=["site"])]


def test_lint_names_the_line_and_the_problem() -> None:
    assert noise_error("""
grouping:
  - id: everything
    match: {}
    group_wait: 10s
inhibit:
  - id: power
    source: {rules: [power-loss, powr-loss]}
    target: {types: boolean}
""").splitlines() == [
        'rules.yaml:27: route "everything": group_wait: life-safety rule "smoke-detected" (SEV1) would wait; '
        "life-safety alerts never wait: leave it out of match or set group_wait: 0s",
        'rules.yaml:30: inhibition "power": source.rules: unknown rule "powr-loss"',
        'rules.yaml:31: inhibition "power": target: life-safety rule "smoke-detected" (SEV1) is never muted; '
        "leave it out of target",
        'rules.yaml:31: inhibition "power": target: rule "power-loss" would mute itself: it is in source and target',
    ]
    assert noise_error("grouping:\n  - id: a\n    match: {typ: offline}\n") == (
        'rules.yaml:25: route "a": match: unknown key "typ" (did you mean "types"?)')


def test_grouper_holds_a_burst_and_never_life_safety() -> None:
    grouper = Grouper([GroupRoute(id="all", match=AlertMatch(), group_by=["site", "zone"], group_wait=30.0)])
    first = grouper.route(make_signal(fingerprint="a"))
    second = grouper.route(make_signal(fingerprint="b"))
    assert first.group == second.group == "group:all:SH-01/D1"
    assert grouper.hold(first, 0.0) and grouper.hold(second, 10.0)
    smoke = grouper.route(make_signal(fingerprint="smoke", severity=Severity.SEV1))
    assert not grouper.hold(smoke, 11.0)
    assert grouper.due(29.0) == []
    (flush,) = grouper.due(30.0)
    assert ([s.fingerprint for s in flush.signals], flush.first) == (["a", "b"], False)  # smoke already spoke


def test_inhibitor_mutes_equal_scope_only_while_the_source_fires() -> None:
    inhibitor = Inhibitor([Inhibition(id="power", source=AlertMatch(rules=["power-loss"]),
                                      target=AlertMatch(rules=["cold-room-high-temp"]), equal=["site"])])
    power = make_signal(rule_id="power-loss", fingerprint="power-loss:ups-main", zone="POWER")
    target = make_signal()
    assert inhibitor.muted_by(target) is None
    inhibitor.observe(power, 7)
    source = inhibitor.muted_by(target)
    assert source is not None and (source.incident_id, source.scope) == (7, ("SH-01",))
    assert inhibitor.muted_by(make_signal(site="SH-02")) is None
    assert inhibitor.muted_by(make_signal(severity=Severity.SEV1)) is None
    inhibitor.observe(make_signal(rule_id="power-loss", fingerprint="power-loss:ups-main", kind=SignalKind.RESOLVED),
                      None)
    assert inhibitor.muted_by(target) is None


def test_rules_lint_command(tmp_path: pytest.TempPathFactory) -> None:
    runner = CliRunner()
    shipped = runner.invoke(app, ["rules", "lint"])
    assert (shipped.exit_code, shipped.stdout) == (0, "1 rules file(s) OK\n")
    broken = tmp_path / "rules.yaml"  # type: ignore[operator]
    broken.write_text("rules:\n  - id: x\n    type: boolean\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "lint", str(broken)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f'{broken}:2: rule "x": missing key "match"',
        f'{broken}:2: rule "x": missing key "severity"',
        f'{broken}:2: rule "x": missing key "title"',
    ]
