"""SQLModel tables of the stock domain (warehouse-domain §1.4): layout, items, lots, quants and the move ledger.

Quants are a projection of the append-only ``stock_move`` ledger (``ledger.rebuild_quants_from_ledger``).
Datetimes are aware UTC; quantities are in the item's unit of measure.
"""

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from incidents.clock import utcnow


class Zone(SQLModel, table=True):
    """A temperature or handling zone; ``code`` matches the zone codes of the device registry (D1, F1…)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    site: str = "SH-01"
    name_zh: str
    name_en: str
    kind: str  # ambient | cool | cold | chill | frozen | quarantine | staging
    temp_min_c: float | None = None
    temp_max_c: float | None = None


class Location(SQLModel, table=True):
    """A bin: ``code`` is zone-aisle-bay-level, e.g. ``D1-02-03-1``."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    zone_id: int = Field(foreign_key="zone.id", index=True)
    kind: str = "pick"  # pick | reserve | bulk | dock | quarantine


class Item(SQLModel, table=True):
    """Master data of one SKU; ``gtin`` is the 14-digit form (see ``inventory.gs1``)."""

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(unique=True)
    gtin: str | None = Field(default=None, index=True)
    name_zh: str
    name_en: str = ""
    category: str = ""
    uom: str = "EA"
    storage_class: str = "ambient"  # ambient | cool_le20 | cold_2_8 | chill_0_4 | frozen_m25_m15
    lot_tracked: bool = False
    abc_class: str | None = None


class Lot(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("item_id", "lot_no"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    lot_no: str
    expiry_date: date | None = None


class StockQuant(SQLModel, table=True):
    """Balance of one (item, location, lot, status); ``key`` makes it unique even without a lot."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    lot_id: int | None = Field(default=None, foreign_key="lot.id")
    status: str = "available"  # available | hold | quarantine | damaged
    qty_on_hand: float = 0.0
    qty_reserved: float = 0.0
    last_move_at: datetime | None = None


class StockMove(SQLModel, table=True):
    """One line of the append-only ledger: ``qty`` (> 0) leaves ``from`` and/or arrives at ``to``."""

    __table_args__ = (Index("ix_stockmove_item_at", "item_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    item_id: int = Field(foreign_key="item.id")
    lot_id: int | None = Field(default=None, foreign_key="lot.id")
    from_location_id: int | None = Field(default=None, foreign_key="location.id")
    from_status: str = "available"
    to_location_id: int | None = Field(default=None, foreign_key="location.id")
    to_status: str = "available"
    qty: float
    kind: str
    reference: str | None = None
    actor: str | None = None
    reason_code: str | None = None


class ReorderRule(SQLModel, table=True):
    """Per-item min/max (OpenBoxes semantics: safety stock below the reorder point)."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    safety_stock: float = 0.0
    reorder_point: float
    max_qty: float | None = None
    reorder_qty: float | None = None


class CountTask(SQLModel, table=True):
    """A cycle count of one location (and item/lot): expected vs counted, with a reason for the variance."""

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    lot_id: int | None = Field(default=None, foreign_key="lot.id")
    count_index: int = 1
    expected_qty: float | None = None
    counted_qty: float | None = None
    status: str = "open"  # open | counted | recount | approved | rejected | void
    reason_code: str | None = None
    counted_by: str | None = None
    counted_at: datetime | None = None
    incident_id: int | None = Field(default=None, foreign_key="incident.id")


class SensorSample(SQLModel, table=True):
    """A stored reading of a sensor, for review charts and the GSP record (``incidents.retention`` thins old ones).

    ``value`` is in ``unit``, the metric's canonical unit (``incidents.units``); ``raw_value`` and
    ``raw_unit`` are what the device sent when it was converted (41 °F stored as 5 °C keeps 41, °F).
    ``out_of_calibration`` marks a reading taken after the probe's calibration ran out.

    ``alert_live``: an alert of this sensor was firing or warning when the reading came in, so the
    reading is kept however old it gets (GSP: every reading while out of range).
    """

    __table_args__ = (Index("ix_sensorsample_sensor_at", "sensor", "metric", "at"), Index("ix_sensorsample_at", "at"))
    id: int | None = Field(default=None, primary_key=True)
    sensor: str
    metric: str
    value: float
    at: datetime
    alert_live: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    unit: str = ""
    raw_value: float | None = None
    raw_unit: str | None = None
    out_of_calibration: bool = False
