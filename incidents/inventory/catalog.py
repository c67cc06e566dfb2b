"""Master data: zones, locations, items, lots and reorder rules, found or created by their codes."""

from datetime import date

from sqlmodel import Session, select

from incidents.inventory.tables import Item, Location, Lot, ReorderRule, Zone

ZONE_KIND_OF_STORAGE = {"ambient": "ambient", "cool_le20": "cool", "cold_2_8": "cold", "chill_0_4": "chill",
                        "frozen_m25_m15": "frozen"}
STORAGE_CLASSES = tuple(ZONE_KIND_OF_STORAGE)
ZONE_KINDS = ("ambient", "cool", "cold", "chill", "frozen", "quarantine", "staging")


class UnknownCode(LookupError):
    """A SKU, location or lot that the stock database does not know; the message is bilingual."""


def zone_code_of(location_code: str) -> str:
    """The zone part of a location code: ``D1`` of ``D1-02-03-1``."""
    return location_code.split("-", 1)[0]


def ensure_zone(session: Session, *, code: str, kind: str, name_zh: str | None = None, name_en: str | None = None,
                temp_min_c: float | None = None, temp_max_c: float | None = None) -> Zone:
    """The zone with ``code``, created with the given kind and names when it does not exist."""
    zone = session.exec(select(Zone).where(Zone.code == code)).first()
    if zone is None:
        zone = Zone(code=code, kind=kind, name_zh=name_zh or f"{code} 区", name_en=name_en or f"Zone {code}",
                    temp_min_c=temp_min_c, temp_max_c=temp_max_c)
        session.add(zone)
        session.flush()
    return zone


def ensure_location(session: Session, *, code: str, zone: Zone, kind: str = "pick") -> Location:
    """The location with ``code``, created in ``zone`` when it does not exist."""
    location = session.exec(select(Location).where(Location.code == code)).first()
    if location is None:
        assert zone.id is not None
        location = Location(code=code, zone_id=zone.id, kind=kind)
        session.add(location)
        session.flush()
    return location


def location_by_code(session: Session, code: str) -> Location:
    """The location or UnknownCode."""
    location = session.exec(select(Location).where(Location.code == code)).first()
    if location is None:
        raise UnknownCode(f"没有库位 {code} / There is no location {code}")
    return location


def item_by_sku(session: Session, sku: str) -> Item:
    """The item or UnknownCode."""
    item = session.exec(select(Item).where(Item.sku == sku)).first()
    if item is None:
        raise UnknownCode(f"没有 SKU {sku} / There is no SKU {sku}")
    return item


def upsert_item(session: Session, *, sku: str, name_zh: str, name_en: str = "", gtin: str | None = None,
                uom: str = "EA", storage_class: str = "ambient", category: str = "", lot_tracked: bool = False,
                abc_class: str | None = None) -> Item:
    """Create the item or update its master data."""
    item = session.exec(select(Item).where(Item.sku == sku)).first() or Item(sku=sku, name_zh=name_zh)
    item.name_zh, item.name_en, item.gtin, item.uom = name_zh, name_en, gtin, uom
    item.storage_class, item.category, item.abc_class = storage_class, category, abc_class
    item.lot_tracked = item.lot_tracked or lot_tracked
    session.add(item)
    session.flush()
    return item


def ensure_lot(session: Session, *, item: Item, lot_no: str, expiry: date | None = None) -> Lot:
    """The item's lot ``lot_no``; a given expiry is recorded (a later one replaces an earlier one)."""
    assert item.id is not None
    lot = session.exec(select(Lot).where(Lot.item_id == item.id, Lot.lot_no == lot_no)).first()
    if lot is None:
        lot = Lot(item_id=item.id, lot_no=lot_no, expiry_date=expiry)
    elif expiry is not None:
        lot.expiry_date = expiry
    session.add(lot)
    session.flush()
    return lot


def set_reorder_rule(session: Session, *, item: Item, reorder_point: float, safety_stock: float = 0.0,
                     max_qty: float | None = None, reorder_qty: float | None = None) -> ReorderRule:
    """Create or replace the item's reorder rule."""
    assert item.id is not None
    rule = session.exec(select(ReorderRule).where(ReorderRule.item_id == item.id)).first()
    rule = rule or ReorderRule(item_id=item.id, reorder_point=reorder_point)
    rule.reorder_point, rule.safety_stock, rule.max_qty, rule.reorder_qty = (
        reorder_point, safety_stock, max_qty, reorder_qty)
    session.add(rule)
    return rule
