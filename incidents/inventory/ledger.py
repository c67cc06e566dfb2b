"""The append-only move ledger and the quants it keeps consistent.

Every change of stock is a ``StockMove``; ``post_move`` appends it and applies it to the quants
in the caller's transaction. ``rebuild_quants_from_ledger`` recomputes every quant from the
ledger alone, which is how tests (and operators after a bulk load) prove the two agree.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, case, cast, delete, func, literal, select, union_all
from sqlmodel import Session
from sqlmodel import select as sm_select

from incidents.clock import utcnow
from incidents.inventory.tables import StockMove, StockQuant


class MoveKind(StrEnum):
    RECEIPT = "receipt"
    RETURN = "return"
    PICK = "pick"
    SHIP = "ship"
    SCRAP = "scrap"
    TRANSFER = "transfer"
    QUARANTINE = "quarantine"
    RELEASE = "release"
    COUNT_ADJUST = "count_adjust"
    RESERVE = "reserve"
    UNRESERVE = "unreserve"


QUANT_STATUSES = ("available", "hold", "quarantine", "damaged")
# Which ends a move of each kind has: (from, to). COUNT_ADJUST has exactly one of the two.
_ENDS: dict[MoveKind, tuple[bool | None, bool | None]] = {
    MoveKind.RECEIPT: (False, True), MoveKind.RETURN: (False, True),
    MoveKind.PICK: (True, False), MoveKind.SHIP: (True, False), MoveKind.SCRAP: (True, False),
    MoveKind.TRANSFER: (True, True), MoveKind.QUARANTINE: (True, True), MoveKind.RELEASE: (True, True),
    MoveKind.COUNT_ADJUST: (None, None), MoveKind.RESERVE: (False, True), MoveKind.UNRESERVE: (True, False),
}
OUTBOUND_KINDS = (MoveKind.PICK.value, MoveKind.SHIP.value)


class BadMove(ValueError):
    """A move the ledger refuses; the message is bilingual."""


@dataclass(frozen=True, slots=True)
class QuantDelta:
    """What one move does to one quant."""

    item_id: int
    location_id: int
    lot_id: int | None
    status: str
    on_hand: float
    reserved: float


def quant_key(item_id: int, location_id: int, lot_id: int | None, status: str) -> str:
    """The unique key of a quant (NULL lots would not be unique on SQLite or PostgreSQL)."""
    return f"{item_id}:{location_id}:{lot_id if lot_id is not None else '-'}:{status}"


def check_move(move: StockMove) -> None:
    """BadMove unless the move's quantity, kind, ends and statuses fit together."""
    try:
        kind = MoveKind(move.kind)
    except ValueError:
        raise BadMove(f"未知的移动类型 {move.kind} / Unknown move kind {move.kind!r}") from None
    if not move.qty > 0:
        raise BadMove(f"数量必须大于 0 / The quantity must be greater than 0 (got {move.qty})")
    has_from, has_to = move.from_location_id is not None, move.to_location_id is not None
    want_from, want_to = _ENDS[kind]
    if kind is MoveKind.COUNT_ADJUST:
        if has_from == has_to:
            raise BadMove("盘点调整需要来源或目标库位之一 / A count adjustment needs exactly one of from or to")
    elif (has_from, has_to) != (want_from, want_to):
        raise BadMove(f"{kind.value} 的库位不完整 / A {kind.value} move needs "
                      f"{'a from' if want_from else 'no from'} and {'a to' if want_to else 'no to'} location")
    for status in (move.from_status, move.to_status):
        if status not in QUANT_STATUSES:
            raise BadMove(f"未知的库存状态 {status} / Unknown stock status {status!r}")


def deltas(move: StockMove) -> list[QuantDelta]:
    """The quant changes of one move (``rebuild_quants_from_ledger`` applies the same rule in SQL)."""
    reserving = move.kind in (MoveKind.RESERVE.value, MoveKind.UNRESERVE.value)
    found: list[QuantDelta] = []
    if move.from_location_id is not None:
        found.append(QuantDelta(move.item_id, move.from_location_id, move.lot_id, move.from_status,
                                0.0 if reserving else -move.qty, -move.qty if reserving else 0.0))
    if move.to_location_id is not None:
        found.append(QuantDelta(move.item_id, move.to_location_id, move.lot_id, move.to_status,
                                0.0 if reserving else move.qty, move.qty if reserving else 0.0))
    return found


