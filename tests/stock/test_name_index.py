"""The name index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) follows every change to the items and
finds what ranking every name in memory (the look-up before the index) found."""

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from rapidfuzz import utils
from sqlmodel import Session, col, select

from incidents.database import Database
from incidents.inventory import search
from incidents.inventory.catalog import item_by_sku, upsert_item
from incidents.inventory.demo import load_demo_stock
from incidents.inventory.search import CLEAR_LEAD, SUGGESTIONS, SURE_SCORE, NameIndex, Suggestion, rank_names
from incidents.inventory.tables import Item

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
QUERIES = [
    "Mineral watr", "insulin", "Insulin cartridge 3 ml, pack of 1", "冻虾仁 箱装", "冻虾", "矿泉水", "疫苗", "胰岛素笔",
    "Frozen shrimp", "shrimp frozen", "coffe beens", "Laundry detergnt", "洗衣液 家庭", "蓝牙耳机 黑",
    "Bluetooth earbud",
    "SKU-ZZ999", "xyz", "ibuprofen", "布洛芬缓释", "猫粮 小包", "green tae", "Power bnk", "水", "ml", "tissue family",
]


def _by_every_name(session: Session, query: str) -> tuple[str, str | None, list[tuple[str, float]], int]:
    """The look-up without the index: every name in memory, substring checks and then the same ranking
    (``rank_names``: each item's best name by WRatio) over all of them."""
    rows = session.exec(select(Item.sku, Item.name_zh, Item.name_en).order_by(col(Item.id))).all()
    folded = query.strip().casefold()
    exact = [r for r in rows if folded in (r[1].casefold(), r[2].casefold())]
    if len(exact) == 1:
        return "name", exact[0][0], [], 0
    within = [r for r in rows if folded in r[1].casefold() or folded in r[2].casefold()]
    if len(within) == 1:
        return "name", within[0][0], [], 0
    if within:
        return "several", None, [(r[0], 100.0) for r in within[:SUGGESTIONS]], len(within)
    found = rank_names(utils.default_process(query), [(0, sku, zh, en) for sku, zh, en in rows])
    ranked = [(rows[i][0], score) for i, score in found]
    if ranked and ranked[0][1] >= SURE_SCORE and (len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= CLEAR_LEAD):
        return "fuzzy", ranked[0][0], ranked[1:], 0
    return "none", None, ranked, 0


@pytest.fixture
def demo(database: Database) -> Database:
    with database.unit_of_work() as session:
        load_demo_stock(session, now=NOW)
        for n, (zh, en) in enumerate([("冷冻水饺 猪肉白菜", "Frozen dumplings, pork and cabbage"),
                                      ("冷冻水饺 三鲜", "Frozen dumplings, three delicacies"),
                                      ("乙肝疫苗 10微克", "Hepatitis B vaccine 10 µg"),
                                      ("流感疫苗 四价", "Influenza vaccine, quadrivalent")]):
            upsert_item(session, sku=f"SKU-X{n:04d}", name_zh=zh, name_en=en)
    return database


def test_the_index_finds_what_ranking_every_name_found(demo: Database) -> None:
    index = NameIndex()
    with demo.reader() as session:
        for query in QUERIES:
            found = index.search(session, query)
            kind, sku, ranked, matches = _by_every_name(session, query)
            assert (found.matched_by, found.item.sku if found.item else None, found.matches) == (kind, sku, matches)
            assert [s.score for s in found.suggestions] == [score for _, score in ranked], query
            assert _untied(found.suggestions) == _untied(ranked), query


def _untied(ranked: Sequence[Suggestion] | Sequence[tuple[str, float]]) -> list[str]:
    """The SKUs scored above the last score shown: names tied with the last one may be any of the tie."""
    pairs = [(r.sku, r.score) if isinstance(r, Suggestion) else r for r in ranked]
    return [sku for sku, score in pairs if score > pairs[-1][1]] if pairs else []


