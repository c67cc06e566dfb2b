"""Time-to-breach warnings (predict_linear) and rate-of-change rules."""

import json

from incidents.rules.engine import RuleEngine
from incidents.rules.trend import Trend
from incidents.severity import Severity
from incidents.signals import SignalKind
from tests.rules.factories import COLD_ROOM_HIGH, registry_and_engine, temp

RISING = """
  - id: cold-room-rising
    title: {zh: 冷库温度将超限, en: Cold room temperature rising towards its limit}
    match: {metric: temperature, zone_class: cold-room}
    type: time_to_breach
    above: 8.0
    window: 10m
    horizon: 15m
    min_samples: 4
    severity: SEV3
    recipients: [SL]
"""

FAST_RISE = """
  - id: cold-room-fast-rise
    title: {zh: 冷库温度快速上升, en: Cold room temperature rising fast}
    match: {metric: temperature, zone_class: cold-room}
    type: rate_of_change
    above: 0.5
    window: 4m
    clear: {for: 2m}
    severity: SEV3
"""


def test_slow_rise_warns_with_eta_before_the_alarm() -> None:
    engine = registry_and_engine(RISING + COLD_ROOM_HIGH)
    timeline = []
    for minute in range(25):
        value = round(5.0 + 0.2 * minute, 1)  # 0.2 °C/min: 8.0 °C at minute 15
        timeline += [(minute, s.kind, s.rule_id) for s in engine.observe(temp(value, minute))]
    assert timeline == [
        (5, SignalKind.WARNING, "cold-room-rising"),
        (21, SignalKind.FIRING, "cold-room-high-temp"),
    ]


def test_warning_carries_predicted_minutes() -> None:
    engine = registry_and_engine(RISING)
    signals = [s for minute in range(6) for s in engine.observe(temp(5.0 + 0.2 * minute, minute))]
    (warning,) = signals
    assert warning.kind is SignalKind.WARNING
    assert warning.severity is Severity.SEV3
    assert warning.labels["eta_minutes"] == "10"
    assert warning.fingerprint == "cold-room-rising:d1-probe-1"
    assert warning.title_zh == "冷库 D1 温度 6.0 °C，预计约 10 分钟后超过 8.0 °C"
    assert warning.title_en == "Cold room D1 at 6.0 °C, passes 8.0 °C in about 10 min"
    assert warning.threshold == 8.0


def test_door_open_spike_does_not_warn() -> None:
    engine = registry_and_engine(RISING)
    signals = [s for minute in range(10) for s in engine.observe(temp(5.0, minute))]
    # The door opens: the probe reads 8.9 °C for ten seconds and is back at 5.0 °C.
    signals += engine.observe(temp(8.9, 10))
    signals += [s for tick in range(1, 13) for s in engine.observe(temp(5.0, 10 + tick / 6))]
    assert signals == []


def test_noisy_slow_rise_still_warns() -> None:
    engine = registry_and_engine(RISING)
    noise = [0.1, -0.1, 0.05, -0.05, 0.0, 0.1, -0.1, 0.05]
    warnings = [
        (minute, s.labels["eta_minutes"])
        for minute in range(8)
        for s in engine.observe(temp(5.0 + 0.2 * minute + noise[minute], minute))
    ]
    assert warnings == [(5, "9")]  # 6.1 °C at 0.2 °C/min


def test_no_warning_when_the_horizon_is_far() -> None:
    engine = registry_and_engine(RISING)
    # 0.05 °C/min from 5.0 °C: 8.0 °C is an hour away, beyond the 15 min horizon.
    assert [s for minute in range(11) for s in engine.observe(temp(5.0 + 0.05 * minute, minute))] == []


def test_warning_resolves_when_the_trend_turns() -> None:
    engine = registry_and_engine(RISING)
    for minute in range(6):
        engine.observe(temp(6.0 + 0.2 * minute, minute))
    kinds = [s.kind for minute in range(6, 20) for s in engine.observe(temp(7.0 - 0.1 * (minute - 5), minute))]
    assert kinds == [SignalKind.RESOLVED]


def test_rate_of_change_fires_and_clears() -> None:
    engine = registry_and_engine(FAST_RISE)
    values = [4.0, 4.1, 4.2, 4.8, 5.6, 6.4]  # the door-side probe jumps 0.8 °C/min from minute 3
    signals = [s for minute, v in enumerate(values) for s in engine.observe(temp(v, minute))]
    (fired,) = signals
    assert fired.kind is SignalKind.FIRING
    assert fired.labels["rate_per_minute"] == "0.58"  # (6.4 − 4.1) / 4 min
    assert fired.title_en == "Cold room D1 changing fast: +0.6 °C/min, now 6.4 °C"
    later = [s.kind for minute in range(6, 14) for s in engine.observe(temp(6.4, minute))]
    assert later == [SignalKind.RESOLVED]


