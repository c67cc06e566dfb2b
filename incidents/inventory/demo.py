"""The deterministic demo stock (warehouse-domain §1.5): about 300 SKUs in the demo site's zones.

Seeded with ``random.Random(20241111)`` and dated relative to ``now``, so every run of ``wareroom demo``
shows the same picture: a month of receipts and picks, items below their reorder point and over
their maximum, an expired lot in the cold room, lots close to expiry, stock on hold in quarantine,
reservations, count tasks with variances and one negative quant.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from incidents import audit
from incidents.actors import SYSTEM
from incidents.inventory.catalog import ensure_zone, set_reorder_rule, upsert_item
from incidents.inventory.gs1 import with_check_digit
from incidents.inventory.ledger import MoveKind, rebuild_quants_from_ledger
from incidents.inventory.tables import CountTask, Item, Location, Lot, ReorderRule, StockMove, Zone

SEED = 20241111
HISTORY_DAYS = 30
PICKERS = ("张伟", "王芳", "李强", "刘洋", "陈静")
_PACKS = [("小包装", "small pack"), ("标准装", "standard pack"), ("家庭装", "family pack"), ("箱装 ×12", "case ×12"),
          ("箱装 ×24", "case ×24"), ("促销装", "promo pack"), ("礼盒装", "gift box"), ("补充装", "refill"),
          ("旅行装", "travel size"), ("整托", "pallet")]
_COLOURS = [("黑色", "black"), ("白色", "white"), ("红色", "red"), ("蓝色", "blue"), ("灰色", "grey"),
            ("粉色", "pink"), ("绿色", "green"), ("金色", "gold"), ("银色", "silver"), ("紫色", "purple")]
_BOXES = [("小盒", "small box"), ("中盒", "medium box"), ("大盒", "large box"), ("组合装", "combo pack"),
          ("医院装", "hospital pack")]
_DOSES = [("1支装", "pack of 1"), ("5支装", "pack of 5"), ("10支装", "pack of 10"), ("预充笔", "prefilled pen"),
          ("多剂量瓶", "multi-dose vial")]


@dataclass(frozen=True)
class DemoZone:
    code: str
    kind: str
    name_zh: str
    name_en: str
    temp: tuple[float | None, float | None]
    storage_class: str
    count: int
    bases: list[tuple[str, str]]
    variants: list[tuple[str, str]]
    lots: bool = False
    abc: str = "C"


ZONES = [
    DemoZone("A1", "ambient", "常温区 A1", "Ambient zone A1", (0.0, 30.0), "ambient", 170, [
        ("矿泉水", "Mineral water"), ("抽纸", "Facial tissue"), ("洗衣液", "Laundry detergent"), ("大米", "Rice"),
        ("食用油", "Cooking oil"), ("方便面", "Instant noodles"), ("牙膏", "Toothpaste"), ("洗发水", "Shampoo"),
        ("饼干", "Biscuits"), ("酱油", "Soy sauce"), ("咖啡豆", "Coffee beans"), ("绿茶", "Green tea"),
        ("坚果", "Mixed nuts"), ("猫粮", "Cat food"), ("狗粮", "Dog food"), ("五号电池", "AA batteries"),
        ("数据线", "USB cable")], _PACKS),
    DemoZone("B1", "ambient", "快拣区 B1", "Fast-pick zone B1", (0.0, 30.0), "ambient", 60, [
        ("手机壳", "Phone case"), ("蓝牙耳机", "Bluetooth earbuds"), ("充电宝", "Power bank"),
        ("运动袜", "Sports socks"), ("保温杯", "Vacuum flask"), ("帆布包", "Canvas tote bag")], _COLOURS, abc="A"),
    DemoZone("C1", "cool", "阴凉区 C1", "Cool zone C1", (None, 20.0), "cool_le20", 30, [
        ("维生素C片", "Vitamin C tablets"), ("布洛芬缓释胶囊", "Ibuprofen SR capsules"),
        ("感冒灵颗粒", "Cold relief granules"), ("保湿面霜", "Moisturising cream"), ("防晒乳", "Sunscreen lotion"),
        ("益生菌粉", "Probiotic powder")], _BOXES, lots=True, abc="B"),
    DemoZone("D1", "cold", "冷库 D1", "Cold room D1", (2.0, 8.0), "cold_2_8", 25, [
        ("胰岛素笔芯 3ml", "Insulin cartridge 3 ml"), ("流感疫苗（模拟）", "Influenza vaccine (simulated)"),
        ("乙肝疫苗（模拟）", "Hepatitis B vaccine (simulated)"), ("生长激素注射液", "Growth hormone injection"),
        ("单抗注射液", "Monoclonal antibody injection")], _DOSES, lots=True, abc="A"),
    DemoZone("D2", "chill", "冷藏库 D2", "Chiller D2", (0.0, 4.0), "chill_0_4", 10, [
        ("鲜牛奶", "Fresh milk"), ("原味酸奶", "Plain yogurt")], _BOXES, lots=True, abc="B"),
    DemoZone("F1", "frozen", "冷冻库 F1", "Freezer F1", (-25.0, -15.0), "frozen_m25_m15", 5, [
        ("速冻水饺", "Frozen dumplings"), ("香草冰淇淋", "Vanilla ice cream"), ("冻虾仁", "Frozen shrimp"),
        ("冷冻牛排", "Frozen steak"), ("速冻汤圆", "Frozen sweet rice balls")], [("箱装", "case")], lots=True),
]
QUARANTINE = ("Q1", "quarantine", "待验区 Q1", "Quarantine Q1")


@dataclass
class _Stock:
    """The demo's own running balance per (location, lot), so that generated picks never go negative."""

    lots: dict[tuple[int, int | None], float] = field(default_factory=dict)

    def take(self, location_id: int, qty: float) -> list[tuple[int | None, float]]:
        taken: list[tuple[int | None, float]] = []
        for (loc, lot), have in sorted(self.lots.items(), key=lambda kv: (kv[0][1] or 0)):
            if loc != location_id or have <= 0 or qty <= 0:
                continue
            part = min(have, qty)
            self.lots[(loc, lot)] -= part
            qty -= part
            taken.append((lot, part))
        return taken

    def total(self) -> float:
        return sum(self.lots.values())


