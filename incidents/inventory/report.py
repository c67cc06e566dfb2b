"""What ``/stock`` and ``GET /api/v1/stock/{sku}`` show about one item (warehouse-domain §1.2)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from incidents.inventory.ledger import OUTBOUND_KINDS
from incidents.inventory.tables import CountTask, Item, Location, Lot, ReorderRule, StockMove, StockQuant, Zone
from incidents.lifecycle import OPEN_STATUSES
from incidents.tables import Incident

PICK_RATE_DAYS = 14
EXPIRY_WARNING_DAYS = 30
"""A lot whose expiry date is at most this many days away is flagged "expiring" (near-expiry, GSP)."""


class StockStatus(StrEnum):
    """Against the reorder rule: OUT ≤ 0 < CRITICAL ≤ safety stock < LOW ≤ reorder point < OK ≤ max < OVER."""

    OUT = "OUT"
    CRITICAL = "CRITICAL"
    LOW = "LOW"
    OK = "OK"
    OVER = "OVER"
    NO_RULE = "NO_RULE"


@dataclass(frozen=True, slots=True)
class QuantLine:
    location: str
    zone: str
    lot: str | None
    expiry: date | None
    expiry_flag: str | None  # "expired" | "soon" | None
    status: str
    on_hand: float
    reserved: float


@dataclass(frozen=True, slots=True)
class MoveLine:
    at: datetime
    kind: str
    qty: float
    reference: str | None
    actor: str | None


@dataclass(frozen=True, slots=True)
class CountLine:
    counted_at: datetime | None
    location: str
    expected: float | None
    counted: float | None
    variance: float | None
    reason: str | None
    status: str


@dataclass(frozen=True, slots=True)
class IncidentLine:
    id: int
    severity: str
    status: str
    zone: str | None
    title_zh: str
    title_en: str


@dataclass(frozen=True, slots=True)
class StockReport:
    sku: str
    gtin: str | None
    name_zh: str
    name_en: str
    uom: str
    storage_class: str
    lot_tracked: bool
    abc_class: str | None
    on_hand: float
    reserved: float
    available: float
    hold: float
    expired: float  # on hand in lots past their expiry date: neither available nor counted for the status
    expiring: float  # available in lots expiring within EXPIRY_WARNING_DAYS
    status: StockStatus
    safety_stock: float | None
    reorder_point: float | None
    max_qty: float | None
    reorder_qty: float | None
    picks_per_day: float
    days_of_cover: float | None
    lines: tuple[QuantLine, ...]
    last_move: MoveLine | None
    last_count: CountLine | None
    incidents: tuple[IncidentLine, ...]
    as_of: datetime


def stock_status(available: float, rule: ReorderRule | None, on_hand: float) -> StockStatus:
    """The badge of OpenBoxes' InventoryUtil, with safety stock below the reorder point."""
    if rule is None:
        return StockStatus.OUT if available <= 0 else StockStatus.NO_RULE
    if available <= 0:
        return StockStatus.OUT
    if available <= rule.safety_stock:
        return StockStatus.CRITICAL
    if available <= rule.reorder_point:
        return StockStatus.LOW
    if rule.max_qty is not None and on_hand > rule.max_qty:
        return StockStatus.OVER
    return StockStatus.OK


def _expiry_flag(expiry: date | None, today: date) -> str | None:
    if expiry is None:
        return None
    if expiry < today:
        return "expired"
    return "soon" if expiry <= today + timedelta(days=EXPIRY_WARNING_DAYS) else None


