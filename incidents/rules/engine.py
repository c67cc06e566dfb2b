"""The rules engine: readings and clock ticks in, alert signals out. Pure, in memory, no I/O."""

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from incidents.readings import Reading, StockLevel
from incidents.rules.bindings import Binding, Limits, bind
from incidents.rules.config import DeviceRegistry, DeviceRule, Rule
from incidents.rules.lifecycle import AlertState, Change, Phase, Timing, on_condition, on_time
from incidents.rules.scans import ScanRule
from incidents.rules.stock import StockRule, stock_condition
from incidents.rules.titles import minutes, render_stock_titles, render_titles
from incidents.rules.trend import Trend
from incidents.signals import AlertSignal, SignalKind

SNAPSHOT_VERSION = 1
_WAITING = (Phase.PENDING, Phase.CLEARING)
_AT_ONCE = Timing()

Evaluator = Callable[[Binding, AlertState, Reading, float], Change | None]


class RuleEngine:
    """Evaluates ``rules`` against readings from devices in ``registry``.

    One state per (rule, sensor), or per (rule, SKU at a location) for stock rules; its fingerprint
    ``"<rule id>:<sensor>"`` / ``"<rule id>:<sku>@<location>"`` identifies the alert. Readings from
    devices missing from the registry give no signal and are counted in ``unknown_devices``
    (sensor id → readings); readings of a metric no rule reads for that device are counted in
    ``unused_metrics`` (metric → readings).
    """

    def __init__(self, rules: Iterable[Rule], registry: DeviceRegistry) -> None:
        enabled = [rule for rule in rules if rule.enabled]
        self._rules: dict[str, DeviceRule] = {r.id: r for r in enabled if not isinstance(r, StockRule | ScanRule)}
        self.scan_rules = tuple(r for r in enabled if isinstance(r, ScanRule))  # read by ``ScanWatch``
        self._stock_rules = tuple(r for r in enabled if isinstance(r, StockRule))
        self._registry = registry
        self._states: dict[str, AlertState] = {}
        self._waiting: dict[str, Binding] = {}
        self._routes: dict[tuple[str, str], tuple[Binding, ...]] = {}
        self._limits: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], Limits] = {}
        self._offline = tuple(
            b
            for rule in self._rules.values()
            if rule.type == "offline"
            for sensor in registry.devices
            if (b := self._bind(rule, sensor)) is not None
        )
        self._offline_of = {(b.rule.id, b.sensor): b for b in self._offline}  # the routes use the same bindings
        self._evaluators: dict[str, Evaluator] = {
            "threshold": _threshold,
            "rate_of_change": _rate_of_change,
            "time_to_breach": _time_to_breach,
            "boolean": _boolean,
            "offline": _offline,
        }
        self.unknown_devices: Counter[str] = Counter()
        self.unused_metrics: Counter[str] = Counter()
        self._owns: Callable[[str], bool] = _everything

    @property
    def registry(self) -> DeviceRegistry:
        """The device registry the rules are bound against."""
        return self._registry

    def observe(self, reading: Reading) -> list[AlertSignal]:
        """Evaluate one reading; return the signals it causes (usually none)."""
        routes = self._routes.get((reading.sensor, reading.metric))
        if routes is None:
            if reading.sensor not in self._registry.devices:
                self.unknown_devices[reading.sensor] += 1
                return []
            routes = self._route(reading.sensor, reading.metric)
        if not routes:
            self.unused_metrics[reading.metric] += 1
            return []
        t = reading.ts.timestamp()
        signals: list[AlertSignal] = []
        states, evaluators = self._states, self._evaluators
        for b in routes:
            state = states.get(b.key)
            if state is None:
                state = states[b.key] = AlertState(seen=t)
                if b.window_s:
                    state.trend = self._trend(b, routes)
            phase = state.phase
            change = evaluators[b.rule.type](b, state, reading, t)
            if state.phase is not phase:
                self._track(b, state)
            if change is not None:
                signals.append(_signal(b, state, change, t, reading.ts))
        return signals

    def observe_stock(self, level: StockLevel) -> list[AlertSignal]:
        """Evaluate one stock level against the stock rules; return the signals it causes."""
        signals: list[AlertSignal] = []
        t = level.ts.timestamp()
        for rule in self._stock_rules:
            condition = stock_condition(rule, level) if rule.match.matches(level) else None
            if condition is None:
                continue
            breached, quantity, limit = condition
            key = f"{rule.id}:{level.sku}@{level.location}"
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = AlertState(seen=t)
            state.value, state.derived = quantity, limit
            change = on_condition(state, _AT_ONCE, breached, not breached, t)
            if change is not None:
                signals.append(self._stock_signal(rule, level, key, change))
        return signals

    def has_device(self, sensor: str) -> bool:
        """Whether ``sensor`` is a device of the registry."""
        return sensor in self._registry.devices

    def knows(self, name: str) -> bool:
        """Whether ``name`` is a site, zone, device or rule id of this engine (for silences)."""
        registry = self._registry
        return (name in registry.zones or name in registry.devices or name in self._rules
                or any(rule.id == name for rule in (*self._stock_rules, *self.scan_rules))
                or any(zone.site == name for zone in registry.zones.values()))

    def rule(self, rule_id: str) -> Rule | None:
        """The enabled rule with id ``rule_id`` (device or stock rule), or None."""
        return self._rules.get(rule_id) or next((r for r in (*self._stock_rules, *self.scan_rules)
                                                 if r.id == rule_id), None)

    def rules_of(self, sensor: str) -> list[DeviceRule]:
        """The enabled device rules that read ``sensor`` (any metric), in file order."""
        return [rule for rule in self._rules.values() if self._bind(rule, sensor) is not None]

    def tick(self, now: datetime) -> list[AlertSignal]:
        """Let time pass: complete ``for`` / clear durations and detect devices that went quiet."""
        t = now.timestamp()
        signals: list[AlertSignal] = []
        for key, b in list(self._waiting.items()):
            state = self._states[key]
            change = on_time(state, b.timing, t)
            self._track(b, state)
            if change is not None:
                signals.append(_signal(b, state, change, t, now))
        for b in self._offline:
            if not self._owns(b.sensor):
                continue
            quiet = self._states.get(b.key)
            if quiet is None:
                # Never heard from since start: count from the first tick.
                self._states[b.key] = AlertState(seen=t)
            elif quiet.phase is Phase.OK and quiet.seen is not None and t - quiet.seen >= b.after_s:
                quiet.cause = "heartbeat"
                change = on_condition(quiet, b.timing, True, False, t)
                if change is not None:
                    signals.append(_signal(b, quiet, change, t, now))
        return signals

    def own(self, owns: Callable[[str], bool]) -> int:
        """Make the devices for which ``owns(device)`` holds this engine's only (several processes share the
        devices, each reading its own, ``integrations.mqtt.partitions``): the states of the others are dropped
        (returns how many), and devices that go quiet are looked for among its own. Call again when the set
        behind ``owns`` changes."""
        self._owns = owns
        gone = [key for key in self._states if not owns(key.partition(":")[2])]
        for key in gone:
            del self._states[key]
            self._waiting.pop(key, None)
        return len(gone)

    def snapshot(self) -> dict[str, Any]:
        """The per-(rule, sensor) state as JSON-able data, for ``restore`` after a restart."""
        return {
            "version": SNAPSHOT_VERSION,
            "states": {key: state.to_dict() for key, state in self._states.items()},
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace the state with a ``snapshot``; states of rules or devices that are gone are dropped."""
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {snapshot.get('version')!r} is not {SNAPSHOT_VERSION}")
        self._states.clear()
        self._waiting.clear()
        trends: list[tuple[Binding, Trend]] = []
        for key, data in snapshot["states"].items():
            rule_id, _, sensor = key.partition(":")
            rule = self._rules.get(rule_id)
            b = self._bind(rule, sensor) if rule is not None else None
            if b is not None:
                state = self._states[key] = AlertState.from_dict(data, b.window_s)
                self._track(b, state)
                if state.trend is not None:
                    trends.append((b, state.trend))
        # Trends over one sensor's metric share its samples again: the shorter windows' are the newest of the
        # longest's (a trend whose samples differ keeps its own).
        shared: dict[tuple[str, str | None], Trend] = {}
        for b, trend in sorted(trends, key=lambda pair: -pair[0].window_s):
            longest = shared.setdefault((b.sensor, b.rule.match.metric), trend)
            if longest is not trend:
                trend.join(longest.samples)

    def firing(self) -> list[str]:
        """Fingerprints of the alerts firing now (including those waiting to clear)."""
        return sorted(k for k, s in self._states.items() if s.phase in (Phase.FIRING, Phase.CLEARING))

    def _stock_signal(self, rule: StockRule, level: StockLevel, key: str, change: Change) -> AlertSignal:
        zone = self._registry.zones.get(level.zone)
        place = (zone.name_zh, zone.name_en) if zone is not None else (level.zone, level.zone)
        state = self._states[key]
        title_zh, title_en = render_stock_titles(rule, level, change, place=place, quantity=state.value or 0.0,
                                                 limit=state.derived or 0.0)
        return AlertSignal(
            kind=SignalKind.RESOLVED if change is Change.RESOLVED else SignalKind.FIRING,
            rule_id=rule.id, fingerprint=key, severity=rule.severity, title_zh=title_zh, title_en=title_en,
            at=level.ts.astimezone(UTC), site=zone.site if zone is not None else None, zone=level.zone,
            sensor=f"{level.sku}@{level.location}", metric=f"stock:{level.sku}",
            value=state.value, threshold=state.derived, playbook=rule.playbook, recipients=tuple(rule.recipients),
            labels={"rule_type": rule.type, "sku": level.sku, "location": level.location},
        )

    def _route(self, sensor: str, metric: str) -> tuple[Binding, ...]:
        routes = tuple(
            b for rule in self._rules.values()
            if _reads(rule, metric) and (b := self._offline_of.get((rule.id, sensor)) or self._bind(rule, sensor))
        )
        self._routes[(sensor, metric)] = routes
        return routes

    def _bind(self, rule: DeviceRule, sensor: str) -> Binding | None:
        device = self._registry.devices.get(sensor)
        zone = self._registry.zones.get(device.zone) if device is not None else None
        if device is None or zone is None:
            return None
        # Sensors of one zone, kind and labels share a rule's limits and labels: one ``Limits`` for all their
        # bindings (5,000 sensors × 5 rules made 25,000 equal labels dicts, 4.6 MB by tracemalloc, and as many
        # copies of the limits), found before binding so that nothing is built to be thrown away.
        shape = (rule.id, device.zone, device.kind, tuple(device.labels.items()) if device.labels else ())
        found = bind(rule, sensor, device, zone, self._limits.get(shape))
        if found is not None:
            self._limits.setdefault(shape, found.limits)
        return found

    def _trend(self, b: Binding, routes: tuple[Binding, ...]) -> Trend:
        """A trend for ``b``'s new state, over the samples of another trend of ``routes`` (the same sensor and
        metric) when there is one; the bindings before ``b`` took the reading being evaluated in already."""
        fed = True
        for other in routes:
            if other is b:
                fed = False
                continue
            state = self._states.get(other.key) if other.window_s else None
            if state is not None and state.trend is not None:
                samples = state.trend.samples
                return Trend(b.window_s, samples=samples, start=samples.end - 1 if fed else samples.end)
        return Trend(b.window_s)

    def _track(self, b: Binding, state: AlertState) -> None:
        if state.phase in _WAITING:
            self._waiting[b.key] = b
        else:
            self._waiting.pop(b.key, None)


def _everything(_device: str) -> bool:
    return True


def _reads(rule: DeviceRule, metric: str) -> bool:
    """Whether readings of ``metric`` concern ``rule`` (offline rules also hear last-will states)."""
    if rule.type == "offline":
        return rule.match.metric in (None, metric) or metric == "online"
    return rule.match.metric == metric


def _number(reading: Reading) -> float | None:
    value = reading.value
    return None if value.__class__ is bool else float(value)


def _limit_check(b: Binding, state: AlertState, x: float, t: float) -> Change | None:
    d = b.direction
    return on_condition(state, b.timing, d * x > d * b.limit, d * x < d * b.clear_at, t)


def _threshold(b: Binding, state: AlertState, reading: Reading, t: float) -> Change | None:
    value = _number(reading)
    if value is None:
        return None
    state.value = value
    return _limit_check(b, state, value, t)


def _sampled(b: Binding, state: AlertState, reading: Reading, t: float) -> Trend | None:
    """Add a numeric reading to the state's trend; None for a reading that is not a number."""
    value = _number(reading)
    if value is None:
        return None
    state.value = value
    trend = state.trend if state.trend is not None else Trend(b.window_s)
    state.trend = trend
    trend.add(t, value)
    return trend


