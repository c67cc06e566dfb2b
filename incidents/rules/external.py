"""Alerts raised by other systems (Alertmanager, PagerDuty-style senders, ERP/low-code webhooks)."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from incidents.readings import Reading
from incidents.severity import Severity


class AlertAction(StrEnum):
    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalAlert:
    """One alert event from outside. ``dedup_key`` ties trigger, acknowledge and resolve together.

    ``severity`` is None when the sender gave none (PagerDuty acknowledge/resolve carry no payload);
    the titles are then empty too.
    """

    source: str
    action: AlertAction
    dedup_key: str
    severity: Severity | None
    title_zh: str
    title_en: str
    at: datetime
    labels: dict[str, str] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericIntake:
    """What one generic-JSON POST carried: alerts, plain readings, or both."""

    alerts: tuple[ExternalAlert, ...] = ()
    readings: tuple[Reading, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalGroup:
    """One notification of a group of alerts (Alertmanager webhook, Grafana webhook): the group's key (stable
    for the group: Alertmanager ``groupKey``), its receiver, its alerts, and how many the sender left out
    (``truncatedAlerts``, over the receiver's ``max_alerts``)."""

    source: str
    key: str
    receiver: str | None
    alerts: tuple[ExternalAlert, ...]
    truncated: int = 0