def stock_report(session: Session, *, item: Item, now: datetime) -> StockReport:
    """Totals, status, lines by location and lot, movement, count and open incidents of one item.

    Stock in an expired lot (expiry date before ``now``'s date) is not available: it may not be shipped (GSP),
    so it counts in ``expired`` and not in ``available`` nor the status; near-expiry stock stays available
    and is counted in ``expiring``."""
    assert item.id is not None
    rows = session.exec(
        select(StockQuant, Location.code, Zone.code, Lot)
        .join(Location, col(Location.id) == StockQuant.location_id)
        .join(Zone, col(Zone.id) == Location.zone_id)
        .outerjoin(Lot, col(Lot.id) == StockQuant.lot_id)
        .where(StockQuant.item_id == item.id)
        .order_by(col(Location.code), col(Lot.expiry_date))
    ).all()
    today = now.date()
    lines = tuple(QuantLine(loc, zone, lot.lot_no if lot else None, lot.expiry_date if lot else None,
                            _expiry_flag(lot.expiry_date if lot else None, today), quant.status, quant.qty_on_hand,
                            quant.qty_reserved)
                  for quant, loc, zone, lot in rows if quant.qty_on_hand or quant.qty_reserved)
    on_hand = sum(line.on_hand for line in lines)
    reserved = sum(line.reserved for line in lines)
    usable = [line for line in lines if line.status == "available" and line.expiry_flag != "expired"]
    available = sum(line.on_hand - line.reserved for line in usable)
    expired = sum(line.on_hand for line in lines if line.expiry_flag == "expired")
    expiring = sum(line.on_hand - line.reserved for line in usable if line.expiry_flag == "soon")
    rule = session.exec(select(ReorderRule).where(ReorderRule.item_id == item.id)).first()
    picked = session.exec(
        select(func.coalesce(func.sum(StockMove.qty), 0.0)).where(
            StockMove.item_id == item.id, col(StockMove.kind).in_(OUTBOUND_KINDS),
            StockMove.at >= now - timedelta(days=PICK_RATE_DAYS))
    ).one()
    rate = float(picked) / PICK_RATE_DAYS
    zones = sorted({line.zone for line in lines if line.on_hand})
    return StockReport(
        sku=item.sku, gtin=item.gtin, name_zh=item.name_zh, name_en=item.name_en, uom=item.uom,
        storage_class=item.storage_class, lot_tracked=item.lot_tracked, abc_class=item.abc_class,
        on_hand=on_hand, reserved=reserved, available=available, hold=on_hand - sum(
            line.on_hand for line in lines if line.status == "available"), expired=expired, expiring=expiring,
        status=stock_status(available, rule, on_hand),
        safety_stock=rule.safety_stock if rule else None, reorder_point=rule.reorder_point if rule else None,
        max_qty=rule.max_qty if rule else None, reorder_qty=rule.reorder_qty if rule else None,
        picks_per_day=rate, days_of_cover=(max(available, 0.0) / rate) if rate > 0 else None, lines=lines,
        last_move=_last_move(session, item.id), last_count=_last_count(session, item.id),
        incidents=_open_incidents(session, zones), as_of=now,
    )


def _last_move(session: Session, item_id: int) -> MoveLine | None:
    move = session.exec(select(StockMove).where(StockMove.item_id == item_id)
                        .order_by(col(StockMove.at).desc(), col(StockMove.id).desc()).limit(1)).first()
    if move is None:
        return None
    signed = -move.qty if move.from_location_id is not None and move.to_location_id is None else move.qty
    return MoveLine(move.at, move.kind, signed, move.reference, move.actor)


def _last_count(session: Session, item_id: int) -> CountLine | None:
    found = session.exec(select(CountTask, Location.code).join(Location, col(Location.id) == CountTask.location_id)
                         .where(CountTask.item_id == item_id)
                         .order_by(col(CountTask.counted_at).desc(), col(CountTask.id).desc()).limit(1)).first()
    if found is None:
        return None
    task, location = found
    variance = (task.counted_qty - task.expected_qty
                if task.counted_qty is not None and task.expected_qty is not None else None)
    return CountLine(task.counted_at, location, task.expected_qty, task.counted_qty, variance, task.reason_code,
                     task.status)


def _open_incidents(session: Session, zones: list[str]) -> tuple[IncidentLine, ...]:
    if not zones:
        return ()
    rows = session.exec(select(Incident).where(col(Incident.zone).in_(zones),
                                               col(Incident.status).in_([s.value for s in OPEN_STATUSES]))
                        .order_by(col(Incident.id))).all()
    return tuple(IncidentLine(i.id or 0, i.severity, i.status, i.zone, i.title_zh, i.title_en) for i in rows)