def _rate_of_change(b: Binding, state: AlertState, reading: Reading, t: float) -> Change | None:
    trend = _sampled(b, state, reading, t)
    rate = trend.rate_per_minute() if trend is not None else None
    if rate is None:
        return None
    state.derived = rate
    return _limit_check(b, state, rate, t)


def _time_to_breach(b: Binding, state: AlertState, reading: Reading, t: float) -> Change | None:
    trend = _sampled(b, state, reading, t)
    if trend is None or state.value is None:
        return None
    d, value = b.direction, state.value
    if d * value >= d * b.limit:
        # Already past the limit: the threshold rule speaks now; hold this warning as it is.
        return on_condition(state, b.timing, False, False, t)
    fit = trend.fit(b.min_samples)
    if fit is None:
        return None
    eta = _eta(b, *fit)
    if eta is not None:
        # The cheap line says "soon": confirm with a fit a spike cannot bend, from both its level
        # and the reading itself, so a reading back at 5.0 °C is never said to pass 8.0 °C soon.
        slope, level = trend.robust_fit()
        etas = (_eta(b, slope, level), _eta(b, slope, value))
        eta = None if None in etas else max(e for e in etas if e is not None)
    predicted = eta is not None
    if eta is not None:
        state.derived = max(eta, 0.0)
    return on_condition(state, b.timing, predicted, not predicted, t)


