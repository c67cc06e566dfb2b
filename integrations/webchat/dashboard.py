"""The dashboard's content: open incidents by site and zone, each zone's sensors (current value, unit,
alarm state, last seen) and the panels: silences, shelved alarms and sensors out of service, alarms that need
attention (ISA-18.2 states, ``incidents.alarms``) and drills (open and scheduled).

Values come from the stored samples (``SensorSample``: one a minute per sensor, every reading while an
alert of the sensor is live, ``handlers.sampling``); alarm states and the time a sensor was last heard
from come from the rules engine's live state, which is fresher than the thinned samples.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from handlers import alarm_view, i18n
from handlers.text import duration_text, label, local_time, say
from incidents import alarms, service, shelving, silences
from incidents.alarms import AlarmCondition, AlarmState
from incidents.clock import as_utc
from incidents.inventory.tables import SensorSample
from incidents.lifecycle import OPEN_STATUSES, STATUS_TEXT, Status
from incidents.rules.config import DeviceRegistry, DeviceRule, Rule
from incidents.tables import AuditEvent, Incident
from incidents.units import unit_for

RECENT = timedelta(hours=24)
"""Samples older than this are not shown as a sensor's current value (it shows "no data")."""
STALE_AFTER = timedelta(minutes=10)
"""A sensor not heard from for this long is marked stale; the offline rules (config/rules.yaml) alarm on it."""
_PHASE_ORDER = {"firing": 3, "clearing": 2, "pending": 1, "ok": 0}
ATTENTION = (AlarmState.UNACKNOWLEDGED, AlarmState.LATCHED, AlarmState.RETURNED_UNACKNOWLEDGED)
"""The ISA-18.2 states a person must still act on, most urgent first (ISA-18.2 §5: an alarm is acknowledged,
a latched one reset)."""
_STATE_ORDER = (*ATTENTION, AlarmState.ACKNOWLEDGED, AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE,
                AlarmState.NORMAL)


@dataclass(frozen=True, slots=True)
class SensorRow:
    """One metric of one device: value in ``unit`` (None: no sample in ``RECENT``), the worst alarm phase of
    the rules reading that metric and of the device's own rules such as offline (firing, clearing, pending, ok;
    "" when the rules hold no state for the device: never heard from since the start, or no rule watches it),
    the ISA-18.2 state of the device's most urgent alarm condition (None when it has no condition other than
    normal and is in service) and seconds since last heard (None: never)."""

    device: str
    name: str
    metric: str
    value: float | None
    unit: str
    phase: str
    age_s: float | None
    alarm_state: AlarmState | None = None

    @property
    def stale(self) -> bool:
        return self.age_s is None or self.age_s > STALE_AFTER.total_seconds()

    def metric_text(self) -> str:
        """``温度 Temperature``: the metric as the catalogues name it (``metric_<name>``), else its name as sent."""
        key = f"metric_{self.metric}"
        return i18n.Label(key, {}) if i18n.has(key) else self.metric

    def value_text(self) -> str:
        """``5.2 °C``; yes/no for a state (smoke, door contact…); ``-`` without a value."""
        if self.value is None:
            return "-"
        if not self.unit and self.value in (0.0, 1.0):
            return (say("dash_yes") if self.value else say("dash_no")).replace("\n", " ")
        return f"{self.value:.1f} {self.unit}".strip() if self.unit else f"{self.value:g}"

    def age_text(self) -> str:
        return duration_text(self.age_s)

    def state_text(self) -> str:
        """``已恢复未确认 returned-to-normal unacknowledged``; "" without an ISA-18.2 state to show."""
        return alarm_view.state_text(self.alarm_state) if self.alarm_state else ""


@dataclass(frozen=True, slots=True)
class ZoneView:
    zone: str
    site: str
    name_zh: str
    name_en: str
    zone_class: str
    limits: str
    incidents: list[Incident]
    sensors: list[SensorRow]

    @property
    def alarmed(self) -> bool:
        return bool(self.incidents) or any(s.phase == "firing" or s.alarm_state in ATTENTION for s in self.sensors)


