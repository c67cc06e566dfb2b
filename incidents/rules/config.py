"""The device registry and the alert rules, as validated models, and their YAML loaders."""

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.dataclasses import dataclass

from incidents.rules.fields import ConfigModel, RuleBase, Seconds, SeverityWord, StrList, as_list
from incidents.rules.identity import HardwareIdError, parse_hardware_id
from incidents.rules.noise import GroupRoute, Inhibition, RuleFacts, noise_problems
from incidents.rules.scans import ScanRule
from incidents.rules.stock import StockRule
from incidents.rules.yaml_source import PathProblem, load_document
from incidents.severity import Severity
from incidents.units import UnitError, canonical

ZoneClass = Literal["ambient", "cool", "cold-room", "chiller", "freezer", "quarantine"]
ZoneLimit = float | Literal["zone"]


class MetricLimits(ConfigModel):
    """A zone's default range for one metric, used by rules that say ``above: zone`` / ``below: zone``."""

    min: float | None = None
    max: float | None = None


class Zone(ConfigModel):
    site: str
    name_zh: str
    name_en: str
    zone_class: ZoneClass = Field(alias="class")
    thresholds: dict[str, MetricLimits] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid", populate_by_name=True))
class Device:
    """A device of the registry. ``hardware_id`` (``1wire:…``, ``zigbee:0x…``, ``ble:…``) is its stable
    identity where it has one; ``aliases`` are other names it is sent under (a Zigbee2MQTT friendly
    name, a Tasmota ``<topic>/<chip>`` position). ``units`` declares the unit of a metric the device
    sends without saying (``temperature: °F``); ``calibration_due`` is the date its calibration runs out.

    Validated as the other models are, but kept as a slotted dataclass: a model instance with its ``__dict__``
    and set of fields given was ~1.1 KB, 5.6 MB for 5,000 devices that the running process keeps."""

    site: str
    zone: str
    kind: str
    name_zh: str | None = None
    name_en: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    hardware_id: str | None = None
    aliases: StrList = Field(default_factory=list)
    units: dict[str, str] = Field(default_factory=dict)
    calibration_due: date | None = None

    @field_validator("hardware_id")
    @classmethod
    def _hardware(cls, value: str | None) -> str | None:
        try:
            return None if value is None else parse_hardware_id(value)
        except HardwareIdError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("units")
    @classmethod
    def _units(cls, value: dict[str, str]) -> dict[str, str]:
        for metric, unit in value.items():
            try:
                canonical(metric, 0.0, unit)
            except UnitError as exc:
                raise ValueError(str(exc)) from None
        return value


class DeviceRegistry(ConfigModel):
    """Every known device by id (the Zigbee2MQTT friendly name, Tasmota topic or plain sensor id)."""

    zones: dict[str, Zone]
    devices: dict[str, Device]


class GatewayOffline(ConfigModel):
    """A bridge or gateway offline is one incident for the devices behind it; their own offline alerts
    wait until ``grace`` after it is back, for them to report again."""

    enabled: bool = True
    severity: SeverityWord = Severity.SEV2
    grace: Seconds = 300.0


class IntakeSilence(ConfigModel):
    """The intake's dead-man: no reading from anywhere for ``after``, or the broker connection lost for
    ``connection_grace``, opens a system incident."""

    enabled: bool = True
    severity: SeverityWord = Severity.SEV2
    after: Seconds = 600.0
    connection_grace: Seconds = 60.0


class BrokerDrops(ConfigModel):
    """The broker reports dropped messages (``$SYS/broker/publish/messages/dropped``): a system incident."""

    enabled: bool = True
    severity: SeverityWord = Severity.SEV2


class Calibration(ConfigModel):
    """Devices with a ``calibration_due`` date: a warning ``warn_before`` it, and readings after it marked."""

    enabled: bool = True
    severity: SeverityWord = Severity.SEV4
    warn_before: Seconds = 30 * 86_400.0


