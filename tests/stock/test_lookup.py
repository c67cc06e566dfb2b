"""``/stock`` by SKU, scanned GTIN, Chinese name, English name, and what an unknown query gets."""

from datetime import UTC, datetime

import pytest

from handlers.ports import CommandInvoked, Reply, UserRef
from handlers.stock import StockDesk
from incidents.database import Database
from incidents.inventory.catalog import item_by_sku
from incidents.inventory.demo import load_demo_stock
from tests.factories import make_core, make_signal, seed_people

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.fixture
def demo(sqlite_url: str) -> Database:
    database = Database(sqlite_url)
    with database.unit_of_work() as session:
        load_demo_stock(session, now=NOW)
    seed_people(database)
    return database


def _ask(database: Database, command: str, *args: str) -> Reply:
    core = make_core(database, now=lambda: NOW)
    return core.router.handle(CommandInvoked(platform="webchat", dedupe_key=f"k-{command}-{args}",
                                             actor=UserRef("webchat", "wangwei"), thread=None, received_at=NOW,
                                             name=command, args=args))


def test_by_sku_the_answer_has_totals_status_lines_movement_and_the_open_incident(demo: Database) -> None:
    core = make_core(demo, now=lambda: NOW)
    core.flow.on_signal(make_signal(at=NOW))  # an open cold-room incident in D1
    reply = _ask(demo, "stock", "sku-d0101")
    lines = reply.text.split("\n")
    assert reply.ok
    assert lines[0] == ("📦 SKU-D0101 胰岛素笔芯 3ml 1支装 / Insulin cartridge 3 ml, pack of 1  "
                        "[冷藏 2–8 °C · 批次管理 lot-tracked · A类 A-class]")
    assert lines[2] == "可用 Available 0 | 在库 On hand 262 | 预占 Reserved 60 | 冻结 Hold 24 EA"
    assert lines[3] == ("状态 Status: 🔴 缺货 OUT — 补货点 ROP 210 / 安全库存 SS 90 / 上限 Max 1,200 / "
                        "补货量 Reorder qty 630")  # all it has left is in an expired lot
    assert lines[4:6] == ["⛔ 过期批次 262 EA：不计入可用量，不得发货。",
                          "⛔ 262 EA in expired lots: not counted as available, not to be shipped."]
    assert lines[6] == "日均出库 Picks/day 11.9 · 可供天数 Days of cover 0.0"
    # the expired lot is not "available": its line says so and it is left out of the available total
    assert ("D1-01-03-1  L2610G38  2026-11-16 ⛔ 已过期 expired  238 (60 预占 Reserved)  "
            "已过期，不可用 EXPIRED, not usable") in lines
    assert "Q1-01-01-1  L2610G38  2026-11-16 ⛔ 已过期 expired  24  待验隔离 QUARANTINE" in lines
    assert "最近移动 Last move: 11-25 13:00 CST 预占 reserve +60 SO-20881 (WMS)" in lines
    assert "⚠️ 相关事件 Open incidents: #1 SEV2 D1 冷库 D1 温度 8.6 °C / Cold room D1 at 8.6 °C" in lines
    assert lines[-1] == "数据时间 As of 11-25 14:00 CST · WareRoom 库存库 WareRoom stock database"


def test_a_scanned_gs1_barcode_finds_the_item(demo: Database) -> None:
    with demo.reader() as session:
        gtin = item_by_sku(session, "SKU-C0007").gtin
    assert gtin is not None
    for scan in (gtin.lstrip("0"), f"(01){gtin}(10)L2408A(17)270831", f"01{gtin}10L2408A"):
        reply = _ask(demo, "查库存", scan)
        assert reply.ok
        assert reply.text.startswith("📦 SKU-C0007 布洛芬缓释胶囊 中盒 / Ibuprofen SR capsules, medium box")


def test_a_barcode_with_a_wrong_check_digit_is_a_plain_error(demo: Database) -> None:
    reply = _ask(demo, "库存", "6901234567893")
    assert reply == Reply("条码 6901234567893 校验位错误 / Barcode 6901234567893 has a wrong check digit", ok=False)


def test_by_chinese_and_english_name(demo: Database) -> None:
    zh = _ask(demo, "库存", "冻虾仁", "箱装")
    assert zh.ok and zh.text.startswith("📦 SKU-F0003 冻虾仁 箱装 / Frozen shrimp, case")
    en = _ask(demo, "stock", "Frozen", "shrimp")
    assert en.ok and en.text.startswith("📦 SKU-F0003 冻虾仁 箱装 / Frozen shrimp, case")


def test_a_vague_or_unknown_name_gets_suggestions_never_an_error(demo: Database) -> None:
    vague = _ask(demo, "stock", "insulin")  # a word several names share: list them, do not guess
    lines = vague.text.split("\n")
    assert vague.ok and lines[0].startswith("有 ")
    assert lines[0].endswith("个商品名称包含「insulin」，请写出货号或扫码：")
    assert sum(line.startswith("• SKU-D01") and "Insulin" in line for line in lines) == 5
    typo = _ask(demo, "stock", "Mineral", "watr")
    assert not typo.ok
    assert typo.text.split("\n")[:3] == ["没有找到「Mineral watr」。", "Nothing found for \"Mineral watr\".",
                                         "您是不是要找： Did you mean:"]
    unknown = _ask(demo, "stock", "SKU-ZZ999")
    assert not unknown.ok and unknown.text.startswith("没有找到「SKU-ZZ999」。\nNothing found for \"SKU-ZZ999\".")
    empty = _ask(demo, "stock")
    assert not empty.ok and empty.text.startswith("用法：/stock SKU")


def test_the_json_answer_and_its_suggestions(demo: Database) -> None:
    desk = StockDesk(demo, timezone="Asia/Shanghai", now=lambda: NOW)
    report, suggestions = desk.json("SKU-A0020")
    assert report is not None and suggestions == []
    assert (report["sku"], report["status"], report["on_hand"], report["max_qty"]) == ("SKU-A0020", "OVER", 168.0,
                                                                                      80.0)
    missing, close = desk.json("Mineral watr")
    assert missing is None and len(close) == 5 and all("Mineral water" in s["name_en"] for s in close)


def test_a_lot_near_its_expiry_is_flagged_and_still_available(demo: Database) -> None:
    reply = _ask(demo, "stock", "SKU-D0102")  # the demo's lot of it expires 12 days after NOW
    lines = reply.text.split("\n")
    assert "D1-01-02-3  L2611G60  2026-12-07 ⚠️ 近效期 expiring  189  可用 OK" in lines
    assert lines[4:6] == ["⚠️ 30 天内到期：189 EA（近效期，先出）。",
                          "⚠️ 189 EA expire within 30 days (near expiry: ship first)."]
    assert lines[2] == "可用 Available 189 | 在库 On hand 189 | 预占 Reserved 0 | 冻结 Hold 0 EA"  # still available
    assert not any(line.startswith("⛔") for line in lines)
