"""``wareroom stock import FILE.csv``: a stock snapshot in, through the ledger (format: docs/stock-import.md).

All or nothing: every row is checked first; one bad row and nothing is imported, and every
problem is reported with its row number, column and a plain message.
"""

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from incidents import audit
from incidents.actors import Actor
from incidents.inventory.catalog import (
    STORAGE_CLASSES,
    ZONE_KIND_OF_STORAGE,
    ZONE_KINDS,
    ensure_location,
    ensure_lot,
    ensure_zone,
    set_reorder_rule,
    upsert_item,
    zone_code_of,
)
from incidents.inventory.gs1 import BarcodeError, normalise_gtin
from incidents.inventory.ledger import QUANT_STATUSES, MoveKind, post_move, quant_key
from incidents.inventory.tables import StockQuant

REQUIRED = ("sku", "name_zh", "location", "qty")
OPTIONAL = ("name_en", "gtin", "uom", "storage_class", "category", "abc_class", "lot", "expiry", "status",
            "reserved", "zone_kind", "safety_stock", "reorder_point", "max_qty", "reorder_qty")
_NUMBERS = ("qty", "reserved", "safety_stock", "reorder_point", "max_qty", "reorder_qty")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the line in the file: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


class ImportRefused(ValueError):
    """The file had problems; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class StockRow:
    row: int
    sku: str
    name_zh: str
    name_en: str
    gtin: str | None
    uom: str
    storage_class: str
    category: str
    abc_class: str | None
    location: str
    zone_kind: str
    lot: str | None
    expiry: date | None
    status: str
    qty: float
    reserved: float
    safety_stock: float | None
    reorder_point: float | None
    max_qty: float | None
    reorder_qty: float | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int
    items: int
    moves: int


def parse_rows(text: str) -> list[StockRow]:
    """Check every row; ImportRefused listing all problems, or the rows."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    errors = [RowError(1, c, "required column is missing") for c in missing]
    errors += [RowError(1, c, f"unknown column (known: {', '.join(REQUIRED + OPTIONAL)})") for c in unknown]
    if errors:
        raise ImportRefused(errors)
    rows: list[StockRow] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for number, raw in enumerate(reader, start=2):
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        row_errors: list[RowError] = []
        parsed = _row(number, values, row_errors)
        if parsed is not None:
            key = (parsed.sku, parsed.location, parsed.lot or "", parsed.status)
            if key in seen:
                row_errors.append(RowError(number, "location",
                                           f"same sku, location, lot and status as row {seen[key]}"))
            seen.setdefault(key, number)
        errors += row_errors
        if parsed is not None and not row_errors:
            rows.append(parsed)
    if errors:
        raise ImportRefused(errors)
    if not rows:
        raise ImportRefused([RowError(2, "sku", "the file has a header but no rows")])
    return rows


