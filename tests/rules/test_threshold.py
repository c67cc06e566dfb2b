"""Threshold rules: ``for`` (pending → firing), clear with hysteresis, tick-driven durations."""

from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from tests.rules.factories import COLD_ROOM_HIGH, at, registry_and_engine, temp


def test_door_open_spike_shorter_than_for_fires_nothing() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    signals = [engine.observe(temp(v, m)) for m, v in [(0, 5.0), (1, 9.4), (2, 8.9), (3, 6.2), (4, 5.4)]]
    signals.append(engine.tick(at(10)))
    assert signals == [[], [], [], [], [], []]
    assert engine.firing() == []


def test_breach_held_for_five_minutes_fires_once() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    assert engine.observe(temp(8.3, 0)) == []
    assert engine.observe(temp(8.5, 4)) == []
    (signal,) = engine.observe(temp(8.6, 5))
    assert signal == AlertSignal(
        kind=SignalKind.FIRING,
        rule_id="cold-room-high-temp",
        fingerprint="cold-room-high-temp:d1-probe-1",
        severity=Severity.SEV2,
        title_zh="冷库 D1 温度 8.6 °C，超过 8.0 °C 已 5 分钟",
        title_en="Cold room D1 at 8.6 °C, above 8.0 °C for 5 min",
        at=at(5),
        site="SH-01",
        zone="D1",
        sensor="d1-probe-1",
        metric="temperature",
        value=8.6,
        threshold=8.0,
        playbook="cold-chain-excursion",
        recipients=("SL", "WM", "QA"),
        labels={"rule_type": "threshold", "zone_class": "cold-room", "device_kind": "temperature-probe"},
    )
    assert [engine.observe(temp(9.0 + m / 10, m)) for m in range(6, 12)] == [[]] * 6


def test_one_good_sample_resets_pending() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    engine.observe(temp(8.4, 0))
    engine.observe(temp(7.9, 3))  # good sample
    assert engine.observe(temp(8.4, 5)) == []
    assert engine.observe(temp(8.4, 9)) == []
    assert [s.kind for s in engine.observe(temp(8.4, 10))] == [SignalKind.FIRING]


def test_tick_fires_when_for_elapses_without_new_reading() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    engine.observe(temp(8.8, 0))
    assert engine.tick(at(4.9)) == []
    (signal,) = engine.tick(at(5))
    assert (signal.kind, signal.value, signal.at) == (SignalKind.FIRING, 8.8, at(5))
    assert signal.title_en == "Cold room D1 at 8.8 °C, above 8.0 °C for 5 min"
    assert engine.tick(at(6)) == []


def test_hysteresis_hovering_between_clear_and_alarm_limits_stays_firing() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    engine.observe(temp(8.5, 0))
    assert [s.kind for s in engine.observe(temp(8.5, 5))] == [SignalKind.FIRING]
    # 7.6–7.9 °C is below the alarm limit but not below the clear limit: still firing, nothing sent.
    assert [engine.observe(temp(v, 6 + i)) for i, v in enumerate([7.9, 7.6, 8.1, 7.8, 7.7])] == [[]] * 5
    assert engine.firing() == ["cold-room-high-temp:d1-probe-1"]
    # Below 7.5 °C, but for less than the clear `for` (2 min), then back up: the clear run restarts.
    assert engine.observe(temp(7.4, 11)) == []
    assert engine.observe(temp(7.6, 12)) == []
    assert engine.observe(temp(7.3, 13)) == []
    assert engine.observe(temp(7.2, 14)) == []
    (resolved,) = engine.observe(temp(7.1, 15))
    assert resolved.kind is SignalKind.RESOLVED
    assert resolved.fingerprint == "cold-room-high-temp:d1-probe-1"
    assert resolved.title_zh == "冷库 D1 温度已恢复正常：7.1 °C"
    assert resolved.title_en == "Cold room D1 back to normal at 7.1 °C"
    assert engine.firing() == []


def test_clear_by_tick_after_clear_for() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    engine.observe(temp(9.0, 0))
    engine.tick(at(5))
    engine.observe(temp(7.0, 20))
    assert engine.tick(at(21.9)) == []
    assert [(s.kind, s.at) for s in engine.tick(at(22))] == [(SignalKind.RESOLVED, at(22))]


def test_each_sensor_has_its_own_state_and_fingerprint() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    engine.observe(temp(8.5, 0, "d1-probe-1"))
    engine.observe(temp(8.5, 3, "d1-probe-2"))
    assert [s.fingerprint for s in engine.tick(at(5))] == ["cold-room-high-temp:d1-probe-1"]
    assert [s.fingerprint for s in engine.tick(at(8))] == ["cold-room-high-temp:d1-probe-2"]


def test_zone_limit_with_deadband() -> None:
    engine = registry_and_engine(
        """
  - id: freezer-high-temp
    title: {zh: 冷冻库温度过高, en: Freezer temperature high}
    match: {metric: temperature, zone_class: freezer}
    type: threshold
    above: zone
    for: 10m
    clear: {deadband: 1.0}
    severity: SEV2
"""
    )
    assert engine.observe(temp(-15.0, 0, "f1-probe-1")) == []  # at the limit is not above it
    engine.observe(temp(-14.2, 1, "f1-probe-1"))
    (fired,) = engine.observe(temp(-13.8, 11, "f1-probe-1"))
    assert (fired.threshold, fired.title_en) == (-15.0, "Freezer F1 at -13.8 °C, above -15.0 °C for 10 min")
    assert engine.observe(temp(-15.5, 12, "f1-probe-1")) == []  # inside the 1 °C deadband
    assert [s.kind for s in engine.observe(temp(-16.1, 13, "f1-probe-1"))] == [SignalKind.RESOLVED]


def test_below_rule_without_for_fires_at_once() -> None:
    engine = registry_and_engine(
        """
  - id: cold-room-low-temp
    title: {zh: 冷库温度过低, en: Cold room temperature low}
    match: {metric: temperature, zones: [D1]}
    type: threshold
    below: 2.0
    clear: {above: 2.5}
    severity: SEV2
"""
    )
    (fired,) = engine.observe(temp(1.6, 0))
    assert (fired.title_zh, fired.title_en) == (
        "冷库 D1 温度 1.6 °C，低于 2.0 °C",
        "Cold room D1 at 1.6 °C, below 2.0 °C",
    )
    assert engine.observe(temp(2.3, 1)) == []
    assert [s.kind for s in engine.observe(temp(2.6, 2))] == [SignalKind.RESOLVED]


def test_boolean_values_and_other_metrics_are_ignored_by_threshold_rules() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    engine.observe(temp(9.0, 0))
    assert engine.observe(temp(True, 1)) == []
    assert engine.tick(at(5))[0].value == 9.0