def post_move(
    session: Session, *, item_id: int, qty: float, kind: MoveKind, from_location_id: int | None = None,
    to_location_id: int | None = None, lot_id: int | None = None, from_status: str = "available",
    to_status: str = "available", reference: str | None = None, actor: str | None = None,
    reason_code: str | None = None, at: datetime | None = None,
) -> StockMove:
    """Append a move to the ledger and apply it to the quants, in the caller's transaction."""
    move = StockMove(item_id=item_id, qty=qty, kind=kind.value, from_location_id=from_location_id,
                     to_location_id=to_location_id, lot_id=lot_id, from_status=from_status, to_status=to_status,
                     reference=reference, actor=actor, reason_code=reason_code, at=at or utcnow())
    check_move(move)
    session.add(move)
    for delta in deltas(move):
        _apply(session, delta, move.at)
    session.flush()
    return move


def _apply(session: Session, delta: QuantDelta, at: datetime) -> None:
    key = quant_key(delta.item_id, delta.location_id, delta.lot_id, delta.status)
    quant = session.exec(sm_select(StockQuant).where(StockQuant.key == key).with_for_update()).first()
    if quant is None:
        quant = StockQuant(key=key, item_id=delta.item_id, location_id=delta.location_id, lot_id=delta.lot_id,
                           status=delta.status)
    quant.qty_on_hand += delta.on_hand
    quant.qty_reserved += delta.reserved
    quant.last_move_at = at
    session.add(quant)
    session.flush()


def rebuild_quants_from_ledger(session: Session) -> int:
    """Replace every quant by the sum of the ledger's moves; returns the number of quants."""
    reserving = StockMove.kind.in_([MoveKind.RESERVE.value, MoveKind.UNRESERVE.value])  # type: ignore[attr-defined]
    zero = cast(literal(0.0), Float)
    table = StockMove.__table__  # type: ignore[attr-defined]
    arriving = select(table.c.item_id, table.c.to_location_id.label("location_id"), table.c.lot_id,
                      table.c.to_status.label("status"), case((reserving, zero), else_=table.c.qty).label("on_hand"),
                      case((reserving, table.c.qty), else_=zero).label("reserved"), table.c.at
                      ).where(table.c.to_location_id.is_not(None))
    leaving = select(table.c.item_id, table.c.from_location_id, table.c.lot_id, table.c.from_status,
                     case((reserving, zero), else_=-table.c.qty), case((reserving, -table.c.qty), else_=zero),
                     table.c.at).where(table.c.from_location_id.is_not(None))
    both = union_all(arriving, leaving).subquery()
    totals = select(both.c.item_id, both.c.location_id, both.c.lot_id, both.c.status, func.sum(both.c.on_hand),
                    func.sum(both.c.reserved), func.max(both.c.at)).group_by(
        both.c.item_id, both.c.location_id, both.c.lot_id, both.c.status)
    rows = session.execute(totals).all()
    session.execute(delete(StockQuant))
    quants = [
        {"key": quant_key(item_id, location_id, lot_id, status), "item_id": item_id, "location_id": location_id,
         "lot_id": lot_id, "status": status, "qty_on_hand": float(on_hand), "qty_reserved": float(reserved),
         "last_move_at": last}
        for item_id, location_id, lot_id, status, on_hand, reserved, last in rows
    ]
    if quants:
        session.execute(StockQuant.__table__.insert(), quants)  # type: ignore[attr-defined]
    session.flush()
    return len(quants)


def quant_snapshot(session: Session) -> dict[str, tuple[float, float]]:
    """Every quant's (on hand, reserved) by key, rounded to 6 places: for comparing projections."""
    rows = session.execute(select(StockQuant.key, StockQuant.qty_on_hand, StockQuant.qty_reserved))  # type: ignore[call-overload]
    return {key: (round(on_hand, 6), round(reserved, 6)) for key, on_hand, reserved in rows}

