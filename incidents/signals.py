"""What the rules engine says about readings: an alert starts firing, warns, or resolves."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from incidents.severity import Severity


class SignalKind(StrEnum):
    FIRING = "firing"
    WARNING = "warning"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertSignal:
    """A rule's decision. ``fingerprint`` identifies the alert; ``group``, when the grouping rules set it,
    is the incident it joins (else ``incidents.service.incident_key`` decides). ``flapping`` is True on
    the signal that holds the alert firing because it changes state too often."""

    kind: SignalKind
    rule_id: str
    fingerprint: str
    severity: Severity
    title_zh: str
    title_en: str
    at: datetime
    site: str | None = None
    zone: str | None = None
    sensor: str | None = None
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    playbook: str | None = None
    source: str = "rules"
    recipients: tuple[str, ...] = ()
    flapping: bool = False
    group: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