class SystemRules(ConfigModel):
    """Alerts about the monitoring itself: gateways, the intake, the broker, probe calibration."""

    gateway_offline: GatewayOffline = Field(default_factory=GatewayOffline)
    intake_silence: IntakeSilence = Field(default_factory=IntakeSilence)
    broker_drops: BrokerDrops = Field(default_factory=BrokerDrops)
    calibration: Calibration = Field(default_factory=Calibration)


IncidentPer = Literal["group", "alert"]


class AlertmanagerRouting(ConfigModel):
    """How Alertmanager (and Grafana) groups become incidents: one incident per group (as Alertmanager's
    own receivers treat a group), or one per alert; ``receivers`` overrides it per receiver name."""

    incident_per: IncidentPer = "group"
    receivers: dict[str, IncidentPer] = Field(default_factory=dict)

    def mode(self, receiver: str | None) -> IncidentPer:
        """The mode for ``receiver``."""
        return self.receivers.get(receiver or "", self.incident_per)


class Match(ConfigModel):
    """Which readings a rule looks at; every given criterion must hold, any item of a list will do."""

    metric: str | None = None
    zone_class: Annotated[list[ZoneClass], BeforeValidator(as_list)] | None = None
    zones: StrList | None = None
    devices: StrList | None = None
    kinds: StrList | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class Clear(ConfigModel):
    """When a firing alert resolves: the value back past ``below``/``above`` (or the limit minus a
    ``deadband``) for ``for``."""

    below: float | None = None
    above: float | None = None
    deadband: float | None = Field(default=None, ge=0)
    for_: Seconds = Field(default=0.0, alias="for")

    @model_validator(mode="after")
    def _one_value(self) -> "Clear":
        if sum(v is not None for v in (self.below, self.above, self.deadband)) > 1:
            raise ValueError("clear takes only one of below, above or deadband")
        return self


class Flapping(ConfigModel):
    """More than ``max_changes`` firing/resolved changes within ``window``: hold the alert firing."""

    window: Seconds
    max_changes: int = Field(ge=1)


class _Rule(RuleBase):
    match: Match
    flapping: Flapping | None = None


class _LimitRule(_Rule):
    above: ZoneLimit | None = None
    below: ZoneLimit | None = None
    for_: Seconds = Field(default=0.0, alias="for")
    clear: Clear = Field(default_factory=Clear)

    @model_validator(mode="after")
    def _one_direction(self) -> "_LimitRule":
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        if self.match.metric is None:
            raise ValueError("match.metric is required for this rule type")
        if self.above is not None and self.clear.above is not None:
            raise ValueError("an above rule clears below a value: use clear.below")
        if self.below is not None and self.clear.below is not None:
            raise ValueError("a below rule clears above a value: use clear.above")
        if isinstance(self.above, float) and self.clear.below is not None and self.clear.below > self.above:
            raise ValueError(f"clear.below {self.clear.below} is above the alarm limit {self.above}")
        if isinstance(self.below, float) and self.clear.above is not None and self.clear.above < self.below:
            raise ValueError(f"clear.above {self.clear.above} is below the alarm limit {self.below}")
        return self


class ThresholdRule(_LimitRule):
    """Value above/below a limit for ``for`` (Prometheus ``for``), cleared by ``clear`` (hysteresis)."""

    type: Literal["threshold"]


class RateOfChangeRule(_LimitRule):
    """Change per minute over ``window`` above/below a limit (units per minute, e.g. ``above: 0.5``)."""

    type: Literal["rate_of_change"]
    above: float | None = None
    below: float | None = None
    window: Seconds


class TimeToBreachRule(_Rule):
    """A line fitted over ``window`` predicts the limit is passed within ``horizon``: warn before it."""

    type: Literal["time_to_breach"]
    above: ZoneLimit | None = None
    below: ZoneLimit | None = None
    window: Seconds
    horizon: Seconds
    min_samples: int = Field(default=3, ge=2)
    for_: Seconds = Field(default=0.0, alias="for")
    clear_for: Seconds = 0.0

    @model_validator(mode="after")
    def _one_direction(self) -> "TimeToBreachRule":
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        if self.match.metric is None:
            raise ValueError("match.metric is required for this rule type")
        return self