def demo_gtin(rng: random.Random) -> str:
    """A GTIN-13 in GS1's restricted-circulation range 200–299 (never a real product), check digit included."""
    return with_check_digit("2" + "".join(str(rng.randrange(10)) for _ in range(11))).zfill(14)


def load_demo_stock(session: Session, *, now: datetime) -> int:
    """Load the demo stock once (nothing happens when items exist); returns the number of SKUs added."""
    if session.exec(select(Item.id).limit(1)).first() is not None:
        return 0
    rng = random.Random(SEED)
    quarantine = ensure_zone(session, code=QUARANTINE[0], kind=QUARANTINE[1], name_zh=QUARANTINE[2],
                             name_en=QUARANTINE[3])
    q_locations = _locations(session, quarantine, 10, kind="quarantine")
    moves: list[StockMove] = []
    start = now - timedelta(days=HISTORY_DAYS)
    made = 0
    for spec in ZONES:
        zone = ensure_zone(session, code=spec.code, kind=spec.kind, name_zh=spec.name_zh, name_en=spec.name_en,
                           temp_min_c=spec.temp[0], temp_max_c=spec.temp[1])
        locations = _locations(session, zone, max(10, spec.count // 2))
        names = [(f"{b[0]} {v[0]}", f"{b[1]}, {v[1]}") for b in spec.bases for v in spec.variants][:spec.count]
        for number, (name_zh, name_en) in enumerate(names, start=1):
            item = upsert_item(session, sku=f"SKU-{spec.code[0]}{number + (100 if spec.code == 'D1' else 0):04d}",
                               name_zh=name_zh, name_en=name_en, gtin=demo_gtin(rng), storage_class=spec.storage_class,
                               category=spec.bases[0][1] if spec.code == "F1" else spec.kind, lot_tracked=spec.lots,
                               abc_class=spec.abc)
            moves += _history(session, rng, item, rng.choice(locations), spec, start=start, now=now)
            made += 1
    session.add_all(moves)
    session.flush()
    _anomalies(session, now=now, quarantine_location=q_locations[0])
    rebuild_quants_from_ledger(session)
    audit.record(session, action="stock.demo_loaded", actor=SYSTEM, object_type="stock", object_id="demo",
                 after={"items": made, "moves": len(moves), "seed": SEED}, at=now)
    return made


def _locations(session: Session, zone: Zone, count: int, kind: str = "pick") -> list[Location]:
    assert zone.id is not None
    found = [Location(code=f"{zone.code}-{1 + i // 30:02d}-{1 + (i // 3) % 10:02d}-{1 + i % 3}", zone_id=zone.id,
                      kind=kind) for i in range(count)]
    session.add_all(found)
    session.flush()
    return found


def _history(session: Session, rng: random.Random, item: Item, location: Location, spec: DemoZone, *,
             start: datetime, now: datetime) -> list[StockMove]:
    assert item.id is not None and location.id is not None
    daily = rng.choice([2, 4, 6, 10, 20, 40]) * (3 if spec.abc == "A" else 1)
    reorder_point = float(daily * 7)
    set_reorder_rule(session, item=item, reorder_point=reorder_point, safety_stock=float(daily * 3),
                     max_qty=float(daily * 40), reorder_qty=float(daily * 21))
    stock, moves = _Stock(), []

    def receive(at: datetime, qty: float) -> None:
        lot_id = None
        if spec.lots:
            expiry = (at + timedelta(days=rng.randrange(60, 700))).date()
            lot = Lot(item_id=item.id or 0, lot_no=f"L{at:%y%m}{rng.choice('ABCDEFGH')}{rng.randrange(10, 99)}",
                      expiry_date=expiry)
            session.add(lot)
            session.flush()
            lot_id = lot.id
        stock.lots[(location.id or 0, lot_id)] = stock.lots.get((location.id or 0, lot_id), 0.0) + qty
        moves.append(StockMove(at=at, item_id=item.id or 0, lot_id=lot_id, to_location_id=location.id, qty=qty,
                               kind=MoveKind.RECEIPT.value, reference=f"PO-{at:%m%d}-{rng.randrange(100, 999)}",
                               actor="收货 Receiving"))

    receive(start, float(daily * 24))
    for day in range(1, HISTORY_DAYS):
        at = start + timedelta(days=day, hours=rng.randrange(8, 20), minutes=rng.randrange(60))
        if rng.random() < 0.6:
            for lot_id, part in stock.take(location.id, float(max(1, round(daily * rng.uniform(0.5, 2.5))))):
                moves.append(StockMove(at=at, item_id=item.id, lot_id=lot_id, from_location_id=location.id, qty=part,
                                       kind=MoveKind.PICK.value, reference=f"WAVE-{at:%m%d}-{rng.randrange(1, 9):02d}",
                                       actor=rng.choice(PICKERS)))
        if stock.total() < reorder_point and rng.random() < 0.8:
            receive(at + timedelta(hours=2), float(daily * 21))
    return moves


def _anomalies(session: Session, *, now: datetime, quarantine_location: Location) -> None:
    """The injected problems of §1.5 that the demo's alerts and /stock answers show."""
    items = {i.sku: i for i in session.exec(select(Item))}
    today = now.date()
    d1 = [i for sku, i in sorted(items.items()) if sku.startswith("SKU-D01")][:4]
    lots = {lot.item_id: lot for lot in session.exec(select(Lot))}
    expired = lots.get(d1[0].id or 0)
    if expired is not None:
        expired.expiry_date = today - timedelta(days=9)
        session.add(expired)
    for item, days in zip(d1[1:4], (12, 21, 28), strict=True):
        soon = lots.get(item.id or 0)
        if soon is not None:
            soon.expiry_date = today + timedelta(days=days)
            session.add(soon)
    held = d1[0]
    first = session.exec(select(StockMove).where(StockMove.item_id == held.id)).first()
    assert first is not None and first.to_location_id is not None
    session.add(StockMove(at=now - timedelta(hours=3), item_id=held.id or 0, lot_id=first.lot_id,
                          from_location_id=first.to_location_id, to_location_id=quarantine_location.id, qty=24,
                          to_status="quarantine", kind=MoveKind.QUARANTINE.value, reference="QA-HOLD-0042",
                          actor="张敏 Zhang Min", reason_code="QUARANTINE"))
    session.add(StockMove(at=now - timedelta(hours=1), item_id=held.id or 0, lot_id=first.lot_id,
                          to_location_id=first.to_location_id, qty=60, kind=MoveKind.RESERVE.value,
                          reference="SO-20881", actor="WMS"))
    _low_and_over(session, items, now=now)
    _counts(session, items, now=now)


def _low_and_over(session: Session, items: dict[str, Item], *, now: datetime) -> None:
    """Five SKUs below their reorder point (two under safety stock, one at zero), two over max, one negative."""
    balances: dict[tuple[int, int, int | None], float] = {}
    for move in session.exec(select(StockMove)):
        for loc, sign in ((move.from_location_id, -1), (move.to_location_id, 1)):
            if loc is not None and move.kind not in ("reserve", "unreserve"):
                key = (move.item_id, loc, move.lot_id)
                balances[key] = balances.get(key, 0.0) + sign * move.qty
    rules = {r.item_id: r for r in session.exec(select(ReorderRule))}
    targets: dict[str, Callable[[ReorderRule], float]] = {
        "SKU-A0003": lambda r: 0.0, "SKU-A0004": lambda r: r.safety_stock * 0.5,
        "SKU-B0002": lambda r: r.safety_stock * 0.8, "SKU-B0005": lambda r: (r.safety_stock + r.reorder_point) / 2,
        "SKU-A0010": lambda r: r.reorder_point * 0.9,
    }
    for sku, target in targets.items():
        item = items[sku]
        excess = sum(v for k, v in balances.items() if k[0] == item.id) - round(target(rules[item.id or 0]))
        for (item_id, loc, lot), have in sorted(balances.items(), key=lambda kv: kv[0][2] or 0):
            if item_id != item.id or have <= 0 or excess <= 0:
                continue
            part = min(have, excess)
            session.add(StockMove(at=now - timedelta(hours=2), item_id=item_id, lot_id=lot, from_location_id=loc,
                                  qty=part, kind=MoveKind.PICK.value, reference="WAVE-PEAK-01", actor="张伟"))
            excess -= part
    for sku in ("SKU-A0020", "SKU-A0021"):
        item = items[sku]
        loc = next(k[1] for k in balances if k[0] == item.id)
        session.add(StockMove(at=now - timedelta(days=2), item_id=item.id or 0, to_location_id=loc,
                              qty=(rules[item.id or 0].max_qty or 0) * 1.5, kind=MoveKind.RECEIPT.value,
                              reference="PO-OVERBUY", actor="收货 Receiving"))
    negative = items["SKU-A0030"]
    loc = next(k[1] for k in balances if k[0] == negative.id)
    have = sum(v for k, v in balances.items() if k[0] == negative.id and k[1] == loc)
    session.add(StockMove(at=now - timedelta(hours=5), item_id=negative.id or 0, from_location_id=loc, qty=have + 5,
                          kind=MoveKind.PICK.value, reference="WAVE-UNPOSTED-RECEIPT", actor="李强"))


def _counts(session: Session, items: dict[str, Item], *, now: datetime) -> None:
    """Three counted tasks: within tolerance, an A-item short by 6 (recount), and one made invalid by a later move."""
    for sku, expected, counted, status, reason in (("SKU-A0050", 120.0, 119.0, "approved", "CORRECTION"),
                                                   ("SKU-D0102", 80.0, 74.0, "recount", "MISSING"),
                                                   ("SKU-B0010", 45.0, 47.0, "void", "RECOUNTED")):
        item = items[sku]
        move = session.exec(select(StockMove).where(StockMove.item_id == item.id)).first()
        assert move is not None and move.to_location_id is not None
        session.add(CountTask(location_id=move.to_location_id, item_id=item.id, lot_id=move.lot_id,
                              expected_qty=expected, counted_qty=counted, status=status, reason_code=reason,
                              counted_by="盘点 Count team", counted_at=now - timedelta(days=1 + len(reason) % 3)))