def test_inserts_updates_and_deletes_reach_the_index(demo: Database) -> None:
    index = NameIndex()
    with demo.unit_of_work() as session:
        upsert_item(session, sku="SKU-N0001", name_zh="速冻汤圆 黑芝麻", name_en="Glutinous rice balls, sesame")
    with demo.reader() as session:
        assert [index.search(session, q).item for q in ("汤圆 黑芝", "rice balls, ses")] != [None, None]
        assert {index.search(session, q).matched_by for q in ("汤圆 黑芝", "rice balls, ses")} == {"name"}
    with demo.unit_of_work() as session:
        upsert_item(session, sku="SKU-N0001", name_zh="速冻馄饨 荠菜", name_en="Frozen wontons, shepherd's purse")
    with demo.reader() as session:
        assert index.search(session, "汤圆 黑芝").matched_by != "name"
        renamed = index.search(session, "wontons, shep")
        assert renamed.item is not None and renamed.item.sku == "SKU-N0001"
        assert index.search(session, "Glutinous rice balls").item is None
    with demo.unit_of_work() as session:
        session.delete(item_by_sku(session, "SKU-N0001"))
    with demo.reader() as session:
        gone = index.search(session, "Frozen wontons, shepherd's purse")
        assert gone.item is None and "SKU-N0001" not in [s.sku for s in gone.suggestions]


def test_many_names_sharing_a_word_are_counted_and_listed_in_order(demo: Database) -> None:
    with demo.unit_of_work() as session:
        for n in range(250):
            upsert_item(session, sku=f"SKU-V{n:04d}", name_zh=f"疫苗冷链箱 {n}号", name_en=f"Vaccine cool box no. {n}")
    index = NameIndex()
    with demo.reader() as session:
        for query in ("疫苗", "cool box no", "vaccine cool box no. 17", "VACCINE COOL BOX NO. 17"):
            found = index.search(session, query)
            kind, sku, ranked, matches = _by_every_name(session, query)
            assert (found.matched_by, found.item.sku if found.item else None, found.matches) == (kind, sku, matches)
            assert [(s.sku, s.score) for s in found.suggestions] == ranked
        assert index.search(session, "疫苗").matches == 262  # more than are checked one by one


def test_a_misspelt_name_is_found_by_its_rarest_trigrams_when_common_ones_are_left_out(
        demo: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with demo.unit_of_work() as session:
        for n in range(120):
            upsert_item(session, sku=f"SKU-W{n:04d}", name_zh=f"洗衣凝珠 {n}号", name_en=f"Laundry pods no. {n}")
    monkeypatch.setattr(search, "RARE_BUDGET", 40)  # most trigrams of the query are held by more items than this
    index = NameIndex()
    with demo.reader() as session:
        for query in ("Laundry pods no 117", "Laundy pods no. 93", "洗衣凝珠 88"):
            found = index.search(session, query)
            kind, sku, ranked, _ = _by_every_name(session, query)
            assert (found.matched_by, found.item.sku if found.item else None) == (kind, sku), query
            assert [s.score for s in found.suggestions][:1] == [score for _, score in ranked][:1], query


def test_a_misspelt_name_and_a_chinese_name_fragment_find_the_right_sku(demo: Database) -> None:
    with demo.unit_of_work() as session:
        for n in range(300):  # names that differ only by their number, as in a large catalogue
            upsert_item(session, sku=f"SKU-M{n:04d}", name_zh=f"矿泉水 瓶装 {n}号",
                        name_en=f"Mineral water bottle no. {n}")
    index = NameIndex()
    with demo.reader() as session:
        sure = index.search(session, "Hepatitis B vacine 10 µg")  # misspelt, and nothing close to it
        assert (sure.matched_by, sure.item.sku if sure.item else None) == ("fuzzy", "SKU-X0002")
        close = index.search(session, "Mineral watr bottle no 217")  # the same name with other numbers is close
        assert close.suggestions[0].sku == "SKU-M0217"
        for fragment, sku in (("水饺 三", "SKU-X0001"), ("肝疫苗 10微", "SKU-X0002"), ("瓶装 217", "SKU-M0217")):
            found = index.search(session, fragment)
            assert (found.matched_by, found.item.sku if found.item else None) == ("name", sku), fragment
