"""The readings of every probe in the incident's zone, and the temperature exposure they show.

Limits come from the device registry (the zone's range) and from the thresholds of the incident's alerts.
Exposure follows USP <1079.2> for the mean kinetic temperature and GSP's rule that readings of a probe
out of calibration are not evidence (docs: trust-and-alarms.md).
"""

import itertools
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from statistics import median

from sqlmodel import Session

from handlers.review_model import Bi, Calibration, Exposure, ProbeExposure, Series, Threshold
from incidents.inventory.samples import samples_between
from incidents.kinetics import exceedance, extremes, series_mkt
from incidents.rules.config import Device, DeviceRegistry
from incidents.tables import Alert
from incidents.units import unit_for

EXPOSURE_METRICS = ("temperature",)  # metrics whose exposure (MKT, time beyond limits) the review computes


def device_name(registry: DeviceRegistry | None, sensor: str) -> Bi:
    """The registry's name of a device, or its id when it has none."""
    device = registry.devices.get(sensor) if registry else None
    if device is None:
        return Bi.same(sensor)
    return Bi(device.name_zh or sensor, device.name_en or device.name_zh or sensor)


def zone_series(session: Session, *, registry: DeviceRegistry | None, zone: str | None, metric: str,
                alert_sensors: Iterable[str], start: datetime, end: datetime) -> tuple[Series, ...]:
    """Every stored sample of ``metric`` from the zone's devices and the alerting sensors, per sensor."""
    sensors = set(alert_sensors)
    if registry is not None and zone is not None:
        sensors |= {device_id for device_id, device in registry.devices.items() if device.zone == zone}
    rows = samples_between(session, sensors=sorted(sensors), metric=metric, start=start, end=end)
    by_sensor: dict[str, list[tuple[datetime, float]]] = {}
    for row in rows:
        by_sensor.setdefault(row.sensor, []).append((row.at, row.value))
    return tuple(Series(sensor, device_name(registry, sensor), metric, unit_for(metric), _interval(points),
                        tuple(points)) for sensor, points in sorted(by_sensor.items()))


def _interval(points: Sequence[tuple[datetime, float]]) -> float | None:
    gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(points)]
    return median(gaps) if gaps else None


def limits(registry: DeviceRegistry | None, zone: str | None, metric: str, alerts: Sequence[Alert]) -> tuple[
        Threshold, ...]:
    """The zone's range for ``metric`` and the thresholds of the incident's alerts on it, one line per value."""
    found: dict[tuple[float, bool], list[str]] = {}
    zone_limits = registry.zones[zone].thresholds.get(metric) if registry and zone in registry.zones else None
    if zone_limits is not None and zone_limits.max is not None:
        found.setdefault((zone_limits.max, True), []).append("zone-max")
    if zone_limits is not None and zone_limits.min is not None:
        found.setdefault((zone_limits.min, False), []).append("zone-min")
    for alert in alerts:
        if alert.threshold is None or alert.metric != metric:
            continue
        above = _is_upper(alert, zone_limits.min if zone_limits else None, zone_limits.max if zone_limits else None)
        sources = found.setdefault((alert.threshold, above), [])
        if alert.rule_id not in sources:
            sources.append(alert.rule_id)
    return tuple(Threshold(value, above, tuple(sources)) for (value, above), sources in sorted(found.items()))


def _is_upper(alert: Alert, low: float | None, high: float | None) -> bool:
    """Whether an alert's threshold is an upper limit: from the reading that tripped it, else the zone's range."""
    assert alert.threshold is not None
    if alert.value is not None and alert.value != alert.threshold and alert.kind == "firing":
        return alert.value > alert.threshold
    if low is not None and high is not None:
        return abs(alert.threshold - high) <= abs(alert.threshold - low)
    return True


def calibration(registry: DeviceRegistry | None, sensor: str, *, on: date) -> Calibration:
    """The probe's calibration due date from the registry (``calibration_due``, as a field or a label)."""
    device = registry.devices.get(sensor) if registry else None
    due = _due_date(device) if device is not None else None
    if due is None:
        return Calibration("unknown", None, Bi.of("calibration_unknown"))
    if due < on:
        return Calibration("overdue", due, Bi.of("calibration_overdue", due=due.isoformat()))
    return Calibration("ok", due, Bi.of("calibration_ok", due=due.isoformat()))


def _due_date(device: Device) -> date | None:
    value = getattr(device, "calibration_due", None) or device.labels.get("calibration_due")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def exposure(*, chart: Sequence[Series], period: Sequence[Series], thresholds: Sequence[Threshold],
             registry: DeviceRegistry | None, fallback: tuple[datetime, datetime], period_window: tuple[datetime,
             datetime], activation_energy_kj: float) -> Exposure | None:
    """Per probe: lowest and highest reading, time and degree-minutes beyond each limit, and the MKT over the
    excursion (the span any probe spent beyond a limit; ``fallback`` when none did) and over ``period``."""
    probes = [s for s in chart if s.metric in EXPOSURE_METRICS and s.points]
    if not probes:
        return None
    beyond = {s.sensor: tuple(exceedance(s.points, limit=t.value, above=t.above) for t in thresholds) for s in probes}
    starts = [b.first_at for found in beyond.values() for b in found if b.first_at is not None]
    ends = [b.last_at for found in beyond.values() for b in found if b.last_at is not None]
    start, end = (min(starts), max(ends)) if starts and ends else fallback
    longer = {s.sensor: s.points for s in period}
    lines = []
    for series in probes:
        inside = [p for p in series.points if start <= p[0] <= end]
        in_period = longer.get(series.sensor, ())
        low, high = extremes(series.points)
        lines.append(ProbeExposure(
            sensor=series.sensor, name=series.name, samples=len(series.points), low=low, high=high,
            mkt_excursion=series_mkt(inside, activation_energy_kj=activation_energy_kj) if inside else None,
            mkt_period=series_mkt(in_period, activation_energy_kj=activation_energy_kj) if in_period else None,
            period_samples=len(in_period), beyond=beyond[series.sensor],
            calibration=calibration(registry, series.sensor, on=fallback[0].date())))
    return Exposure(probes[0].metric, probes[0].unit, activation_energy_kj, start, end, *period_window, tuple(lines))

