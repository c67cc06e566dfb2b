"""Platform-neutral inputs to the rules engine: what every payload decoder produces."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One measurement or state of one device, already normalised.

    ``value`` is a float for measurements (temperature, humidity, power…) and a bool for
    states (smoke, water_leak, contact, online). ``ts`` is timezone-aware UTC.
    """

    sensor: str
    metric: str
    value: float | bool
    ts: datetime
    source: str = "plain"
    labels: dict[str, str] = field(default_factory=dict)
