"""Platform-neutral inputs to the rules engine: what every payload decoder produces."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True, kw_only=True)
class Reading:
    """One measurement or state of one device, as decoded and then normalised by the intake. Treated as a
    value: changed only with ``dataclasses.replace`` (not frozen: a frozen dataclass of twelve fields costs
    three times as much to build, on the hot path of every reading).

    ``value`` is a float for measurements (temperature, humidity, power…) and a bool for
    states (smoke, water_leak, contact, online). ``ts`` is timezone-aware UTC.

    ``sensor`` is the name the device goes by in the payload (a Zigbee2MQTT friendly name, a
    Tasmota topic or ``<topic>/<chip>`` position, a plain sensor id); the intake replaces it by
    the registry's device id. ``hardware_id`` is a stable identity where the payload carries one
    (``1wire:01144A0CB2AA``, ``zigbee:0x00158d0001a2b3c4``, ``ble:a4c13860b9f8``); ``gateway``
    names the bridge the reading came through (``zigbee2mqtt:zigbee2mqtt``, ``tasmota:<topic>``).

    ``value`` is in the canonical unit of the metric (``incidents.units.unit_for``): decoders convert
    what the sender stated (``units.canonical``) and the intake what the registry declares for the
    device. ``unit`` is that unit (None when nobody stated one: the canonical unit is implied);
    ``raw_value``/``raw_unit`` keep what the device sent when it was converted.
    ``out_of_calibration`` marks readings of a probe past its calibration date.
    """

    sensor: str
    metric: str
    value: float | bool
    ts: datetime
    source: str = "plain"
    labels: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    raw_value: float | None = None
    raw_unit: str | None = None
    hardware_id: str | None = None
    gateway: str | None = None
    out_of_calibration: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayState:
    """A bridge or gateway (a Zigbee2MQTT instance, a Tasmota device with probes behind it) came online
    or went offline. ``members`` are the (name, hardware id) pairs the gateway says are behind it;
    ``bridge`` is True for a source that is a gateway by nature (Zigbee2MQTT), even before its
    devices are known."""

    gateway: str
    online: bool
    ts: datetime
    source: str
    name: str = ""
    members: tuple[tuple[str, str | None], ...] = ()
    bridge: bool = False


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
    book: float | None = None  # with ``counted``: the book quantity the count is held to, before it adjusted it
    ts: datetime
