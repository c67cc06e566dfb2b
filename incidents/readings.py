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


@dataclass(frozen=True, slots=True, kw_only=True)
class StockLevel:
    """The stock of one SKU at one location, as the inventory side knows it after an event.

    ``projected`` is on hand plus inbound minus allocated; ``counted`` is set when the event is a
    cycle count (the quantity people found), else None. ``safety_stock`` and ``reorder_point`` are
    None where the item has none. ``zone`` is the registry zone of the location; ``ts`` is aware UTC.
    """

    sku: str
    location: str
    zone: str
    on_hand: float
    projected: float
    safety_stock: float | None = None
    reorder_point: float | None = None
    counted: float | None = None
    ts: datetime