class OfflineRule(_Rule):
    """No reading (of ``match.metric``, or any) for ``after``, or a last-will ``online: false``."""

    type: Literal["offline"]
    after: Seconds


class BooleanRule(_Rule):
    """A state such as smoke, water_leak or on_battery equal to ``fire_when``: fire at once, no delay."""

    type: Literal["boolean"]
    fire_when: bool = True
    clear_for: Seconds = 0.0

    @model_validator(mode="after")
    def _has_metric(self) -> "BooleanRule":
        if self.match.metric is None:
            raise ValueError("match.metric is required for this rule type")
        return self


DeviceRule = ThresholdRule | RateOfChangeRule | TimeToBreachRule | OfflineRule | BooleanRule
Rule = Annotated[DeviceRule | StockRule | ScanRule, Field(discriminator="type")]


class RulesFile(ConfigModel):
    """The rules file: rules (the shape of an ERP warning scheme, 预警方案), then how to keep the noise down."""

    rules: list[Rule]
    grouping: list[GroupRoute] = Field(default_factory=list)
    inhibit: list[Inhibition] = Field(default_factory=list)
    system: SystemRules = Field(default_factory=SystemRules)
    alertmanager: AlertmanagerRouting = Field(default_factory=AlertmanagerRouting)

    def device_rules(self) -> list[DeviceRule]:
        """The rules that read sensor readings."""
        return [rule for rule in self.rules if not isinstance(rule, StockRule | ScanRule)]

    def stock_rules(self) -> list[StockRule]:
        """The rules that read stock levels."""
        return [rule for rule in self.rules if isinstance(rule, StockRule)]


def parse_registry(text: str, *, source: str) -> DeviceRegistry:
    """Validate a device registry from YAML text; raise ConfigError naming ``source`` and lines."""
    document = load_document(text, source=source)
    registry = document.validate(DeviceRegistry)
    document.raise_problems(_registry_problems(registry))
    return registry


def parse_rules_file(text: str, *, source: str, registry: DeviceRegistry | None = None) -> RulesFile:
    """Validate a rules file from YAML text, checked against ``registry`` when given."""
    document = load_document(text, source=source)
    rules_file = document.validate(RulesFile)
    problems = _rules_problems(rules_file.rules, registry)
    facts = {rule.id: _facts(rule) for rule in rules_file.rules}
    problems += noise_problems(rules_file.grouping, rules_file.inhibit, facts)
    document.raise_problems(problems)
    return rules_file


def parse_rules(text: str, *, source: str, registry: DeviceRegistry | None = None) -> list[Rule]:
    """The rules of a rules file (see ``parse_rules_file``)."""
    return parse_rules_file(text, source=source, registry=registry).rules


def load_registry(path: str | Path) -> DeviceRegistry:
    """Load ``config/devices.yaml``-style file."""
    return parse_registry(Path(path).read_text(encoding="utf-8"), source=str(path))


def load_rules_file(path: str | Path, registry: DeviceRegistry | None = None) -> RulesFile:
    """Load a ``config/rules.yaml``-style file, checked against ``registry`` when given."""
    return parse_rules_file(Path(path).read_text(encoding="utf-8"), source=str(path), registry=registry)


def load_rules(path: str | Path, registry: DeviceRegistry | None = None) -> list[Rule]:
    """The rules of a ``config/rules.yaml``-style file."""
    return load_rules_file(path, registry).rules


def rules_schema_json() -> str:
    """The JSON Schema of the rules file, for editors (yaml-language-server)."""
    return json.dumps(RulesFile.model_json_schema(by_alias=True), indent=2, ensure_ascii=False)


def registry_schema_json() -> str:
    """The JSON Schema of the device registry, for editors."""
    return json.dumps(DeviceRegistry.model_json_schema(by_alias=True), indent=2, ensure_ascii=False)