@dataclass(frozen=True, slots=True)
class Panel:
    """A table on the dashboard: ``title`` and ``headers`` are catalogue keys, ``empty`` the catalogue key
    shown when there are no rows; cells are plain text."""

    key: str
    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    empty: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    sites: dict[str, list[ZoneView]]
    unzoned: list[Incident]  # open incidents without a registry zone (system, external, by hand)
    panels: list[Panel]
    open_count: int
    as_of: str


def silences_panel(session: Session, now: datetime, timezone: str) -> Panel:
    """The silences in force, soonest to end first."""
    rows = [(f"#{s.id}", s.target, local_time(as_utc(s.ends_at), timezone),
             s.author_name, s.comment) for s in silences.active_silences(session, now=now)]
    return Panel("silences", "dash_silences", ("dash_id", "dash_target", "dash_until", "dash_by", "dash_reason"),
                 rows, "silences_none")


def holds_panel(session: Session, now: datetime, timezone: str) -> Panel:
    """Shelved alarms and sensors out of service (``incidents.shelving``), soonest to end first."""
    rows = [(label("dash_hold_shelf") if h.kind == shelving.SHELF else label("dash_hold_out_of_service"), h.target,
             local_time(as_utc(h.ends_at), timezone), h.author_name, h.reason)
            for h in shelving.in_force(session, now=now)]
    return Panel("holds", "dash_holds", ("dash_hold_kind", "dash_target", "dash_until", "dash_by", "dash_reason"),
                 rows, "dash_holds_none")


def alarms_panel(session: Session, now: datetime, timezone: str) -> Panel:
    """Alarms a person must still act on (``ATTENTION``: unacknowledged, returned to normal unacknowledged,
    latched), most urgent first, then oldest first; shelved and out-of-service ones are in ``holds_panel``."""
    found = [(c, s) for c, s in alarm_view.states(session, alarms.needing_attention(session), now=now)
             if s in ATTENTION]
    found.sort(key=lambda pair: (ATTENTION.index(pair[1]), pair[0].changed_at))
    rows = [(f"#{c.incident_id}", c.sensor or c.fingerprint, alarm_view.state_text(s), c.severity,
             local_time(as_utc(c.changed_at), timezone)) for c, s in found]
    return Panel("alarms", "dash_alarms", ("dash_incident", "dash_target", "dash_state", "dash_severity",
                                           "dash_since"), rows, "dash_alarms_none")


def drills_panel(session: Session, now: datetime, timezone: str) -> Panel:
    """Open drills (``Incident.drill``), newest first, then drills scheduled after ``now`` (their
    ``drill.scheduled`` audit events, ``handlers.drills``), soonest first."""
    open_drills = session.exec(select(Incident).where(col(Incident.drill).is_(True),
                                                      col(Incident.status).in_([s.value for s in OPEN_STATUSES]))
                               .order_by(col(Incident.id).desc())).all()
    rows: list[tuple[str, ...]] = [
        (f"#{i.id}", f"{i.title_zh} {i.title_en}", i.zone or "-", " ".join(STATUS_TEXT[Status(i.status)]),
         local_time(as_utc(i.opened_at), timezone)) for i in open_drills]
    planned = []
    for event in session.exec(select(AuditEvent).where(AuditEvent.action == "drill.scheduled")):
        after = event.after or {}
        at = datetime.fromisoformat(str(after.get("at")))
        if as_utc(at) > now:
            planned.append((as_utc(at), str(after.get("playbook", "")), str(after.get("zone") or "-")))
    rows += [("-", playbook, zone, label("dash_drill_scheduled"), local_time(at, timezone))
             for at, playbook, zone in sorted(planned)]
    return Panel("drills", "dash_drills", ("dash_incident", "dash_drill", "dash_zone", "dash_status", "dash_when"),
                 rows, "dash_drills_none")