def _eta(b: Binding, slope: float, level: float) -> float | None:
    """Seconds until ``level`` moving at ``slope`` passes the limit, if that is within the horizon."""
    if b.direction * slope <= 0:
        return None
    eta = (b.limit - level) / slope
    return eta if eta <= b.horizon_s else None


def _boolean(b: Binding, state: AlertState, reading: Reading, t: float) -> Change | None:
    active = bool(reading.value) == b.fire_when
    state.value = float(bool(reading.value))
    return on_condition(state, b.timing, active, not active, t)


def _offline(b: Binding, state: AlertState, reading: Reading, t: float) -> Change | None:
    if reading.metric == "online":
        if reading.value is False:
            state.cause = reading.labels.get("offline_cause", "lwt")
            return on_condition(state, b.timing, True, False, t)
        if b.rule.match.metric is not None:
            return None  # connected again, but only a reading of the metric proves it measures
    state.seen = t
    return on_condition(state, b.timing, False, True, t)


def _signal(b: Binding, state: AlertState, change: Change, t: float, at: datetime) -> AlertSignal:
    rule = b.rule
    title_zh, title_en = render_titles(b, state, change, t)
    labels = dict(b.labels)
    if change is Change.RESOLVED:
        kind = SignalKind.RESOLVED
    elif rule.type == "time_to_breach":
        kind = SignalKind.WARNING
    else:
        kind = SignalKind.FIRING
    if state.flapping:
        labels["flapping"] = "true"
    if rule.type == "time_to_breach" and change is Change.FIRED:
        labels["eta_minutes"] = minutes(state.derived or 0.0)
    if rule.type == "rate_of_change" and state.derived is not None:
        labels["rate_per_minute"] = f"{state.derived:.2f}"
    if rule.type == "offline" and state.cause is not None:
        labels["offline_cause"] = state.cause
    numeric = rule.type not in ("offline", "boolean")
    return AlertSignal(
        kind=kind,
        rule_id=rule.id,
        fingerprint=b.key,
        severity=rule.severity,
        title_zh=title_zh,
        title_en=title_en,
        at=at.astimezone(UTC),
        site=b.device.site,
        zone=b.device.zone,
        sensor=b.sensor,
        metric=rule.match.metric,
        value=state.value if rule.type != "offline" else None,
        threshold=b.limit if numeric else None,
        playbook=rule.playbook,
        recipients=tuple(rule.recipients),
        flapping=change is Change.FLAPPING,
        labels=labels,
    )