def _registry_problems(registry: DeviceRegistry) -> list[PathProblem]:
    problems: list[PathProblem] = []
    names: dict[str, str] = {device_id: device_id for device_id in registry.devices}
    hardware: dict[str, str] = {}
    for device_id, device in registry.devices.items():
        for alias in device.aliases:
            if names.setdefault(alias, device_id) != device_id:
                problems.append(PathProblem(("devices", device_id, "aliases"),
                                            f'alias "{alias}" is already a name of device "{names[alias]}"'))
        if device.hardware_id and hardware.setdefault(device.hardware_id, device_id) != device_id:
            other = hardware[device.hardware_id]
            problems.append(PathProblem(("devices", device_id, "hardware_id"),
                                        f'hardware id {device.hardware_id} is already device "{other}"'))
    for device_id, device in registry.devices.items():
        zone = registry.zones.get(device.zone)
        if zone is None:
            problems.append(PathProblem(("devices", device_id, "zone"), f'unknown zone "{device.zone}"'))
        elif zone.site != device.site:
            problems.append(
                PathProblem(
                    ("devices", device_id, "site"),
                    f'site "{device.site}" differs from zone {device.zone}\'s site "{zone.site}"',
                )
            )
    return problems


def _rules_problems(rules: list[Rule], registry: DeviceRegistry | None) -> list[PathProblem]:
    problems: list[PathProblem] = []
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.id in seen:
            problems.append(PathProblem(("rules", index), f'duplicate rule id "{rule.id}"'))
        seen.add(rule.id)
        if registry is not None:
            problems.extend(_registry_references(index, rule, registry))
    return problems


def _facts(rule: Rule) -> RuleFacts:
    metric = "scan_mismatch" if isinstance(rule, ScanRule) else None if isinstance(rule, StockRule) \
        else rule.match.metric
    return RuleFacts(rule.id, rule.type, rule.severity, metric)


def _registry_references(index: int, rule: Rule, registry: DeviceRegistry) -> list[PathProblem]:
    if isinstance(rule, ScanRule):
        return []
    if isinstance(rule, StockRule):
        return [PathProblem(("rules", index, "match", "zones"), f'unknown zone "{zone}"')
                for zone in rule.match.zones or () if zone not in registry.zones]
    problems = [
        PathProblem(("rules", index, "match", "zones"), f'unknown zone "{zone}"')
        for zone in rule.match.zones or ()
        if zone not in registry.zones
    ]
    problems.extend(
        PathProblem(("rules", index, "match", "devices"), f'unknown device "{device}"')
        for device in rule.match.devices or ()
        if device not in registry.devices
    )
    if isinstance(rule, ThresholdRule | RateOfChangeRule | TimeToBreachRule):
        key = "above" if rule.above is not None else "below"
        if getattr(rule, key) == "zone":
            problems.extend(_zone_limit_problems(index, rule, key, registry))
    return problems


def _zone_limit_problems(
    index: int,
    rule: "ThresholdRule | RateOfChangeRule | TimeToBreachRule",
    key: str,
    registry: DeviceRegistry,
) -> list[PathProblem]:
    bound = "max" if key == "above" else "min"
    missing = sorted(
        {
            device.zone
            for device_id, device in registry.devices.items()
            if matches(rule, device_id, device, registry.zones[device.zone])
            and getattr(registry.zones[device.zone].thresholds.get(rule.match.metric or ""), bound, None) is None
        }
    )
    return [
        PathProblem(
            ("rules", index, key),
            f"zone, but zone {zone} has no thresholds.{rule.match.metric}.{bound}",
        )
        for zone in missing
    ]


def matches(rule: DeviceRule, device_id: str, device: Device, zone: Zone) -> bool:
    """Whether ``rule`` applies to ``device`` (the metric is checked separately)."""
    match = rule.match
    if not rule.enabled:
        return False
    if match.zone_class is not None and zone.zone_class not in match.zone_class:
        return False
    if match.zones is not None and device.zone not in match.zones:
        return False
    if match.devices is not None and device_id not in match.devices:
        return False
    if match.kinds is not None and device.kind not in match.kinds:
        return False
    return all(device.labels.get(k, zone.labels.get(k)) == v for k, v in match.labels.items())
