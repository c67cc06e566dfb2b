"""Alerts about the monitoring itself, in memory: gateways offline, the intake's dead-man, broker drops,
probe calibration. Pure: the intake feeds it states and the clock, it answers with signals.

- A gateway (Zigbee2MQTT bridge, Tasmota device with probes behind it) offline is ONE alert for the
  devices behind it; their own offline alerts are muted while it is offline and for ``grace`` after.
- No reading from anywhere for ``after``, or the broker connection lost for ``connection_grace``,
  is the intake's dead-man alert (one fingerprint, ``system:intake``).
- The broker's dropped-message counter growing is an alert with the count.
- A probe's ``calibration_due`` date: a warning ``warn_before`` it, another once it has passed
  (GSP: readings of an uncalibrated probe are not evidence).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from incidents.readings import GatewayState
from incidents.rules.config import Device, DeviceRegistry, SystemRules
from incidents.rules.titles import TEMPLATES
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind

GATEWAY_RULE = "gateway-offline"
INTAKE_RULE = "intake-dead-man"
DROPS_RULE = "broker-dropped-messages"
CALIBRATION_RULE = "calibration-due"
_NAMES_SHOWN = 5


@dataclass(slots=True)
class _Gateway:
    name: str
    online: bool
    since: float
    members: frozenset[str]
    fired: bool = False


class SystemWatch:
    """Remembers gateways, the intake's last signs of life, the broker's drop counter and calibration warnings."""

    def __init__(self, rules: SystemRules, registry: DeviceRegistry) -> None:
        self.rules = rules
        self.registry = registry
        self._gateways: dict[str, _Gateway] = {}
        self._dropped: int | None = None
        self._intake_firing = False
        self._warned: set[tuple[str, str]] = set()  # (device, "soon" | "overdue")

    # -- gateways ----------------------------------------------------------------------------------

    def gateway(self, state: GatewayState, members: Iterable[str]) -> list[AlertSignal]:
        """A gateway's new state, with the registry devices behind it; the signals it causes."""
        known = self._gateways.get(state.gateway)
        behind = frozenset(members) | (known.members if known else frozenset())
        if known is None or known.online != state.online:
            fired = known.fired if known else False
            known = self._gateways[state.gateway] = _Gateway(state.name or state.gateway, state.online,
                                                              state.ts.timestamp(), behind, fired)
        known.members = behind
        if not self.rules.gateway_offline.enabled or not (behind or state.bridge):
            return []  # a Tasmota device with nothing behind it: its own offline alert speaks
        if state.online != known.fired:  # online with nothing to clear, or offline and already said
            return []
        known.fired = not state.online
        return [self._gateway_signal(state.gateway, known, state.ts)]

    def mutes(self, signal: AlertSignal, now: datetime) -> bool:
        """Whether a device's offline alert is muted by its gateway being offline (or back for less than grace)."""
        if signal.labels.get("rule_type") != "offline" or signal.sensor is None:
            return False
        grace, t = self.rules.gateway_offline.grace, now.timestamp()
        return any(signal.sensor in g.members and (not g.online or t - g.since < grace)
                   for g in self._gateways.values())

    def offline_gateways(self) -> list[str]:
        """Names of the gateways offline now."""
        return sorted(g.name for g in self._gateways.values() if not g.online)

    def _gateway_signal(self, key: str, gateway: _Gateway, at: datetime) -> AlertSignal:
        ids = [d for d in sorted(gateway.members) if d in self.registry.devices]
        devices = [self.registry.devices[d] for d in ids]
        names_zh = _names([d.name_zh or i for i, d in zip(ids, devices, strict=True)], "、")
        names_en = _names([d.name_en or i for i, d in zip(ids, devices, strict=True)], ", ")
        variant = "fired" if not gateway.online else "resolved"
        zh, en = TEMPLATES[("system", GATEWAY_RULE, variant)]
        values = {"gateway": gateway.name, "count": len(gateway.members)}
        sites = {d.site for d in devices}
        zones = {d.zone for d in devices}
        return AlertSignal(
            kind=SignalKind.FIRING if not gateway.online else SignalKind.RESOLVED, rule_id=GATEWAY_RULE,
            fingerprint=f"{GATEWAY_RULE}:{key}", severity=self.rules.gateway_offline.severity,
            title_zh=zh.format(names=names_zh, **values), title_en=en.format(names=names_en, **values),
            at=at.astimezone(UTC), site=sites.pop() if len(sites) == 1 else None,
            zone=zones.pop() if len(zones) == 1 else None, sensor=gateway.name, source="system",
            labels={"rule_type": "system", "gateway": key, "devices": ",".join(sorted(gateway.members)[:50])},
        )

    # -- the intake's dead-man -----------------------------------------------------------------------

    def intake(self, now: datetime, *, last_reading: datetime | None, disconnected_since: datetime | None,
               started: datetime) -> list[AlertSignal]:
        """The dead-man: fire when the broker connection has been lost, or nothing read, for too long."""
        settings = self.rules.intake_silence
        if not settings.enabled:
            return []
        quiet_since = last_reading or started
        cause = None
        if disconnected_since is not None and (now - disconnected_since).total_seconds() >= settings.connection_grace:
            cause, since = "connection", disconnected_since
        elif (now - quiet_since).total_seconds() >= settings.after:
            cause, since = "silence", quiet_since
        if cause is not None and not self._intake_firing:
            self._intake_firing = True
            minutes = round((now - since).total_seconds() / 60)
            return [self._intake_signal(SignalKind.FIRING, cause, now, minutes)]
        if cause is None and self._intake_firing:
            self._intake_firing = False
            return [self._intake_signal(SignalKind.RESOLVED, "resolved", now, 0)]
        return []

    def _intake_signal(self, kind: SignalKind, variant: str, now: datetime, minutes: int) -> AlertSignal:
        zh, en = TEMPLATES[("system", INTAKE_RULE, variant)]
        return AlertSignal(kind=kind, rule_id=INTAKE_RULE, fingerprint="system:intake",
                           severity=self.rules.intake_silence.severity, title_zh=zh.format(minutes=minutes),
                           title_en=en.format(minutes=minutes), at=now.astimezone(UTC), source="system",
                           labels={"rule_type": "system", "cause": variant})

    # -- the broker's dropped messages ----------------------------------------------------------------

    def broker_dropped(self, count: int, now: datetime) -> list[AlertSignal]:
        """The broker's cumulative dropped-message count; a signal when it grows (or starts above zero)."""
        before, self._dropped = self._dropped, count
        if not self.rules.broker_drops.enabled or count == 0 or (before is not None and count <= before):
            return []
        new = count - (before or 0)
        zh, en = TEMPLATES[("system", DROPS_RULE, "fired" if before is not None else "since-start")]
        return [AlertSignal(kind=SignalKind.FIRING, rule_id=DROPS_RULE, fingerprint="system:broker-drops",
                            severity=self.rules.broker_drops.severity, title_zh=zh.format(count=new, total=count),
                            title_en=en.format(count=new, total=count), at=now.astimezone(UTC), value=float(count),
                            source="system", labels={"rule_type": "system", "dropped_total": str(count)})]

    def dropped_reported(self, count: int) -> None:
        """A count already reported before a restart (the latest alert's ``dropped_total``): said, not again."""
        if self._dropped is None:
            self._dropped = count

    @property
    def dropped(self) -> int:
        """The broker's dropped-message count last reported (0 when none was)."""
        return self._dropped or 0

    # -- calibration ---------------------------------------------------------------------------------

    def calibration(self, now: datetime) -> list[AlertSignal]:
        """Warnings for devices whose calibration is due soon or overdue (each said once per run)."""
        settings = self.rules.calibration
        if not settings.enabled:
            return []
        today = now.astimezone(UTC).date()
        soon = today + timedelta(seconds=settings.warn_before)
        signals = []
        for device_id, device in self.registry.devices.items():
            due = device.calibration_due
            if due is None:
                continue
            stage = "overdue" if today > due else "soon" if due <= soon else None
            if stage is None or (device_id, stage) in self._warned:
                continue
            self._warned.add((device_id, stage))
            signals.append(self._calibration_signal(device_id, device, due, stage=stage, now=now,
                                                    severity=settings.severity))
        return signals

    def _calibration_signal(self, device_id: str, device: Device, due: date, *, stage: str, now: datetime,
                            severity: Severity) -> AlertSignal:
        zh, en = TEMPLATES[("system", CALIBRATION_RULE, stage)]
        values = {"due": due.isoformat()}
        return AlertSignal(
            kind=SignalKind.WARNING, rule_id=CALIBRATION_RULE, fingerprint=f"{CALIBRATION_RULE}:{device_id}:{stage}",
            severity=severity, title_zh=zh.format(device=device.name_zh or device_id, **values),
            title_en=en.format(device=device.name_en or device_id, **values), at=now.astimezone(UTC),
            site=device.site, zone=device.zone, sensor=device_id, metric="calibration", source="system",
            labels={"rule_type": "system", "calibration_due": due.isoformat()},
        )


def out_of_calibration(device: Device, moment: datetime) -> bool:
    """Whether a reading taken at ``moment`` is after the device's calibration ran out."""
    return device.calibration_due is not None and moment.astimezone(UTC).date() > device.calibration_due


def _names(names: list[str], separator: str) -> str:
    more = len(names) - _NAMES_SHOWN
    return separator.join(names[:_NAMES_SHOWN]) + (f" … +{more}" if more > 0 else "") if names else "-"
