"""Boolean, offline (heartbeat and last will), flapping, unknown devices, snapshot/restore."""

import json

from incidents.severity import Severity
from incidents.signals import SignalKind
from tests.rules.factories import COLD_ROOM_HIGH, at, reading, registry_and_engine, temp

SMOKE = """
  - id: smoke-detected
    title: {zh: 检测到烟雾, en: Smoke detected}
    match: {metric: smoke, kinds: smoke-detector}
    type: boolean
    severity: SEV1
    playbook: fire-evacuation
    recipients: [SL, SO]
"""

POWER = """
  - id: power-loss
    title: {zh: 市电中断（UPS 电池供电）, en: Mains power lost (UPS on battery)}
    match: {metric: on_battery, kinds: ups}
    type: boolean
    clear_for: 1m
    severity: SEV2
    playbook: power-loss-cold-chain
"""

OFFLINE = """
  - id: probe-offline
    title: {zh: 温度探头离线, en: Temperature probe offline}
    match: {kinds: temperature-probe, zones: D1}
    type: offline
    after: 300s
    severity: SEV3
"""

FLAPPY = """
  - id: cold-room-high-temp
    title: {zh: 冷库温度过高, en: Cold room temperature high}
    match: {metric: temperature, zone_class: cold-room}
    type: threshold
    above: 8.0
    for: 1m
    clear: {below: 7.5, for: 1m}
    flapping: {window: 30m, max_changes: 3}
    severity: SEV2
"""


def test_smoke_fires_at_once_and_clears() -> None:
    engine = registry_and_engine(SMOKE)
    assert engine.observe(reading("dock-smoke-1", "smoke", False, 0)) == []
    (fired,) = engine.observe(reading("dock-smoke-1", "smoke", True, 1))
    assert (fired.kind, fired.severity, fired.playbook, fired.at) == (
        SignalKind.FIRING,
        Severity.SEV1,
        "fire-evacuation",
        at(1),
    )
    assert (fired.title_zh, fired.title_en) == (
        "月台：检测到烟雾（月台烟感 1）",
        "Loading docks: Smoke detected (Dock smoke 1)",
    )
    assert (fired.value, fired.threshold) == (1.0, None)
    assert engine.observe(reading("dock-smoke-1", "smoke", True, 2)) == []
    (cleared,) = engine.observe(reading("dock-smoke-1", "smoke", False, 3))
    assert (cleared.kind, cleared.title_en) == (
        SignalKind.RESOLVED,
        "Loading docks: Smoke detected cleared (Dock smoke 1)",
    )


def test_ups_on_battery_clears_only_after_a_minute_on_mains() -> None:
    engine = registry_and_engine(POWER)
    assert [s.kind for s in engine.observe(reading("ups-main", "on_battery", True, 0))] == [SignalKind.FIRING]
    assert engine.observe(reading("ups-main", "on_battery", False, 10)) == []
    assert engine.observe(reading("ups-main", "on_battery", True, 10.5)) == []  # mains dropped again
    assert engine.observe(reading("ups-main", "on_battery", False, 11)) == []
    assert engine.tick(at(11.9)) == []
    assert [(s.kind, s.at) for s in engine.tick(at(12))] == [(SignalKind.RESOLVED, at(12))]


def test_offline_by_heartbeat() -> None:
    engine = registry_and_engine(OFFLINE)
    engine.observe(temp(5.0, 0, "d1-probe-1"))
    engine.observe(temp(5.0, 0, "d1-probe-2"))
    engine.observe(temp(5.0, 3, "d1-probe-2"))
    assert engine.tick(at(4.9)) == []
    (offline,) = engine.tick(at(5))
    assert (offline.kind, offline.fingerprint, offline.labels["offline_cause"]) == (
        SignalKind.FIRING,
        "probe-offline:d1-probe-1",
        "heartbeat",
    )
    assert (offline.title_zh, offline.title_en) == (
        "D1 探头 1 离线：5 分钟无数据",
        "D1 probe 1 offline: no reading for 5 min",
    )
    assert engine.tick(at(6)) == []
    assert [s.fingerprint for s in engine.tick(at(8))] == ["probe-offline:d1-probe-2"]
    (back,) = engine.observe(temp(5.1, 9, "d1-probe-1"))
    assert (back.kind, back.title_en) == (SignalKind.RESOLVED, "D1 probe 1 back online")


def test_device_never_heard_from_goes_offline_counted_from_the_first_tick() -> None:
    engine = registry_and_engine(OFFLINE)
    assert engine.tick(at(0)) == []
    assert sorted(s.sensor or "" for s in engine.tick(at(5))) == ["d1-probe-1", "d1-probe-2"]


