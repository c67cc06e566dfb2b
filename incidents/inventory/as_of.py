"""What a zone held during a window, replayed from the append-only move ledger rather than today's quants."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, or_, select

from incidents.inventory.ledger import deltas
from incidents.inventory.tables import Item, Location, Lot, StockMove, Zone

_Key = tuple[int, int, int | None, str]  # item, location, lot, status


@dataclass(frozen=True, slots=True)
class HeldStock:
    """One (item, location, lot, status) of the zone: on hand when the window opened and the most held in it."""

    sku: str
    name_zh: str
    name_en: str
    location: str
    lot: str | None
    expiry: date | None
    status: str
    qty_at_start: float
    qty_most: float


def zone_stock_during(session: Session, *, zone: str, start: datetime, end: datetime) -> list[HeldStock]:
    """Every line of stock that was in ``zone`` at some moment from ``start`` to ``end``, by SKU and location."""
    locations = dict(session.exec(select(Location.id, Location.code).join(Zone, col(Zone.id) == Location.zone_id)
                                  .where(Zone.code == zone)).all())
    if not locations:
        return []
    ids = list(locations)
    moves = session.exec(select(StockMove).where(
        or_(col(StockMove.from_location_id).in_(ids), col(StockMove.to_location_id).in_(ids)),
        StockMove.at <= end).order_by(col(StockMove.at), col(StockMove.id)))
    held: dict[_Key, float] = defaultdict(float)
    at_start: dict[_Key, float] | None = None
    most: dict[_Key, float] = {}
    for move in moves:
        if at_start is None and move.at > start:
            at_start = dict(held)
        for delta in deltas(move):
            if delta.location_id not in locations or not delta.on_hand:
                continue
            key = (delta.item_id, delta.location_id, delta.lot_id, delta.status)
            held[key] += delta.on_hand
            if at_start is not None:
                most[key] = max(most.get(key, at_start.get(key, 0.0)), held[key])
    at_start = dict(held) if at_start is None else at_start
    keys = sorted(k for k in held.keys() | at_start.keys() if max(at_start.get(k, 0.0), most.get(k, 0.0)) > 1e-9)
    items = {i.id: i for i in session.exec(select(Item).where(col(Item.id).in_({k[0] for k in keys})))}
    lots = {lot.id: lot for lot in session.exec(select(Lot).where(col(Lot.id).in_({k[2] for k in keys if k[2]})))}
    found = []
    for item_id, location_id, lot_id, status in keys:
        item, lot = items[item_id], lots.get(lot_id) if lot_id is not None else None
        start_qty = at_start.get((item_id, location_id, lot_id, status), 0.0)
        found.append(HeldStock(item.sku, item.name_zh, item.name_en, locations[location_id],
                               lot.lot_no if lot else None, lot.expiry_date if lot else None, status,
                               start_qty, max(start_qty, most.get((item_id, location_id, lot_id, status), 0.0))))
    return sorted(found, key=lambda h: (h.sku, h.location, h.lot or ""))
