"""Stock events from a WMS (MQTT ``wareroom/stock/#`` or ``POST /api/v1/stock/events``), applied through the ledger.

A body is one JSON object or a list of them::

    {"kind": "pick", "sku": "SKU-D0107", "location": "D1-02-03-1", "qty": 40, "lot": "L2408A",
     "reference": "WAVE-1107-03", "actor": "zhangwei", "ts": "2026-11-07T06:32:00Z"}

``kind`` is one of receipt, return, pick, ship, scrap, reserve, unreserve (``location`` and ``qty``),
transfer, quarantine, release (``location``, ``to_location``, ``qty``), count (``counted``: the counted
quantity, recorded as a count task and adjusted) or level (``on_hand``: the WMS's book quantity).
"""

import json
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlmodel import Session, select

from incidents import audit
from incidents.actors import Actor
from incidents.clock import as_utc
from incidents.inventory.catalog import ensure_lot, item_by_sku, location_by_code
from incidents.inventory.ledger import MoveKind, post_move, quant_key
from incidents.inventory.tables import CountTask, Item, Location, ReorderRule, StockQuant, Zone
from incidents.readings import StockLevel

EventKind = Literal["receipt", "return", "pick", "ship", "scrap", "reserve", "unreserve", "transfer", "quarantine",
                    "release", "count", "level"]
_TWO_ENDED = {"transfer", "quarantine", "release"}
_ARRIVING = {"receipt", "return", "reserve"}


class StockEventError(ValueError):
    """A stock event that cannot be applied; ``reason`` is a plain sentence, the message bilingual."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StockEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EventKind
    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)
    qty: float | None = Field(default=None, gt=0)
    to_location: str | None = None
    lot: str | None = None
    expiry: date | None = None
    status: Literal["available", "hold", "quarantine", "damaged"] = "available"
    counted: float | None = Field(default=None, ge=0)
    on_hand: float | None = None
    reference: str | None = None
    actor: str | None = None
    reason: str | None = None
    ts: AwareDatetime | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> "StockEvent":
        if self.kind == "count" and self.counted is None:
            raise ValueError('a "count" event needs "counted"')
        if self.kind == "level" and self.on_hand is None:
            raise ValueError('a "level" event needs "on_hand"')
        if self.kind not in ("count", "level") and self.qty is None:
            raise ValueError(f'a "{self.kind}" event needs "qty" greater than 0')
        if self.kind in _TWO_ENDED and not self.to_location:
            raise ValueError(f'a "{self.kind}" event needs "to_location"')
        return self


def parse_events(body: bytes) -> list[StockEvent]:
    """The events in a JSON body; StockEventError naming the event and field that is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StockEventError(f"库存事件不是有效的 JSON / The stock event is not valid JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    events: list[StockEvent] = []
    for number, entry in enumerate(items, start=1):
        try:
            events.append(StockEvent.model_validate(entry))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in exc.errors())
            raise StockEventError(f"第 {number} 个库存事件无效 / Stock event {number} is invalid: {problems}") from exc
    return events


def apply_event(session: Session, *, event: StockEvent, actor: Actor, now: datetime) -> list[StockLevel]:
    """Post the event's moves, audit it, and return the levels of the locations it touched afterwards."""
    try:
        item = item_by_sku(session, event.sku)
        location = location_by_code(session, event.location)
        target = location_by_code(session, event.to_location) if event.to_location else None
    except LookupError as exc:
        raise StockEventError(str(exc)) from exc
    assert item.id is not None and location.id is not None
    if item.lot_tracked and not event.lot:
        raise StockEventError(f"{item.sku} 按批次管理，事件需要批号 lot / {item.sku} is lot-tracked: the event needs "
                              '"lot"')
    lot_id = ensure_lot(session, item=item, lot_no=event.lot, expiry=event.expiry).id if event.lot else None
    at = as_utc(event.ts) if event.ts else now

    def move(kind: MoveKind, qty: float, *, source: str | None = None, target_status: str | None = None,
             to_id: int | None = None, from_id: int | None = None) -> None:
        post_move(session, item_id=item.id or 0, qty=qty, kind=kind, from_location_id=from_id, to_location_id=to_id,
                  lot_id=lot_id, from_status=source or event.status, to_status=target_status or event.status,
                  reference=event.reference, actor=event.actor, reason_code=event.reason, at=at)

    book: float | None = None
    if event.kind in ("count", "level"):
        difference = _difference(session, item, location.id, lot_id, event, at=at)
        if event.kind == "count" and event.counted is not None:
            book = event.counted - difference  # the book before this count adjusts it
        if difference > 0:
            move(MoveKind.COUNT_ADJUST, difference, to_id=location.id)
        elif difference < 0:
            move(MoveKind.COUNT_ADJUST, -difference, from_id=location.id)
    elif event.kind in _TWO_ENDED:
        assert target is not None
        source = "quarantine" if event.kind == "release" and event.status == "available" else event.status
        after = {"quarantine": "quarantine", "release": "available"}.get(event.kind, event.status)
        move(MoveKind(event.kind), event.qty or 0.0, source=source, target_status=after, from_id=location.id,
             to_id=target.id)
    elif event.kind in _ARRIVING:
        move(MoveKind(event.kind), event.qty or 0.0, to_id=location.id)
    else:
        move(MoveKind(event.kind), event.qty or 0.0, from_id=location.id)
    audit.record(session, action=f"stock.{event.kind}", actor=actor, object_type="item", object_id=item.sku,
                 after=event.model_dump(mode="json", exclude_none=True), reason=event.reason, at=now)
    touched = [location] if target is None else [location, target]
    return [level_at(session, item=item, location=place, at=at,
                     counted=event.counted if event.kind == "count" else None, book=book) for place in touched]


def level_at(session: Session, *, item: Item, location: Location, at: datetime,
             counted: float | None = None, book: float | None = None) -> StockLevel:
    """The item's available stock at one location, as the stock rules see it; ``counted`` and ``book`` (the
    book quantity before the count adjusted it) for a cycle count."""
    quants = session.exec(select(StockQuant).where(StockQuant.item_id == item.id,
                                                   StockQuant.location_id == location.id,
                                                   StockQuant.status == "available")).all()
    rule = session.exec(select(ReorderRule).where(ReorderRule.item_id == item.id)).first()
    zone = session.get(Zone, location.zone_id)
    on_hand = sum(q.qty_on_hand for q in quants)
    return StockLevel(sku=item.sku, location=location.code, zone=zone.code if zone else "", on_hand=on_hand,
                      projected=on_hand - sum(q.qty_reserved for q in quants),
                      safety_stock=rule.safety_stock if rule else None,
                      reorder_point=rule.reorder_point if rule else None, counted=counted, book=book, ts=at)


def _difference(session: Session, item: Item, location_id: int, lot_id: int | None, event: StockEvent, *,
                at: datetime) -> float:
    """Counted (or WMS book) minus our on-hand; a count is also kept as a count task."""
    assert item.id is not None
    quant = session.exec(select(StockQuant).where(
        StockQuant.key == quant_key(item.id, location_id, lot_id, event.status))).first()
    book = quant.qty_on_hand if quant else 0.0
    target = event.counted if event.kind == "count" else event.on_hand
    assert target is not None
    if event.kind == "count":
        session.add(CountTask(location_id=location_id, item_id=item.id, lot_id=lot_id, expected_qty=book,
                              counted_qty=target, status="counted", reason_code=event.reason,
                              counted_by=event.actor, counted_at=at))
    return target - book