def _row(number: int, values: dict[str, str], errors: list[RowError]) -> StockRow | None:
    def fail(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    for column in REQUIRED:
        if not values.get(column):
            fail(column, "is empty")
    numbers: dict[str, float | None] = {}
    for column in _NUMBERS:
        text = values.get(column, "")
        try:
            numbers[column] = float(text) if text else None
        except ValueError:
            fail(column, f"{text!r} is not a number")
            continue
        if numbers[column] is not None and (numbers[column] or 0.0) < 0:
            fail(column, "must not be negative")
    storage = values.get("storage_class") or "ambient"
    if storage not in STORAGE_CLASSES:
        fail("storage_class", f"{storage!r} is not one of {', '.join(STORAGE_CLASSES)}")
    zone_kind = values.get("zone_kind") or ZONE_KIND_OF_STORAGE.get(storage, "ambient")
    if zone_kind not in ZONE_KINDS:
        fail("zone_kind", f"{zone_kind!r} is not one of {', '.join(ZONE_KINDS)}")
    status = values.get("status") or "available"
    if status not in QUANT_STATUSES:
        fail("status", f"{status!r} is not one of {', '.join(QUANT_STATUSES)}")
    abc = values.get("abc_class") or None
    if abc not in (None, "A", "B", "C"):
        fail("abc_class", f"{abc!r} is not A, B or C")
    gtin = values.get("gtin") or None
    if gtin:
        try:
            gtin = normalise_gtin(gtin)
        except BarcodeError:
            fail("gtin", f"{gtin} is not a valid GTIN (8, 12, 13 or 14 digits with a correct check digit)")
    expiry: date | None = None
    if values.get("expiry"):
        try:
            expiry = date.fromisoformat(values["expiry"])
        except ValueError:
            fail("expiry", f"{values['expiry']!r} is not a date like 2026-08-31")
    if values.get("expiry") and not values.get("lot"):
        fail("lot", "an expiry date needs a lot number")
    location = values.get("location", "")
    if location and "-" not in location:
        fail("location", f"{location!r} is not zone-aisle-bay-level, e.g. D1-02-03-1")
    if errors:
        return None
    return StockRow(
        row=number, sku=values["sku"], name_zh=values["name_zh"], name_en=values.get("name_en", ""), gtin=gtin,
        uom=values.get("uom") or "EA", storage_class=storage, category=values.get("category", ""), abc_class=abc,
        location=location, zone_kind=zone_kind, lot=values.get("lot") or None, expiry=expiry, status=status,
        qty=numbers["qty"] or 0.0, reserved=numbers["reserved"] or 0.0, safety_stock=numbers["safety_stock"],
        reorder_point=numbers["reorder_point"], max_qty=numbers["max_qty"], reorder_qty=numbers["reorder_qty"],
    )


def import_stock(session: Session, *, text: str, actor: Actor, now: datetime, source: str = "csv") -> ImportResult:
    """Make on-hand and reserved of every row's quant equal to the file, through adjustment moves."""
    rows = parse_rows(text)
    moves = 0
    items: set[str] = set()
    for row in rows:
        item = upsert_item(session, sku=row.sku, name_zh=row.name_zh, name_en=row.name_en, gtin=row.gtin, uom=row.uom,
                           storage_class=row.storage_class, category=row.category, lot_tracked=row.lot is not None,
                           abc_class=row.abc_class)
        items.add(row.sku)
        zone = ensure_zone(session, code=zone_code_of(row.location), kind=row.zone_kind)
        location = ensure_location(session, code=row.location, zone=zone,
                                   kind="quarantine" if zone.kind == "quarantine" else "pick")
        lot_id = ensure_lot(session, item=item, lot_no=row.lot, expiry=row.expiry).id if row.lot else None
        if row.reorder_point is not None:
            set_reorder_rule(session, item=item, reorder_point=row.reorder_point,
                             safety_stock=row.safety_stock or 0.0, max_qty=row.max_qty, reorder_qty=row.reorder_qty)
        assert item.id is not None and location.id is not None
        quant = session.exec(select(StockQuant).where(
            StockQuant.key == quant_key(item.id, location.id, lot_id, row.status))).first()
        on_hand, reserved = (quant.qty_on_hand, quant.qty_reserved) if quant else (0.0, 0.0)
        reserving = MoveKind.RESERVE if row.reserved >= reserved else MoveKind.UNRESERVE
        for kind, difference in ((MoveKind.COUNT_ADJUST, row.qty - on_hand), (reserving, row.reserved - reserved)):
            if not difference:
                continue
            arriving = difference > 0
            post_move(session, item_id=item.id, qty=abs(difference), kind=kind, lot_id=lot_id,
                      to_location_id=location.id if arriving else None,
                      from_location_id=None if arriving else location.id,
                      from_status=row.status, to_status=row.status, reference=f"{source}:row {row.row}",
                      actor=actor.name, reason_code="IMPORT", at=now)
            moves += 1
    audit.record(session, action="stock.imported", actor=actor, object_type="stock", object_id=source,
                 after={"rows": len(rows), "items": len(items), "moves": moves,
                        "sha256": hashlib.sha256(text.encode()).hexdigest()}, at=now)
    return ImportResult(len(rows), len(items), moves)
