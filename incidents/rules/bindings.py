"""A rule bound to one device: its limits resolved (zone defaults applied) so evaluation is arithmetic."""

from dataclasses import dataclass

from incidents.rules.config import (
    BooleanRule,
    Device,
    DeviceRule,
    OfflineRule,
    RateOfChangeRule,
    ThresholdRule,
    TimeToBreachRule,
    Zone,
    ZoneLimit,
    matches,
)
from incidents.rules.lifecycle import Timing

# One Timing object for all bindings with equal timings (15,000 equal copies were 0.9 MB at 5,000 sensors).
_TIMINGS: dict[Timing, Timing] = {}


@dataclass(frozen=True, slots=True)
class Binding:
    """Everything needed to evaluate ``rule`` for ``sensor``. ``direction`` is +1 for above rules and
    −1 for below rules, so a breach is ``direction * x > direction * limit`` either way."""

    key: str
    rule: DeviceRule
    sensor: str
    device: Device
    zone: Zone
    timing: Timing
    labels: dict[str, str]
    direction: float = 1.0
    limit: float = 0.0
    clear_at: float = 0.0
    window_s: float = 0.0
    horizon_s: float = 0.0
    min_samples: int = 0
    after_s: float = 0.0
    fire_when: bool = True


def bind(rule: DeviceRule, sensor: str, device: Device, zone: Zone,
         labels: dict[str, str] | None = None) -> Binding | None:
    """Bind ``rule`` to a device, or None if it does not apply (no match, or no zone limit to use).
    ``labels``: an equal dict to share (``binding_labels`` of the same rule type, device and zone) instead of a
    new one."""
    if not matches(rule, sensor, device, zone):
        return None
    flap_window, flap_max = (rule.flapping.window, rule.flapping.max_changes) if rule.flapping else (0.0, 0)
    if labels is None:
        labels = binding_labels(rule, device, zone)
    direction, limit, clear_at, window, horizon, min_samples = 1.0, 0.0, 0.0, 0.0, 0.0, 0
    if isinstance(rule, OfflineRule):
        timing = Timing(0.0, 0.0, flap_window, flap_max)
    elif isinstance(rule, BooleanRule):
        timing = Timing(0.0, rule.clear_for, flap_window, flap_max)
    else:
        direction = 1.0 if rule.above is not None else -1.0
        resolved = _limit(rule.above if rule.above is not None else rule.below, direction, rule.match.metric, zone)
        if resolved is None:
            return None
        limit = resolved
        if isinstance(rule, TimeToBreachRule):
            timing = Timing(rule.for_, rule.clear_for, flap_window, flap_max)
            clear_at, window, horizon, min_samples = limit, rule.window, rule.horizon, rule.min_samples
        else:
            timing = Timing(rule.for_, rule.clear.for_, flap_window, flap_max)
            clear_at = _clear_at(rule, direction, limit)
            window = rule.window if isinstance(rule, RateOfChangeRule) else 0.0
    return Binding(
        key=f"{rule.id}:{sensor}",
        rule=rule,
        sensor=sensor,
        device=device,
        zone=zone,
        timing=_TIMINGS.setdefault(timing, timing),
        labels=labels,
        direction=direction,
        limit=limit,
        clear_at=clear_at,
        window_s=window,
        horizon_s=horizon,
        min_samples=min_samples,
        after_s=rule.after if isinstance(rule, OfflineRule) else 0.0,
        fire_when=rule.fire_when if isinstance(rule, BooleanRule) else True,
    )


def binding_labels(rule: DeviceRule, device: Device, zone: Zone) -> dict[str, str]:
    """The labels a binding of ``rule`` to ``device`` in ``zone`` gives its signals."""
    return {
        **zone.labels,
        **device.labels,
        "rule_type": rule.type,
        "zone_class": zone.zone_class,
        "device_kind": device.kind,
    }


def _limit(value: ZoneLimit | None, direction: float, metric: str | None, zone: Zone) -> float | None:
    if value != "zone":
        return value
    limits = zone.thresholds.get(metric or "")
    if limits is None:
        return None
    return limits.max if direction > 0 else limits.min


def _clear_at(rule: ThresholdRule | RateOfChangeRule, direction: float, limit: float) -> float:
    explicit = rule.clear.below if direction > 0 else rule.clear.above
    if explicit is not None:
        return explicit
    return limit - direction * (rule.clear.deadband or 0.0)