def test_rate_needs_half_a_window_of_history() -> None:
    engine = registry_and_engine(FAST_RISE)
    assert engine.observe(temp(4.0, 0)) == []
    assert engine.observe(temp(6.0, 1)) == []  # 2 °C/min but only 1 min of a 4 min window
    assert [s.kind for s in engine.observe(temp(7.0, 2))] == [SignalKind.FIRING]


def _trends(engine: RuleEngine) -> tuple[Trend, Trend]:
    states = engine._states
    rising, fast = states["cold-room-rising:d1-probe-1"].trend, states["cold-room-fast-rise:d1-probe-1"].trend
    assert rising is not None and fast is not None
    return rising, fast


def test_both_trends_of_a_probe_share_its_samples_and_decide_as_alone() -> None:
    both, rising_only, fast_only = (registry_and_engine(rules) for rules in (RISING + FAST_RISE, RISING, FAST_RISE))
    noise = [0.1, -0.1, 0.05, -0.05, 0.0, 0.1, -0.1, 0.05]
    seen = []
    for tick in range(6 * 30):  # every 10 s for 30 min: the samples are compacted many times
        minute = tick / 6  # a slow rise, a fast one, then back down
        value = (5.0 + 0.2 * minute if minute < 8 else 6.6 + 0.8 * (minute - 8) if minute < 11
                 else 9.0 - 0.3 * (minute - 11)) + noise[tick % 8]
        together = [(s.kind, s.rule_id, s.labels) for s in both.observe(temp(value, minute))]
        alone = [(s.kind, s.rule_id, s.labels) for e in (rising_only, fast_only)
                 for s in e.observe(temp(value, minute))]
        assert sorted(together, key=str) == sorted(alone, key=str)
        seen += [(kind, rule_id) for kind, rule_id, _ in together]
    assert seen[:2] == [(SignalKind.WARNING, "cold-room-rising"), (SignalKind.FIRING, "cold-room-fast-rise")]
    assert sorted(seen[2:]) == [(SignalKind.RESOLVED, "cold-room-fast-rise"), (SignalKind.RESOLVED, "cold-room-rising")]
    rising, fast = _trends(both)
    assert rising.samples is fast.samples
    assert rising.points() == _trends_alone(rising_only, "cold-room-rising")
    assert fast.points() == _trends_alone(fast_only, "cold-room-fast-rise")
    assert len(rising.samples.ts) <= 60 * 4 // 3 + 1  # the 10-minute window's samples, compacted at a quarter


def _trends_alone(engine: RuleEngine, rule_id: str) -> list[tuple[float, float]]:
    trend = engine._states[f"{rule_id}:d1-probe-1"].trend
    assert trend is not None
    return trend.points()


def test_restored_trends_share_their_samples_again() -> None:
    before = registry_and_engine(RISING + FAST_RISE)
    for tick in range(6 * 12):
        before.observe(temp(5.0 + 0.01 * tick, tick / 6))
    snapshot = json.loads(json.dumps(before.snapshot()))
    after = registry_and_engine(RISING + FAST_RISE)
    after.restore(snapshot)
    assert after.snapshot() == snapshot
    rising, fast = _trends(after)
    assert rising.samples is fast.samples
    for tick in range(6 * 12, 6 * 20):  # both go on as the engine that was not restarted
        minute, value = tick / 6, 5.0 + 0.05 * (tick - 6 * 12)
        assert after.observe(temp(value, minute)) == before.observe(temp(value, minute))
    assert after.snapshot() == before.snapshot()


def test_a_trend_joins_only_samples_it_ends_with() -> None:
    longest, other = Trend(600.0, [(0.0, 1.0), (10.0, 2.0), (20.0, 3.0)]), Trend(300.0, [(10.0, 2.0), (20.0, 4.0)])
    assert not other.join(longest.samples)
    assert other.points() == [(10.0, 2.0), (20.0, 4.0)]
    suffix = Trend(300.0, [(10.0, 2.0), (20.0, 3.0)])
    assert suffix.join(longest.samples) and suffix.samples is longest.samples
    suffix.add(30.0, 5.0)
    longest.add(30.0, 5.0)  # the reading, appended once and taken in by both
    assert len(longest.samples.ts) == 4
    assert suffix.points() == [(10.0, 2.0), (20.0, 3.0), (30.0, 5.0)]
    assert suffix.fit(2) == Trend(300.0, suffix.points()).fit(2)