PanelBuilder = Callable[[Session, datetime, str], Panel]
PANELS: list[PanelBuilder] = [alarms_panel, holds_panel, silences_panel, drills_panel]
"""The dashboard's panels in order: what needs a person first."""

_NEWEST = "newest_at"  # a column name, not a message key (a literal here would be read as one by the extractor)


def latest_samples(session: Session, sensors: Sequence[str], *, since: datetime) -> dict[tuple[str, str], SensorSample]:
    """The newest stored sample of each (sensor, metric) of ``sensors`` taken after ``since``."""
    if not sensors:
        return {}
    newest = (select(SensorSample.sensor, SensorSample.metric, func.max(SensorSample.at).label(_NEWEST))
              .where(col(SensorSample.sensor).in_(list(sensors)), SensorSample.at >= since)
              .group_by(col(SensorSample.sensor), col(SensorSample.metric)).subquery())
    rows = session.exec(select(SensorSample).join(newest, (col(SensorSample.sensor) == newest.c.sensor)
                                                  & (col(SensorSample.metric) == newest.c.metric)
                                                  & (col(SensorSample.at) == newest.c[_NEWEST]))).all()
    return {(r.sensor, r.metric): r for r in rows}


def live_states(snapshot: dict[str, Any],
                metrics: Mapping[str, str | None]) -> dict[tuple[str, str | None], tuple[str, float | None]]:
    """From a ``RuleEngine.snapshot()``: per sensor and metric, the worst phase of the rules reading that metric
    and when the sensor was last heard from (epoch seconds, None when never). ``metrics`` gives the metric each
    rule id reads (``rule_metrics``); a rule of no one metric (offline, a state) is keyed by metric None."""
    found: dict[tuple[str, str | None], tuple[str, float | None]] = {}
    for key, state in snapshot.get("states", {}).items():
        rule_id, _, sensor = key.partition(":")
        where = (sensor, metrics.get(rule_id))
        phase, seen = str(state.get("phase", "ok")), state.get("seen")
        worst, last = found.get(where, ("ok", None))
        if _PHASE_ORDER.get(phase, 0) > _PHASE_ORDER.get(worst, 0):
            worst = phase
        if seen is not None and (last is None or seen > last):
            last = float(seen)
        found[where] = (worst, last)
    return found


def rule_metrics(snapshot: dict[str, Any], rule: Callable[[str], Rule | None]) -> dict[str, str | None]:
    """The metric each rule of the ``snapshot`` reads (``match.metric``; None for a rule of no one metric),
    ``rule`` being ``RuleEngine.rule``."""
    found: dict[str, str | None] = {}
    for key in snapshot.get("states", {}):
        rule_id = key.partition(":")[0]
        if rule_id not in found:
            known = rule(rule_id)
            found[rule_id] = known.match.metric if isinstance(known, DeviceRule) else None
    return found


def _row_state(states: dict[tuple[str, str | None], tuple[str, float | None]], device: str,
               metric: str) -> tuple[str, float | None]:
    """A row's phase: the worst of its metric's rules and the device's own (offline…); every rule's when the
    row has no metric; ``ok`` for a metric no rule reads. Last heard from: the latest of all the device's
    rules. ``""``: the rules hold no state for the device."""
    mine = [v for (d, _), v in states.items() if d == device]
    if not mine:
        return "", None
    ours = [p for (d, m), (p, _) in states.items() if d == device and (not metric or m in (metric, None))]
    phase = max(ours, key=lambda p: _PHASE_ORDER.get(p, 0), default="ok")
    seen = max((t for _, t in mine if t is not None), default=None)
    return phase, seen