def test_offline_by_last_will() -> None:
    engine = registry_and_engine(OFFLINE)
    engine.observe(temp(5.0, 0))
    (offline,) = engine.observe(reading("d1-probe-1", "online", False, 1))
    assert (offline.kind, offline.labels["offline_cause"], offline.at) == (SignalKind.FIRING, "lwt", at(1))
    assert offline.title_en == "D1 probe 1 offline: device disconnected"
    assert engine.tick(at(10)) == []
    (online,) = engine.observe(reading("d1-probe-1", "online", True, 11))
    assert online.kind is SignalKind.RESOLVED


def test_flapping_probe_is_held_firing_and_marked() -> None:
    engine = registry_and_engine(FLAPPY)
    kinds: list[tuple[float, SignalKind, str]] = []
    minute = 0.0
    for _ in range(3):  # hot 2 min, cold 2 min, around the limit
        for value in (8.4, 8.4, 8.4, 7.2, 7.2, 7.2):
            kinds += [(minute, s.kind, s.labels.get("flapping", "")) for s in engine.observe(temp(value, minute))]
            minute += 1
    assert kinds == [
        (1.0, SignalKind.FIRING, ""),
        (4.0, SignalKind.RESOLVED, ""),
        (7.0, SignalKind.FIRING, ""),
        (10.0, SignalKind.FIRING, "true"),  # the 4th change in 30 min: held firing, marked flapping
    ]
    flapping = engine.observe(temp(8.4, 18))
    assert flapping == []
    assert engine.firing() == ["cold-room-high-temp:d1-probe-1"]
    # A flapping alert resolves only after the clear condition held for the whole flapping window.
    engine.observe(temp(7.0, 19))
    assert engine.tick(at(48.9)) == []
    (resolved,) = engine.tick(at(49))
    assert resolved.kind is SignalKind.RESOLVED
    assert "flapping" not in resolved.labels


def test_flapping_signal_title() -> None:
    engine = registry_and_engine(FLAPPY)
    for minute, value in enumerate([8.4, 8.4, 7.2, 7.2, 8.4, 8.4, 7.2, 7.2]):
        signals = engine.observe(temp(value, minute))
    (held,) = signals
    assert (held.title_zh, held.title_en) == (
        "冷库 D1：冷库温度过高 状态反复变化（D1 探头 1），告警保持",
        "Cold room D1: Cold room temperature high keeps changing state (D1 probe 1); alert held as flapping",
    )


def test_unknown_devices_are_counted_not_alerted() -> None:
    engine = registry_and_engine(COLD_ROOM_HIGH)
    assert engine.observe(temp(30.0, 0, "mystery-probe")) == []
    assert engine.observe(temp(30.0, 1, "mystery-probe")) == []
    assert engine.observe(temp(30.0, 1, "d9-probe")) == []
    assert dict(engine.unknown_devices) == {"mystery-probe": 2, "d9-probe": 1}
    assert engine.tick(at(10)) == []


def test_snapshot_restore_keeps_firing_clearing_and_heartbeats() -> None:
    rules = COLD_ROOM_HIGH + OFFLINE
    before = registry_and_engine(rules)
    before.observe(temp(8.6, 0, "d1-probe-1"))
    before.observe(temp(9.0, 0, "d1-probe-2"))
    before.observe(temp(9.1, 3, "d1-probe-2"))
    before.observe(temp(8.7, 4, "d1-probe-1"))
    assert len(before.tick(at(5))) == 2  # both fire
    before.observe(temp(7.0, 6, "d1-probe-2"))  # clearing
    snapshot = json.loads(json.dumps(before.snapshot()))
    after = registry_and_engine(rules)
    after.restore(snapshot)
    assert after.snapshot() == snapshot
    assert after.firing() == ["cold-room-high-temp:d1-probe-1", "cold-room-high-temp:d1-probe-2"]
    # No repeat FIRING after the restart; the clear run continues.
    assert after.observe(temp(8.8, 7, "d1-probe-1")) == []
    assert [(s.kind, s.fingerprint) for s in after.tick(at(8))] == [
        (SignalKind.RESOLVED, "cold-room-high-temp:d1-probe-2")
    ]
    # The heartbeat also continues from the saved time, not from the restart.
    assert [s.fingerprint for s in after.tick(at(11))] == ["probe-offline:d1-probe-2"]


def test_restore_drops_state_of_rules_that_are_gone() -> None:
    before = registry_and_engine(COLD_ROOM_HIGH)
    before.observe(temp(9.0, 0))
    before.tick(at(5))
    after = registry_and_engine(SMOKE)
    after.restore(before.snapshot())
    assert after.snapshot() == {"version": 1, "states": {}}