def _limits(registry: DeviceRegistry, zone_id: str) -> str:
    """``temperature 2 – 8 °C``, ``temperature ≤ 20 °C``: the zone's ranges (config/devices.yaml)."""
    parts = []
    for metric, limits in registry.zones[zone_id].thresholds.items():
        unit = f" {unit_for(metric)}".rstrip()
        if limits.min is not None and limits.max is not None:
            parts.append(f"{metric} {limits.min:g} – {limits.max:g}{unit}")
        elif limits.max is not None:
            parts.append(f"{metric} ≤ {limits.max:g}{unit}")
        elif limits.min is not None:
            parts.append(f"{metric} ≥ {limits.min:g}{unit}")
    return ", ".join(parts)


def sensor_states(session: Session, sensors: Sequence[str], *, now: datetime) -> dict[str, AlarmState]:
    """Per sensor of ``sensors``: the ISA-18.2 state of its most urgent alarm condition (``_STATE_ORDER``), or
    out of service when it is; sensors with neither, or only normal conditions, are left out."""
    conditions = list(session.exec(select(AlarmCondition).where(col(AlarmCondition.sensor).in_(list(sensors)))))
    found: dict[str, AlarmState] = {h.target: AlarmState.OUT_OF_SERVICE
                                    for h in shelving.in_force(session, now=now, kind=shelving.OUT_OF_SERVICE)
                                    if h.target in sensors}
    for condition, state in alarm_view.states(session, conditions, now=now):
        sensor = condition.sensor or ""
        best = found.get(sensor)
        if state is AlarmState.NORMAL:
            continue
        if best is None or _STATE_ORDER.index(state) < _STATE_ORDER.index(best):
            found[sensor] = state
    return found


def build(session: Session, registry: DeviceRegistry, snapshot: dict[str, Any], *, now: datetime,
          timezone: str, metrics: Mapping[str, str | None]) -> Dashboard:
    """The dashboard at ``now`` (aware UTC) from the database, the registry and the engine's ``snapshot``;
    ``metrics``: the metric each rule reads (``rule_metrics``), so that a row shows its own metric's alarm."""
    incidents = service.list_incidents(session, open_only=True, limit=500)
    by_zone: dict[str, list[Incident]] = {}
    for incident in incidents:
        by_zone.setdefault(incident.zone or "", []).append(incident)
    samples = latest_samples(session, list(registry.devices), since=now - RECENT)
    states = live_states(snapshot, metrics)
    isa = sensor_states(session, list(registry.devices), now=now)
    sites: dict[str, list[ZoneView]] = {}
    for zone_id, zone in registry.zones.items():
        rows = []
        for device_id, device in registry.devices.items():
            if device.zone != zone_id:
                continue
            name = " / ".join(n for n in (device.name_zh, device.name_en) if n) or device_id
            shown: list[tuple[str, SensorSample | None]] = sorted(
                ((m, s) for (d, m), s in samples.items() if d == device_id), key=lambda pair: pair[0])
            for metric, sample in shown or [("", None)]:
                phase, seen = _row_state(states, device_id, metric)
                heard = max(t for t in (seen, as_utc(sample.at).timestamp() if sample else None)
                            if t is not None) if (seen or sample) else None
                rows.append(SensorRow(device_id, name, metric, sample.value if sample else None,
                                      sample.unit if sample else "", phase,
                                      now.timestamp() - heard if heard is not None else None,
                                      isa.get(device_id)))
        sites.setdefault(zone.site, []).append(ZoneView(zone_id, zone.site, zone.name_zh, zone.name_en,
                                                        zone.zone_class, _limits(registry, zone_id),
                                                        by_zone.pop(zone_id, []), rows))
    for views in sites.values():
        views.sort(key=lambda v: not v.alarmed)  # zones needing attention first, else the registry's order
    unzoned = [i for group in by_zone.values() for i in group]
    return Dashboard(sites=sites, unzoned=unzoned, panels=[make(session, now, timezone) for make in PANELS],
                     open_count=len(incidents), as_of=local_time(now, timezone))
